"""Operating characteristics of the evaluation's stepped-wedge analysis (issue 16).

10 teams x 50 new persons a month x 12 months; the teams start listing one a month from
the 2nd to the 11th month, and which team starts when is drawn anew in each replicate (a
randomised start order, as a cluster running a stepped wedge should draw it). Months where
no team or every team has started compare nobody and drop out of the strata (month 1, and
months 11-12), leaving 4,500 persons in months 2-10. Risk bands as in
`evaluation_estimators.py` (20 % of persons at a one-year risk of 0.40, 40 % at 0.30, 40 %
at 0.22), a team effect on the log-odds (normal, SD 0.15 by default: teams differ by about
+-4 percentage points at a risk of 0.3) and a secular trend of -0.02 on the log-odds a month.

Each replicate is analysed as the report analyses a stepped wedge (`Evaluation(...,
cluster="team")`): strata calendar month x risk band, errors clustered by team, in the
closed forms of `riskstrat.evaluation.simulation` (equal to the statsmodels fits,
tests/evaluation/test_stepped_wedge_simulation.py). Three ways to make the interval: CRV1
errors with normal quantiles (statsmodels' defaults), CRV1 with Student's t on G - 1 = 9
degrees of freedom (`use_t=True`), and the cluster jackknife CRV3 with t on 9 degrees of
freedom (statsmodels' `cov_type="cluster-crv3"` for the difference and the effect among the
contacted; for the ratio the same jackknife over leave-one-team-out Poisson fits), which
is what the report uses. Prints type I error,
coverage, power at a 15 % reduction and over a grid, the simulated minimum detectable
effect, a sensitivity to the team SD, and the wall time.

    uv run --frozen python benchmarks/simulations/stepped_wedge.py [--replicates N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from riskstrat.evaluation.simulation import (
    SteppedWedgeDesign,
    operating_characteristics,
    simulate_stepped_wedge,
)

TEAMS, PER_MONTH, MONTHS = 10, 50, 12
STARTS = np.arange(1, TEAMS + 1)  # 0-based months: one team a month from the 2nd
BAND_SHARES = np.array([0.2, 0.4, 0.4])
BAND_RISKS = np.array([0.40, 0.30, 0.22])
# interval -> (SE key suffix, t degrees of freedom)
INTERVALS = {
    "CRV1, normal": ("", None),
    "CRV1, t(9)": ("", TEAMS - 1),
    "CRV3, t(9)": ("_crv3", TEAMS - 1),
}


def design(effect: float, contact_rate: float = 1.0, team_sd: float = 0.15) -> SteppedWedgeDesign:
    return SteppedWedgeDesign(
        starts=STARTS,
        band_shares=BAND_SHARES,
        band_risks=BAND_RISKS,
        per_month=PER_MONTH,
        months=MONTHS,
        team_sd=team_sd,
        trend=-0.02,
        contact_rate=contact_rate,
        effect=effect,
    )


def run(d: SteppedWedgeDesign, replicates: int, seed: int, chunk: int = 250) -> dict:
    """The replicates' results, drawn in chunks to bound memory."""
    rng = np.random.default_rng(seed)
    parts = [simulate_stepped_wedge(d, chunk, rng) for _ in range(max(1, replicates // chunk))]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def characteristics(results: dict, interval: str) -> dict:
    """Coverage and rejection with one of INTERVALS."""
    suffix, df = INTERVALS[interval]
    view = {
        **results,
        "difference_se": results["difference_se" + suffix],
        "complier_se": results["complier_se" + suffix],
        "log_ratio_se": results["log_ratio_se" + suffix],
    }
    return operating_characteristics(view, df=df)


def line(label: str, figures: dict) -> str:
    return (
        f"  {label:<13} rejects {figures['rejection']:6.1%} (difference) "
        f"{figures['rejection_ratio']:6.1%} (ratio); coverage difference "
        f"{figures['coverage_difference']:6.1%}, ratio {figures['coverage_log_ratio']:6.1%}, "
        f"complier {figures['coverage_complier']:6.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=2000)
    args = parser.parse_args()
    r = args.replicates
    started = time.perf_counter()
    persons = design(0.0).persons()[0].size
    print(
        f"stepped wedge: {TEAMS} teams x {PER_MONTH} a month x {MONTHS} months, one team "
        f"starting a month from month 2 (random order), {persons} persons compared, team SD "
        f"0.15 on the log-odds, trend -0.02 a month, {r} replicates"
    )
    scenarios = (
        ("no effect, 70 % contacted", design(0.0, 0.7), 1),
        ("15 % reduction, all contacted", design(0.15), 2),
        ("15 % reduction among the 70 % contacted", design(0.15, 0.7), 3),
        ("30 % reduction, all contacted", design(0.30), 4),
    )
    for label, d, seed in scenarios:
        results = run(d, r, seed)
        print(label + ":")
        for interval in INTERVALS:
            print(line(interval, characteristics(results, interval)))
    grid = np.array([0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40])
    # the same draws at every reduction (one seed): a smooth curve
    at = [run(design(e), r // 2, 5) for e in grid]
    print(f"simulated power by relative reduction (all contacted, {r // 2} replicates each):")
    for interval in INTERVALS:
        for scale, key in (("difference", "rejection"), ("ratio", "rejection_ratio")):
            power = [characteristics(results, interval)[key] for results in at]
            mde = next((e for e, p in zip(grid, power, strict=True) if p >= 0.8), None)
            print(
                f"  {interval:<13} {scale:<10} "
                + ", ".join(f"{e:.0%}: {p:.0%}" for e, p in zip(grid, power, strict=True))
                + f"; first with 80 % power: {'none' if mde is None else f'{mde:.0%}'}"
            )
    print("sensitivity to the between-team SD:")
    for sd in (0.0, 0.3):
        null, eff = run(design(0.0, 0.7, sd), r // 2, 6), run(design(0.15, 1.0, sd), r // 2, 7)
        print(
            f"  team SD {sd}: type I error "
            + " / ".join(f"{characteristics(null, i)['rejection']:.1%}" for i in INTERVALS)
            + "; coverage difference under no effect "
            + " / ".join(
                f"{characteristics(null, i)['coverage_difference']:.1%}" for i in INTERVALS
            )
            + "; power at 15 % "
            + " / ".join(f"{characteristics(eff, i)['rejection']:.1%}" for i in INTERVALS)
            + " (CRV1 normal / CRV1 t(9) / CRV3 t(9))"
        )
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
