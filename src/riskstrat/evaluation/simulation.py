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

With a cluster (a stepped wedge: the team), `fe_difference` and `fe_log_ratio` give
statsmodels' cluster-robust CRV1: the sums of the scores t~ e (or u) within each cluster
replace the single scores, times G / (G - 1) · (n - 1) / (n - k) for G clusters; and
`fe_difference_crv3`, `fe_log_ratio_crv3` the cluster jackknife (CRV3) the report uses,
from the coefficients with one cluster left out (the same closed forms on the sums of the
other clusters), times (G - 1) / G.

`tests/evaluation/test_simulation.py` and `tests/evaluation/test_stepped_wedge_simulation.py`
check them against the statsmodels fits of `estimates` to 1e-8 on single replicates, so the
coverage, type I error and power measured here are those of the shipped estimators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def _stratum_sums(values: np.ndarray, stratum: np.ndarray, n_strata: int) -> np.ndarray:
    """Per replicate and group (a stratum, a cluster or a cell of both): the sum of `values`
    (replicates × persons), `stratum` the group code 0..n_strata-1 of each person."""
    return values @ (stratum[:, None] == np.arange(n_strata)[None, :]).astype(values.dtype)


def _cluster_meat(score: np.ndarray, cluster: np.ndarray | None, k: int) -> np.ndarray:
    """Per replicate the middle of the sandwich for one coefficient from its per-person
    scores: sum of squares (then HC0), or of the within-cluster sums times statsmodels' CRV1
    factor G / (G - 1) · (n - 1) / (n - k)."""
    if cluster is None:
        return (score**2).sum(axis=1)
    n_clusters = int(cluster.max()) + 1
    n = score.shape[1]
    factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
    return factor * (_stratum_sums(score, cluster, n_clusters) ** 2).sum(axis=1)


def fe_difference(
    y: np.ndarray, t: np.ndarray, stratum: np.ndarray, cluster: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, standard error) per replicate of the listed-arm coefficient in a linear
    model with stratum fixed effects; `y`, `t`: replicates × persons, `stratum`: integer
    codes 0..S-1 per person (every stratum holding both arms in every replicate); the error
    is HC1, or CRV1 by `cluster` (integer codes 0..G-1 per person) when given."""
    n_strata = int(stratum.max()) + 1
    size = np.bincount(stratum, minlength=n_strata).astype(float)
    t_mean = _stratum_sums(t, stratum, n_strata) / size
    tt = t - t_mean[:, stratum]
    beta = (tt * y).sum(axis=1) / (tt * tt).sum(axis=1)
    level = _stratum_sums(y - beta[:, None] * t, stratum, n_strata) / size
    resid = y - level[:, stratum] - beta[:, None] * t
    n, k = y.shape[1], n_strata + 1
    meat = _cluster_meat(tt * resid, cluster, k)
    if cluster is None:
        meat = n / (n - k) * meat
    return beta, np.sqrt(meat) / (tt * tt).sum(axis=1)


def _profile_log_ratio(
    n1: np.ndarray, n0: np.ndarray, events: np.ndarray, events1: np.ndarray, iterations: int
) -> np.ndarray:
    """The Poisson log ratio with the strata's levels profiled out, by Newton's method, from
    the listed and other persons and the events per stratum (last axis) and the events among
    the listed (the other axes)."""
    b = np.zeros(events1.shape)
    for _ in range(iterations):
        e = np.exp(b)[..., None]
        pi = n1 * e / np.maximum(n0 + n1 * e, 1e-300)  # an empty stratum has no events
        score = events1 - (events * pi).sum(axis=-1)
        info = (events * pi * (1 - pi)).sum(axis=-1)
        b = b + score / info
    return b


def fe_log_ratio(
    y: np.ndarray,
    t: np.ndarray,
    stratum: np.ndarray,
    cluster: np.ndarray | None = None,
    iterations: int = 30,
) -> tuple[np.ndarray, np.ndarray]:
    """(log ratio, standard error) per replicate of the listed arm in a Poisson model with
    stratum fixed effects (every stratum holding events in every replicate); the error is
    HC0, or CRV1 by `cluster` when given."""
    n_strata = int(stratum.max()) + 1
    n1 = _stratum_sums(t, stratum, n_strata)
    n0 = _stratum_sums(1 - t, stratum, n_strata)
    events = _stratum_sums(y, stratum, n_strata)
    b = _profile_log_ratio(n1, n0, events, (y * t).sum(axis=1), iterations)
    e = np.exp(b)[:, None]
    level = events / (n0 + n1 * e)  # e^alpha_s
    pi = n1 * e / (n0 + n1 * e)
    mu = level[:, stratum] * np.where(t > 0, e, 1.0)
    centred = t - pi[:, stratum]
    info = (mu * centred**2).sum(axis=1)
    return b, np.sqrt(_cluster_meat(centred * (y - mu), cluster, n_strata + 1)) / info


class _LeaveOneClusterOut:
    """Sums per replicate, cluster left out and stratum over the other clusters' persons."""

    def __init__(self, stratum: np.ndarray, cluster: np.ndarray) -> None:
        self.n_strata, self.n_clusters = int(stratum.max()) + 1, int(cluster.max()) + 1
        cell = cluster * self.n_strata + stratum
        cells = np.arange(self.n_clusters * self.n_strata)
        self.in_cell = (cell[:, None] == cells[None, :]).astype(float)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """(replicates × clusters × strata) sums of `values` (replicates × persons)."""
        cells = (values @ self.in_cell).reshape(values.shape[0], self.n_clusters, self.n_strata)
        return cells.sum(axis=1, keepdims=True) - cells

    def jackknife_se(self, leave_outs: np.ndarray, estimate: np.ndarray) -> np.ndarray:
        """CRV3: sqrt((G - 1) / G · sum over clusters g of (b_-g - b)²) per replicate."""
        g = self.n_clusters
        return np.sqrt((g - 1) / g * ((leave_outs - estimate[:, None]) ** 2).sum(axis=1))


def fe_difference_crv3(
    y: np.ndarray, t: np.ndarray, stratum: np.ndarray, cluster: np.ndarray
) -> np.ndarray:
    """The cluster-jackknife (CRV3) standard error per replicate of `fe_difference`'s
    estimate, from the coefficients with one cluster left out (statsmodels' `cluster-crv3`
    with its correction (G - 1) / G). `t` must be 0/1."""
    without = _LeaveOneClusterOut(stratum, cluster)
    size = without(np.ones((1, y.shape[1])))
    listed, outcome = without(t), without(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        # by Frisch–Waugh–Lovell: sum(t~ y) / sum(t~²), t binary so sum(t²) = sum(t)
        between = np.where(size > 0, listed * outcome / size, 0.0).sum(axis=2)
        spread = np.where(size > 0, listed**2 / size, 0.0).sum(axis=2)
    leave_outs = (without(t * y).sum(axis=2) - between) / (listed.sum(axis=2) - spread)
    return without.jackknife_se(leave_outs, fe_difference(y, t, stratum)[0])


def fe_log_ratio_crv3(
    y: np.ndarray, t: np.ndarray, stratum: np.ndarray, cluster: np.ndarray, iterations: int = 30
) -> np.ndarray:
    """The cluster-jackknife standard error per replicate of `fe_log_ratio`'s estimate, from
    the Poisson fits with one cluster left out (what `estimates.itt_ratio` computes from
    statsmodels refits: statsmodels' CRV3 takes linear models only)."""
    without = _LeaveOneClusterOut(stratum, cluster)
    n1, n0, events = without(t), without(1 - t), without(y)
    leave_outs = _profile_log_ratio(n1, n0, events, without(t * y).sum(axis=2), iterations)
    return without.jackknife_se(leave_outs, fe_log_ratio(y, t, stratum, iterations=iterations)[0])


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


@dataclass(frozen=True)
class SteppedWedgeDesign:
    """A simulated stepped wedge: each of len(`starts`) teams takes `per_month` new persons a
    month for `months` months, split over risk bands in the proportions `band_shares` (the
    same counts every team-month), whose one-year risks without outreach are `band_risks`.
    The teams start listing in the months `starts` (0-based); which team takes which start is
    drawn anew in every replicate (a randomised start order), and a team's persons before its
    start are the comparison. A person's risk varies by team (a normal team effect on the
    log-odds with SD `team_sd`) and by calendar month (`trend` on the log-odds per month);
    `contact_rate` of the listed are contacted, and their risk falls by `effect` (relative)."""

    starts: np.ndarray
    band_shares: np.ndarray
    band_risks: np.ndarray
    per_month: int = 50
    months: int = 12
    team_sd: float = 0.15
    trend: float = -0.02
    contact_rate: float = 1.0
    effect: float = 0.0

    def persons(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(team, month, risk band) codes of every person, in months where the teams
        compared hold both arms (started and not yet started) whatever the start order."""
        counts = np.round(np.asarray(self.band_shares) * self.per_month).astype(int)
        band = np.repeat(np.arange(len(counts)), counts)
        cells = [(k, m) for k in range(len(self.starts)) for m in range(self.months)]
        team = np.repeat([k for k, _ in cells], band.size)
        month = np.repeat([m for _, m in cells], band.size)
        band = np.tile(band, len(cells))
        compared = (month >= np.min(self.starts)) & (month < np.max(self.starts))
        return team[compared], month[compared], band[compared]


def draw_stepped_wedge(
    design: SteppedWedgeDesign, replicates: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """`replicates` stepped wedges of `design`: the persons' `team` and `stratum` codes
    (calendar month × risk band, 0..S-1) and, per replicate × person, `listed` (1: the team
    had started in the person's month), `contacted`, `baseline` (the risk without outreach)
    and `outcome` (0/1)."""
    team, month, band = design.persons()
    stratum = np.unique(month * len(design.band_risks) + band, return_inverse=True)[1]
    n_teams, n = len(design.starts), team.size
    start = np.asarray(design.starts)[np.argsort(rng.random((replicates, n_teams)), axis=1)]
    listed = (month[None, :] >= start[:, team]).astype(float)
    log_odds = (
        np.log(design.band_risks / (1 - design.band_risks))[band]
        + design.trend * month
        + rng.normal(0.0, design.team_sd, (replicates, n_teams))[:, team]
    )
    baseline = 1 / (1 + np.exp(-log_odds))
    contacted = listed * (rng.random((replicates, n)) < design.contact_rate)
    risk = baseline * (1 - design.effect * contacted)
    outcome = (rng.random((replicates, n)) < risk).astype(float)
    return {
        "team": team,
        "stratum": stratum,
        "listed": listed,
        "contacted": contacted,
        "baseline": baseline,
        "outcome": outcome,
    }


def simulate_stepped_wedge(
    design: SteppedWedgeDesign, replicates: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """`replicates` stepped wedges of `design` (`draw_stepped_wedge`), analysed as the report
    does (strata calendar month × risk band, errors clustered by team): arrays (one value
    per replicate) of the difference, the log ratio and the complier (Wald) estimate, each
    with its CRV1 error (`*_se`) and its cluster-jackknife error (`*_se_crv3`), and the
    truths they estimate. The difference's truth is the replicate's own: the effect on the
    listed persons' risks weighted as the fixed-effects coefficient weights them (a
    stratum's listed persons by its comparison share); the teams' effects, which a start
    order puts on one side or the other, average out over start orders, and that variation
    is what the errors must cover."""
    drawn = draw_stepped_wedge(design, replicates, rng)
    team, stratum, t = drawn["team"], drawn["stratum"], drawn["listed"]
    y, contacted = drawn["outcome"], drawn["contacted"]
    diff, diff_se = fe_difference(y, t, stratum, team)
    log_rr, log_rr_se = fe_log_ratio(y, t, stratum, team)
    first, _ = fe_difference(contacted, t, stratum)
    wald = diff / first
    residual = y - wald[:, None] * contacted
    _, wald_se = fe_difference(residual, t, stratum, team)
    # the comparison share of each stratum is the same in every replicate (the same starts)
    listed_share = _stratum_sums(t[:1], stratum, int(stratum.max()) + 1)[0] / np.bincount(stratum)
    weight = t * (1 - listed_share[stratum])
    base = (weight * drawn["baseline"]).sum(axis=1) / weight.sum(axis=1)
    return {
        "difference": diff,
        "difference_se": diff_se,
        "difference_se_crv3": fe_difference_crv3(y, t, stratum, team),
        "log_ratio": log_rr,
        "log_ratio_se": log_rr_se,
        "log_ratio_se_crv3": fe_log_ratio_crv3(y, t, stratum, team),
        "complier": wald,
        "complier_se": wald_se / np.abs(first),
        "complier_se_crv3": fe_difference_crv3(residual, t, stratum, team) / np.abs(first),
        "true_difference": -design.effect * design.contact_rate * base,
        "true_log_ratio": np.full(replicates, np.log1p(-design.effect * design.contact_rate)),
        "true_complier": -design.effect * base,
    }


def operating_characteristics(
    results: dict[str, np.ndarray], alpha: float = 0.05, df: int | None = None
) -> dict:
    """Coverage of the 1 - alpha intervals (difference, ratio, complier effect) and the share
    of replicates whose difference (and ratio) interval excludes 0 (type I error under no
    effect, power otherwise). The intervals are normal, or Student's t with `df` degrees of
    freedom when given (G - 1 for G clusters: statsmodels' `use_t` with cluster errors)."""
    z = stats.norm.ppf(1 - alpha / 2) if df is None else stats.t.ppf(1 - alpha / 2, df)
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
