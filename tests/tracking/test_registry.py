"""riskstrat.tracking.registry: references, versions, aliases, tags, bundles and the ledger's
runs, with a real MLflow store in a temp dir. Everything comes back as plain values."""

from __future__ import annotations

import numpy as np
import pytest

from riskstrat.errors import InputError
from riskstrat.tracking import (
    ModelInfo,
    champion_version,
    ledger_runs,
    load_bundle,
    log_aggregates,
    model_version,
    parse_ref,
    set_alias,
    tag_version,
    version_facts,
)
from tests.tracking.helpers import log_trained


def test_references() -> None:
    assert parse_ref("m@champion") == ("m", "champion", None)
    assert parse_ref("models:/m@challenger") == ("m", "challenger", None)
    assert parse_ref("m/3") == ("m", None, "3")
    assert parse_ref("models:/m/3") == ("m", None, "3")
    assert parse_ref("m") == ("m", "champion", None)
    for bad in ("", "m@", "@x", "m/x"):
        with pytest.raises(InputError):
            parse_ref(bad)


def test_a_version_is_found_by_alias_or_number(mlflow_store, trained_models) -> None:
    spec = trained_models.spec
    record = log_trained(trained_models.good, spec)
    by_alias, by_number = (
        model_version(f"{spec.name}@challenger"),
        model_version(f"models:/{spec.name}/1"),
    )
    assert by_alias == by_number and isinstance(by_alias, ModelInfo)
    assert (by_alias.name, by_alias.version, by_alias.uri, by_alias.run_id) == (
        spec.name,
        "1",
        f"models:/{spec.name}/1",
        record.run_id,
    )


def test_a_loaded_bundle_predicts_what_the_trained_one_does(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    log_trained(good, spec)
    bundle, info = load_bundle(f"{spec.name}@challenger")
    frame = good.test_frame.head(200)
    assert np.allclose(bundle.predict_risk(frame), good.bundle.predict_risk(frame))
    assert bundle.segments == good.bundle.segments and info.uri == f"models:/{spec.name}/1"


def test_unknown_models_and_aliases_name_what_is_registered(mlflow_store, trained_models) -> None:
    with pytest.raises(InputError, match="no model is registered"):
        load_bundle("unknown@champion")
    spec = trained_models.spec
    log_trained(trained_models.good, spec)
    with pytest.raises(InputError, match=f"registered models: {spec.name}"):
        load_bundle("unknown@champion")
    with pytest.raises(InputError, match="aliases challenger→v1"):
        load_bundle(f"{spec.name}@champion")
    with pytest.raises(InputError, match="has versions 1"):
        load_bundle(f"models:/{spec.name}/7")
    with pytest.raises(InputError, match="has versions 1"):
        version_facts(spec.name, "7")


def test_the_champion_is_the_version_its_alias_points_at(mlflow_store, trained_models) -> None:
    spec = trained_models.spec
    assert champion_version(spec.name) is None  # no such model yet
    log_trained(trained_models.good, spec)
    assert champion_version(spec.name) is None  # registered, no champion yet
    set_alias(spec.name, "champion", "1")
    assert champion_version(spec.name) == "1"


def test_an_alias_on_an_unknown_version_is_bad_input(mlflow_store, trained_models) -> None:
    spec = trained_models.spec
    log_trained(trained_models.good, spec)
    with pytest.raises(InputError, match="has versions 1"):
        set_alias(spec.name, "champion", "5")
    with pytest.raises(InputError, match="has versions 1"):
        tag_version(spec.name, "5", {"a": "b"})


def test_version_facts_join_the_run_and_the_version(mlflow_store, trained_models) -> None:
    spec, good = trained_models.spec, trained_models.good
    record = log_trained(good, spec)
    tag_version(
        spec.name, "1", {"reviewed_by": "lead", "fairness_passed": "false", "long": "x" * 6000}
    )
    facts = version_facts(spec.name, "1")
    assert (facts.name, facts.version, facts.run_id) == (spec.name, "1", record.run_id)
    assert facts.metrics["test_auroc"] == pytest.approx(good.metrics["test_auroc"])
    assert facts.params["promotion.max_auroc_loss"] == str(spec.promotion.max_auroc_loss)
    assert facts.tags["data_fingerprint"] == "abc123"  # the run's tag
    assert facts.tags["reviewed_by"] == "lead" and len(facts.tags["long"]) == 5000
    assert facts.tags["fairness_passed"] == "false"  # the version's tag wins over the run's


def test_ledger_runs_of_a_model_come_oldest_first(mlflow_store) -> None:
    for model, version in (("a", "1"), ("b", "1"), ("a", "2")):
        log_aggregates(
            "ledger",
            f"{model} v{version}",
            {"auroc": 0.7},
            params={"version": version},
            tags={"model": model},
        )
    runs = ledger_runs("ledger", "a")
    assert [r.params["version"] for r in runs] == ["1", "2"]
    assert runs[0].started <= runs[1].started and runs[0].started.tzinfo is not None
    assert runs[0].metrics == {"auroc": 0.7}
    assert ledger_runs("ledger", "c") == []
