"""RiskModel through a real MLflow store: log, register, load, predict calibrated risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.training.synthetic import feature_frame, trained


# MLflow hints that integer inputs cannot carry missing values; the example uses training dtypes.
@pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer")
def test_logged_risk_model_predicts_the_bundles_calibrated_risk(mlflow_store, tmp_path):
    import mlflow

    from riskstrat.tracking.pyfunc import RiskModel

    bundle = trained("nonlinear")[0].bundle
    folder = tmp_path / "bundle"
    bundle.save(folder)
    experiment = mlflow.create_experiment(
        "riskstrat-test", artifact_location=(tmp_path / "artifacts").as_uri()
    )
    example = bundle.input_example()
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskModel(),
            artifacts={"bundle": str(folder)},
            input_example=example,
            pip_requirements=["lightgbm==4.7.0", "pandas==3.1.1"],
            registered_model_name="avoidable_admission",
        )
    loaded = mlflow.pyfunc.load_model("models:/avoidable_admission/1")
    population = feature_frame(300, "2024-07-01", seed=41)
    inputs = population[list(bundle.feature_names)].assign(
        education=population["education"].astype("str")
    )
    predicted = np.asarray(loaded.predict(inputs))
    assert predicted.shape == (len(population),)
    assert np.allclose(predicted, bundle.predict_risk(population), rtol=0, atol=1e-12)
    assert info.signature is not None
    assert isinstance(loaded.predict(example), pd.Series | np.ndarray)
