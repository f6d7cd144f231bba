"""Calibration: better Brier score, O/E of one where fitted, a JSON round trip, bounded
risks with intervals at the extremes, and the intervals' coverage."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.metrics import brier_score_loss

from riskstrat.errors import InputError
from riskstrat.model import Calibrator
from riskstrat.model.calibration import ORDER_WEIGHT, step_interval


def _overconfident(n=4000, seed=2):
    rng = np.random.default_rng(seed)
    truth = rng.beta(1.2, 9.0, n)
    y = (rng.random(n) < truth).astype(int)
    score = np.clip(truth**0.6 * 1.4, 0, 0.999)  # too high and too spread out
    return score, y


@pytest.mark.parametrize("method", ["isotonic", "platt", "shrunk_isotonic"])
def test_calibration_improves_brier_and_matches_observed_events(method):
    score, y = _overconfident()
    calibrated = Calibrator.fit(method, score, y).predict(score)
    assert brier_score_loss(y, calibrated) < brier_score_loss(y, score) - 0.005
    assert y.sum() / calibrated.sum() == pytest.approx(1.0, abs=0.01)
    assert np.all((calibrated >= 0) & (calibrated <= 1))


@pytest.mark.parametrize("method", ["isotonic", "platt", "shrunk_isotonic"])
def test_round_trip_through_json_gives_identical_risks(method):
    score, y = _overconfident()
    calibrator = Calibrator.fit(method, score, y)
    restored = Calibrator.from_dict(json.loads(json.dumps(calibrator.to_dict())))
    fresh = np.random.default_rng(9).random(500)
    assert np.array_equal(restored.predict(fresh), calibrator.predict(fresh))


def test_isotonic_keeps_the_models_order_inside_its_steps():
    score, y = _overconfident()
    fresh = np.sort(np.random.default_rng(4).random(1000))
    calibrated = Calibrator.fit("isotonic", score, y).predict(fresh)
    assert np.all(np.diff(calibrated) > 0)


def test_one_outcome_only_cannot_be_calibrated():
    with pytest.raises(InputError):
        Calibrator.fit("isotonic", np.linspace(0, 1, 10), np.zeros(10))


# --- bounded calibration at the extremes (issue 15) ---


def _extremes(n=6000, top=8, bottom=400, seed=5):
    """Well-calibrated scores, except that the top `top` persons all had the event and the
    bottom `bottom` persons none."""
    rng = np.random.default_rng(seed)
    score = np.sort(rng.beta(1.2, 9.0, n))
    y = (rng.random(n) < score).astype(int)
    y[-top:] = 1
    y[:bottom] = 0
    return score, y


def test_a_stored_isotonic_calibrator_still_says_one_and_zero_where_it_did():
    calibrator = Calibrator.from_dict(
        {"method": "isotonic", "x": [0.0, 0.1, 0.9, 1.0], "y": [0.0, 0.0, 1.0, 1.0]}
    )
    assert calibrator.predict(np.array([0.0]))[0] == 0.0  # old bundles: as they were
    assert calibrator.predict(np.array([1.0]))[0] == 1.0


@pytest.mark.parametrize("method", ["shrunk_isotonic", "isotonic", "platt"])
def test_a_top_bin_of_events_only_gets_a_bounded_risk_with_an_interval(method):
    score, y = _extremes()
    calibrator = Calibrator.fit(method, score, y)
    risk = calibrator.predict(score)
    low, high = calibrator.interval(score)
    assert 0.0001 < risk.min() and risk.max() < 0.99
    assert np.all((low <= risk) & (risk <= high)) and high.max() < 0.99 and low.min() > 0.0001
    assert high[-1] > low[-1]  # the top risk has an interval, not a point


def test_shrinkage_moves_a_sparse_pure_top_step_towards_the_smooth_fit():
    score, y = _extremes()
    shrunk = Calibrator.fit("shrunk_isotonic", score, y)
    isotonic = Calibrator.fit("isotonic", score, y)
    assert y[-8:].mean() == 1.0
    assert isotonic.predict(score[-1:])[0] == pytest.approx(0.985)  # 1.0, bounded
    assert shrunk.predict(score[-1:])[0] < 0.95
    # a step with thousands of persons keeps (about) its own share, inside its interval
    steps = np.asarray(shrunk.n)
    big = int(np.argmax(steps))
    step_score = np.array([shrunk.x[big]])
    observed = shrunk.events[big] / shrunk.n[big]
    low, high = shrunk.interval(step_score)
    assert low[0] <= observed <= high[0]
    assert shrunk.predict(step_score)[0] == pytest.approx(observed, abs=0.01)


def test_every_step_holds_its_observed_rate_where_the_step_has_evidence():
    score, y = _overconfident()
    shrunk = Calibrator.fit("shrunk_isotonic", score, y)
    x, n, events = (np.asarray(v) for v in (shrunk.x, shrunk.n, shrunk.events))
    low, high = shrunk.interval(x)
    # steps of 200+ persons with both outcomes (a pure step's 0 or 1 is bounded away)
    mixed = (n >= 200) & (events > 0) & (events < n)
    held = mixed & (low <= events / n) & (events / n <= high)
    assert held.sum() == mixed.sum() > 0


@pytest.mark.parametrize("method", ["shrunk_isotonic", "isotonic", "platt"])
def test_new_fits_keep_the_models_order_everywhere(method):
    score, y = _extremes()
    fresh = np.sort(np.concatenate([np.random.default_rng(4).random(1000), [0.0, 1.0]]))
    calibrated = Calibrator.fit(method, score, y).predict(fresh)
    assert np.all(np.diff(calibrated) > 0)


def test_shrunk_round_trip_keeps_risks_and_intervals():
    score, y = _extremes()
    calibrator = Calibrator.fit("shrunk_isotonic", score, y)
    restored = Calibrator.from_dict(json.loads(json.dumps(calibrator.to_dict())))
    fresh = np.random.default_rng(9).random(500)
    assert np.array_equal(restored.predict(fresh), calibrator.predict(fresh))
    for a, b in zip(restored.interval(fresh), calibrator.interval(fresh), strict=True):
        assert np.array_equal(a, b)


def test_a_bundle_of_the_old_format_loads_and_predicts_as_before():
    old = {"method": "isotonic", "x": [0.01, 0.2, 0.5], "y": [0.02, 0.1, 0.4]}
    calibrator = Calibrator.from_dict(old)
    score = np.array([0.0, 0.01, 0.1, 0.35, 0.5, 0.9])
    stepped = np.interp(score, old["x"], old["y"])
    expected = (1 - ORDER_WEIGHT) * stepped + ORDER_WEIGHT * score
    assert np.array_equal(calibrator.predict(score), expected)
    assert calibrator.to_dict() == old
    platt = Calibrator.from_dict({"method": "platt", "a": -1.0, "b": 1.2})
    assert platt.to_dict() == {"method": "platt", "a": -1.0, "b": 1.2}
    with pytest.raises(InputError):
        calibrator.interval(score)  # no step counts stored: said, not guessed


def test_the_step_interval_covers_the_true_rate_95_times_in_100():
    rng = np.random.default_rng(2026)
    steps = 400
    p = rng.uniform(0.01, 0.99, steps)
    n = rng.integers(10, 500, steps).astype(float)
    covered = 0
    for _ in range(5):  # 2,000 steps in all, a standard error of 0.5 points
        events = rng.binomial(n.astype(int), p).astype(float)
        none = np.zeros(steps)
        low, high = step_interval(events, n, none, none, 0.95)
        covered += int(np.sum((low <= p) & (p <= high)))
    assert 0.92 <= covered / (5 * steps) <= 0.98


def test_the_shrinkage_prior_interval_covers_when_the_smooth_fit_is_near():
    rng = np.random.default_rng(7)
    steps = 400
    p = rng.uniform(0.02, 0.98, steps)
    n = rng.integers(10, 500, steps).astype(float)
    smooth = expit(logit(p) + rng.normal(0, 0.3, steps))  # a smooth fit near the truth
    strength = 10.0
    events = rng.binomial(n.astype(int), p).astype(float)
    low, high = step_interval(events, n, strength * smooth, strength * (1 - smooth), 0.95)
    assert 0.92 <= np.mean((low <= p) & (p <= high)) <= 0.99
