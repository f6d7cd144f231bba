"""Logging, registering, loading and promoting with a real MLflow store in a temp dir."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from riskstrat.errors import InputError
from riskstrat.experiment import training_audit
from riskstrat.promotion import PromotionRefused, champion_history, promote
from riskstrat.tracking import load_bundle, log_training, model_version
from riskstrat.training import train_model
from tests.training.synthetic import FEATURES, design, small_spec


@pytest.fixture(scope="module")
def runs():
    """A good model (nonlinear signal, all inputs) and a worse one (two inputs only)."""
    train, validation, test = design(3000, signal="nonlinear", seed=3)
    spec = small_spec()
    good = train_model(spec, train, validation, test, FEATURES, n_boot=30)
    worse = train_model(spec, train, validation, test, ["age", "sex_male"], n_boot=30)
    ids = set(train["person_id"]) | set(validation["person_id"]) | set(test["person_id"])
    return spec, good, worse, ids


def _log(result, spec, passed=True):
    audit = training_audit(spec, result)
    audit["passed"] = passed and audit["passed"]
    return log_training(result, spec, data_fingerprint="abc123", extract_date=date(2025, 1, 1), audit=audit)


def test_register_load_promote_and_refuse_a_worse_challenger(mlflow_store, runs, tmp_path) -> None:
    spec, good, worse, ids = runs
    first = _log(good, spec)
    assert first.version == "1"
    mv = model_version(f"{spec.name}@challenger")
    assert str(mv.version) == "1" and mv.tags["spec_hash"] == spec.fingerprint()
    assert first.metrics["test_auroc"] == pytest.approx(good.metrics["test_auroc"])

    bundle, info = load_bundle(f"{spec.name}@challenger")
    frame = good.test_frame.head(50)
    assert np.allclose(bundle.predict_risk(frame), good.bundle.predict_risk(frame))
    assert info.uri == f"models:/{spec.name}/1"

    decision = promote(spec.name, user="tester")
    assert decision.promoted and decision.previous_champion is None
    assert load_bundle(f"models:/{spec.name}@champion")[1].version == "1"

    second = _log(worse, spec)  # compared with champion v1 on the same test data
    assert "champion_test_auroc" in second.metrics
    with pytest.raises(PromotionRefused, match="below the champion"):
        promote(spec.name, user="tester")
    assert str(model_version(f"{spec.name}@champion").version) == "1"
    refused = model_version(f"{spec.name}/2").tags
    assert refused["promotion_decision"] == "refused"

    decision = promote(spec.name, override_reason="clinical review accepted the simpler model", user="tester")
    assert decision.promoted and decision.previous_champion == "1"
    tags = model_version(f"{spec.name}/2").tags
    assert tags["promotion_override_reason"].startswith("clinical review")
    assert str(model_version(f"{spec.name}@champion").version) == "2"
    history = champion_history(spec.name)
    assert [h["decision"] for h in history] == ["promoted", "refused", "promoted"]
    assert history[-1]["why"].startswith("clinical review")

    # privacy: no person id anywhere in the tracking store (database or artifacts)
    store = Path(mlflow_store.removeprefix("sqlite:///")).parent
    pattern = re.compile("|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)[:2000]))
    con = sqlite3.connect(store / "mlflow.db")
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        for row in con.execute(f"SELECT * FROM {table}"):
            assert not pattern.search(" ".join(map(str, row))), table
    for path in store.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".csv", ".md", ".yaml", ".txt", ".MLmodel", ""}:
            assert not pattern.search(path.read_text(errors="ignore")), path


def test_fairness_flags_block_promotion_unless_overridden(mlflow_store, runs) -> None:
    spec, good, _, _ = runs
    _log(good, spec, passed=False)
    with pytest.raises(PromotionRefused, match="fairness audit raised flags"):
        promote(spec.name)
    assert promote(spec.name, override_reason="flag reviewed: small municipality").promoted


def test_unknown_model_names_what_is_registered(mlflow_store, runs) -> None:
    with pytest.raises(InputError, match="no model is registered"):
        load_bundle("nothing@champion")
    spec, good, _, _ = runs
    _log(good, spec)
    with pytest.raises(InputError, match=f"registered models: {spec.name}"):
        load_bundle("nothing@champion")
