"""Logging, registering, loading and promoting with a real MLflow store in a temp dir."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from riskstrat.errors import InputError
from riskstrat.experiment import training_audit
from riskstrat.promotion import LEDGER, PromotionRefused, champion_history, promote
from riskstrat.tracking import (
    client,
    load_bundle,
    log_training,
    model_version,
    parse_ref,
    tracking_uri,
)

EXTRACT = date(2025, 1, 1)


def _log(result, spec, passed: bool | None = True, **kwargs):
    """Log and register; `passed=None` logs no fairness audit at all."""
    audit = None
    if passed is not None:
        audit = training_audit(spec, result)
        audit["passed"] = passed and audit["passed"]
    return log_training(result, spec, data_fingerprint="abc123", extract_date=EXTRACT, audit=audit,
                        **kwargs)  # fmt: skip


def _artifacts(run_id: str, path: str | None = None) -> set[str]:
    out = set()
    for item in client().list_artifacts(run_id, path):
        out |= _artifacts(run_id, item.path) if item.is_dir else {item.path}
    return out


def _leaked_ids(text: str, ids: frozenset[str]) -> set[str]:
    """Every person id that occurs anywhere in `text` (as a substring)."""
    found: set[str] = set()
    for length in {len(i) for i in ids}:
        found |= {text[k : k + length] for k in range(len(text) - length + 1)} & ids
    return found


def _assert_no_person_ids(store: Path, ids: frozenset[str]) -> None:
    sample = next(iter(ids))
    assert _leaked_ids(f"x{sample}y", ids) == {sample}  # the scanner itself finds an id
    # every column of every table of the tracking database, as text
    con = sqlite3.connect(store / "mlflow.db")
    try:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            text = "\n".join(
                " ".join(map(str, row)) for row in con.execute(f'SELECT * FROM "{table}"')
            )
            assert not _leaked_ids(text, ids), f"person ids in table {table}"
    finally:
        con.close()
    # every file under the store (the database file itself and every artifact), as bytes
    files = [p for p in store.rglob("*") if p.is_file()]
    assert any(p.name == "bundle.json" for p in files) and any(p.suffix == ".png" for p in files)
    for path in files:
        leaked = _leaked_ids(path.read_bytes().decode("latin-1"), ids)
        assert not leaked, f"person ids in {path}: {sorted(leaked)[:3]}"


@dataclass(frozen=True)
class Story:
    """One model's life in one store: v1 logged and promoted; a worse v2 logged, refused, and
    promoted by override. What later steps change (aliases, tags) is kept as it was then."""

    store: Path
    first: object  # log_training's record of v1
    challenger_v1: object  # the ModelVersion behind @challenger right after v1 was logged
    challenger_load: tuple  # load_bundle("@challenger") right after v1 was logged
    first_decision: object  # promote() of v1
    champion_load: tuple  # load_bundle("@champion") right after v1 was promoted
    v1_tags_promoted: dict  # v1's tags right after it was promoted
    second: object  # log_training's record of v2
    refusal: PromotionRefused | None  # what promote() of v2 raised
    champion_after_refusal: str
    v2_tags_refused: dict  # v2's tags right after the refusal
    override: object  # promote() of v2 with a reason


def _refusal(name: str, **kwargs) -> PromotionRefused | None:
    try:
        promote(name, **kwargs)
    except PromotionRefused as refused:
        return refused
    return None


@pytest.fixture(scope="module")
def story(tmp_path_factory, trained_models):
    """The story, told once in a store of its own that stays current for this module."""
    spec, good, worse = trained_models.spec, trained_models.good, trained_models.worse
    store = tmp_path_factory.mktemp("tracking_story")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
        first = _log(good, spec, code_version="test-build-1")
        challenger_v1 = model_version(f"{spec.name}@challenger")
        challenger_load = load_bundle(f"{spec.name}@challenger")
        first_decision = promote(spec.name, user="tester")
        champion_load = load_bundle(f"models:/{spec.name}@champion")
        v1_tags_promoted = dict(model_version(f"{spec.name}/1").tags)
        second = _log(worse, spec)
        refusal = _refusal(spec.name, user="tester")
        champion_after_refusal = str(model_version(f"{spec.name}@champion").version)
        v2_tags_refused = dict(model_version(f"{spec.name}/2").tags)
        override = promote(
            spec.name, override_reason="clinical review accepted the simpler model", user="lead"
        )
        yield Story(store, first, challenger_v1, challenger_load, first_decision, champion_load,
                    v1_tags_promoted, second, refusal, champion_after_refusal, v2_tags_refused,
                    override)  # fmt: skip


def test_logging_registers_version_1_as_challenger_with_its_tags(story, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    first, mv = story.first, story.challenger_v1
    assert (first.model_name, first.version) == (spec.name, "1")
    assert first.metrics["test_auroc"] == pytest.approx(good.metrics["test_auroc"])
    assert str(mv.version) == "1"
    assert mv.tags["spec_hash"] == spec.fingerprint() and mv.tags["run_id"] == first.run_id
    assert mv.tags["data_extract_date"] == "2025-01-01" and mv.tags["fairness_passed"] == "true"
    tiers = json.loads(mv.tags["segments.tiers"])
    assert [t["name"] for t in tiers] == list(good.bundle.segments.tier_names)
    assert all(isinstance(t["cut_point"], float) for t in tiers)
    assert {n["name"] for n in json.loads(mv.tags["segments.needs"])} >= {"nursing_home"}


def test_the_run_records_tags_params_and_metrics(story, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    run = client().get_run(story.first.run_id)
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert tags["code_version"] == "test-build-1" and tags["data_fingerprint"] == "abc123"
    assert tags["riskstrat_version"] and tags["champion_version_compared"] == "none"
    assert params["label"] == "avoidable_admission" and params["horizon_months"] == "12"
    assert params["code_list"] == spec.code_list and params["index_dates.test"] == "2023-07-01"
    assert json.loads(params["index_dates.train"]) == ["2021-01-01", "2021-07-01"]
    assert params["learner.params.num_leaves"] == "8" and "features.groups" in params
    for key in (
        "test_auroc",
        "test_auroc_ci_low",
        "test_auroc_ci_high",
        "test_brier",
        "beats_baselines",
    ):
        assert metrics[key] == pytest.approx(good.metrics[key])
    assert not any(k.startswith("champion_") for k in metrics)


def test_the_run_holds_its_artifacts_beside_the_store(story, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    files = _artifacts(story.first.run_id)
    assert {"model_card.md", "segments.json", "spec.yaml", "fairness.json"} <= files
    assert {f"figures/{n}" for n in good.figures} <= files
    assert {f"tables/{n}" for n in good.tables} <= files
    experiment = client().get_experiment(client().get_run(story.first.run_id).info.experiment_id)
    assert experiment.name == spec.name
    assert experiment.artifact_location == (story.store / "artifacts" / spec.name).as_uri()


def test_the_registered_bundle_predicts_what_the_trained_one_does(story, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    bundle, info = story.challenger_load
    frame = good.test_frame.head(200)
    assert np.allclose(bundle.predict_risk(frame), good.bundle.predict_risk(frame))
    assert (info.name, info.version, info.uri, info.run_id) == (
        spec.name,
        "1",
        f"models:/{spec.name}/1",
        story.first.run_id,
    )
    assert bundle.segments == good.bundle.segments


def test_the_first_version_is_promoted_on_audit_and_baselines(story, trained_models) -> None:
    good = trained_models.good
    decision = story.first_decision
    assert decision.promoted and decision.previous_champion is None and decision.version == "1"
    assert decision.reasons == ["all gates passed"] and decision.failed_gates == []
    champion, info = story.champion_load
    frame = good.test_frame.head(200)
    assert info.version == "1" and np.allclose(
        champion.predict_risk(frame), good.bundle.predict_risk(frame)
    )
    assert story.v1_tags_promoted["promotion_decision"] == "promoted"


def test_a_worse_challenger_is_compared_and_refused(story, trained_models) -> None:
    good = trained_models.good
    second = story.second
    assert second.version == "2"
    # compared on its own test rows, which are the champion's here: its metrics come back unchanged
    assert second.metrics["champion_test_auroc"] == pytest.approx(good.metrics["test_auroc"])
    assert second.metrics["champion_test_brier"] == pytest.approx(good.metrics["test_brier"])
    assert client().get_run(second.run_id).data.tags["champion_version_compared"] == "1"
    assert isinstance(story.refusal, PromotionRefused)
    assert "below the champion" in str(story.refusal)
    assert story.refusal.decision is not None and not story.refusal.decision.promoted
    assert any("AUROC" in r for r in story.refusal.decision.reasons)
    assert story.champion_after_refusal == "1"
    tags = story.v2_tags_refused
    assert tags["promotion_decision"] == "refused" and tags["promotion_by"] == "tester"
    assert json.loads(tags["promotion_failed_gates"]) and "champion_test_auroc" in json.loads(
        tags["promotion_compared"]
    )


def test_an_override_promotes_and_is_recorded_on_the_versions(story, trained_models) -> None:
    spec = trained_models.spec
    decision = story.override
    assert decision.promoted and decision.previous_champion == "1" and decision.failed_gates
    assert decision.as_dict()["decision"] == "promoted by override"
    tags = model_version(f"{spec.name}/2").tags
    assert tags["promotion_override"] == "true" and tags["promotion_by"] == "lead"
    assert tags["promotion_override_reason"].startswith("clinical review")
    assert tags["promotion_at"].endswith("+00:00")
    assert model_version(f"{spec.name}/1").tags["replaced_as_champion_by"] == "2"
    assert load_bundle(f"models:/{spec.name}@champion")[1].version == "2"


def test_the_ledger_holds_every_decision(story, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    history = champion_history(spec.name)
    assert [(h["version"], h["decision"]) for h in history] == [
        ("1", "promoted"), ("2", "refused"), ("2", "promoted by override"),
    ]  # fmt: skip
    assert [h["previous_champion"] for h in history] == ["none", "1", "1"]
    assert [h["by"] for h in history] == ["tester", "tester", "lead"]
    assert history[1]["failed_gates"] and history[0]["failed_gates"] == []
    assert history[-1]["why"].startswith("clinical review")
    assert history[-1]["metrics"]["champion_test_auroc"] == pytest.approx(
        good.metrics["test_auroc"]
    )
    assert client().get_experiment_by_name(LEDGER) is not None


def test_no_person_id_reaches_the_tracking_store(story, trained_models) -> None:
    _assert_no_person_ids(story.store, trained_models.person_ids)


def test_fairness_and_stale_comparisons_block_promotion_unless_overridden(
    mlflow_store, trained_models
) -> None:
    spec, good = trained_models.spec, trained_models.good
    _log(good, spec, passed=False)  # v1: the audit raised flags
    with pytest.raises(PromotionRefused, match="fairness audit raised"):
        promote(spec.name)
    _log(good, spec, passed=None)  # v2: no audit recorded
    with pytest.raises(PromotionRefused, match="no fairness audit"):
        promote(spec.name)
    assert promote(spec.name, "1", override_reason="flag reviewed: small municipality").promoted

    # v2 was trained when there was no champion: not compared with v1 on the same data
    with pytest.raises(
        PromotionRefused, match=r"not compared with the current champion \(version 1\)"
    ):
        promote(spec.name, "2")
    assert str(model_version(f"{spec.name}@champion").version) == "1"

    # retrained: compared with v1 on the same rows, equally good, audit clean -> promoted
    third = _log(good, spec)
    assert third.metrics["champion_test_auroc"] == pytest.approx(third.metrics["test_auroc"])
    decision = promote(spec.name)
    assert decision.promoted and decision.version == "3" and not decision.failed_gates
    assert [h["decision"] for h in champion_history(spec.name)] == [
        "refused", "refused", "promoted by override", "refused", "promoted",
    ]  # fmt: skip


def test_unknown_models_and_aliases_name_what_is_registered(mlflow_store, trained_models) -> None:
    with pytest.raises(InputError, match="no model is registered"):
        load_bundle("unknown@champion")
    spec, good = trained_models.spec, trained_models.good
    _log(good, spec)
    with pytest.raises(InputError, match=f"registered models: {spec.name}"):
        load_bundle("unknown@champion")
    with pytest.raises(InputError, match="aliases challenger→v1"):
        load_bundle(f"{spec.name}@champion")
    with pytest.raises(InputError, match="has versions 1"):
        load_bundle(f"models:/{spec.name}/7")
    with pytest.raises(InputError, match="registered models"):
        promote("unknown")


def test_references() -> None:
    assert parse_ref("m@champion") == ("m", "champion", None)
    assert parse_ref("models:/m@challenger") == ("m", "challenger", None)
    assert parse_ref("m/3") == ("m", None, "3")
    assert parse_ref("models:/m/3") == ("m", None, "3")
    assert parse_ref("m") == ("m", "champion", None)
    for bad in ("", "m@", "@x", "m/x"):
        with pytest.raises(InputError):
            parse_ref(bad)


def test_default_store_is_sqlite_under_cwd_with_artifacts_beside_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RISKSTRAT_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlruns' / 'mlflow.db'}"
    from riskstrat.tracking import experiment_id

    experiment = client().get_experiment(experiment_id("probe"))
    assert (
        experiment.artifact_location
        == (tmp_path.resolve() / "mlruns" / "artifacts" / "probe").as_uri()
    )
    assert [p.name for p in tmp_path.iterdir()] == ["mlruns"]  # nothing else in cwd
