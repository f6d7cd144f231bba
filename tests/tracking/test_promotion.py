"""riskstrat.promotion: the gates, overrides and the ledger, through the registry facade,
with a real MLflow store in a temp dir."""

from __future__ import annotations

import json

import numpy as np
import pytest

from riskstrat.errors import InputError
from riskstrat.promotion import PromotionRefused, champion_history, check_gates, promote
from riskstrat.tracking import load_bundle, model_version
from tests.tracking.helpers import assert_no_person_ids, log_trained, store_folder


def test_a_first_clean_version_is_promoted(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    log_trained(good, spec)
    decision = promote(spec.name, user="tester")
    assert decision.promoted and decision.previous_champion is None and decision.version == "1"
    assert decision.reasons == ["all gates passed"] and decision.failed_gates == []
    champion, info = load_bundle(f"models:/{spec.name}@champion")
    frame = good.test_frame.head(200)
    assert info.version == "1" and np.allclose(
        champion.predict_risk(frame), good.bundle.predict_risk(frame)
    )
    assert model_version(f"{spec.name}/1").tags["promotion_decision"] == "promoted"


def test_a_worse_challenger_is_refused_with_the_reasons_recorded(
    mlflow_store, trained_models
) -> None:
    spec = trained_models.spec
    log_trained(trained_models.good, spec)
    promote(spec.name, user="tester")
    log_trained(trained_models.worse, spec)
    with pytest.raises(PromotionRefused, match="below the champion") as refused:
        promote(spec.name, user="tester")
    assert refused.value.decision is not None and not refused.value.decision.promoted
    assert any("AUROC" in r for r in refused.value.decision.reasons)
    assert model_version(f"{spec.name}@champion").version == "1"
    tags = model_version(f"{spec.name}/2").tags
    assert tags["promotion_decision"] == "refused" and tags["promotion_by"] == "tester"
    assert json.loads(tags["promotion_failed_gates"])
    assert "champion_test_auroc" in json.loads(tags["promotion_compared"])


def test_an_override_promotes_and_is_recorded_on_both_versions(
    mlflow_store, trained_models
) -> None:
    spec = trained_models.spec
    log_trained(trained_models.good, spec)
    promote(spec.name, user="tester")
    log_trained(trained_models.worse, spec)
    decision = promote(
        spec.name, override_reason="clinical review accepted the simpler model", user="lead"
    )
    assert decision.promoted and decision.previous_champion == "1" and decision.failed_gates
    assert decision.as_dict()["decision"] == "promoted by override"
    tags = model_version(f"{spec.name}/2").tags
    assert tags["promotion_override"] == "true" and tags["promotion_by"] == "lead"
    assert tags["promotion_override_reason"].startswith("clinical review")
    assert tags["promotion_at"].endswith("+00:00")
    assert model_version(f"{spec.name}/1").tags["replaced_as_champion_by"] == "2"
    assert model_version(f"{spec.name}@champion").version == "2"


def test_the_ledger_lists_every_decision_oldest_first(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    log_trained(good, spec)
    promote(spec.name, user="tester")
    log_trained(trained_models.worse, spec)
    with pytest.raises(PromotionRefused):
        promote(spec.name, user="tester")
    promote(spec.name, override_reason="clinical review", user="lead")
    history = champion_history(spec.name)
    assert [(h["version"], h["decision"]) for h in history] == [
        ("1", "promoted"),
        ("2", "refused"),
        ("2", "promoted by override"),
    ]
    assert [h["previous_champion"] for h in history] == ["none", "1", "1"]
    assert [h["by"] for h in history] == ["tester", "tester", "lead"]
    assert history[1]["failed_gates"] and history[0]["failed_gates"] == []
    assert history[-1]["why"] == "clinical review" and history[-1]["at"].endswith("+00:00")
    assert history[-1]["metrics"]["champion_test_auroc"] == pytest.approx(
        good.metrics["test_auroc"]
    )
    assert champion_history("other_model") == []


def test_a_fairness_flag_or_a_missing_audit_refuses(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    log_trained(good, spec, passed=False)  # v1: the audit raised flags
    with pytest.raises(PromotionRefused, match="fairness audit raised"):
        promote(spec.name)
    log_trained(good, spec, passed=None)  # v2: no audit recorded
    with pytest.raises(PromotionRefused, match="no fairness audit"):
        promote(spec.name)
    assert promote(spec.name, "1", override_reason="flag reviewed: small municipality").promoted


def test_a_challenger_compared_with_another_champion_must_be_retrained(
    mlflow_store, trained_models
) -> None:
    spec, good = trained_models.spec, trained_models.good
    log_trained(good, spec)
    log_trained(good, spec)  # v2: trained when there was no champion
    promote(spec.name, "1")
    assert (
        check_gates(spec.name, "2")
        .failed[0]
        .startswith("not compared with the current champion (version 1)")
    )
    with pytest.raises(
        PromotionRefused, match=r"not compared with the current champion \(version 1\)"
    ):
        promote(spec.name, "2")
    assert model_version(f"{spec.name}@champion").version == "1"
    third = log_trained(good, spec)  # retrained: compared with v1 on the same rows
    assert third.metrics["champion_test_auroc"] == pytest.approx(third.metrics["test_auroc"])
    decision = promote(spec.name)
    assert decision.promoted and decision.version == "3" and not decision.failed_gates


def test_an_unknown_model_is_bad_input(mlflow_store, trained_models) -> None:
    log_trained(trained_models.good, trained_models.spec)
    with pytest.raises(InputError, match="registered models"):
        promote("unknown")


def test_no_person_id_reaches_the_store(mlflow_store, trained_models) -> None:
    spec = trained_models.spec
    log_trained(trained_models.good, spec)
    promote(spec.name, user="tester")
    log_trained(trained_models.worse, spec)  # compared with the champion on its test rows
    promote(spec.name, override_reason="privacy check", user="tester")
    assert_no_person_ids(store_folder(mlflow_store), trained_models.person_ids)


def test_a_champion_that_saw_the_test_outcomes_is_compared_with_the_challengers_refit(
    mlflow_store, trained_models
) -> None:
    """A champion refitted on the same extract was calibrated on the test date: against the
    challenger's backtest it would win by that advantage alone, a false refusal. The gate
    compares it with the challenger's registered refit, which has the same advantage."""
    from riskstrat.experiment import training_audit
    from riskstrat.tracking import log_training
    from tests.tracking.helpers import EXTRACT

    spec, good = trained_models.spec, trained_models.good
    log_trained(good, spec)
    promote(spec.name, "1")
    auroc, brier = good.metrics["test_auroc"], good.metrics["test_brier"]
    audit = training_audit(spec, good)

    def challenger(registered_auroc: float) -> str:
        record = log_training(
            good,
            spec,
            data_fingerprint="abc123",
            extract_date=EXTRACT,
            audit=audit,
            champion_metrics={
                "champion_test_auroc": auroc + 0.05,  # in-sample calibration's advantage
                "champion_test_brier": brier - 0.01,
                "registered_test_auroc": registered_auroc,
                "registered_test_brier": brier - 0.01,
            },
            champion_tags={"champion_version_compared": "1", "champion_saw_test_outcomes": "true"},
        )
        return record.version

    sound = challenger(auroc + 0.05)
    assert check_gates(spec.name, sound).failed == []
    weaker = challenger(auroc)
    [failed] = check_gates(spec.name, weaker).failed
    assert failed.startswith("registered refit's test AUROC")
