"""The training flow as a real Prefect flow run, and the train/promote commands."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.cli import main

from riskstrat.tracking import load_bundle


def test_train_flow_registers_a_challenger(prefect_server, mlflow_store, cluster_data: Path) -> None:
    from pipelines.train import train_flow

    state = train_flow("models/trilateral_need.yaml", str(cluster_data), ["learner.params.n_estimators=80"],
                       n_boot=30, return_state=True)  # fmt: skip
    assert state.is_completed()
    out = state.result()
    assert out["model_name"] == "trilateral_need" and out["version"] == "1"
    assert 0.6 < out["metrics"]["test_auroc"] < 0.95
    bundle, info = load_bundle("trilateral_need@challenger")
    assert info.version == "1" and bundle.label == "new_trilateral"


def test_train_and_promote_commands(mlflow_store, cluster_data: Path, capsys) -> None:
    args = ["train", "--spec", "models/avoidable_admission.yaml", "--data", str(cluster_data),
            "--set", "learner.params.n_estimators=80", "--json"]  # fmt: skip
    assert main(args) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["version"] == "1" and "test_auroc" in trained["metrics"]
    code = main(["promote", "avoidable_admission", "--json"])
    out = capsys.readouterr()
    if code == 2:  # a gate refused: the reasons are printed, and an override works
        assert "not promoted" in out.err + out.out
        code = main(["promote", "avoidable_admission", "--override-reason", "test", "--json"])
        out = capsys.readouterr()
    assert code == 0
    assert json.loads(out.out)["promoted"] is True
    assert main(["promote", "no_such_model"]) == 2
