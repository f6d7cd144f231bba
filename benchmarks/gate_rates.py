"""False-flag and detection rates of the fairness gates, by simulation.

    uv run python benchmarks/gate_rates.py [--persons 228000] [--seeds 20] [--data DIR]

What runs. The project's own synthetic population (`riskstrat synth --profile randers
--persons N`, seed 1) is built once, and its features as of 2025-01-01 (the avoidable-
admission spec's population, 65+) give every person's audit attributes (municipality,
rurality, education, income, origin, sex, age band, living alone) and the inputs of a known
law. The whole pipeline (features, LightGBM, scoring) is not re-run per seed: each seed draws
outcomes from the law on bootstrap resamples of these persons, fits a model, and runs the
three gates' own functions on what that model would have scored, with the shipped spec's
attributes, intersections and tolerances:

- the law: logit p = -4.6 + 0.05 (age - 65) + 0.2 male + 0.3 min(chronic conditions, 4)
  + 1.4 min(acute admissions in the past year, 3) + 0.5 home care (age, sex and
  multimorbidity effects; about 5 % events a year);
- the model: a logistic regression on those terms, fitted on a training draw (a sound model
  with estimation error), tiers cut at its training draw's top 20 %;
- training audit (`riskstrat.experiment.training_audit`'s call): a test draw; O/E and the
  case-mix-adjusted AUROC by group, and equal opportunity at capacity with lists of the
  spec's `capacity_for_metrics` (40) per municipality;
- monthly audit (`riskstrat.monthly.fairness`' gate, `audit_need_met`): a recent-window draw
  scored by the model, selection by its top tiers, O/E of the selected and the not-selected
  by group;
- follow-up (`riskstrat.fairness.follow_up`): a later draw, lists of 40 per municipality,
  O/E and AUROC on the not-listed, equal opportunity on everyone.

Scenarios: `sound` (nothing planted); `odds_double` (the planted municipality's outcome odds
double after training: the recent-window and follow-up draws); `predictor_missing` (the
planted municipality's acute admissions are missing, read as 0, in the model's inputs at
every stage, so the model under-estimates its persons). A run "flags" when any of the three
audits flags a group. A flagged group *is* the planted one when its persons are all in the
planted municipality or include all of it (its rurality group, its intersections); any
other flag, "overall" included, is a wrong one.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from riskstrat.fairness import audit_need_met, audit_outcomes, follow_up
from riskstrat.fairness.groups import capacity_lists, grouping
from riskstrat.spec import Fairness, load_spec

INPUTS = ["age", "sex_male", "n_chronic_conditions", "acute_admissions_12m", "home_care_active"]
SCENARIOS = ("sound", "odds_double", "predictor_missing")
PLANTED = "707"  # a municipality of the scaled Randers profile (the smallest of four)
TOP_TIERS = 0.20


def law_terms(frame: pd.DataFrame, missing_in: np.ndarray | None = None) -> np.ndarray:
    """The law's terms per person; acute admissions read as 0 where `missing_in`."""
    admissions = frame["acute_admissions_12m"].to_numpy(dtype=float)
    if missing_in is not None:
        admissions = np.where(missing_in, 0.0, admissions)
    return np.column_stack(
        [
            frame["age"].to_numpy(dtype=float) - 65,
            frame["sex_male"].to_numpy(dtype=float),
            np.minimum(frame["n_chronic_conditions"].to_numpy(dtype=float), 4),
            np.minimum(admissions, 3),
            frame["home_care_active"].to_numpy(dtype=float),
        ]
    )


COEFFICIENTS = np.array([0.05, 0.2, 0.3, 1.4, 0.5])
INTERCEPT = -4.6


def true_risk(frame: pd.DataFrame, odds_ratio_in: np.ndarray | None = None) -> np.ndarray:
    """The law's probability; odds multiplied by 2 where `odds_ratio_in`."""
    logit = INTERCEPT + law_terms(frame) @ COEFFICIENTS
    if odds_ratio_in is not None:
        logit = logit + np.log(2.0) * odds_ratio_in
    return 1 / (1 + np.exp(-logit))


@dataclass
class RunFlags:
    """What one seed's three audits flagged: (audit, subset, attribute, group) per flag."""

    flags: list[tuple[str, str, str, str]]


def draw(base: pd.DataFrame, rng: np.random.Generator, odds_double: np.ndarray | None = None):
    """A bootstrap resample of the persons with outcomes drawn from the law."""
    rows = base.iloc[rng.integers(0, len(base), len(base))].reset_index(drop=True)
    planted = (rows["municipality_code"].astype(str) == PLANTED).to_numpy()
    p = true_risk(rows, planted if odds_double is not None else None)
    rows["y"] = (rng.random(len(rows)) < p).astype(int)
    return rows, planted


def one_run(base: pd.DataFrame, fairness: Fairness, capacity: int, scenario: str, seed: int):
    """The three audits of one seed; returns RunFlags."""
    rng = np.random.default_rng(seed)
    after = np.ones(1) if scenario == "odds_double" else None
    hide = scenario == "predictor_missing"
    train, planted = draw(base, rng)
    model = LogisticRegression(C=1e6, max_iter=1000).fit(
        law_terms(train, planted if hide else None), train["y"]
    )

    def score(frame: pd.DataFrame, where: np.ndarray) -> np.ndarray:
        return model.predict_proba(law_terms(frame, where if hide else None))[:, 1]

    cut = np.quantile(score(train, planted), 1 - TOP_TIERS)
    flags: list[tuple[str, str, str, str]] = []
    test, planted = draw(base, rng)
    test["risk"] = score(test, planted)
    listed = capacity_lists(test, capacity, risk="risk", catchment="municipality_code")
    training = audit_outcomes(
        test, fairness, risk="risk", outcome="y", selected=listed, equal_opportunity_on={"all"}
    )
    recent, planted = draw(base, rng, after)
    recent["risk"] = score(recent, planted)
    recent["selected"] = (recent["risk"] >= cut).astype(int)
    monthly = audit_need_met(recent, fairness, risk="risk", outcome="y", selected="selected")
    later, planted = draw(base, rng, after)
    later["risk"] = score(later, planted)
    later["listed"] = capacity_lists(later, capacity, risk="risk", catchment="municipality_code")
    followed = follow_up(later, fairness, risk="risk", outcome="y", listed="listed")
    for name, audit in (("training", training), ("monthly", monthly), ("follow-up", followed)):
        rows = audit.rows[audit.rows["flagged"].astype(bool)]
        flags += [(name, r.subset, r.attribute, str(r.group)) for r in rows.itertuples()]
    return RunFlags(flags)


def planted_related(base: pd.DataFrame, fairness: Fairness) -> set[tuple[str, str]]:
    """(attribute, group)s, other than everyone, whose persons are all in the planted
    municipality or include all of it."""
    labels = grouping(base, fairness).labels
    inside = (base["municipality_code"].astype(str) == PLANTED).to_numpy()
    related = set()
    for attribute, values in labels.items():
        if attribute == "overall":
            continue
        for group in pd.unique(values):
            members = (values == group).to_numpy()
            if not (members & ~inside).any() or not (inside & ~members).any():
                related.add((attribute, str(group)))
    return related


def population(data: Path | None, persons: int) -> pd.DataFrame:
    """The synthetic population's persons 65+ as of 2025-01-01 (features and attributes),
    from the Randers profile scaled to `persons` (generated into `data` unless it is there)."""
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.synth import generate

    spec = load_spec("models/avoidable_admission.yaml")
    data = data or Path(f"/tmp/riskstrat-gate-rates-{persons}")
    if not (data / "manifest.json").exists():
        generate("randers", seed=1, out_dir=data, persons=persons)
    return features_for_data_dir(
        data, date(2026, 1, 1), spec, [date(2025, 1, 1)], with_labels=False, workers=1
    )


def rates(base: pd.DataFrame, seeds: int | range, scenario: str) -> dict[str, float]:
    """Over `seeds` runs of a scenario: runs with any flag, with a flag on the planted group,
    with a wrong flag, and with flags on the planted group only."""
    spec = load_spec("models/avoidable_admission.yaml")
    related = planted_related(base, spec.fairness)
    counts = {"any": 0, "planted": 0, "wrong": 0, "only_planted": 0}
    runs = range(seeds) if isinstance(seeds, int) else seeds
    for seed in runs:
        run = one_run(base, spec.fairness, spec.capacity_for_metrics, scenario, 1000 + seed)
        groups = {(a, g) for _, _, a, g in run.flags}
        hit, wrong = bool(groups & related), bool(groups - related)
        counts["any"] += bool(groups)
        counts["planted"] += hit
        counts["wrong"] += wrong
        counts["only_planted"] += hit and not wrong
    return {k: v / len(runs) for k, v in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=228_000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    clock = time.perf_counter()
    base = population(args.data, args.persons)
    inside = base["municipality_code"].astype(str) == PLANTED
    print(
        f"{len(base):,} persons 65+ (planted municipality {PLANTED}: {int(inside.sum()):,}); "
        f"mean risk of the law {true_risk(base).mean():.3f}"
    )
    print("scenario            runs  any flag  planted flagged  wrong flag  planted only")
    for scenario in SCENARIOS:
        r = rates(base, args.seeds, scenario)
        print(
            f"{scenario:<18}  {args.seeds:>4}  {r['any']:>8.2f}  {r['planted']:>15.2f}  "
            f"{r['wrong']:>10.2f}  {r['only_planted']:>12.2f}"
        )
    print(f"done in {time.perf_counter() - clock:.0f} s")


if __name__ == "__main__":
    main()
