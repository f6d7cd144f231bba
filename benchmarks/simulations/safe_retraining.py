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

    uv run --frozen python benchmarks/simulations/safe_retraining.py [--persons N] [--seeds K] [--first-seed S] [--cache DIR]

`--cache DIR` keeps each seed's assignments and labelled features (person-level synthetic
data) so that the models can be re-run without simulating again.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.calibration import CalibratedClassifierCV

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.evaluation.world import AS_OF, SPEC, build_world  # noqa: E402

from riskstrat.partitions import features_for_data_dir  # noqa: E402
from riskstrat.spec import load_spec  # noqa: E402
from riskstrat.synth.outreach import play_outreach  # noqa: E402
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


def labelled(data: Path) -> pd.DataFrame:
    spec = load_spec(SPEC)
    return features_for_data_dir(data, date(2026, 1, 1), spec, [AS_OF], workers=1)


def world_frames(persons: int, seed: int, effect: float, cache: Path | None) -> tuple:
    """(assignments, features with labels after outreach, the same without outreach)."""
    folder = cache / f"s{seed}-{persons}" if cache else None
    if folder and (folder / "none.parquet").exists():
        return tuple(
            pd.read_parquet(folder / f)
            for f in ("assignments.parquet", "effect.parquet", "none.parquet")
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = build_world(root, persons, seed, share_listed=0.125)
        play_outreach(world.data, root / "effect", 12, world.feedback, effect)
        play_outreach(world.data, root / "none", 12, world.feedback, 0.0)
        frames = (world.assignments, labelled(root / "effect"), labelled(root / "none"))
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
        for frame, name in zip(frames, ("assignments", "effect", "none"), strict=True):
            frame.to_parquet(folder / f"{name}.parquet")
    return frames


def fold_of(ids: pd.Series) -> np.ndarray:
    return np.array([hashlib.sha256(p.encode()).digest()[0] % 2 for p in ids])


def cross_fitted(frame: pd.DataFrame, weights: np.ndarray, seed: int) -> np.ndarray:
    x, y = frame[INPUTS].astype(float).to_numpy(), frame[LABEL].astype(int).to_numpy()
    fold = fold_of(frame["person_id"].astype(str))
    risk = np.zeros(len(frame))
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
        risk[fold == k] = model.predict_proba(x[fold == k])[:, 1]
    return risk


def top_decile_oe(risk: np.ndarray, observed: np.ndarray) -> tuple[float, float, float]:
    """O/E in the top decile of `risk`, with the exact Poisson interval of O."""
    top = risk >= np.quantile(risk, 0.9)
    o, e = float(observed[top].sum()), float(risk[top].sum())
    low = stats.chi2.ppf(0.025, 2 * o) / 2 if o > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * o + 2) / 2
    return o / e, low / e, high / e


def one_seed(persons: int, seed: int, effect: float, cache: Path | None) -> dict[str, float]:
    assignments, after, without = world_frames(persons, seed, effect, cache)
    after = after.dropna(subset=[LABEL]).reset_index(drop=True)
    truth = after["person_id"].map(without.set_index("person_id")[LABEL]).astype(float)
    keep = truth.notna().to_numpy()
    after, truth = after[keep].reset_index(drop=True), truth[keep].to_numpy()
    arms = assignments["arm"].value_counts().to_dict()
    print(
        f"seed {seed}: {len(after)} persons 65+, {arms.get('listed', 0)} listed and "
        f"contacted, {arms.get('holdout', 0)} held out, planted reduction {effect:.0%}",
        flush=True,
    )
    found = {}
    for policy in POLICIES:
        weights = outreach_weights(after[["person_id", "index_date"]], assignments, policy, 12)
        found[policy] = top_decile_oe(cross_fitted(after, weights, seed), truth)
    reference = without.dropna(subset=[LABEL]).reset_index(drop=True)
    found["reference"] = top_decile_oe(
        cross_fitted(reference, np.ones(len(reference)), seed),
        reference[LABEL].astype(float).to_numpy(),
    )
    for name, (oe, low, high) in found.items():
        print(f"  {name}: top-decile O/E {oe:.3f} ({low:.3f}-{high:.3f})", flush=True)
    return {name: values[0] for name, values in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=228_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--effect", type=float, default=0.25)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = [one_seed(args.persons, s, args.effect, args.cache) for s in seeds]
    for name in (*POLICIES, "reference"):
        values = [r[name] for r in results]
        print(f"mean over {len(values)} seeds, {name}: top-decile O/E {np.mean(values):.3f}")
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
