"""The estimators of `estimates` over many simulated trials at once, to check them.

A statsmodels fit per replicate would take minutes for thousands of replicates, so the
simulation computes the same estimators in closed form over a (replicates × persons) array:

- the pooled difference with stratum fixed effects and HC1 errors: by Frisch–Waugh–Lovell
  the arm's coefficient is sum(t~ y) / sum(t~²) with t~ the arm minus its stratum mean, and
  HC1 is n / (n - k) · sum(t~² e²) / sum(t~²)², e the model's residuals;
- the Poisson ratio with stratum fixed effects and HC0 errors: profiling out the strata's
  levels leaves one equation in the log ratio b, sum over strata of
  (events among the listed - events_s · n1_s e^b / (n0_s + n1_s e^b)) = 0, solved by
  Newton's method; its robust variance is sum(u²) / J² with u = (t - pi_s)(y - mu) and
  J = sum(mu (t - pi_s)²), pi_s = n1_s e^b / (n0_s + n1_s e^b).

`tests/evaluation/test_simulation.py` checks both against the statsmodels fits of
`estimates` to 1e-8 on single replicates, so the coverage, type I error and power measured
here are those of the shipped estimators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def _stratum_sums(values: np.ndarray, stratum: np.ndarray, n_strata: int) -> np.ndarray:
    """Per replicate and stratum: the sum of `values` (replicates × persons)."""
    out = np.zeros((values.shape[0], n_strata))
    for s in range(n_strata):
        out[:, s] = values[:, stratum == s].sum(axis=1)
    return out


def fe_difference(
    y: np.ndarray, t: np.ndarray, stratum: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, HC1 standard error) per replicate of the listed-arm coefficient in a
    linear model with stratum fixed effects; `y`, `t`: replicates × persons, `stratum`:
    integer codes 0..S-1 per person (every stratum holding both arms in every replicate)."""
    n_strata = int(stratum.max()) + 1
    size = np.bincount(stratum, minlength=n_strata).astype(float)
    t_mean = _stratum_sums(t, stratum, n_strata) / size
    tt = t - t_mean[:, stratum]
    beta = (tt * y).sum(axis=1) / (tt * tt).sum(axis=1)
    level = _stratum_sums(y - beta[:, None] * t, stratum, n_strata) / size
    resid = y - level[:, stratum] - beta[:, None] * t
    n, k = y.shape[1], n_strata + 1
    var = n / (n - k) * (tt**2 * resid**2).sum(axis=1) / (tt * tt).sum(axis=1) ** 2
    return beta, np.sqrt(var)


def fe_log_ratio(
    y: np.ndarray, t: np.ndarray, stratum: np.ndarray, iterations: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """(log ratio, HC0 standard error) per replicate of the listed arm in a Poisson model
    with stratum fixed effects (strata without events carry no information and drop out)."""
    n_strata = int(stratum.max()) + 1
    n1 = _stratum_sums(t, stratum, n_strata)
    n0 = _stratum_sums(1 - t, stratum, n_strata)
    events = _stratum_sums(y, stratum, n_strata)
    events1 = (y * t).sum(axis=1)
    b = np.zeros(y.shape[0])
    for _ in range(iterations):
        e = np.exp(b)[:, None]
        pi = n1 * e / (n0 + n1 * e)
        score = events1 - (events * pi).sum(axis=1)
        info = (events * pi * (1 - pi)).sum(axis=1)
        b = b + score / info
    e = np.exp(b)[:, None]
    level = events / (n0 + n1 * e)  # e^alpha_s
    pi = n1 * e / (n0 + n1 * e)
    mu = level[:, stratum] * np.where(t > 0, e, 1.0)
    centred = t - pi[:, stratum]
    u = centred * (y - mu)
    info = (mu * centred**2).sum(axis=1)
    return b, np.sqrt((u**2).sum(axis=1)) / info


@dataclass(frozen=True)
class TrialDesign:
    """A simulated trial: `persons` per stratum, the risk of the outcome without outreach in
    each stratum (`risk`), the holdout share (drawn in blocks: exactly the share in each
    stratum), the contact rate among the listed and the relative reduction among the
    contacted (`effect`)."""

    persons: np.ndarray
    risk: np.ndarray
    holdout_share: float = 0.2
    contact_rate: float = 1.0
    effect: float = 0.0

    def strata(self) -> np.ndarray:
        """Each person's stratum code."""
        return np.repeat(np.arange(len(self.persons)), self.persons)


def simulate(
    design: TrialDesign, replicates: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """`replicates` trials of `design`: arrays (one value per replicate) of the difference
    and its SE, the log ratio and its SE, the complier (Wald) estimate and its SE, and the
    true values they estimate (`true_difference`, `true_log_ratio`, `true_complier`)."""
    stratum = design.strata()
    n = stratum.size
    holdouts = np.round(design.persons * design.holdout_share).astype(int)
    # blocked randomisation: a random order within each stratum, its first `holdouts` held out
    order = np.argsort(stratum[None, :] + rng.random((replicates, n)), axis=1)
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(n)[None, :].repeat(replicates, 0), axis=1)
    start = np.concatenate([[0], np.cumsum(design.persons)[:-1]])
    t = (position - start[stratum] >= holdouts[stratum]).astype(float)
    contacted = t * (rng.random((replicates, n)) < design.contact_rate)
    risk = design.risk[stratum] * np.where(contacted > 0, 1 - design.effect, 1.0)
    y = (rng.random((replicates, n)) < risk).astype(float)
    diff, diff_se = fe_difference(y, t, stratum)
    log_rr, log_rr_se = fe_log_ratio(y, t, stratum)
    first, _ = fe_difference(contacted, t, stratum)
    wald = diff / first
    _, wald_se = fe_difference(y - wald[:, None] * contacted, t, stratum)
    weights = design.persons / design.persons.sum()
    base = float((weights * design.risk).sum())
    true_diff = -design.effect * design.contact_rate * base
    return {
        "difference": diff,
        "difference_se": diff_se,
        "log_ratio": log_rr,
        "log_ratio_se": log_rr_se,
        "complier": wald,
        "complier_se": wald_se / np.abs(first),
        "true_difference": np.full(replicates, true_diff),
        "true_log_ratio": np.full(replicates, np.log1p(-design.effect * design.contact_rate)),
        "true_complier": np.full(replicates, -design.effect * base),
    }


def operating_characteristics(results: dict[str, np.ndarray], alpha: float = 0.05) -> dict:
    """Coverage of the 1 - alpha intervals (difference, ratio, complier effect) and the share
    of replicates whose difference interval excludes 0 (type I error under no effect, power
    otherwise)."""
    z = stats.norm.ppf(1 - alpha / 2)
    out = {}
    for name, truth in (
        ("difference", "true_difference"),
        ("log_ratio", "true_log_ratio"),
        ("complier", "true_complier"),
    ):
        est, se = results[name], results[name + "_se"]
        out[f"coverage_{name}"] = float(np.mean(np.abs(est - results[truth]) <= z * se))
    out["rejection"] = float(np.mean(np.abs(results["difference"]) > z * results["difference_se"]))
    out["rejection_ratio"] = float(
        np.mean(np.abs(results["log_ratio"]) > z * results["log_ratio_se"])
    )
    return out
