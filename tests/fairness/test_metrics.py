"""Every figure of an audit, recomputed independently from the persons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from riskstrat.errors import InputError
from riskstrat.fairness import audit_outcomes, audit_selection, holm
from riskstrat.fairness.stats import oe_p_value, poisson_ratio_ci
from riskstrat.spec import Fairness
from tests.fairness.synthetic import FAIR, population, top


def _row(audit, attribute: str, group: str, subset: str = "all") -> pd.Series:
    rows = audit.rows
    return rows[
        (rows["subset"] == subset) & (rows["attribute"] == attribute) & (rows["group"] == group)
    ].iloc[0]


def test_outcome_figures_recompute_by_hand() -> None:
    frame = population(4000, 1)
    selected = top(frame, 300)
    audit = audit_outcomes(frame, FAIR, risk="risk", outcome="y", selected=selected)
    row = _row(audit, "sex", "F")
    women = frame["sex"] == "F"
    y, r, s = (
        frame.loc[women, "y"].to_numpy(),
        frame.loc[women, "risk"].to_numpy(),
        selected[women.to_numpy()],
    )
    observed, expected = y.sum(), r.sum()
    assert (row["n"], row["events"]) == (women.sum(), observed)
    assert row["expected"] == pytest.approx(expected)
    assert row["oe_ratio"] == pytest.approx(observed / expected)
    # the exact interval: each bound leaves 2.5% of the Poisson tail beyond the observed count
    assert stats.poisson.sf(observed - 1, row["oe_ci_low"] * expected) == pytest.approx(0.025)
    assert stats.poisson.cdf(observed, row["oe_ci_high"] * expected) == pytest.approx(0.025)
    assert row["auroc"] == pytest.approx(roc_auc_score(y, r))
    assert row["selection_rate"] == pytest.approx(s.mean())
    assert row["tpr"] == pytest.approx(s[y == 1].mean())
    logit = np.log(r / (1 - r)).reshape(-1, 1)
    slope = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(logit, y).coef_[0, 0]
    assert row["calibration_slope"] == pytest.approx(slope, rel=1e-4)


def test_auroc_interval_is_delong_by_brute_force() -> None:
    frame = population(600, 2)
    audit = audit_outcomes(frame, FAIR, risk="risk", outcome="y")
    row = _row(audit, "age_band", "85+")
    group = frame[frame["age_band"] == "85+"]
    pos = group.loc[group["y"] == 1, "risk"].to_numpy()
    neg = group.loc[group["y"] == 0, "risk"].to_numpy()
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    assert row["auroc"] == pytest.approx(psi.mean())
    assert row["auroc_ci_high"] == pytest.approx(min(1.0, psi.mean() + 1.959964 * se), abs=1e-6)
    assert row["auroc_ci_low"] == pytest.approx(max(0.0, psi.mean() - 1.959964 * se), abs=1e-6)


def test_point_metrics_agree_with_fairlearn_metricframe_on_the_persons() -> None:
    from fairlearn.metrics import MetricFrame, count, selection_rate, true_positive_rate

    frame = population(5000, 4)
    selected = (frame["risk"] > 0.1).astype(int).to_numpy()
    audit = audit_outcomes(frame, FAIR, risk="risk", outcome="y", selected=selected)
    reference = MetricFrame(
        metrics={"n": count, "selection_rate": selection_rate, "tpr": true_positive_rate},
        y_true=frame["y"],
        y_pred=selected,
        sensitive_features=frame["education"],
    ).by_group
    ours = audit.rows[audit.rows["attribute"] == "education"].set_index("group")
    for group, row in reference.iterrows():
        assert ours.loc[group, "n"] == row["n"]
        assert ours.loc[group, "selection_rate"] == pytest.approx(row["selection_rate"])
        assert ours.loc[group, "tpr"] == pytest.approx(row["tpr"])


def test_selection_figures_recompute_by_hand() -> None:
    rng = np.random.default_rng(5)
    frame = population(8000, 5)
    frame["need"] = rng.random(len(frame)) < 0.2
    frame["selected"] = top(frame, 800)
    audit = audit_selection(frame, FAIR, selected="selected", need="need")
    row = _row(audit, "municipality_code", "701")
    g = frame["municipality_code"] == 701
    sel_g, need_g = frame.loc[g, "selected"].sum(), frame.loc[g, "need"].sum()
    sel, need = frame["selected"].sum(), frame["need"].sum()
    assert row["selection_rate"] == pytest.approx(frame.loc[g, "selected"].mean())
    assert row["need_rate"] == pytest.approx(frame.loc[g, "need"].mean())
    ratio = (sel_g / sel) / (need_g / need)
    se = np.sqrt(1 / sel_g - 1 / sel + 1 / need_g - 1 / need)  # Katz log-ratio interval
    assert row["selection_to_need"] == pytest.approx(ratio)
    assert row["stn_ci_low"] == pytest.approx(ratio * np.exp(-1.959964 * se), rel=1e-5)
    assert row["stn_ci_high"] == pytest.approx(ratio * np.exp(1.959964 * se), rel=1e-5)
    assert _row(audit, "overall", "all")["selection_to_need"] == pytest.approx(1.0)


def test_intersections_and_missing_values_form_groups() -> None:
    frame = population(3000, 6)
    frame.loc[:99, "education"] = None
    fairness = Fairness(
        attributes=["education", "sex", "age_band"], intersections=[("sex", "age_band")]
    )
    audit = audit_outcomes(frame, fairness, risk="risk", outcome="y")
    assert _row(audit, "education", "missing")["n"] == 100
    both = (frame["sex"] == "M") & (frame["age_band"] == "85+")
    row = _row(audit, "sex×age_band", "M×85+")
    assert (row["n"], row["events"]) == (both.sum(), frame.loc[both, "y"].sum())


def test_unknown_outcomes_are_left_out_and_the_frame_is_not_changed() -> None:
    frame = population(2000, 8)
    frame["y"] = frame["y"].astype(float)
    frame.loc[:199, "y"] = np.nan
    before = frame.copy()
    audit = audit_outcomes(frame, FAIR, risk="risk", outcome="y")
    assert _row(audit, "overall", "all")["n"] == 1800
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("change", ["risk_above_one", "outcome_two", "missing_column"])
def test_bad_input_is_an_input_error(change: str) -> None:
    frame = population(200, 9)
    if change == "risk_above_one":
        frame.loc[0, "risk"] = 1.5
    elif change == "outcome_two":
        frame.loc[0, "y"] = 2
    else:
        frame = frame.drop(columns="risk")
    with pytest.raises(InputError):
        audit_outcomes(frame, FAIR, risk="risk", outcome="y")


def test_holm_matches_the_definition() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert holm(p).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])


@pytest.mark.parametrize("observed", [0, 3, 12, 40, 90])
def test_a_single_oe_test_flags_exactly_when_the_interval_leaves_the_band(observed: int) -> None:
    band = (0.8, 1.25)
    for expected in np.linspace(5, 120, 47):
        low, high = poisson_ratio_ci(observed, expected)
        outside = low > band[1] or high < band[0]
        assert (oe_p_value(observed, expected, band) < 0.05) == outside
