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

from riskstrat.tracking import load_bundle, log_training
from riskstrat.training import train_model
from tests.training.synthetic import FEATURES, design, small_spec


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def mlflow_server(tmp_path, monkeypatch):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'db.sqlite'}",
         "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("mlflow server did not start within 90 s")
            time.sleep(0.5)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        import mlflow

        mlflow.set_tracking_uri(url)
        mlflow.set_registry_uri(url)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_log_register_and_load_through_a_tracking_server(mlflow_server) -> None:
    train, validation, test = design(1500, signal="nonlinear", seed=5)
    spec = small_spec()
    result = train_model(spec, train, validation, test, FEATURES, n_boot=20)
    record = log_training(result, spec, data_fingerprint="srv", extract_date=date(2025, 1, 1))
    bundle, info = load_bundle(f"{spec.name}@challenger")
    assert info.version == record.version == "1"
    frame = result.test_frame.head(20)
    assert np.allclose(bundle.predict_risk(frame), result.bundle.predict_risk(frame))
