"""Performance on the test index date, each figure with a bootstrap 95 % interval.

The bootstrap is vectorised: a replicate is a row of resampling counts (how often each
person is drawn), and every metric is written for a matrix of such rows, so a few hundred
replicates over a million persons cost seconds. The point estimate is the same code with
a single row of ones, so estimate and interval can never disagree in definition.
Selection (top 1 %, top 5 %, a team's capacity) follows the lists: risk descending, ties
broken by `person_id`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.special import expit, logit

TOP_SHARES = {"top1pct": 0.01, "top5pct": 0.05}
_EPS = 1e-7
_CELLS_PER_CHUNK = 1_500_000  # resampling counts held in memory at once


def selection_order(risk: np.ndarray, person_id) -> np.ndarray:
    """Row positions by risk descending, ties by person_id ascending (how lists rank)."""
    id_rank = np.argsort(np.argsort(np.asarray(person_id, dtype=object), kind="stable"))
    return np.lexsort((id_rank, -np.asarray(risk, dtype=np.float64)))


def resampling_weights(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap replicates as rows of draw counts, in chunks that fit in memory."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CELLS_PER_CHUNK // max(n, 1)))
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        weights = np.empty((rows, n))
        for i in range(rows):
            weights[i] = np.bincount(rng.integers(0, n, n), minlength=n)
        yield weights


def ranking_metrics(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> dict:
    """AUROC and AUPRC (average precision, as scikit-learn defines it) per weight row.

    `y` and `score` must already be in descending order of score. Written to pass over the
    (replicates x persons) matrix as few times as possible: it is the bootstrap's cost.
    """
    starts = np.flatnonzero(np.r_[True, score[1:] != score[:-1]])  # groups of tied scores
    pos = weights * y
    if starts.size < score.size:
        weights = np.add.reduceat(weights, starts, axis=1)
        pos = np.add.reduceat(pos, starts, axis=1)
    n_pos = pos.sum(axis=1)
    n_neg = weights.sum(axis=1) - n_pos
    cum_all, cum_pos = np.cumsum(weights, axis=1), np.cumsum(pos, axis=1)

    def rowdot(a, b):
        return np.einsum("ij,ij->i", a, b)

    # A group's positives lose to the negatives ranked above it and to half of its own.
    lost = (
        rowdot(pos, cum_all)
        - rowdot(pos, cum_pos)
        - 0.5 * (rowdot(pos, weights) - rowdot(pos, pos))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = 1.0 - lost / (n_pos * n_neg)
        precision = np.divide(cum_pos, cum_all, out=cum_pos, where=cum_all > 0)
        precision[cum_all <= 0] = 0.0
        auprc = rowdot(pos, precision) / n_pos
    return {"auroc": auroc, "auprc": auprc}


def selection_metrics(y: np.ndarray, weights: np.ndarray, selected: int) -> tuple:
    """Precision and recall among the first `selected` persons (rows in selection order)."""
    n_pos = weights @ y
    # Only a prefix can be selected: look at enough rows for every replicate to fill it.
    length = min(weights.shape[1], 2 * selected + 1000)
    while True:
        head = weights[:, :length]
        before = np.cumsum(head, axis=1)
        if length == weights.shape[1] or before[:, -1].min() >= selected:
            break
        length = min(weights.shape[1], 2 * length)
    before -= head
    taken = np.clip(selected - before, 0, head)  # a person drawn twice counts twice
    hits = taken @ y[:length]
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / taken.sum(axis=1), hits / n_pos


def calibration_metrics(
    y: np.ndarray, risk: np.ndarray, weights: np.ndarray, one_step_from=None
) -> dict:
    """Brier score, observed/expected ratio, calibration slope and intercept per weight row.

    Slope: b in logit P(y) = a + b * logit(risk). Intercept (calibration-in-the-large):
    a in logit P(y) = a + logit(risk), the slope held at 1. Both are maximum likelihood,
    by Newton's method. With `one_step_from` (a, b, intercept fitted on all persons),
    bootstrap replicates take one Newton step from there instead: the k-step bootstrap
    (Andrews 2002, Econometrica 70:119), first-order equivalent to refitting each
    replicate and costing one matrix product for all of them.
    """
    sums = weights @ np.column_stack([np.ones_like(y), y, risk, (risk - y) ** 2])
    z = logit(np.clip(risk, _EPS, 1 - _EPS))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"brier": sums[:, 3] / sums[:, 0], "oe_ratio": sums[:, 1] / sums[:, 2]}
        if one_step_from is None:
            a, b = _logistic_slope(y, z, weights)
            c = _logistic_offset(y, z, weights)
        else:
            a, b, c = _one_step(y, z, weights, *one_step_from)
    out.update(slope_fit_intercept=a, calibration_slope=b, calibration_intercept=c)
    return out


def _logistic_slope(y, z, weights, iterations: int = 50) -> tuple:
    a, b = np.zeros(len(weights)), np.ones(len(weights))
    for _ in range(iterations):
        mu = expit(a[:, None] + b[:, None] * z)
        r, v = weights * (y - mu), weights * mu * (1 - mu)
        g0, g1 = r.sum(axis=1), r @ z
        h00, h01, h11 = v.sum(axis=1), v @ z, v @ (z * z)
        det = h00 * h11 - h01**2
        da, db = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        a, b = a + da, b + db
        if not np.nanmax(np.abs(np.r_[da, db]), initial=0) > 1e-10:
            break
    return a, b


def _logistic_offset(y, z, weights, iterations: int = 50) -> np.ndarray:
    c = np.zeros(len(weights))
    for _ in range(iterations):
        mu = expit(c[:, None] + z)
        step = (weights * (y - mu)).sum(axis=1) / (weights * mu * (1 - mu)).sum(axis=1)
        c = c + step
        if not np.nanmax(np.abs(step), initial=0) > 1e-10:
            break
    return c


def _one_step(y, z, weights, a0: float, b0: float, c0: float) -> tuple:
    mu, mu_c = expit(a0 + b0 * z), expit(c0 + z)
    r, v, r_c, v_c = y - mu, mu * (1 - mu), y - mu_c, mu_c * (1 - mu_c)
    g0, g1, h00, h01, h11, g_c, h_c = (
        weights @ np.column_stack([r, r * z, v, v * z, v * z * z, r_c, v_c])
    ).T
    det = h00 * h11 - h01**2
    a = a0 + (h11 * g0 - h01 * g1) / det
    b = b0 + (h00 * g1 - h01 * g0) / det
    return a, b, c0 + g_c / h_c


def risk_metrics(y, risk, weights, *, capacity: int, one_step_from=None) -> dict:
    """Every test metric of a calibrated risk, per weight row (rows in selection order)."""
    out = ranking_metrics(y, risk, weights)
    calibration = calibration_metrics(y, risk, weights, one_step_from)
    calibration.pop("slope_fit_intercept")
    out.update(calibration)
    n = y.shape[0]
    selections = {k: max(1, round(share * n)) for k, share in TOP_SHARES.items()}
    selections["capacity"] = min(capacity, n)
    for key, selected in selections.items():
        out[f"precision_{key}"], out[f"recall_{key}"] = selection_metrics(y, weights, selected)
    return out


def evaluate_scores(
    y,
    risk,
    person_id,
    *,
    capacity: int,
    n_boot: int = 200,
    seed: int = 0,
    prefix: str = "test",
    baselines: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Flat metrics with `_ci_low`/`_ci_high` (percentile bootstrap, 95 %).

    Keys: `{prefix}_{metric}` for the risk; `{baseline}_{prefix}_auroc`/`_auprc` for each
    baseline score, and `{prefix}_auroc_gain_over_{baseline}` (risk minus baseline, on the
    same replicates, so its interval is a paired comparison).
    """
    order = selection_order(risk, person_id)
    y = np.asarray(y, dtype=np.float64)[order]
    risk = np.asarray(risk, dtype=np.float64)[order]
    # Weights are drawn for persons in selection order; a baseline reads the same persons'
    # weights in its own order (`to_baseline`), so each replicate is paired across scores.
    ranked = {}
    for name, score in (baselines or {}).items():
        score = np.asarray(score, dtype=np.float64)[order]
        to_baseline = np.argsort(-score, kind="stable")
        ranked[name] = (to_baseline, y[to_baseline], score[to_baseline])
    ones = np.ones((1, len(y)))
    point_fit = calibration_metrics(y, risk, ones)
    fitted = tuple(
        float(point_fit[k][0])
        for k in ("slope_fit_intercept", "calibration_slope", "calibration_intercept")
    )

    def all_metrics(weights: np.ndarray, one_step_from=None) -> dict[str, np.ndarray]:
        metrics = risk_metrics(y, risk, weights, capacity=capacity, one_step_from=one_step_from)
        out = {f"{prefix}_{k}": v for k, v in metrics.items()}
        for name, (to_baseline, y_b, score_b) in ranked.items():
            ranks = ranking_metrics(y_b, score_b, weights[:, to_baseline])
            for k, v in ranks.items():
                out[f"{name}_{prefix}_{k}"] = v
            out[f"{prefix}_auroc_gain_over_{name}"] = out[f"{prefix}_auroc"] - ranks["auroc"]
        return out

    point = {k: float(v[0]) for k, v in all_metrics(ones).items()}
    chunks = [all_metrics(w, fitted) for w in resampling_weights(len(y), n_boot, seed)]
    result: dict[str, float] = {}
    for key, value in point.items():
        replicates = np.concatenate([c[key] for c in chunks]) if chunks else np.array([])
        result[key] = value
        result[f"{key}_ci_low"], result[f"{key}_ci_high"] = _interval(replicates)
    return result


def _interval(replicates: np.ndarray) -> tuple[float, float]:
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)
