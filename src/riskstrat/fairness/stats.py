"""The statistics behind the group audits: intervals, tests against a tolerance band, Holm.

Every test asks one question: does the evidence say a group's true value lies *outside* the
tolerance band? Its p-value is twice the one-sided p-value against the nearest band edge
(capped at 1, and 1 when the estimate is inside the band), so that for a single test
"p < α" is the same as "the two-sided (1 − α) interval lies wholly outside the band" — the
interval printed in the reports. Holm's step-down correction then controls the family-wise
error over all tests of a report.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def holm(p: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given."""
    p = np.asarray(p, dtype=float)
    adjusted = np.empty(len(p))
    running = 0.0
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def poisson_ratio_ci(observed: int, expected: float, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval of observed/expected, the observed count Poisson."""
    if expected <= 0:
        return np.nan, np.nan
    low = stats.chi2.ppf(alpha / 2, 2 * observed) / 2 if observed > 0 else 0.0
    high = stats.chi2.ppf(1 - alpha / 2, 2 * observed + 2) / 2
    return float(low / expected), float(high / expected)


def oe_p_value(observed: int, expected: float, band: tuple[float, float]) -> float:
    """p-value that the true observed/expected ratio lies outside `band` (exact Poisson).

    The Poisson is conservative for a sum of Bernoulli outcomes (its variance is larger)."""
    if expected <= 0:
        return 1.0
    ratio = observed / expected
    if ratio > band[1]:
        one_sided = stats.poisson.sf(observed - 1, band[1] * expected)
    elif ratio < band[0]:
        one_sided = stats.poisson.cdf(observed, band[0] * expected)
    else:
        return 1.0
    return float(min(1.0, 2 * one_sided))


def normal_band_p_value(estimate: float, se: float, band: tuple[float, float]) -> float:
    """p-value that a normally estimated quantity lies outside `band` (either edge may be
    infinite, e.g. (floor, inf) for 'AUROC at least the floor')."""
    if not np.isfinite(estimate) or not se > 0:
        return 1.0
    if estimate < band[0]:
        one_sided = stats.norm.cdf((estimate - band[0]) / se)
    elif estimate > band[1]:
        one_sided = stats.norm.sf((estimate - band[1]) / se)
    else:
        return 1.0
    return float(min(1.0, 2 * one_sided))


def auroc_delong(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """AUROC and its DeLong standard error (ties count one half); NaN without both classes,
    standard error NaN with fewer than two of either."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=float)
    pos, neg = score[y], score[~y]
    m, n = len(pos), len(neg)
    if m == 0 or n == 0:
        return np.nan, np.nan
    ranks = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (ranks[:m] - stats.rankdata(pos)) / n  # per positive: share of negatives ranked below
    v01 = 1 - (ranks[m:] - stats.rankdata(neg)) / m  # per negative: share of positives above
    auc = float(v10.mean())
    if m < 2 or n < 2:
        return auc, np.nan
    return auc, float(np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n))


def model_based_auroc(risk: np.ndarray) -> float:
    """The AUROC a group should show if its predicted risks were its true risks: the
    model-based concordance of van Klaveren, Gönen, Steyerberg and Vergouwe (Stat Med
    2016;35:4136-52), computed from the risks alone,

        Σ_i Σ_(j≠i) p_i (1 − p_j) [I(p_i > p_j) + ½ I(p_i = p_j)] / Σ_i Σ_(j≠i) p_i (1 − p_j),

    each pair weighted by the chance that i has the event and j not. Exact in O(n log n):
    the distinct risks in increasing order, each weighted by how many persons hold it,
    against the cumulative sum of 1 − p below it; tied persons count one half. NaN with
    fewer than two persons or when no pair can be discordant (every risk 0 or every risk 1).
    """
    p = np.asarray(risk, dtype=float)
    if len(p) < 2:
        return np.nan
    values, counts = np.unique(p, return_counts=True)
    # Σ (1 − p_j) over the persons whose risk is strictly below each distinct value
    below = np.concatenate([[0.0], np.cumsum(counts * (1 - values))[:-1]])
    ties = 0.5 * counts * (counts - 1) * values * (1 - values)
    numerator = float(np.sum(counts * values * below + ties))
    denominator = float(p.sum() * (1 - p).sum() - np.sum(p * (1 - p)))
    return numerator / denominator if denominator > 0 else np.nan


def share_ratio(
    part_a: int, total_a: int, part_b: int, total_b: int, alpha: float = 0.05
) -> tuple[float, float, float, float, float]:
    """(part_a/total_a) / (part_b/total_b) with a log-normal (Katz) interval.

    Returns (ratio, low, high, log_estimate, se_log). The two shares are treated as
    independent binomials, which is conservative when the two sets overlap (selected persons
    are often the persons in need). A zero part gets 0.5 added for the interval only."""
    if total_a <= 0 or total_b <= 0 or (part_a == 0 and part_b == 0):
        return (np.nan,) * 5
    ratio = (part_a / total_a) / (part_b / total_b) if part_b > 0 else np.nan
    a, b = (part_a, part_b) if part_a > 0 and part_b > 0 else (part_a + 0.5, part_b + 0.5)
    p1, p2 = min(a / total_a, 1.0), min(b / total_b, 1.0)
    se = float(np.sqrt((1 - p1) / a + (1 - p2) / b))
    centre = float(np.log(p1 / p2))
    z = stats.norm.ppf(1 - alpha / 2)
    return ratio, float(np.exp(centre - z * se)), float(np.exp(centre + z * se)), centre, se


def captured_share_test(
    captured: int, events: int, expected_share: float, band: tuple[float, float], alpha: float
) -> tuple[float, float, float, float]:
    """Equal opportunity at capacity: a group's share of its events that the list captured
    (its true-positive rate) against the share the model's own risks expect for it.

    Given the group's `events`, the `captured` count is binomial with the expected share
    (Σ risk of its listed persons / Σ risk of all its persons: the share a correct model's
    list captures of the group's case mix), taking events as independent Poisson counts on
    and off the list. Returns (observed/expected share, exact Clopper-Pearson interval of
    that ratio, p-value that the true ratio lies outside `band`: twice the exact one-sided
    binomial tail against the nearest band edge; 1 inside the band). NaNs and p = 1 when
    there is nothing to judge (no events, or an expected share of 0 or 1)."""
    if events <= 0 or not 0 < expected_share < 1:
        return np.nan, np.nan, np.nan, 1.0
    ratio = captured / events / expected_share
    low = stats.beta.ppf(alpha / 2, captured, events - captured + 1) if captured > 0 else 0.0
    high = (
        stats.beta.ppf(1 - alpha / 2, captured + 1, events - captured) if captured < events else 1.0
    )
    if ratio < band[0]:
        one_sided = stats.binom.cdf(captured, events, band[0] * expected_share)
    elif ratio > band[1] and band[1] * expected_share < 1:
        one_sided = stats.binom.sf(captured - 1, events, band[1] * expected_share)
    else:
        one_sided = 0.5
    p = 1.0 if band[0] <= ratio <= band[1] else float(min(1.0, 2 * one_sided))
    return float(ratio), float(low / expected_share), float(high / expected_share), p


def calibration_slope(y: np.ndarray, risk: np.ndarray) -> float:
    """Slope of a logistic regression of the outcome on logit(risk): 1 when the spread of the
    risks is right, below 1 when they are too extreme. NaN without both outcomes, or when the
    fit does not converge (the group's risks separate its outcomes)."""
    y = np.asarray(y, dtype=float)
    if y.sum() == 0 or y.sum() == len(y):
        return np.nan
    clipped = np.clip(np.asarray(risk, dtype=float), 1e-6, 1 - 1e-6)
    design = np.column_stack([np.ones(len(y)), np.log(clipped / (1 - clipped))])
    beta = np.array([0.0, 1.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(design @ beta, -30, 30)))
        hessian = design.T @ (design * (p * (1 - p) + 1e-12)[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, design.T @ (y - p))
        beta = beta + step
        if np.abs(step).max() < 1e-9:
            return float(beta[1]) if abs(beta[1]) < 50 else np.nan
    return np.nan
