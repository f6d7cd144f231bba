"""riskstrat.tracking.store: where the store is, experiments, MLflow's errors as InputError."""

from __future__ import annotations

import socket

import pytest

from riskstrat.errors import InputError
from riskstrat.tracking import experiment_id, model_version, tracking_uri
from riskstrat.tracking.store import client, input_errors


def test_default_store_is_sqlite_under_cwd_with_artifacts_beside_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RISKSTRAT_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlruns' / 'mlflow.db'}"
    experiment = client().get_experiment(experiment_id("probe"))
    assert (
        experiment.artifact_location
        == (tmp_path.resolve() / "mlruns" / "artifacts" / "probe").as_uri()
    )
    assert [p.name for p in tmp_path.iterdir()] == ["mlruns"]  # nothing else in cwd


def test_riskstrat_home_moves_the_default_store(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("RISKSTRAT_HOME", str(tmp_path))
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlruns' / 'mlflow.db'}"


def test_an_experiment_is_created_once(mlflow_store) -> None:
    assert experiment_id("probe") == experiment_id("probe")


def test_an_unreachable_tracking_server_is_bad_input(monkeypatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with pytest.raises(
        InputError, match=f"cannot reach the MLflow store at http://127.0.0.1:{port}"
    ):
        model_version("avoidable_admission@champion")


def test_other_mlflow_errors_pass_through_for_retries(mlflow_store) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="try again"):
        with input_errors("probe", missing=lambda: "not found"):
            raise MlflowException("try again", error_code="TEMPORARILY_UNAVAILABLE")


def test_a_corrupt_store_is_bad_input_naming_the_store(tmp_path, monkeypatch) -> None:
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"not a database, whatever it is " * 1000)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    with pytest.raises(InputError, match=f"the MLflow store at sqlite:///{db} is not an MLflow"):
        model_version("avoidable_admission@champion")


def test_a_locked_store_is_bad_input_within_seconds(mlflow_store) -> None:
    import sqlite3
    import time

    experiment_id("probe")  # the store exists, with its tables
    lock = sqlite3.connect(mlflow_store.removeprefix("sqlite:///"), isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    start = time.monotonic()
    try:
        with pytest.raises(InputError, match="is locked by another process"):
            experiment_id("another probe")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert (
        time.monotonic() - start < 60
    )  # SQLite waits its busy timeout, MLflow retries once or twice
