"""Calibration: better Brier score, O/E of one where fitted, and a JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from riskstrat.errors import InputError
from riskstrat.model import Calibrator


def _overconfident(n=4000, seed=2):
    rng = np.random.default_rng(seed)
    truth = rng.beta(1.2, 9.0, n)
    y = (rng.random(n) < truth).astype(int)
    score = np.clip(truth**0.6 * 1.4, 0, 0.999)  # too high and too spread out
    return score, y


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_improves_brier_and_matches_observed_events(method):
    score, y = _overconfident()
    calibrated = Calibrator.fit(method, score, y).predict(score)
    assert brier_score_loss(y, calibrated) < brier_score_loss(y, score) - 0.005
    assert y.sum() / calibrated.sum() == pytest.approx(1.0, abs=0.01)
    assert np.all((calibrated >= 0) & (calibrated <= 1))


@pytest.mark.parametrize("method", ["isotonic", "platt"])
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
