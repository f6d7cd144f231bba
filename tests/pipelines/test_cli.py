"""`riskstrat monthly` (pipelines/cli.py) as a user runs it: bad input gives the clean message
only; Prefect's log lines and tracebacks go to a log file that the message names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.contract.extracts import valid_tables, write_extract

ROOT = Path(__file__).resolve().parents[2]


def test_a_bad_data_monthly_run_shows_only_the_message_and_names_the_log(tmp_path) -> None:
    tables = valid_tables()
    tables["persons"].loc[1, "sex"] = "X"
    data = write_extract(tmp_path / "data", tables)
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_LOGGING_LEVEL": "INFO",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "RISKSTRAT_CACHE": str(tmp_path / "cache"),
        "TMPDIR": str(tmp_path),
    }
    env.pop("RISKSTRAT_DEBUG", None)
    env.pop("PREFECT_API_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "monthly", "--data", str(data)]
        + ["--month", "2025-12", "--out", str(tmp_path / "runs")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2, run.stderr
    assert "persons.sex: unknown category (allowed: F, M): 1 row" in run.stderr
    assert "Traceback" not in run.stderr and "ERROR" not in run.stderr
    assert run.stdout == ""
    [log] = re.findall(r"the flow run's log: (\S+\.log)", run.stderr)
    text = Path(log).read_text(encoding="utf-8")
    assert "ERROR" in text and "ContractError" in text
    assert not (tmp_path / "runs").exists()


def test_the_log_path_is_never_masked_as_a_cpr_number(monkeypatch) -> None:
    """A time of day and a process id of four or more digits ("133012-12345") once made the
    log's name CPR-shaped, so the message naming it pointed at a masked, missing file."""
    from pipelines.cli import flow_log_path

    from riskstrat.redact import mask_cpr

    monkeypatch.setattr(os, "getpid", lambda: 123456)
    path = str(flow_log_path("2025-12"))
    assert mask_cpr(path) == path
