"""The training flow as a real Prefect flow run, and the train/promote commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipelines.cli import main

from riskstrat.errors import InputError
from riskstrat.tracking import load_bundle, model_version


def test_train_flow_registers_a_challenger(
    prefect_server, mlflow_store, cluster_data: Path
) -> None:
    from pipelines.train import train_flow

    state = train_flow(
        "models/trilateral_need.yaml",
        str(cluster_data),
        ["learner.params.n_estimators=80"],
        n_boot=30,
        return_state=True,
    )
    assert state.is_completed()
    out = state.result()
    assert out["model_name"] == "trilateral_need" and out["version"] == "1"
    assert 0.6 < out["metrics"]["test_auroc"] < 0.95
    bundle, info = load_bundle("trilateral_need@challenger")
    assert info.version == "1" and bundle.label == "new_trilateral"
    # the registered model is the refit, calibrated on the evaluated model's test date
    assert bundle.index_dates["refit_calibration"] == bundle.index_dates["test"]
    assert bundle.index_dates["refit_train"][-1] == bundle.index_dates["validation"]


def test_train_and_promote_commands(mlflow_store, cluster_data: Path, capsys) -> None:
    # Age and sex alone cannot beat the rule baseline (prior acute admissions and age): the
    # baselines gate refuses this challenger by design, not by the chance of a bootstrap CI.
    args = [
        "train",
        "--spec",
        "models/avoidable_admission.yaml",
        "--data",
        str(cluster_data),
        "--set",
        "learner.params.n_estimators=80",
        "--set",
        "features.groups=[demographics]",
        "--json",
    ]
    assert main(args) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["version"] == "1" and trained["metrics"]["beats_baselines"] == 0.0

    assert main(["promote", "avoidable_admission", "--json"]) == 2
    out = capsys.readouterr()
    assert "version 1 was not promoted" in out.err and "does not beat its baselines" in out.err
    assert "Traceback" not in out.err + out.out
    with pytest.raises(InputError, match="aliases challenger→v1"):  # no champion was set
        model_version("avoidable_admission@champion")

    assert main(["promote", "avoidable_admission", "--override-reason", "test", "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["promoted"] is True and decision["decision"] == "promoted by override"
    assert str(model_version("avoidable_admission@champion").version) == "1"
    assert main(["promote", "no_such_model"]) == 2
