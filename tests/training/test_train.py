"""train_model end to end on tiny synthetic tables with planted signals."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from riskstrat.errors import InputError
from riskstrat.training import train_model
from tests.training.synthetic import FEATURES, LABEL, design, small_spec, trained


def test_lightgbm_beats_both_baselines_on_a_nonlinear_signal():
    result, _ = trained("nonlinear")
    m = result.metrics
    assert result.beats_baselines
    assert m["test_auroc"] > m["rule_test_auroc"] + 0.1
    assert m["test_auroc"] > m["logistic_test_auroc"] + 0.05
    assert "Warning" not in result.model_card


@pytest.mark.parametrize("signal", ["rule", "noise"])
def test_no_claim_to_beat_a_baseline_that_cannot_be_beaten(signal):
    # "rule": the outcome's risk rises strictly along the rule's own ordering, so no model can
    # rank better; "noise": nothing to learn. Either way the run must say it does not beat.
    result, _ = trained(signal)
    assert not result.beats_baselines
    assert result.metrics["beats_baselines"] == 0.0
    assert "does not beat every baseline" in result.model_card


def test_test_metrics_recompute_from_the_test_scores():
    result, (_, _, test) = trained("nonlinear")
    scores, m = result.test_scores, result.metrics
    assert len(scores) == len(test) == m["n_test"]
    assert m["test_auroc"] == pytest.approx(roc_auc_score(scores["y"], scores["risk"]))
    assert m["test_auprc"] == pytest.approx(average_precision_score(scores["y"], scores["risk"]))
    assert m["test_brier"] == pytest.approx(brier_score_loss(scores["y"], scores["risk"]))
    assert np.allclose(result.bundle.predict_risk(test), scores["risk"])
    assert {"person_id", "risk", "y", "tier", "segment", "sex", "rurality"} <= set(scores.columns)


def test_calibration_on_the_validation_date_improves_brier_and_oe():
    m = trained("nonlinear")[0].metrics
    assert m["validation_brier"] < m["validation_brier_uncalibrated"]
    assert m["validation_oe_ratio"] == pytest.approx(1.0, abs=0.01)


def test_tier_shares_on_the_validation_population():
    result, (_, validation, _) = trained("nonlinear")
    risk = result.bundle.predict_risk(validation)
    tiers = pd.Series(result.bundle.segments.tier(risk))
    shares = tiers.value_counts(normalize=True)
    expected = {"very_high": 0.01, "high": 0.04, "elevated": 0.15, "low": 0.80}
    for tier, share in expected.items():
        assert shares[tier] == pytest.approx(share, abs=0.005)
    # Exact up to persons whose risk ties with the last one in: each cut-point takes the
    # top share and, of the rest, only those with exactly the same risk.
    for top, cut in zip((0.01, 0.05, 0.20), result.bundle.segments.cut_points, strict=True):
        wanted = round(top * len(risk))
        assert (risk > cut).sum() < wanted <= (risk >= cut).sum()


def test_same_spec_data_and_seed_give_the_same_metrics_and_model():
    train, validation, test = design(800, signal="nonlinear", seed=5)
    runs = [
        train_model(small_spec(), train, validation, test, FEATURES, n_boot=50) for _ in range(2)
    ]
    first, second = (pd.Series(r.metrics) for r in runs)
    pd.testing.assert_series_equal(first, second)
    assert runs[0].bundle.booster.model_to_string() == runs[1].bundle.booster.model_to_string()


def test_unlabelled_rows_are_dropped_and_counted():
    train, validation, test = design(600, null_labels=7, seed=9)
    result = train_model(small_spec(), train, validation, test, FEATURES, n_boot=20)
    m = result.metrics
    assert (m["dropped_unlabelled_train"], m["dropped_unlabelled_test"]) == (7, 7)
    assert m["n_train"] == len(train) - 7 and m["n_test"] == len(test) - 7
    assert m["events_test"] == test[LABEL].sum()


def test_a_design_that_is_not_out_of_time_is_refused():
    train, validation, test = design(300, seed=2)
    late = train.assign(index_date=pd.Timestamp("2022-01-01"))  # window ends after validation
    with pytest.raises(InputError, match="not out-of-time"):
        train_model(small_spec(), late, validation, test, FEATURES)
    with pytest.raises(InputError, match="one index date"):
        train_model(small_spec(), train, pd.concat([validation, test]), test, FEATURES)


def test_evaluate_on_gives_the_same_test_metrics_for_the_same_bundle():
    result, _ = trained("nonlinear")
    again = result.evaluate_on(result.bundle)
    assert again == {k: v for k, v in result.metrics.items() if k in again}
    assert {k for k in again} >= {"test_auroc", "test_auroc_ci_low", "test_brier", "test_oe_ratio"}
    other, _ = trained("noise")  # a different model on this run's test rows
    assert result.evaluate_on(other.bundle)["test_auroc"] < again["test_auroc"] - 0.1


def test_figures_each_have_an_aggregate_table_and_nothing_person_level():
    result, (_, _, test) = trained("nonlinear")
    for name, image in result.figures.items():
        assert image.startswith(b"\x89PNG"), name
        assert name.replace(".png", ".csv") in result.tables, name
    assert {"metrics.csv", "learning_curve.csv", "subgroups.csv", "tiers.csv"} <= set(result.tables)
    ids = set(test["person_id"])
    for name, table in result.tables.items():
        assert "person_id" not in table.columns, name
        assert not ids & set(table.astype(str).to_numpy().ravel()), name
        for column in table.columns:
            if column in {
                "n",
                "events",
                "test_n",
                "test_events",
                "true_positives",
                "with_event",
                "without_event",
            }:
                values = table[column].dropna()
                assert not ((values >= 1) & (values <= 4)).any(), (name, column)
    assert not ids & set(re.findall(r"P\d{9}", result.model_card))


def test_model_card_covers_data_population_label_metrics_subgroups_limitations():
    card = trained("nonlinear")[0].model_card
    for heading in (
        "## Data",
        "## Population",
        "## Label",
        "## Performance on the test date",
        "## Baselines",
        "## Segments",
        "## Subgroups",
        "## Limitations",
    ):
        assert heading in card
    assert "2021-01-01, 2021-07-01" in card and "2023-07-01" in card


def test_the_card_gives_the_highest_risk_bounded_with_its_interval():
    result, (_, _, test) = trained("nonlinear")
    line = next(x for x in result.model_card.splitlines() if "highest risk" in x)
    assert "shrunk_isotonic" in line and "95 % interval" in line
    highest = float(re.search(r"highest risk ([0-9.]+)%", line).group(1))
    assert highest < 99
    # the step's own evidence is shown beside the prior-based interval
    events, n, rest = re.search(
        r"step alone: (\d+) events among (\d+) persons, exact 95 % ([^)]*)\)", line
    ).groups()
    exact = stats.binomtest(int(events), int(n)).proportion_ci(method="exact")
    if int(events) == int(n):  # only the lower bound: an upper 100 % would read as a risk
        (low,) = re.fullmatch(r"lower bound ([0-9.]+)%", rest).groups()
        assert abs(float(low) - 100 * exact.low) < 0.06
    else:
        low, high = re.fullmatch(r"interval ([0-9.]+)%-([0-9.]+)%", rest).groups()
        assert abs(float(low) - 100 * exact.low) < 0.06
        assert abs(float(high) - 100 * exact.high) < 0.06
    risk = result.bundle.predict_risk(test)
    assert 0.0001 < risk.min() and risk.max() < 0.99
