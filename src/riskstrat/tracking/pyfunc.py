"""MLflow's pyfunc flavour for a model bundle, so a registered version is one artifact.

Kept apart from `bundle` because importing MLflow takes seconds that scoring does not need.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlflow.pyfunc import PythonModel

from riskstrat.model import ModelBundle


class RiskModel(PythonModel):
    """MLflow pyfunc wrapper: `predict` returns the calibrated risk of each row.

    Log with `artifacts={"bundle": folder}` where `folder` was written by `ModelBundle.save`.
    Categorical inputs may come as plain text (what MLflow's signature expects) or as
    pandas categories; either is coded with the levels fixed at training.
    """

    def load_context(self, context) -> None:
        self.bundle = ModelBundle.load(Path(context.artifacts["bundle"]))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.Series:
        return pd.Series(self.bundle.predict_risk(pd.DataFrame(model_input)), name="risk")
