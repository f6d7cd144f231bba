"""Test metrics and bootstrap intervals, recomputed independently from the raw arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from riskstrat.training.evaluation import (
    calibration_metrics,
    evaluate_scores,
    risk_metrics,
    selection_order,
)


def _arrays(n=600, seed=3):
    rng = np.random.default_rng(seed)
    # Rounded risks: many ties, so ranking and tie-breaking by person_id are exercised.
    risk = np.round(rng.beta(1.5, 8.0, n), 2).clip(0.01, 0.99)
    y = (rng.random(n) < np.clip(risk * 1.3, 0, 1)).astype(int)
    person_id = np.array([f"P{i:04d}" for i in rng.permutation(n)], dtype=object)
    return y, risk, person_id


def _top(y, risk, person_id, m):
    """Precision and recall among the first m after sorting by risk desc, person_id asc."""
    frame = pd.DataFrame({"y": y, "risk": risk, "pid": person_id})
    ranked = frame.sort_values(["risk", "pid"], ascending=[False, True])
    hits = ranked["y"].iloc[:m].sum()
    return hits / m, hits / frame["y"].sum()


def _slope_intercept(y, risk):
    z = logit(risk).reshape(-1, 1)
    slope = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(z, y).coef_[0, 0]
    intercept = brentq(lambda a: np.sum(y - expit(a + z[:, 0])), -10, 10, xtol=1e-12)
    return slope, intercept


def test_point_estimates_match_independent_computations():
    y, risk, pid = _arrays()
    m = evaluate_scores(y, risk, pid, capacity=17, n_boot=20, seed=1)
    slope, intercept = _slope_intercept(y, risk)
    assert m["test_auroc"] == pytest.approx(roc_auc_score(y, risk), abs=1e-12)
    assert m["test_auprc"] == pytest.approx(average_precision_score(y, risk), abs=1e-12)
    assert m["test_brier"] == pytest.approx(brier_score_loss(y, risk), abs=1e-12)
    assert m["test_oe_ratio"] == pytest.approx(y.sum() / risk.sum(), rel=1e-12)
    assert m["test_calibration_slope"] == pytest.approx(slope, abs=1e-5)
    assert m["test_calibration_intercept"] == pytest.approx(intercept, abs=1e-8)
    for key, selected in (("top1pct", 6), ("top5pct", 30), ("capacity", 17)):
        precision, recall = _top(y, risk, pid, selected)
        assert m[f"test_precision_{key}"] == pytest.approx(precision)
        assert m[f"test_recall_{key}"] == pytest.approx(recall)


def test_a_bootstrap_replicate_equals_the_metrics_of_the_resampled_persons():
    y, risk, pid = _arrays(n=300)
    draw = np.random.default_rng(5).integers(0, len(y), len(y))
    order = selection_order(risk, pid)
    counts = np.bincount(draw, minlength=len(y)).astype(float)
    got = risk_metrics(y[order].astype(float), risk[order], counts[order][None, :], capacity=9)
    ys, rs, ps = y[draw], risk[draw], pid[draw]
    assert got["auroc"][0] == pytest.approx(roc_auc_score(ys, rs))
    assert got["auprc"][0] == pytest.approx(average_precision_score(ys, rs))
    assert got["brier"][0] == pytest.approx(brier_score_loss(ys, rs))
    assert got["calibration_slope"][0] == pytest.approx(_slope_intercept(ys, rs)[0], abs=1e-5)
    assert got["precision_capacity"][0] == pytest.approx(_top(ys, rs, ps, 9)[0])
    assert got["recall_top5pct"][0] == pytest.approx(_top(ys, rs, ps, 15)[1])


def test_intervals_hold_the_estimate_and_repeat_with_the_seed():
    y, risk, pid = _arrays()
    first = evaluate_scores(y, risk, pid, capacity=20, n_boot=150, seed=11)
    again = evaluate_scores(y, risk, pid, capacity=20, n_boot=150, seed=11)
    other = evaluate_scores(y, risk, pid, capacity=20, n_boot=150, seed=12)
    assert first == again
    assert first["test_auroc_ci_low"] != other["test_auroc_ci_low"]
    for key in ("auroc", "auprc", "brier", "oe_ratio", "calibration_slope", "precision_top5pct"):
        name = f"test_{key}"
        assert first[f"{name}_ci_low"] <= first[name] <= first[f"{name}_ci_high"], key
        assert first[f"{name}_ci_low"] < first[f"{name}_ci_high"], key


def test_baseline_gain_is_the_paired_difference():
    y, risk, pid = _arrays()
    rule = -risk + np.random.default_rng(0).normal(0, 0.05, len(y))  # a worse, reversed score
    m = evaluate_scores(y, risk, pid, capacity=20, n_boot=100, seed=1, baselines={"rule": rule})
    assert m["rule_test_auroc"] == pytest.approx(roc_auc_score(y, rule))
    assert m["rule_test_auprc"] == pytest.approx(average_precision_score(y, rule))
    assert m["test_auroc_gain_over_rule"] == pytest.approx(
        roc_auc_score(y, risk) - roc_auc_score(y, rule)
    )
    assert m["test_auroc_gain_over_rule_ci_low"] > 0


def test_one_step_replicates_are_close_to_refitting_each_replicate():
    y, risk, pid = _arrays(n=2000, seed=8)
    order = selection_order(risk, pid)
    y, risk = y[order].astype(float), risk[order]
    point = calibration_metrics(y, risk, np.ones((1, len(y))))
    start = tuple(
        point[k][0] for k in ("slope_fit_intercept", "calibration_slope", "calibration_intercept")
    )
    draws = np.random.default_rng(2).integers(0, len(y), (5, len(y)))
    weights = np.stack([np.bincount(d, minlength=len(y)) for d in draws]).astype(float)
    refit = calibration_metrics(y, risk, weights)
    one_step = calibration_metrics(y, risk, weights, one_step_from=start)
    for key in ("calibration_slope", "calibration_intercept"):
        spread = np.abs(refit[key] - point[key][0]).max()
        assert np.abs(one_step[key] - refit[key]).max() < 0.1 * spread, key
    assert np.allclose(one_step["brier"], refit["brier"]) and np.allclose(
        one_step["oe_ratio"], refit["oe_ratio"]
    )
