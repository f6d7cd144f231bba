"""riskstrat.tracking.runs: a training run logged and registered, runs of aggregates, and
reading runs back, with a real MLflow store in a temp dir."""

from __future__ import annotations

import json

import pytest

from riskstrat.tracking import (
    load_run_text,
    log_aggregates,
    log_training,
    model_version,
    run_metrics,
    run_tags,
)
from riskstrat.tracking.store import client
from tests.tracking.helpers import (
    EXTRACT,
    artifacts,
    log_trained,
    store_folder,
)


def test_a_training_run_holds_the_spec_metrics_and_provenance(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    record = log_trained(good, spec, code_version="test-build-1")
    assert record.metrics["test_auroc"] == pytest.approx(good.metrics["test_auroc"])
    run = client().get_run(record.run_id)
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert tags["code_version"] == "test-build-1" and tags["data_fingerprint"] == "abc123"
    assert tags["riskstrat_version"] and tags["data_extract_date"] == "2025-01-01"
    assert tags["spec_hash"] == spec.fingerprint() and tags["fairness_passed"] == "true"
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


def test_a_training_run_holds_figures_tables_card_and_audit(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    run_id = log_trained(good, spec).run_id
    files = artifacts(run_id)
    assert {"model_card.md", "segments.json", "spec.yaml", "fairness.json"} <= files
    assert {f"figures/{n}" for n in good.figures} <= files
    assert {f"tables/{n}" for n in good.tables} <= files
    experiment = client().get_experiment(client().get_run(run_id).info.experiment_id)
    assert experiment.name == spec.name
    assert (
        experiment.artifact_location
        == (store_folder(mlflow_store) / "artifacts" / spec.name).as_uri()
    )


def test_a_training_run_registers_a_challenger_version(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    first = log_trained(good, spec)
    assert (first.model_name, first.version) == (spec.name, "1")
    assert log_trained(good, spec).version == "2"
    mv = model_version(f"{spec.name}@challenger")
    assert mv.version == "2" and mv.tags["spec_hash"] == spec.fingerprint()
    first_tags = model_version(f"{spec.name}/1").tags
    assert first_tags["run_id"] == first.run_id and first_tags["fairness_passed"] == "true"
    assert first_tags["test_auroc"] == f"{good.metrics['test_auroc']:.4f}"
    tiers = json.loads(first_tags["segments.tiers"])
    assert [t["name"] for t in tiers] == list(good.bundle.segments.tier_names)
    assert all(isinstance(t["cut_point"], float) for t in tiers)
    assert {n["name"] for n in json.loads(first_tags["segments.needs"])} >= {"nursing_home"}


def test_the_champion_comparison_given_is_logged(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    record = log_training(
        good,
        spec,
        data_fingerprint="x",
        extract_date=EXTRACT,
        champion_metrics={"champion_test_auroc": 0.7, "champion_test_brier": 0.1},
        champion_tags={"champion_version_compared": "4"},
    )
    assert run_metrics(record.run_id)["champion_test_auroc"] == pytest.approx(0.7)
    assert run_tags(record.run_id)["champion_version_compared"] == "4"
    assert model_version(f"{spec.name}/1").tags["champion_version_compared"] == "4"


def test_without_a_comparison_no_champion_is_recorded(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    record = log_training(good, spec, data_fingerprint="x", extract_date=EXTRACT)
    assert run_tags(record.run_id)["champion_version_compared"] == "none"
    assert not any(k.startswith("champion_") for k in run_metrics(record.run_id))
    assert "fairness_passed" not in run_tags(record.run_id)  # no audit given


def test_a_run_of_aggregates_reads_back(mlflow_store) -> None:
    run_id = log_aggregates(
        "riskstrat-monthly",
        "month 2025-01",
        {"rows": 12, "passed": True, "note": "x"},
        params={"month": "2025-01"},
        artifacts={"summary.json": b'{"a": 1}'},
        tags={"month": "2025-01"},
    )
    assert run_metrics(run_id) == {"rows": 12.0, "passed": 1.0}  # text is left out
    assert run_tags(run_id)["month"] == "2025-01"
    assert load_run_text(run_id, "summary.json") == '{"a": 1}'
    assert load_run_text(run_id, "missing.txt") is None
