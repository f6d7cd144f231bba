"""Shared test setup: MLflow, Prefect and the riskstrat cache isolated in temp dirs, never the
working tree or the home folder.

Environment is set before anything imports prefect or mlflow (see stack-notes.md).
"""

from __future__ import annotations

import os
import sys
import tempfile

_PREFECT_HOME = tempfile.mkdtemp(prefix="riskstrat_prefect_")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
# validation records (riskstrat.contract.record) go to a temp dir, never the user's cache
os.environ["RISKSTRAT_CACHE"] = tempfile.mkdtemp(prefix="riskstrat_cache_")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("PREFECT_API_URL", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture()
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real, empty MLflow store (SQLite + local artifacts) in a temp dir for one test."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    if "mlflow" in sys.modules:  # an earlier test may have set MLflow's process-wide URI
        sys.modules["mlflow"].set_tracking_uri(uri)
        sys.modules["mlflow"].set_registry_uri(uri)
    return uri


@pytest.fixture(scope="session")
def prefect_server():
    """One ephemeral Prefect server (its own temp DB) for the tests that run real flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic profile (≈2,000 persons), generated once per test session."""
    from riskstrat.synth import generate

    out = tmp_path_factory.mktemp("tiny") / "data"
    generate("tiny", seed=7, out_dir=out)
    return out


@pytest.fixture(scope="session")
def cluster_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 15,000-person Randers-profile extract: enough events to train both models."""
    from riskstrat.synth import generate

    out = tmp_path_factory.mktemp("cluster") / "data"
    generate("randers", seed=3, out_dir=out, persons=15_000)
    return out
