"""Operating characteristics of the evaluation's estimators on the design of issue 16.

10 teams x 50 new persons a month x 12 months (6,000 persons randomised), a 20 % holdout
drawn in blocks within team x risk band, three risk bands per team (20 % of persons at a
one-year risk of 0.40, 40 % at 0.30, 40 % at 0.22: the 25-40 % of the evaluation notes).
Prints coverage, type I error, power at a 15 % relative reduction (every listed person
contacted, and at a 70 % contact rate), the simulated minimum detectable effect and the
one statsmodels' power calculation gives.

    uv run --frozen python benchmarks/simulations/evaluation_estimators.py [--replicates N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from riskstrat.evaluation.estimates import minimum_detectable_effect
from riskstrat.evaluation.simulation import TrialDesign, operating_characteristics, simulate

TEAMS, PER_MONTH, MONTHS = 10, 50, 12
BAND_SHARES = np.array([0.2, 0.4, 0.4])
BAND_RISKS = np.array([0.40, 0.30, 0.22])


def design(effect: float, contact_rate: float = 1.0) -> TrialDesign:
    per_team = PER_MONTH * MONTHS
    persons = np.tile(np.round(BAND_SHARES * per_team).astype(int), TEAMS)
    return TrialDesign(
        persons=persons,
        risk=np.tile(BAND_RISKS, TEAMS),
        holdout_share=0.2,
        contact_rate=contact_rate,
        effect=effect,
    )


def run(d: TrialDesign, replicates: int, seed: int, chunk: int = 250) -> dict:
    rng = np.random.default_rng(seed)
    parts = [simulate(d, chunk, rng) for _ in range(replicates // chunk)]
    results = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return operating_characteristics(results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=2000)
    args = parser.parse_args()
    r = args.replicates
    started = time.perf_counter()
    null = run(design(0.0, 0.7), r, seed=1)
    print(
        f"design: {TEAMS} teams x {PER_MONTH} a month x {MONTHS} months, 20 % holdout, {r} replicates"
    )
    print(
        f"no effect: type I error {null['rejection']:.1%} (difference), "
        f"{null['rejection_ratio']:.1%} (ratio); coverage difference "
        f"{null['coverage_difference']:.1%}, ratio {null['coverage_log_ratio']:.1%}, "
        f"complier {null['coverage_complier']:.1%}"
    )
    for contact in (1.0, 0.7):
        eff = run(design(0.15, contact), r, seed=2)
        print(
            f"15 % reduction among the contacted, contact rate {contact:.0%}: power "
            f"{eff['rejection']:.1%} (difference), {eff['rejection_ratio']:.1%} (ratio); coverage "
            f"difference {eff['coverage_difference']:.1%}, ratio {eff['coverage_log_ratio']:.1%}, "
            f"complier {eff['coverage_complier']:.1%}"
        )
    grid = np.arange(0.08, 0.205, 0.01)
    power = [run(design(e), r // 2, seed=3)["rejection"] for e in grid]
    mde = next((e for e, p in zip(grid, power, strict=True) if p >= 0.8), None)
    print(
        "simulated power by relative reduction: "
        + ", ".join(f"{e:.0%}: {p:.0%}" for e, p in zip(grid, power, strict=True))
    )
    base = float((BAND_SHARES * BAND_RISKS).sum())
    analytic = minimum_detectable_effect(4800, 1200, base)
    print(
        f"minimum detectable relative reduction (80 % power, two-sided 5 %): simulated "
        f"{mde:.0%} (first grid point reaching 80 %), statsmodels NormalIndPower "
        f"{analytic:.1%} at the mean risk {base:.3f}"
    )
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
