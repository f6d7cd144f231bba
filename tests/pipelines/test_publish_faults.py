"""Fault injection: a publish killed with SIGKILL at each step (while writing, before,
between and after the two renames of the month swap, and after publishing but before the
MLflow month log), then the next run of the month. The next run reaches the complete new
state: the new files, the whole audit history plus one line, nothing left beside the month,
and exactly one finished MLflow run of the month for that audit line."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.publishing_worker import POINTS, month_files

REPO = Path(__file__).resolve().parents[2]
METRICS = {"persons_scored": 3.0}
FAIRNESS = {"passed": True}
RECORD = {"models": {"m": "models:/m/1"}}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """One MLflow store for the module (each case logs its own month)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        yield uri
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


def next_run(root: Path, month: str, variant: str):
    """What `riskstrat monthly` does once its files are built: publish, then log the month
    unless MLflow has it (the flow's own `log_month` task)."""
    from pipelines.monthly import log_month

    from riskstrat.runs import RunsLayout

    result = RunsLayout(root).publish(month, month_files(variant), {"variant": variant})
    _, logged = log_month.fn(month, METRICS, FAIRNESS, RECORD, str(result.audit_sha256))
    return result, logged


def month_runs(month: str, audit_sha256: str) -> list[str]:
    from riskstrat.monthly import MONTHLY_EXPERIMENT
    from riskstrat.tracking import finished_runs

    return finished_runs(MONTHLY_EXPERIMENT, {"month": month, "audit_sha256": audit_sha256})


def last_line_sha(folder: Path) -> str:
    return hashlib.sha256((folder / "audit.jsonl").read_bytes().splitlines()[-1]).hexdigest()


@pytest.mark.parametrize("point", POINTS)
def test_the_run_after_a_kill_at_any_step_reaches_the_complete_new_state(
    store, tmp_path: Path, point: str
) -> None:
    month = f"2026-{POINTS.index(point) + 1:02d}"
    root, folder = tmp_path / "runs", tmp_path / "runs" / month
    next_run(root, month, "a")
    _, logged = next_run(root, month, "b")  # two publications of history, the last logged
    assert logged and len(month_runs(month, last_line_sha(folder))) == 1

    worker = [sys.executable, "-m", "tests.publishing_worker", str(root), month, "c"]
    killed = subprocess.run(
        [*worker, "--crash", point], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = sorted(p.name for p in root.iterdir())
    if point == "between-renames":  # what the issue found: the month is gone, a copy hidden
        assert month not in left and any(n.endswith(".old") for n in left), left
    if point in ("after-renames", "before-log"):  # published, not logged
        last = folder.joinpath("audit.jsonl").read_text().splitlines()[-1]
        assert json.loads(last)["variant"] == "c"
        assert month_runs(month, last_line_sha(folder)) == []

    result, logged = next_run(root, month, "c")
    assert {k: (folder / k).read_bytes() for k in month_files("c")} == month_files("c")
    history = [json.loads(x)["variant"] for x in (folder / "audit.jsonl").read_text().splitlines()]
    assert history == ["a", "b", "c"]
    assert sorted(p.name for p in root.iterdir()) == [month]  # no lock, no leftover copy
    assert result.unchanged == (point in ("after-renames", "before-log"))
    assert bool(result.recovered) == (point != "before-log")  # and the run says what it found
    assert result.audit_sha256 == last_line_sha(folder)
    assert logged and len(month_runs(month, last_line_sha(folder))) == 1

    again, logged_again = next_run(root, month, "c")  # idempotent: nothing more to do
    assert again.unchanged and not again.recovered and not logged_again
    assert len(month_runs(month, last_line_sha(folder))) == 1
