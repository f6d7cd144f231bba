"""Against a real `mlflow server` process: the default store is one command away from a server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date

import numpy as np
import pytest

from riskstrat.promotion import champion_history, promote
from riskstrat.tracking import load_bundle, log_training


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server_process(tmp_path):
    """Starts `mlflow server` (20-30 s to come up on 2 cores) without waiting for it."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'db.sqlite'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture()
def mlflow_server(server_process, trained_models, monkeypatch):
    """The server, once up (the shared models train while it starts)."""
    proc, url = server_process
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            pytest.fail("mlflow server did not start within 120 s")
        time.sleep(0.5)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    import mlflow

    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    return url


def test_log_register_promote_and_load_through_a_tracking_server(
    mlflow_server, trained_models, capfd
) -> None:
    spec, result = trained_models.spec, trained_models.good
    record = log_training(result, spec, data_fingerprint="srv", extract_date=date(2025, 1, 1))
    bundle, info = load_bundle(f"{spec.name}@challenger")
    assert info.version == record.version == "1"
    frame = result.test_frame.head(20)
    assert np.allclose(bundle.predict_risk(frame), result.bundle.predict_risk(frame))
    # no fairness audit was logged: promoted only by a recorded override
    assert promote(spec.name, override_reason="server smoke test", user="ci").promoted
    assert load_bundle(f"models:/{spec.name}@champion")[1].version == "1"
    assert champion_history(spec.name)[-1]["why"] == "server smoke test"
    assert "View run" not in capfd.readouterr().out  # stdout stays clean for --json
