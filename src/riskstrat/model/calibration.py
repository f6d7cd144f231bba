"""Calibration: turning the model's scores into probabilities that match observed rates.

Fitted on the validation index date (not on training rows, where the trees are
over-confident), and stored as plain numbers (`to_dict`) so a bundle never holds a pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression

from riskstrat.errors import InputError

# Isotonic calibration is a step function: within a step every person would get the same
# risk, and ranking and tier cut-points would depend on arbitrary tie-breaks. A one-in-a-
# million share of the model's own score keeps its order inside each step.
ORDER_WEIGHT = 1e-6
_EPS = 1e-7


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from the model's score to a calibrated probability.

    `isotonic`: the step function of isotonic regression, as its knots (`x`, `y`),
    interpolated linearly between knots and held flat beyond them.
    `platt`: a logistic regression on the score's log-odds, `expit(a + b * logit(score))`.
    """

    method: Literal["isotonic", "platt"]
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 0.0
    b: float = 1.0

    @classmethod
    def fit(cls, method: str, score: np.ndarray, outcome: np.ndarray) -> Calibrator:
        """Fit on the validation population's scores and observed outcomes (0/1)."""
        score = np.asarray(score, dtype=np.float64)
        outcome = np.asarray(outcome, dtype=np.float64)
        if len(np.unique(outcome)) < 2:
            raise InputError("calibration needs both outcomes (0 and 1) on the validation date")
        if method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(score, outcome)
            return cls("isotonic", x=_floats(iso.X_thresholds_), y=_floats(iso.y_thresholds_))
        if method == "platt":
            a, b = _platt(logit(np.clip(score, _EPS, 1 - _EPS)), outcome)
            return cls("platt", a=a, b=b)
        raise InputError(f"unknown calibration method {method!r} (isotonic or platt)")

    def predict(self, score: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for the model's scores."""
        score = np.asarray(score, dtype=np.float64)
        if self.method == "platt":
            return expit(self.a + self.b * logit(np.clip(score, _EPS, 1 - _EPS)))
        stepped = np.interp(score, np.asarray(self.x), np.asarray(self.y))
        return (1 - ORDER_WEIGHT) * stepped + ORDER_WEIGHT * score

    def to_dict(self) -> dict:
        """Plain JSON-ready numbers."""
        if self.method == "platt":
            return {"method": "platt", "a": self.a, "b": self.b}
        return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        """The calibrator `to_dict` described."""
        if data["method"] == "platt":
            return cls("platt", a=float(data["a"]), b=float(data["b"]))
        return cls("isotonic", x=_floats(data["x"]), y=_floats(data["y"]))


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _platt(z: np.ndarray, y: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Maximum-likelihood intercept and slope of y on z by Newton's method (no penalty)."""
    a, b = 0.0, 1.0
    for _ in range(iterations):
        p = expit(a + b * z)
        v = p * (1 - p)
        residual = y - p
        grad = np.array([residual.sum(), (residual * z).sum()])
        hess = np.array([[v.sum(), (v * z).sum()], [(v * z).sum(), (v * z * z).sum()]])
        step = np.linalg.solve(hess + 1e-12 * np.eye(2), grad)
        a, b = a + step[0], b + step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(b)
