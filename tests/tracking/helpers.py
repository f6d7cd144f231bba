"""Logging a trained model the way an experiment does, and reading the store back."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from riskstrat.experiment import compare_with_champion, current_champion, training_audit
from riskstrat.tracking import TrainingRecord, log_training
from riskstrat.tracking.store import client

EXTRACT = date(2025, 1, 1)


def log_trained(result, spec, passed: bool | None = True, **kwargs) -> TrainingRecord:
    """Compare with the current champion and log and register, as `run_experiment` does;
    `passed=None` logs no fairness audit at all."""
    audit = None
    if passed is not None:
        audit = training_audit(spec, result)
        audit["passed"] = passed and audit["passed"]
    comparison = compare_with_champion(result, current_champion(spec))
    return log_training(
        result,
        spec,
        data_fingerprint="abc123",
        extract_date=EXTRACT,
        audit=audit,
        champion_metrics=comparison.metrics,
        champion_tags=comparison.tags,
        **kwargs,
    )


def artifacts(run_id: str, path: str | None = None) -> set[str]:
    """Every file of a run, as paths relative to the run's artifact root."""
    out = set()
    for item in client().list_artifacts(run_id, path):
        out |= artifacts(run_id, item.path) if item.is_dir else {item.path}
    return out


def store_folder(uri: str) -> Path:
    return Path(uri.removeprefix("sqlite:///")).parent


def leaked_ids(text: str, ids: frozenset[str]) -> set[str]:
    """Every person id that occurs anywhere in `text` (as a substring)."""
    found: set[str] = set()
    for length in {len(i) for i in ids}:
        found |= {text[k : k + length] for k in range(len(text) - length + 1)} & ids
    return found


def assert_no_person_ids(store: Path, ids: frozenset[str]) -> None:
    """No person id in any table of the tracking database nor in any file under `store`."""
    sample = next(iter(ids))
    assert leaked_ids(f"x{sample}y", ids) == {sample}  # the scanner itself finds an id
    con = sqlite3.connect(store / "mlflow.db")
    try:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            text = "\n".join(
                " ".join(map(str, row)) for row in con.execute(f'SELECT * FROM "{table}"')
            )
            assert not leaked_ids(text, ids), f"person ids in table {table}"
    finally:
        con.close()
    files = [p for p in store.rglob("*") if p.is_file()]
    assert any(p.name == "bundle.json" for p in files) and any(p.suffix == ".png" for p in files)
    for path in files:
        leaked = leaked_ids(path.read_bytes().decode("latin-1"), ids)
        assert not leaked, f"person ids in {path}: {sorted(leaked)[:3]}"
