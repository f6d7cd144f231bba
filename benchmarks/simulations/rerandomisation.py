"""Rerandomisation of the holdout (`evaluation.balance_limit`) on a demo-sized month.

3 teams x 70 new candidates (210 persons: 168 listed, 42 held out, as the demo's 2025-01),
three risk bands per team, nine baseline covariates driven by one latent frailty (risk,
age, sex, acute admissions, bed days, GP contacts, chronic conditions, Charlson, HFRS) and a
binary outcome that the same frailty drives (the covariates predict it moderately).

The shipped machinery draws the month (`evaluation.draws.walk_month`: the blocked walk of
`assign_month`, many draws at once) and judges each draw (`estimates.within_strata_smd`,
the balance table's definition). A seed's rerandomisation accepts the first balanced draw
of its key sequence, so the accepted draws of independent random keys are independent
draws of the rerandomised design: the script draws keys in batches and keeps those that
meet the limit. It prints

- the acceptance rate (how many draws a month needs, for `max_draws`) and the time a draw
  takes;
- each covariate's chance SD of the within-strata SMD, plain and rerandomised;
- every person's holdout probability under rerandomisation (by how extreme their
  covariates are: the rerandomisation's known finite-sample cost with unequal arms);
- the report's estimators (`evaluation.simulation.fe_difference` and `fe_log_ratio`, the
  closed forms of `itt_difference` and `itt_ratio`) over `--replicates` assignments of each
  design, each with `--outcomes` draws of the outcomes: SD of the
  estimate, mean robust SE, coverage of the 95 % interval (under no effect and under a 15 %
  reduction) and type I error, plain and rerandomised.

    uv run --frozen python benchmarks/simulations/rerandomisation.py [--replicates N]
        [--outcomes K] [--pool DRAWS]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LinearRegression
from sklearn.metrics import roc_auc_score

from riskstrat.evaluation.assignment import assign_month
from riskstrat.evaluation.draws import candidate_arrays, walk_month
from riskstrat.evaluation.estimates import within_strata_smd
from riskstrat.evaluation.settings import evaluation_settings
from riskstrat.evaluation.simulation import fe_difference, fe_log_ratio
from riskstrat.features.columns import BALANCE_COLUMNS

TEAMS, PER_TEAM = ("djurs", "randers", "skanderborg"), 70
NAMES = ("risk", *BALANCE_COLUMNS)
LIMIT = 0.1


def month(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(candidates, covariates per candidate row, each person's frailty)."""
    n = len(TEAMS) * PER_TEAM
    frailty = rng.normal(size=n)
    acute = rng.poisson(np.exp(-0.3 + 0.6 * frailty))
    x = np.column_stack(
        [
            1 / (1 + np.exp(-(-1.0 + 0.8 * frailty + 0.5 * rng.normal(size=n)))),
            78 + 2 * frailty + rng.normal(0, 7, n),
            rng.random(n) < 0.45,
            acute,
            acute * rng.gamma(2.0, 3.0, n),
            rng.poisson(np.exp(2.0 + 0.3 * frailty)),
            rng.poisson(np.exp(0.7 + 0.3 * frailty)),
            rng.poisson(np.exp(0.5 + 0.4 * frailty)),
            rng.gamma(2.0, np.exp(1.0 + 0.4 * frailty)),
        ]
    ).astype(float)
    rows = []
    for t, team in enumerate(TEAMS):
        mine = np.arange(t * PER_TEAM, (t + 1) * PER_TEAM)
        mine = mine[np.argsort(-x[mine, 0], kind="stable")]
        for rank, person in enumerate(mine, start=1):
            band = "very_high" if rank <= 14 else "high" if rank <= 42 else "elevated"
            rows.append((f"P{person:04d}", team, rank, band, person))
    frame = pd.DataFrame(rows, columns=["person_id", "team", "rank", "risk_band", "row"])
    return frame, x[frame["row"].to_numpy()], frailty[frame["row"].to_numpy()]


def draws(frame: pd.DataFrame, x: np.ndarray, count: int, rng: np.random.Generator, batch=500):
    """(listed arm, largest |SMD|) of `count` blocked randomisations with random keys."""
    settings = evaluation_settings({"design": "holdout", "holdout_share": 0.2, "seed": 0})
    assert settings is not None
    cands = candidate_arrays(frame[["person_id", "team", "rank", "risk_band"]])
    known = np.full(len(cands.persons), -1)
    capacity = dict.fromkeys(TEAMS, 10_000)  # every candidate is drawn: a fixed trial
    strata = pd.factorize(frame["team"] + "|" + frame["risk_band"])[0]
    arms, largest = [], []
    for _ in range(0, count, batch):
        keys = rng.integers(0, 2**63, (batch, len(cands.persons)), dtype=np.int64)
        walks = walk_month(cands, known, keys.astype(np.uint64), settings, capacity)
        drawn = np.hstack([w.drawn for w in walks])
        listed = drawn & ~np.hstack([w.held for w in walks])
        assert drawn.all()
        arms.append(listed)
        largest.append(np.abs(within_strata_smd(x, listed, strata, drawn)).max(axis=1))
    return np.vstack(arms)[:count], np.concatenate(largest)[:count], strata


def risk_without_outreach(frailty: np.ndarray) -> np.ndarray:
    """The outcome's risk: driven by the frailty the covariates measure with noise."""
    return 1 / (1 + np.exp(-(-1.2 + 1.2 * frailty)))


def trials(t: np.ndarray, frailty: np.ndarray, strata: np.ndarray, effect: float, rng) -> dict:
    """Coverage, type I error (or power), SD and mean SE of the report's estimators."""
    reps, n = t.shape
    p0 = risk_without_outreach(frailty)
    y0 = rng.random((reps, n)) < p0[None, :]
    prevented = rng.random((reps, n)) < effect
    y1 = y0 & ~prevented
    y = np.where(t, y1, y0).astype(float)
    truth = (y1.astype(float) - y0).mean(axis=1)  # the trial's own average effect
    diff, se = fe_difference(y, t.astype(float), strata)
    log_rr, log_se = fe_log_ratio(y, t.astype(float), strata)
    true_log = np.log(y1.sum(axis=1) / y0.sum(axis=1))
    z = stats.norm.ppf(0.975)
    return {
        "sd": float(diff.std()),
        "se": float(se.mean()),
        "coverage": float(np.mean(np.abs(diff - truth) <= z * se)),
        "coverage_ratio": float(np.mean(np.abs(log_rr - true_log) <= z * log_se)),
        "rejection": float(np.mean(np.abs(diff) > z * se)),
        "rejection_ratio": float(np.mean(np.abs(log_rr) > z * log_se)),
    }


def timing(frame: pd.DataFrame, x: np.ndarray, teams: int = 10, per_team: int = 3000) -> str:
    """Wall time of `assign_month` walking all 1,000 draws (a limit no draw meets): the
    demo-sized month, and `teams` teams of `per_team` candidates (capacity 500 each)."""
    settings = evaluation_settings(
        {"design": "holdout", "seed": 1, "balance_limit": 0.001, "max_draws": 1000}
    )
    assert settings is not None
    cov = pd.DataFrame(x, columns=list(NAMES)).assign(person_id=frame["person_id"].to_numpy())
    started = time.perf_counter()
    assign_month(frame, None, settings, "2025-01", dict.fromkeys(TEAMS, 10_000), None, cov)
    small = time.perf_counter() - started
    rows = [
        (f"P{t * (per_team - 500) + i:06d}", f"team{t}", i + 1, "abc"[min(i * 3 // per_team, 2)])
        for t in range(teams)
        for i in range(per_team)
    ]
    big = pd.DataFrame(rows, columns=["person_id", "team", "rank", "risk_band"])
    ids = big["person_id"].unique()
    rng = np.random.default_rng(0)
    cov = pd.DataFrame(rng.normal(size=(len(ids), 9)), columns=list(NAMES)).assign(person_id=ids)
    started = time.perf_counter()
    assign_month(big, None, settings, "2025-01", {f"team{t}": 500 for t in range(teams)}, None, cov)
    return (
        f"assign_month walking all 1,000 draws: {small:.2f} s for this month, "
        f"{time.perf_counter() - started:.1f} s for {teams} teams x {per_team} candidates "
        f"(neighbours sharing 500; capacity 500)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=1000, help="assignments per design")
    parser.add_argument("--outcomes", type=int, default=4, help="outcome draws per assignment")
    parser.add_argument("--pool", type=int, default=400_000, help="plain draws to screen")
    args = parser.parse_args()
    started = time.perf_counter()
    rng = np.random.default_rng(20261205)
    frame, x, frailty = month(rng)
    timer = time.perf_counter()
    arms, largest, strata = draws(frame, x, args.pool, rng)
    per_draw = (time.perf_counter() - timer) / args.pool
    accepted = np.flatnonzero(largest < LIMIT)
    rate = len(accepted) / args.pool
    print(
        f"month: {len(frame)} new persons ({int((~arms[0]).sum())} held out), 9 covariates, "
        f"limit {LIMIT}; {args.pool} plain draws screened, {per_draw * 1e3:.3f} ms a draw"
    )
    print(
        f"acceptance rate {rate:.2%} ({len(accepted)} balanced draws): a month needs on "
        f"average {1 / rate:.0f} draws; P(no balanced draw in 1,000) = {(1 - rate) ** 1000:.1%}, "
        f"in 20,000 = {(1 - rate) ** 20000:.1%}"
    )
    plain, rerandomised = arms[: args.replicates], arms[accepted[: args.replicates]]
    smds = {
        "plain": within_strata_smd(x, plain, strata),
        "rerandomised": within_strata_smd(x, rerandomised, strata),
    }
    for name, values in smds.items():
        sd = ", ".join(f"{c} {s:.3f}" for c, s in zip(NAMES, values.std(axis=0), strict=True))
        print(f"SD of the within-strata SMD, {name}: {sd}")
    # every person's holdout probability: plain (all screened draws: exact to +/-0.001;
    # 1/5, 1/4 or 1/3 by the size of the person's block) against rerandomised, by extremeness
    plain_p = 1 - arms.mean(axis=0)
    held = 1 - arms[accepted].mean(axis=0)
    shift = held - plain_p
    z = shift / np.sqrt(plain_p * (1 - plain_p) / len(accepted))
    centred = (x - x.mean(axis=0)) / x.std(axis=0)
    distance = np.sqrt((centred @ np.linalg.pinv(np.cov(centred.T)) * centred).sum(axis=1))
    tenths = pd.qcut(distance, 10, labels=False)
    by_tenth = pd.Series(shift).groupby(tenths).mean()
    print(
        f"holdout probability, rerandomised ({len(accepted)} balanced draws) minus plain: "
        f"range {shift.min():+.3f} to {shift.max():+.3f}, |z| > 2 for {np.mean(np.abs(z) > 2):.1%} "
        f"of persons (chance alone: 4.6 %), SD beyond chance "
        f"{np.sqrt(max(shift.var() - np.mean(plain_p * (1 - plain_p)) / len(accepted), 0)):.3f}, "
        f"correlation with the Mahalanobis distance "
        f"{np.corrcoef(distance, shift)[0, 1]:+.2f}; mean by tenth of distance (1 = most "
        "typical): " + ", ".join(f"{k + 1}: {v:+.3f}" for k, v in by_tenth.items())
    )
    top = np.argsort(-distance)[:5]
    print(
        "the 5 most extreme persons (distance: plain -> rerandomised): "
        + ", ".join(f"{distance[i]:.1f}: {plain_p[i]:.3f} -> {held[i]:.3f}" for i in top)
    )
    reps = min(args.replicates, len(accepted))
    y = np.random.default_rng(1).random((20, len(frailty))) < risk_without_outreach(frailty)
    fitted = LinearRegression().fit(x, y.mean(axis=0)).predict(x)
    auc = np.mean([roc_auc_score(row, fitted) for row in y])
    print(
        f"outcome: mean risk {risk_without_outreach(frailty).mean():.2f}; the covariates "
        f"predict it with an AUC of {auc:.2f} (linear fit on the covariates)"
    )
    for effect in (0.0, 0.15):
        for name, t in (("plain", plain[:reps]), ("rerandomised", rerandomised[:reps])):
            t = np.repeat(t, args.outcomes, axis=0)
            r = trials(t, frailty, strata, effect, np.random.default_rng(7))
            what = "type I error" if effect == 0 else "power"
            print(
                f"{'no effect' if effect == 0 else '15 % reduction'}, {name} ({reps} assignments "
                f"x {args.outcomes} outcomes): "
                f"difference SD {r['sd']:.4f}, mean HC1 SE {r['se']:.4f}, coverage "
                f"{r['coverage']:.1%} (ratio {r['coverage_ratio']:.1%}), {what} "
                f"{r['rejection']:.1%} (ratio {r['rejection_ratio']:.1%})"
            )
    print(timing(frame[["person_id", "team", "rank", "risk_band"]], x))
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
