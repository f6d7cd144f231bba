"""Calibration: turning the model's scores into probabilities that match observed rates.

Fitted on the validation index date (not on training rows, where the trees are
over-confident), and stored as plain numbers (`to_dict`) so a bundle never holds a pickle.

Three methods (the spec's `calibration`):

- `isotonic`: the step function of isotonic regression (pool-adjacent-violators). It
  follows the data closely, but a step's risk is its raw event share: a top step that holds
  only events on the validation date gets a risk of exactly 1, a bottom step without
  events exactly 0, and a step of a dozen persons moves as far as its dozen outcomes say.
- `platt`: a logistic regression on the score's log-odds (Platt, 1999). Smooth and never 0
  or 1, but two parameters cannot follow a curved miscalibration.
- `shrunk_isotonic` (the default): each isotonic step's event share is shrunk towards the
  Platt fit in proportion to how little evidence the step holds. With `n` persons and `e`
  events in a step and `p` the Platt risk averaged over its persons, the step's risk is the
  posterior mean of a beta-binomial model with a Beta(k·p, k·(1 − p)) prior,
  `(e + k·p) / (n + k)`: a step of thousands keeps its own share, a step of a few persons
  moves towards the smooth curve, and no step is ever exactly 0 or 1. Steps that the
  shrinkage would put out of order are pooled again (isotonic regression of the posterior
  means, weighted by `n + k`, which adds their counts and pseudo-counts). The prior
  strength `k` is chosen by five-fold cross-validated log-loss on the validation date from
  a grid from 1 (isotonic) to 10,000 (Platt), so the data decide between the two and the
  compromise. Why: isotonic calibration over-fits sparse extreme bins and Platt scaling
  under-fits curved miscalibration (Niculescu-Mizil & Caruana, "Predicting good
  probabilities with supervised learning", ICML 2005); empirical-Bayes shrinkage of binned
  rates towards a parametric fit is the standard remedy for small cells (Efron & Morris,
  1975; Gelman et al., Bayesian Data Analysis, ch. 5, the beta-binomial model).

Every new fit is also bounded to [`RISK_FLOOR`, `RISK_CEILING`] = [0.0005, 0.985]: a
probability closer to 0 or 1 than that cannot be told apart from a finite validation date,
and a list that said 99-100 % would be read as certainty. Calibrators stored before these
bounds (no `bounds` in their dict) load and predict exactly as before.

The rank is decided by the model's full-resolution score, not by the rounded or bounded
risk: within a step (or at a bound) every person would get the same risk, so a one-in-a-
million share of the model's own score (`ORDER_WEIGHT`) is added, which keeps the model's
order and moves no risk by more than 1e-6.

`interval` gives each risk a 95 % interval: for a step function the beta posterior of its
step (the shrinkage prior above; Jeffreys' Beta(½, ½) prior for plain isotonic steps, the
interval of Brown, Cai & DasGupta, Statistical Science 2001), for Platt a delta-method
interval on the log-odds scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit, logit
from scipy.stats import beta, norm
from sklearn.isotonic import IsotonicRegression

from riskstrat.errors import InputError

# Isotonic calibration is a step function: within a step every person would get the same
# risk, and ranking and tier cut-points would depend on arbitrary tie-breaks. A one-in-a-
# million share of the model's own score keeps its order inside each step.
ORDER_WEIGHT = 1e-6
_EPS = 1e-7
RISK_FLOOR = 0.0005
RISK_CEILING = 0.985
STRENGTHS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 10000.0)
FOLDS = 5
JEFFREYS = 0.5
Method = Literal["isotonic", "platt", "shrunk_isotonic"]
METHODS = ("isotonic", "platt", "shrunk_isotonic")


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from the model's score to a calibrated probability.

    `isotonic` and `shrunk_isotonic`: a step function as its knots (`x`, `y`), interpolated
    linearly between knots and held flat beyond them; each knot keeps its step's persons
    (`n`), events and prior pseudo-counts (`prior_a`, `prior_b`) for `interval`.
    `platt`: a logistic regression on the score's log-odds, `expit(a + b * logit(score))`,
    with the covariance of (a, b) in `cov`. See the module docstring for the choice.
    """

    method: Method
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 0.0
    b: float = 1.0
    n: tuple[float, ...] = ()
    events: tuple[float, ...] = ()
    prior_a: tuple[float, ...] = ()
    prior_b: tuple[float, ...] = ()
    cov: tuple[float, ...] = ()  # (var a, cov ab, var b) of Platt's fit
    strength: float = 0.0  # the shrinkage prior's k
    bounds: tuple[float, float] = (0.0, 1.0)

    @classmethod
    def fit(cls, method: str, score: np.ndarray, outcome: np.ndarray) -> Calibrator:
        """Fit on the validation population's scores and observed outcomes (0/1)."""
        score = np.asarray(score, dtype=np.float64)
        outcome = np.asarray(outcome, dtype=np.float64)
        if len(np.unique(outcome)) < 2:
            raise InputError("calibration needs both outcomes (0 and 1) on the validation date")
        if method not in METHODS:
            raise InputError(f"unknown calibration method {method!r} ({', '.join(METHODS)})")
        bounds = (RISK_FLOOR, RISK_CEILING)
        if method == "platt":
            a, b, cov = _platt(_logodds(score), outcome)
            return cls("platt", a=a, b=b, cov=cov, bounds=bounds)
        if method == "isotonic":
            return _stepped("isotonic", _steps(score, outcome, None), 0.0, bounds)
        strength = _choose_strength(score, outcome)
        return _stepped("shrunk_isotonic", _steps(score, outcome, strength), strength, bounds)

    def predict(self, score: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for the model's scores (ordered as the scores)."""
        score = np.asarray(score, dtype=np.float64)
        if self.method == "platt":
            risk = expit(self.a + self.b * _logodds(score))
            if self.bounds == (0.0, 1.0):  # stored before bounds: exactly as it was
                return risk
            return (1 - ORDER_WEIGHT) * np.clip(risk, *self.bounds) + ORDER_WEIGHT * score
        stepped = np.clip(np.interp(score, np.asarray(self.x), np.asarray(self.y)), *self.bounds)
        return (1 - ORDER_WEIGHT) * stepped + ORDER_WEIGHT * score

    def interval(self, score: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The `level` interval of each score's calibrated risk, as (low, high) arrays.

        Step methods: the beta posterior of the score's step (interpolated between steps
        as the risk is); Platt: a delta-method interval on the log-odds. Bounded as the
        risk is, and widened where needed so that it always holds the risk itself."""
        score = np.asarray(score, dtype=np.float64)
        if self.method == "platt":
            low, high = self._platt_interval(score, level)
        elif self.n:
            knots = np.asarray(self.x)
            lows, highs = step_interval(
                np.asarray(self.events),
                np.asarray(self.n),
                np.asarray(self.prior_a),
                np.asarray(self.prior_b),
                level,
            )
            low, high = np.interp(score, knots, lows), np.interp(score, knots, highs)
        else:
            raise InputError("this calibrator was stored without its step counts: retrain it")
        risk = self.predict(score)
        low = np.minimum(np.clip(low, *self.bounds), risk)
        high = np.maximum(np.clip(high, *self.bounds), risk)
        return low, high

    def _platt_interval(self, score: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        if not self.cov:
            raise InputError("this calibrator was stored without its covariance: retrain it")
        z = _logodds(score)
        var_a, cov_ab, var_b = self.cov
        se = np.sqrt(np.maximum(var_a + 2 * z * cov_ab + z * z * var_b, 0.0))
        centre = self.a + self.b * z
        half = norm.ppf(0.5 + level / 2) * se
        return expit(centre - half), expit(centre + half)

    def to_dict(self) -> dict:
        """Plain JSON-ready numbers."""
        if self.method == "platt":
            out: dict = {"method": "platt", "a": self.a, "b": self.b}
            if self.cov:
                out["cov"] = list(self.cov)
        else:
            out = {"method": self.method, "x": list(self.x), "y": list(self.y)}
            if self.n:
                out.update(
                    n=list(self.n),
                    events=list(self.events),
                    prior_a=list(self.prior_a),
                    prior_b=list(self.prior_b),
                    strength=self.strength,
                )
        if self.bounds != (0.0, 1.0):
            out["bounds"] = list(self.bounds)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        """The calibrator `to_dict` described (also the older format, without counts,
        covariance or bounds: it predicts exactly as it did)."""
        low, high = data.get("bounds", (0.0, 1.0))
        bounds = (float(low), float(high))
        if data["method"] == "platt":
            cov = _floats(data.get("cov", ()))
            return cls("platt", a=float(data["a"]), b=float(data["b"]), cov=cov, bounds=bounds)
        if data["method"] not in METHODS:
            raise InputError(f"unknown calibration method {data['method']!r} in a bundle")
        return cls(
            data["method"],
            x=_floats(data["x"]),
            y=_floats(data["y"]),
            n=_floats(data.get("n", ())),
            events=_floats(data.get("events", ())),
            prior_a=_floats(data.get("prior_a", ())),
            prior_b=_floats(data.get("prior_b", ())),
            strength=float(data.get("strength", 0.0)),
            bounds=bounds,
        )


def step_interval(
    events: np.ndarray, n: np.ndarray, prior_a: np.ndarray, prior_b: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """The equal-tailed `level` interval of a step's rate: the quantiles of its beta
    posterior Beta(events + a, n − events + b), with Jeffreys' ½ where a prior is absent."""
    a = np.where(prior_a > 0, prior_a, JEFFREYS) + events
    b = np.where(prior_b > 0, prior_b, JEFFREYS) + n - events
    tail = (1 - level) / 2
    return beta.ppf(tail, a, b), beta.ppf(1 - tail, a, b)


@dataclass(frozen=True)
class _Steps:
    """Isotonic steps: first and last score, persons, events and prior pseudo-counts."""

    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray
    events: np.ndarray
    prior_a: np.ndarray
    prior_b: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        return (self.events + self.prior_a) / (self.n + self.prior_a + self.prior_b)


def _steps(score: np.ndarray, outcome: np.ndarray, strength: float | None) -> _Steps:
    """Isotonic steps of outcome on score; with a `strength`, shrunk towards Platt's fit
    and pooled again where the shrinkage broke their order."""
    steps, smooth = _isotonic_steps(score, outcome)
    return steps if strength is None else _shrink(steps, smooth, strength)


def _isotonic_steps(score: np.ndarray, outcome: np.ndarray) -> tuple[_Steps, np.ndarray]:
    """The steps of isotonic regression, and the sum of Platt's risks over each step."""
    values, inverse = np.unique(score, return_inverse=True)
    n = np.bincount(inverse).astype(np.float64)
    events = np.bincount(inverse, weights=outcome)
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit_transform(
        values, events / n, sample_weight=n
    )
    none = np.zeros_like(n)
    steps = _pool(_Steps(values, values, n, events, none, none), fitted)
    a, b, _ = _platt(_logodds(score), outcome)
    smooth = np.bincount(inverse, weights=expit(a + b * _logodds(score)))
    return steps, _sum_runs(smooth, _starts(fitted))


def _shrink(steps: _Steps, smooth: np.ndarray, strength: float) -> _Steps:
    """Each step with a Beta(k·p, k·(1 − p)) prior (p: its mean Platt risk), then pooled
    where the posterior means are out of order (the pooled step adds counts and priors)."""
    p = smooth / steps.n
    shrunk = _Steps(steps.lo, steps.hi, steps.n, steps.events, strength * p, strength * (1 - p))
    again = IsotonicRegression().fit_transform(
        np.arange(len(shrunk.n)), shrunk.rate, sample_weight=shrunk.n + strength
    )
    return _pool(shrunk, again)


def _starts(fitted: np.ndarray) -> np.ndarray:
    """Where each run of equal fitted values starts."""
    return np.concatenate([[0], np.flatnonzero(np.diff(fitted) != 0) + 1])


def _sum_runs(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, starts)


def _pool(steps: _Steps, fitted: np.ndarray) -> _Steps:
    """Adjacent steps with equal fitted values as one step (counts and priors added)."""
    starts = _starts(fitted)
    ends = np.concatenate([starts[1:], [len(fitted)]]) - 1
    return _Steps(
        steps.lo[starts],
        steps.hi[ends],
        _sum_runs(steps.n, starts),
        _sum_runs(steps.events, starts),
        _sum_runs(steps.prior_a, starts),
        _sum_runs(steps.prior_b, starts),
    )


def _stepped(method: Method, steps: _Steps, strength: float, bounds) -> Calibrator:
    """The calibrator of `steps`: a knot at each step's first and last score."""
    twice = np.repeat(np.arange(len(steps.n)), 2)
    x = np.column_stack([steps.lo, steps.hi]).ravel()
    keep = np.concatenate([[True], np.diff(x) > 0])  # one knot for a one-score step
    pick = twice[keep]
    return Calibrator(
        method,
        x=_floats(x[keep]),
        y=_floats(steps.rate[pick]),
        n=_floats(steps.n[pick]),
        events=_floats(steps.events[pick]),
        prior_a=_floats(steps.prior_a[pick]),
        prior_b=_floats(steps.prior_b[pick]),
        strength=strength,
        bounds=bounds,
    )


def _choose_strength(score: np.ndarray, outcome: np.ndarray) -> float:
    """The prior strength of `STRENGTHS` with the least five-fold cross-validated log-loss
    (folds drawn with a fixed seed: the same data give the same calibrator)."""
    fold = np.random.default_rng(0).permutation(len(score)) % FOLDS
    loss = np.zeros(len(STRENGTHS))
    for f in range(FOLDS):
        fit, held = fold != f, fold == f
        if len(np.unique(outcome[fit])) < 2:
            continue
        base, smooth = _isotonic_steps(score[fit], outcome[fit])
        for i, strength in enumerate(STRENGTHS):
            steps = _shrink(base, smooth, strength)
            calibrator = _stepped("shrunk_isotonic", steps, strength, (RISK_FLOOR, RISK_CEILING))
            p = calibrator.predict(score[held])
            loss[i] -= np.sum(outcome[held] * np.log(p) + (1 - outcome[held]) * np.log1p(-p))
    return float(STRENGTHS[int(np.argmin(loss))])


def _logodds(score: np.ndarray) -> np.ndarray:
    return logit(np.clip(score, _EPS, 1 - _EPS))


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _platt(
    z: np.ndarray, y: np.ndarray, iterations: int = 50
) -> tuple[float, float, tuple[float, float, float]]:
    """Maximum-likelihood intercept and slope of y on z by Newton's method (no penalty),
    and their covariance (the inverse Hessian) as (var a, cov ab, var b)."""
    a, b = 0.0, 1.0
    hess = np.eye(2)
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
    cov = np.linalg.pinv(hess)
    return float(a), float(b), (float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1]))
