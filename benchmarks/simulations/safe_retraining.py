"""Safe retraining in the synthetic world: does a model retrained after outreach still see
the risk of the persons the lists reach?

For each seed: a synthetic cluster (default the Randers size); each municipality's team
lists the top ~10 % of its citizens 65+ by a simple score (20 % of that top randomised to a
holdout), everyone listed is contacted, and the following year is played with a planted
25 % reduction of their avoidable-admission hazard, and again without one. Models are
retrained on the year's outcomes (LightGBM with isotonic calibration, sklearn's
`CalibratedClassifierCV`, two-fold cross-fitted by person) with the spec's `outreach`
choices (`riskstrat.training.outreach.outreach_weights`): `ignore` (naive),
`exclude_exposed` and `reweight_holdout` (the default). Each is judged against the outcomes
the persons would have had without outreach (the year played without an effect): O/E in
the top decile of its own risk, with the exact Poisson interval of O. A reference model
trained in the world without outreach shows what the learner does on its own.

    uv run --frozen python benchmarks/simulations/safe_retraining.py [--persons N] [--seeds K] [--first-seed S] [--years Y] [--cache DIR]

`--years Y` (default 1, the scenario above) plays the steady state a cluster meets once
lists run for years: the teams list each year for Y consecutive years (January 2025,
2026, ...), each later year's candidates ranked by the same simple score from the world
played with outreach up to that day, assigned with the real `assign_month` given the
earlier years' table (arms are sticky: a person keeps their arm), and the persons newly on a
list contacted (the planted effect lasts from a person's contact onward). The world is then
played 12 × Y months from the original data with every contact, with the effect and
without, and the models train on one row per person per index date (January of each of
the Y years, 12-month labels), the whole assignment table given to `outreach_weights`: at
the last index date every listed person is exposed, and the holdout of every year stands in.
Each model is judged on the same rows' outcomes without outreach, over all index dates and
over the last one alone; the inputs it is judged on are, from the second index date on,
those of the world without outreach too (a contacted person's history changed: the risk
asked for is the one had the teams never acted).

    uv run --frozen python benchmarks/simulations/safe_retraining.py --years 3 --seeds 4

`--cache DIR` keeps each seed's assignments and labelled features (person-level synthetic
data) so that the models can be re-run without simulating again.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.calibration import CalibratedClassifierCV

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.evaluation.world import AS_OF, SPEC, build_world, list_year  # noqa: E402

from riskstrat.dates import add_months  # noqa: E402
from riskstrat.partitions import features_for_data_dir  # noqa: E402
from riskstrat.spec import load_spec  # noqa: E402
from riskstrat.synth.outreach import play_outreach, synthetic_feedback  # noqa: E402
from riskstrat.training.outreach import outreach_weights  # noqa: E402

INPUTS = [
    "age",
    "acute_admissions_12m",
    "acute_admissions_3m",
    "avoidable_admissions_12m",
    "bed_days_12m",
    "ed_visits_12m",
    "gp_contacts_12m",
    "gp_home_visits_12m",
    "home_care_active",
    "home_care_hours_per_week",
    "home_nursing_active",
    "municipal_services_12m",
    "n_chronic_conditions",
    "charlson_index",
    "hfrs_score",
    "polypharmacy_5",
    "days_since_last_admission",
    "cond_dementia",
    "cond_copd",
    "cond_heart_failure",
]
LABEL = "y_avoidable_admission"
POLICIES = ("ignore", "exclude_exposed", "reweight_holdout")


SHARE_LISTED = 0.125  # of candidates; 80 % of them a team's capacity: the top ~10 %


def labelled(data: Path, years: int = 1) -> pd.DataFrame:
    """Features and labels at January of each of the `years` list years, from a world played
    12 × `years` months past the first list."""
    spec = load_spec(SPEC)
    index_dates = [add_months(AS_OF, 12 * year) for year in range(years)]
    return features_for_data_dir(data, add_months(AS_OF, 12 * years), spec, index_dates, workers=1)


def world_frames(persons: int, seed: int, effect: float, years: int, cache: Path | None) -> tuple:
    """(assignments, features with labels after outreach, the same without outreach)."""
    suffix = f"-y{years}" if years > 1 else ""
    folder = cache / f"s{seed}-{persons}{suffix}" if cache else None
    if folder and (folder / "none.parquet").exists():
        return tuple(
            pd.read_parquet(folder / f)
            for f in ("assignments.parquet", "effect.parquet", "none.parquet")
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = build_world(root, persons, seed, share_listed=SHARE_LISTED)
        assignments, feedback = later_years(world, root, seed, effect, years)
        months = 12 * years
        play_outreach(world.data, root / "effect", months, feedback, effect)
        play_outreach(world.data, root / "none", months, feedback, 0.0)
        frames = (assignments, labelled(root / "effect", years), labelled(root / "none", years))
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
        for frame, name in zip(frames, ("assignments", "effect", "none"), strict=True):
            frame.to_parquet(folder / f"{name}.parquet")
    return frames


def later_years(world, root: Path, seed: int, effect: float, years: int) -> tuple:
    """(the assignment table, every contact) after the lists of years 2..`years`: each made
    on the world played with the contacts so far up to its January, the persons newly on a
    list contacted in its first four weeks."""
    assignments, feedback = world.assignments, world.feedback
    spec = load_spec(SPEC)
    for year in range(1, years):
        as_of = add_months(AS_OF, 12 * year)
        month = as_of.strftime("%Y-%m")
        played = root / f"listed-{month}"
        play_outreach(world.data, played, 12 * year, feedback, effect)
        features = features_for_data_dir(played, as_of, spec, [as_of], with_labels=False, workers=1)
        shutil.rmtree(played)
        assignments, on_list = list_year(features, assignments, seed, month, SHARE_LISTED)
        new = on_list[~on_list["person_id"].isin(feedback["person_id"])]
        feedback = pd.concat(
            [feedback, synthetic_feedback(new, month, 1.0, seed)], ignore_index=True
        )
        print(
            f"  {month}: {len(features)} candidates, {len(on_list)} on the lists, "
            f"{len(new)} of them new and contacted",
            flush=True,
        )
    # play_outreach keeps one contact date per person: each person is contacted once
    assert not feedback["person_id"].duplicated().any()
    return assignments, feedback


def fold_of(ids: pd.Series) -> np.ndarray:
    return np.array([hashlib.sha256(p.encode()).digest()[0] % 2 for p in ids])


def cross_fitted(
    frame: pd.DataFrame, weights: np.ndarray, judged: pd.DataFrame, seed: int
) -> np.ndarray:
    """Risks of `judged`'s rows from models trained on `frame` (weighted) with the rows'
    persons in the other fold: no person is judged by a model that saw them."""
    x, y = frame[INPUTS].astype(float).to_numpy(), frame[LABEL].astype(int).to_numpy()
    fold = fold_of(frame["person_id"].astype(str))
    judged_x = judged[INPUTS].astype(float).to_numpy()
    judged_fold = fold_of(judged["person_id"].astype(str))
    risk = np.zeros(len(judged))
    for k in (0, 1):
        train = (fold != k) & (weights > 0)
        learner = lgb.LGBMClassifier(
            n_estimators=200,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=300,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=seed,
            verbose=-1,
        )
        model = CalibratedClassifierCV(learner, method="isotonic", cv=3)
        model.fit(x[train], y[train], sample_weight=weights[train])
        risk[judged_fold == k] = model.predict_proba(judged_x[judged_fold == k])[:, 1]
    return risk


def top_decile_oe(risk: np.ndarray, observed: np.ndarray) -> tuple[float, float, float]:
    """O/E in the top decile of `risk`, with the exact Poisson interval of O."""
    top = risk >= np.quantile(risk, 0.9)
    o, e = float(observed[top].sum()), float(risk[top].sum())
    low = stats.chi2.ppf(0.025, 2 * o) / 2 if o > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * o + 2) / 2
    return o / e, low / e, high / e


def judged_rows(after: pd.DataFrame, without: pd.DataFrame) -> pd.DataFrame:
    """`after`'s rows as judged: the outcomes without outreach; the inputs at the first index
    date `after`'s own (nobody contacted yet: the worlds differ there only where the
    generator draws prescriptions and a few diagnoses again over the whole span), at later
    ones those without outreach (a contacted person's history changed)."""
    key = ["person_id", "index_date"]
    untreated = without.set_index(key).loc[pd.MultiIndex.from_frame(after[key])].reset_index()
    first = (after["index_date"] == after["index_date"].min()).to_numpy()
    judged = untreated.copy()
    judged.loc[first, INPUTS] = after.loc[first, INPUTS].to_numpy()
    return judged


def judge(name: str, risk: np.ndarray, frame: pd.DataFrame, years: int) -> float:
    """Print and return the top-decile O/E of `risk` against `frame`'s outcomes (and, with
    several years, at the last index date alone: the state the next lists meet)."""
    truth = frame[LABEL].astype(float).to_numpy()
    oe, low, high = top_decile_oe(risk, truth)
    line = f"  {name}: top-decile O/E {oe:.3f} ({low:.3f}-{high:.3f})"
    if years > 1:
        last = (frame["index_date"] == frame["index_date"].max()).to_numpy()
        o, lo, hi = top_decile_oe(risk[last], truth[last])
        line += f"; at the last index date {o:.3f} ({lo:.3f}-{hi:.3f})"
    print(line, flush=True)
    return oe


def one_seed(
    persons: int, seed: int, effect: float, years: int, cache: Path | None
) -> dict[str, float]:
    assignments, after, without = world_frames(persons, seed, effect, years, cache)
    key = ["person_id", "index_date"]
    after = after.dropna(subset=[LABEL]).reset_index(drop=True)
    without = without.dropna(subset=[LABEL]).reset_index(drop=True)
    found_rows = pd.MultiIndex.from_frame(after[key]).isin(pd.MultiIndex.from_frame(without[key]))
    after = after[found_rows].reset_index(drop=True)
    judged = judged_rows(after, without)
    arms = assignments["arm"].value_counts().to_dict()
    print(
        f"seed {seed}: {len(after)} rows of persons 65+ at {after['index_date'].nunique()} "
        f"index date(s), {arms.get('listed', 0)} persons in the listed arm and contacted, "
        f"{arms.get('holdout', 0)} held out, planted reduction {effect:.0%}",
        flush=True,
    )
    found = {}
    for policy in POLICIES:
        weights = outreach_weights(after[key], assignments, policy, 12)
        if policy == "reweight_holdout":
            print(
                f"  training rows left out {int((weights == 0).sum())}, holdout rows "
                f"standing in {int((weights > 1).sum())} (weight {weights.max():.2f} at most)",
                flush=True,
            )
        risk = cross_fitted(after, weights, judged, seed)
        found[policy] = judge(policy, risk, judged, years)
    # the learner on its own: trained and judged in the world without outreach
    risk = cross_fitted(without, np.ones(len(without)), without, seed)
    found["reference"] = judge("reference", risk, without, years)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=228_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--effect", type=float, default=0.25)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = [one_seed(args.persons, s, args.effect, args.years, args.cache) for s in seeds]
    for name in (*POLICIES, "reference"):
        values = [r[name] for r in results]
        print(f"mean over {len(values)} seeds, {name}: top-decile O/E {np.mean(values):.3f}")
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
