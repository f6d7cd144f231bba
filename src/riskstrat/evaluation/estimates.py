"""Effect estimates of the lists once the follow-up horizon has passed.

One row per randomised person, at their first assignment (`arm`, `stratum`, optional
`contacted` from the teams' feedback) with the outcomes of the horizon that followed it.
Counting each person once, from the month they were randomised, makes the person the unit:
a sticky arm followed over overlapping windows would count the same admission several
times.

- **Intention to treat, pooled.** The risk (or mean) difference is the coefficient of the
  listed arm in a linear model with one fixed effect per stratum (team × risk band), with
  heteroskedasticity-robust (HC1) errors. With the same holdout share in every stratum this
  weights each stratum by its size, so it estimates the average effect over the persons
  randomised. The risk (or rate) ratio is exp of the arm's coefficient in a Poisson model
  with the same fixed effects and robust (HC0) errors (the "modified Poisson" of Zou 2004),
  which is valid for binary outcomes and for days in hospital alike. Both are statsmodels
  fits. With a cluster (a stepped wedge: the team, a handful of them), the errors are the
  cluster jackknife (CRV3: statsmodels' `cluster-crv3` for the difference; for the ratio,
  whose GLM statsmodels' CRV3 does not take, the same formula over the statsmodels refits
  leaving one cluster out) and intervals and p-values use Student's t on G - 1 degrees of
  freedom: with 10 teams the plain cluster-robust errors (CRV1) with normal quantiles cover
  88 % and reject a true null 11 % of the time, the jackknife with t 95 % and 5 %
  (benchmarks/simulations/stepped_wedge.py). When leaving out a cluster leaves no
  comparison (one team started, or one not) or empties a stratum, CRV1 with t on G - 1
  stands in. The
  Mantel–Haenszel pooled risk ratio (statsmodels' `StratifiedTable`) gives the same figure
  within rounding on binary outcomes; it has no interval for the ratio, hence the model.
- **By stratum.** Risk difference (Newcombe) and risk ratio (log-adjusted) from
  statsmodels' `confint_proportions_2indep`; for days, the difference in means (Welch).
- **Among those contacted.** Assignment is the instrument for contact: the Wald estimator
  (intention-to-treat effect on the outcome over that on contact), which is two-stage least
  squares with the strata's fixed effects. linearmodels is not a dependency, so its
  interval comes from the delta method, computed as the robust error of the listed arm's
  coefficient on `outcome - effect * contacted` divided by the effect on contact (this is
  2SLS's robust error, exactly).
- **Balance.** Standardised mean differences of baseline covariates, overall and within
  strata (the stratum-weighted mean of within-stratum differences over the pooled SD).
- **Minimum detectable effect** of the persons followed up so far: statsmodels'
  `NormalIndPower` (80 % power, two-sided 5 %), turned from Cohen's h (binary) or d (days)
  into a relative reduction at the observed risk or mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from riskstrat.errors import InputError

# outcome column -> kind; the first is the primary outcome of the plain sentence
OUTCOMES: dict[str, str] = {
    "avoidable_admission": "binary",
    "acute_admission": "binary",
    "death": "binary",
    "hospital_days": "count",
}
LABELS = {
    "avoidable_admission": "avoidable admissions",
    "acute_admission": "acute admissions",
    "death": "deaths",
    "hospital_days": "days in hospital",
}
TREATED = "listed"
BALANCE_LIMIT = 0.1


def treated(frame: pd.DataFrame) -> np.ndarray:
    """1.0 for persons in the listed arm, 0.0 for the holdout (or comparison)."""
    return (frame["arm"].astype(str) == TREATED).to_numpy(dtype=np.float64)


def _both_arms(frame: pd.DataFrame, stratum: str = "stratum") -> pd.DataFrame:
    """The rows of strata that hold both arms (the others carry no comparison)."""
    arm = pd.Series(treated(frame), index=frame.index)
    mixed = arm.groupby(frame[stratum]).transform(lambda a: 0 < a.mean() < 1)
    return frame[mixed.astype(bool)]


def _design(frame: pd.DataFrame, stratum: str = "stratum") -> np.ndarray:
    """[listed arm, one indicator per stratum] (no intercept: the strata span it)."""
    dummies = pd.get_dummies(frame[stratum].astype(str), dtype=np.float64).to_numpy()
    return np.column_stack([treated(frame), dummies])


def _fit_cov(cluster: np.ndarray | None, default: str) -> dict:
    if cluster is None:
        return {"cov_type": default}
    return {"cov_type": "cluster", "cov_kwds": {"groups": cluster}, "use_t": True}


def _codes(frame: pd.DataFrame, cluster: str | None) -> np.ndarray | None:
    return None if cluster is None else pd.factorize(frame[cluster])[0]


def _quantile(codes: np.ndarray | None, alpha: float) -> float:
    """The two-sided interval's quantile: normal, or Student's t on G - 1 degrees of freedom
    for G clusters."""
    if codes is None:
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, np.unique(codes).size - 1))


def _p_value(z: float, codes: np.ndarray | None) -> float:
    if codes is None:
        return float(2 * stats.norm.sf(abs(z)))
    return float(2 * stats.t.sf(abs(z), np.unique(codes).size - 1))


def _few_clusters(codes: np.ndarray | None) -> bool:
    # one cluster has no between-cluster variance to estimate
    return codes is not None and np.unique(codes).size < 2


def _jackknife_defined(rows: pd.DataFrame, codes: np.ndarray) -> bool:
    """Whether every leave-one-cluster-out fit is identified: each stratum keeps persons
    and some stratum keeps both arms. statsmodels' `cluster-crv3` checks the rank of a
    difference of inverted sums and can let an unidentified fit through (an error ten
    times too large on a wedge with one team started), so this is checked here."""
    strata = rows["stratum"].nunique()
    for code in np.unique(codes):
        rest = rows[codes != code]
        if rest["stratum"].nunique() < strata or _both_arms(rest).empty:
            return False
    return True


def _ols(rows: pd.DataFrame, outcome: str, codes: np.ndarray | None):
    model = sm.OLS(rows[outcome].to_numpy(dtype=np.float64), _design(rows))
    if codes is not None and _jackknife_defined(rows, codes):
        return model.fit(cov_type="cluster-crv3", cov_kwds={"groups": codes}, use_t=True)
    return model.fit(**_fit_cov(codes, "HC1"))


def _ratio_rows(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The rows a ratio is estimated on: strata with events and both arms."""
    rows = frame.dropna(subset=[outcome])
    return _both_arms(rows[rows.groupby("stratum")[outcome].transform("sum") > 0])


def _poisson(rows: pd.DataFrame, outcome: str, codes: np.ndarray | None):
    y = rows[outcome].to_numpy(dtype=np.float64)
    return sm.GLM(y, _design(rows), family=sm.families.Poisson()).fit(**_fit_cov(codes, "HC0"))


def _jackknife_log_ratio(
    rows: pd.DataFrame, outcome: str, codes: np.ndarray, beta: float
) -> float | None:
    """CRV3 of the Poisson model's log ratio: sqrt((G - 1) / G · sum over clusters g of
    (b_-g - b)²), b_-g refitted without cluster g; None when a refit has no comparison."""
    leave_outs = []
    for code in np.unique(codes):
        rest = _ratio_rows(rows[codes != code], outcome)
        if rest.empty:
            return None
        leave_outs.append(float(_poisson(rest, outcome, None).params[0]))
    g = len(leave_outs)
    return math.sqrt((g - 1) / g * sum((b - beta) ** 2 for b in leave_outs))


def itt_difference(
    frame: pd.DataFrame, outcome: str, cluster: str | None = None, alpha: float = 0.05
) -> dict | None:
    """The pooled intention-to-treat difference (listed minus holdout) in `outcome`: risk or
    mean difference with stratum fixed effects and robust errors (by `cluster`: the cluster
    jackknife, t on G - 1 degrees of freedom). Returns {estimate, se, ci_low, ci_high,
    p_value}, or None when no stratum holds both arms (or fewer than two clusters do)."""
    rows = _both_arms(frame.dropna(subset=[outcome]))
    codes = _codes(rows, cluster)
    if rows.empty or _few_clusters(codes):
        return None
    fit = _ols(rows, outcome, codes)
    low, high = fit.conf_int(alpha)[0]
    return {
        "estimate": float(fit.params[0]),
        "se": float(fit.bse[0]),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(fit.pvalues[0]),
    }


def itt_ratio(
    frame: pd.DataFrame, outcome: str, cluster: str | None = None, alpha: float = 0.05
) -> dict | None:
    """The pooled intention-to-treat ratio (listed over holdout) of `outcome`'s risk or
    mean: Poisson model with stratum fixed effects and robust errors (by `cluster`: the
    cluster jackknife, t on G - 1 degrees of freedom). Strata without any event carry no
    information on a ratio and are left out. Returns {estimate, ci_low, ci_high, p_value,
    log_ratio, se}, or None when no stratum holds both arms and events (or fewer than two
    clusters do)."""
    rows = _ratio_rows(frame, outcome)
    codes = _codes(rows, cluster)
    if rows.empty or _few_clusters(codes):
        return None
    fit = _poisson(rows, outcome, codes)
    beta, se = float(fit.params[0]), float(fit.bse[0])
    if codes is not None:
        se = _jackknife_log_ratio(rows, outcome, codes, beta) or se
    z = _quantile(codes, alpha)
    return {
        "estimate": math.exp(beta),
        "ci_low": math.exp(beta - z * se),
        "ci_high": math.exp(beta + z * se),
        "p_value": _p_value(beta / se, codes) if se > 0 else float("nan"),
        "log_ratio": beta,
        "se": se,
    }


def complier_effect(
    frame: pd.DataFrame, outcome: str, cluster: str | None = None, alpha: float = 0.05
) -> dict | None:
    """The effect of contact among those contacted (assignment as the instrument for the
    `contacted` column): the Wald estimator with its delta-method interval. Returns
    {estimate, se, ci_low, ci_high, p_value, contact_listed, contact_holdout}, or None
    without contact status, without a difference in contact between the arms or (by
    `cluster`) with fewer than two clusters."""
    if "contacted" not in frame.columns:
        return None
    rows = _both_arms(frame.dropna(subset=[outcome, "contacted"]))
    if rows.empty:
        return None
    first = itt_difference(rows.assign(contacted=rows["contacted"].astype(float)), "contacted")
    reduced = itt_difference(rows, outcome)
    if first is None or reduced is None or abs(first["estimate"]) < 1e-9:
        return None
    effect = reduced["estimate"] / first["estimate"]
    residual = rows[outcome].astype(float) - effect * rows["contacted"].astype(float)
    linear = itt_difference(rows.assign(_residual=residual), "_residual", cluster, alpha)
    if linear is None:  # fewer than two clusters
        return None
    se = linear["se"] / abs(first["estimate"])
    codes = _codes(rows, cluster)
    z = _quantile(codes, alpha)
    arm = treated(rows).astype(bool)
    contacted = rows["contacted"].astype(float).to_numpy()
    return {
        "estimate": effect,
        "se": se,
        "ci_low": effect - z * se,
        "ci_high": effect + z * se,
        "p_value": _p_value(effect / se, codes) if se > 0 else float("nan"),
        "contact_listed": float(contacted[arm].mean()),
        "contact_holdout": float(contacted[~arm].mean()),
    }


def stratum_effects(
    frame: pd.DataFrame, outcome: str, kind: str, alpha: float = 0.05
) -> pd.DataFrame:
    """One row per stratum: persons and events (or mean days) per arm, the difference and
    (binary outcomes) the ratio with their intervals; null where a stratum cannot give one."""
    rows = []
    for stratum, group in frame.dropna(subset=[outcome]).groupby("stratum", sort=True):
        arm = treated(group).astype(bool)
        y = group[outcome].to_numpy(dtype=np.float64)
        y1, y0 = y[arm], y[~arm]
        row: dict = {"stratum": stratum, "n_listed": int(arm.sum()), "n_holdout": int((~arm).sum())}
        row.update(_stratum_figures(y1, y0, kind, alpha))
        rows.append(row)
    return pd.DataFrame(rows)


def _stratum_figures(y1: np.ndarray, y0: np.ndarray, kind: str, alpha: float) -> dict:
    empty = dict.fromkeys(
        ["difference", "difference_low", "difference_high", "ratio", "ratio_low", "ratio_high"]
    )
    if kind == "binary":
        e1, e0 = int(y1.sum()), int(y0.sum())
        row = {"events_listed": e1, "events_holdout": e0, **empty}
        if len(y1) and len(y0):
            row["difference"] = e1 / len(y1) - e0 / len(y0)
            row["difference_low"], row["difference_high"] = confint_proportions_2indep(
                e1, len(y1), e0, len(y0), compare="diff", alpha=alpha
            )
            if e0 > 0:
                row["ratio"] = (e1 / len(y1)) / (e0 / len(y0))
                row["ratio_low"], row["ratio_high"] = confint_proportions_2indep(
                    e1, len(y1), e0, len(y0), compare="ratio", alpha=alpha
                )
        return _floats(row)
    row = {"mean_listed": _mean(y1), "mean_holdout": _mean(y0), **empty}
    if len(y1) >= 2 and len(y0) >= 2 and (y1.var() + y0.var()) > 0:
        compare = CompareMeans(DescrStatsW(y1), DescrStatsW(y0))
        row["difference"] = float(y1.mean() - y0.mean())
        row["difference_low"], row["difference_high"] = compare.tconfint_diff(
            alpha=alpha, usevar="unequal"
        )
    return _floats(row)


def _mean(y: np.ndarray) -> float | None:
    return float(y.mean()) if len(y) else None


def _floats(row: dict) -> dict:
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in row.items()}


def within_strata_smd(
    x: np.ndarray,
    arm: np.ndarray,
    stratum: np.ndarray,
    included: np.ndarray | None = None,
) -> np.ndarray:
    """Standardised mean differences within strata (listed minus holdout) of covariates,
    for one assignment or many at once: the size-weighted mean, over the strata holding
    both arms, of the within-stratum difference in means, over the pooled SD
    sqrt((var listed + var holdout) / 2) (ddof 1) of everyone included. Missing values (NaN)
    are left out of means and variances, not of the strata's sizes.

    `x` (persons × covariates); `arm` (assignments × persons, True: listed); `stratum`
    (persons, integer codes; -1: none); `included` (assignments × persons; None: all).
    Returns (assignments × covariates); 0 where a difference or the SD is undefined. This
    is the one definition: `balance_table`'s `smd_within` and the rerandomisation's
    criterion (`riskstrat.evaluation.assignment`) both call it."""
    values = np.asarray(x, dtype=np.float64).reshape(len(stratum), -1)
    arm = np.atleast_2d(np.asarray(arm, dtype=bool))
    included = np.ones_like(arm) if included is None else np.atleast_2d(included).astype(bool)
    draws, persons = arm.shape
    codes = np.asarray(stratum, dtype=np.int64)
    groups = int(codes.max()) + 1 if persons and codes.max() >= 0 else 1
    grouped = included & (codes >= 0)[None, :]
    flat = (np.arange(draws)[:, None] * groups + np.maximum(codes, 0)[None, :]).ravel()
    size = np.bincount(flat, grouped.ravel(), draws * groups).reshape(draws, groups)
    out = np.zeros((draws, values.shape[1]))
    for j in range(values.shape[1]):
        known = ~np.isnan(values[:, j])
        filled = np.where(known, values[:, j], 0.0)[None, :]
        means, variances = [], []
        for side in (arm, ~arm):
            member = side & included & known[None, :]
            in_group = member & grouped
            count = np.bincount(flat, in_group.ravel(), draws * groups)
            total = np.bincount(flat, (in_group * filled).ravel(), draws * groups)
            with np.errstate(invalid="ignore", divide="ignore"):
                means.append((total / count).reshape(draws, groups))
                n = member.sum(axis=1)
                centre = (member * filled).sum(axis=1) / n
                squares = (member * (filled - centre[:, None]) ** 2).sum(axis=1)
                variances.append(squares / (n - 1))
        both = ~np.isnan(means[0]) & ~np.isnan(means[1])
        weight = np.where(both, size, 0.0)
        difference = np.where(both, means[0] - means[1], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            within = (weight * difference).sum(axis=1) / weight.sum(axis=1)
            sd = np.sqrt((variances[0] + variances[1]) / 2)
            smd = within / sd
        out[:, j] = np.where(np.isfinite(smd) & (sd > 0), smd, 0.0)
    return out


def balance_table(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Standardised mean differences (listed minus holdout, over the pooled SD) of baseline
    covariates: `smd` over everyone, `smd_within` the size-weighted mean of within-stratum
    differences over the same SD (what stratified randomisation balances;
    `within_strata_smd`), `max_abs_stratum` the largest absolute within-stratum SMD (strata
    with two persons or more per arm), and `balanced` (|smd_within| < 0.1)."""
    rows = []
    arm = treated(frame).astype(bool)
    codes = pd.factorize(frame["stratum"])[0]
    for name in covariates:
        x = pd.to_numeric(frame[name], errors="coerce").astype(float)
        sd = math.sqrt((np.nanvar(x[arm], ddof=1) + np.nanvar(x[~arm], ddof=1)) / 2)
        diff = float(np.nanmean(x[arm]) - np.nanmean(x[~arm])) if arm.any() and (~arm).any() else 0
        per_stratum = []
        for _, group in frame.assign(_x=x, _arm=arm).groupby("stratum"):
            g1, g0 = group.loc[group["_arm"], "_x"], group.loc[~group["_arm"], "_x"]
            if g1.notna().sum() >= 2 and g0.notna().sum() >= 2:
                s = math.sqrt((g1.var() + g0.var()) / 2)
                per_stratum.append(abs(g1.mean() - g0.mean()) / s if s > 0 else 0.0)
        smd_within = float(within_strata_smd(x.to_numpy(), arm, codes)[0, 0])
        rows.append(
            {
                "covariate": name,
                "mean_listed": float(np.nanmean(x[arm])) if arm.any() else None,
                "mean_holdout": float(np.nanmean(x[~arm])) if (~arm).any() else None,
                "smd": diff / sd if sd > 0 else 0.0,
                "smd_within": smd_within,
                "max_abs_stratum": max(per_stratum) if per_stratum else None,
                "balanced": abs(smd_within) < BALANCE_LIMIT,
            }
        )
    return pd.DataFrame(rows)


def minimum_detectable_effect(
    n_listed: int,
    n_holdout: int,
    baseline: float,
    kind: str = "binary",
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float | None:
    """The smallest relative reduction (0.14 = 14 %) of a risk `baseline` (binary) or a mean
    `baseline` with standard deviation `sd` (days) that `n_listed` and `n_holdout` persons
    detect with `power` at two-sided `alpha`; None when it cannot be computed (an empty arm,
    no events) or exceeds 100 %."""
    if n_listed < 2 or n_holdout < 2 or baseline <= 0 or (kind == "binary" and baseline >= 1):
        return None
    effect_size = NormalIndPower().solve_power(
        effect_size=None,
        nobs1=n_listed,
        alpha=alpha,
        power=power,
        ratio=n_holdout / n_listed,
        alternative="two-sided",
    )
    effect_size = float(np.asarray(effect_size).item())
    if kind == "binary":
        # Cohen's h = 2 asin(sqrt(p0)) - 2 asin(sqrt(p1)), solved for the lower risk p1
        angle = math.asin(math.sqrt(baseline)) - effect_size / 2
        if angle <= 0:
            return None
        reduction = 1 - math.sin(angle) ** 2 / baseline
    else:
        if not sd:
            return None
        reduction = effect_size * sd / baseline
    return reduction if reduction < 1 else None


def clustered_detectable_effect(
    frame: pd.DataFrame,
    outcome: str,
    cluster: str,
    alpha: float = 0.05,
    power: float = 0.8,
    difference: dict | None = None,
) -> float | None:
    """The smallest relative reduction of `outcome`'s mean in the comparison arm that a
    clustered design (a stepped wedge) of this size detects with `power` at two-sided
    `alpha`: (t(1 - alpha/2) + t(power)) on G - 1 degrees of freedom times the cluster
    jackknife error of the pooled difference (Bloom 1995), over the comparison mean. None
    when the difference cannot be estimated or the reduction exceeds 100 %.

    statsmodels' power classes assume independent persons; with a handful of teams they
    claimed 14-15 % where simulation shows 25-30 % (benchmarks/simulations/stepped_wedge.py),
    so the design's own error is used instead. `difference`: `itt_difference`'s result for
    the same frame, outcome and cluster when already fitted (its jackknife refits every
    team's leave-out once)."""
    fit = difference if difference is not None else itt_difference(frame, outcome, cluster, alpha)
    arm = treated(frame).astype(bool)
    baseline = float(frame.loc[~arm, outcome].astype(float).mean())
    if fit is None or not baseline > 0:
        return None
    clusters = _both_arms(frame.dropna(subset=[outcome]))[cluster].nunique()
    q = stats.t.ppf(1 - alpha / 2, clusters - 1) + stats.t.ppf(power, clusters - 1)
    reduction = float(q * fit["se"] / baseline)
    return reduction if reduction < 1 else None


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def plain_sentence(
    ratio: dict | None, mde: float | None, outcome: str = "avoidable_admission"
) -> str:
    """The finding in one sentence, for people: evidence of a reduction or an increase in the
    primary outcome (the ratio's interval excludes 1), or no evidence so far, with the
    smallest reduction the design can detect."""
    label = LABELS.get(outcome, outcome)
    can = (
        f"this design can detect a reduction of {_percent(mde)} or more"
        if mde is not None
        else "too few persons have been followed up to say what this design can detect"
    )
    if ratio is None or ratio.get("estimate") is None:
        return f"No estimate of the effect on {label} yet; {can}."
    rr, low, high = ratio["estimate"], ratio["ci_low"], ratio["ci_high"]
    if high < 1:
        return (
            f"Evidence of a reduction in {label}: {_percent(1 - rr)} fewer among listed persons "
            f"(95 % CI {_percent(1 - high)} to {_percent(1 - low)})."
        )
    if low > 1:
        return (
            f"Evidence of an increase in {label}: {_percent(rr - 1)} more among listed persons "
            f"(95 % CI {_percent(low - 1)} to {_percent(high - 1)})."
        )
    return (
        f"No evidence of an effect on {label} so far (risk ratio {rr:.2f}, 95 % CI "
        f"{low:.2f} to {high:.2f}); {can}."
    )


class Evaluation:
    """The follow-up of a randomised evaluation: every estimate is computed here, once.

    `follow_up`: one row per randomised person at their first assignment (`arm`, `stratum`,
    the outcome columns present among OUTCOMES, optional `contacted` and baseline
    covariates); `covariates`: the columns of the balance table; `cluster`: a column whose
    groups are correlated (the team in a stepped wedge; None: persons are independent).
    Attributes: `effects` (pooled, one row per outcome and scale), `strata`, `complier`,
    `balance`, `mde` (outcome → relative reduction), `sentence`, `persons` (per arm)."""

    def __init__(
        self,
        follow_up: pd.DataFrame,
        covariates: Sequence[str] = (),
        cluster: str | None = None,
        outcomes: Mapping[str, str] = OUTCOMES,
        alpha: float = 0.05,
    ) -> None:
        missing = [c for c in ("person_id", "arm", "stratum") if c not in follow_up.columns]
        if missing:
            raise InputError(f"the follow-up lacks the column(s) {', '.join(missing)}")
        if follow_up["person_id"].duplicated().any():
            raise InputError("the follow-up holds a person more than once (one row per person)")
        self.outcomes = {k: v for k, v in outcomes.items() if k in follow_up.columns}
        if not self.outcomes:
            raise InputError(f"the follow-up holds none of the outcomes {', '.join(outcomes)}")
        arm = treated(follow_up).astype(bool)
        self.persons = {"listed": int(arm.sum()), "holdout": int((~arm).sum())}
        pooled = {
            o: self._pooled(follow_up, o, k, cluster, alpha) for o, k in self.outcomes.items()
        }
        self.effects = pd.DataFrame([r for rows in pooled.values() for r in rows])
        self.strata = pd.concat(
            [
                stratum_effects(follow_up, o, k, alpha).assign(outcome=o)
                for o, k in self.outcomes.items()
            ],
            ignore_index=True,
        )
        self.complier = pd.DataFrame(
            [
                {"outcome": o, **c}
                for o in self.outcomes
                if (c := complier_effect(follow_up, o, cluster, alpha)) is not None
            ]
        )
        self.balance = balance_table(follow_up, [c for c in covariates if c in follow_up.columns])
        self.mde = {
            o: self._mde(follow_up, o, k, cluster, alpha, pooled[o])
            for o, k in self.outcomes.items()
        }
        primary = next(iter(self.outcomes))
        ratio = self.effects[
            (self.effects["outcome"] == primary) & (self.effects["scale"] == "ratio")
        ]
        self.sentence = plain_sentence(
            ratio.iloc[0].to_dict() if len(ratio) else None, self.mde[primary], primary
        )

    @staticmethod
    def _pooled(frame, outcome: str, kind: str, cluster, alpha) -> list[dict]:
        arm = treated(frame).astype(bool)
        y = frame[outcome].astype(float)
        base = {
            "outcome": outcome,
            "kind": kind,
            "n_listed": int(y[arm].notna().sum()),
            "n_holdout": int(y[~arm].notna().sum()),
            "events_listed": int(y[arm].sum()) if kind == "binary" else None,
            "events_holdout": int(y[~arm].sum()) if kind == "binary" else None,
            "mean_listed": float(y[arm].mean()) if arm.any() else None,
            "mean_holdout": float(y[~arm].mean()) if (~arm).any() else None,
        }
        rows = []
        for scale, fit in (("difference", itt_difference), ("ratio", itt_ratio)):
            result = fit(frame, outcome, cluster, alpha)
            if result is not None:
                rows.append({**base, "scale": scale, **result})
        return rows

    @staticmethod
    def _mde(
        frame: pd.DataFrame,
        outcome: str,
        kind: str,
        cluster: str | None,
        alpha: float,
        pooled: list[dict],
    ) -> float | None:
        if cluster is not None:
            # the pooled difference's jackknife error, fitted once for the effects table
            difference = next((r for r in pooled if r["scale"] == "difference"), None)
            if difference is None:
                return None
            return clustered_detectable_effect(
                frame, outcome, cluster, alpha, difference=difference
            )
        y = frame[outcome].astype(float)
        arm = treated(frame).astype(bool)
        known = y.notna().to_numpy()
        sd = float(y.std()) if kind == "count" and known.sum() > 1 else None
        return minimum_detectable_effect(
            int((arm & known).sum()), int((~arm & known).sum()), float(y.mean()), kind, sd
        )
