"""The experiment's champion comparison (riskstrat.experiment): the current champion loaded
through the registry and evaluated on the challenger's own test rows."""

from __future__ import annotations

import pytest

from riskstrat.experiment import (
    Champion,
    ChampionComparison,
    compare_with_champion,
    current_champion,
)
from riskstrat.tracking import set_alias
from tests.tracking.helpers import log_trained


def test_no_champion_means_nothing_compared(mlflow_store, trained_models) -> None:
    spec = trained_models.spec
    assert current_champion(spec) is None  # nothing registered
    log_trained(trained_models.good, spec)
    assert current_champion(spec) is None  # a challenger only
    comparison = compare_with_champion(trained_models.worse, None)
    assert comparison == ChampionComparison({}, {"champion_version_compared": "none"})


def test_the_champion_is_evaluated_on_the_challengers_test_rows(
    mlflow_store, trained_models
) -> None:
    spec, good, worse = trained_models.spec, trained_models.good, trained_models.worse
    log_trained(good, spec)
    set_alias(spec.name, "champion", "1")
    champion = current_champion(spec)
    assert champion.version == "1" and champion.bundle is not None and not champion.error
    comparison = compare_with_champion(worse, champion)
    # the challenger's test rows are the champion's own here: its metrics come back unchanged
    assert comparison.metrics["champion_test_auroc"] == pytest.approx(good.metrics["test_auroc"])
    assert comparison.metrics["champion_test_brier"] == pytest.approx(good.metrics["test_brier"])
    assert all(k.startswith("champion_test_") and "gain_over" not in k for k in comparison.metrics)
    assert comparison.tags == {"champion_version_compared": "1"}


def test_a_champion_that_cannot_be_evaluated_is_recorded_as_not_compared(trained_models) -> None:
    class Unusable:  # a bundle predicting another label than the challenger's
        label_column = "y_other"
        model_name = "other"

    comparison = compare_with_champion(trained_models.good, Champion("3", Unusable()))
    assert comparison.metrics == {}
    assert comparison.tags["champion_version_compared"] == "none"
    assert comparison.tags["champion_comparison_error"].startswith(
        "champion v3: InputError: model other predicts"
    )


def test_a_champion_whose_bundle_cannot_be_read_is_recorded_as_not_compared(trained_models) -> None:
    comparison = compare_with_champion(
        trained_models.good, Champion("2", None, "InputError: no bundle")
    )
    assert comparison.tags == {
        "champion_version_compared": "none",
        "champion_comparison_error": "champion v2: InputError: no bundle",
    }
