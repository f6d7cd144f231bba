"""Safe retraining in the synthetic world: does a model retrained after outreach still see
the risk of the persons the lists reach?

A synthetic cluster; each municipality's team lists the top ~10 % of its citizens 65+ by a
simple score (20 % of the top randomised to a holdout), everyone listed is contacted, and
the following year is played with a planted 25 % reduction of their avoidable-admission
hazard (and, for reference, without one). Models are retrained on the year's outcomes
(a logistic regression on log-transformed inputs: an uncalibrated LightGBM of this size
overstates its own top decile even without outreach, O/E 0.84, which would hide the
effect looked for), two-fold cross-fitted by person: naive (every row as observed,
`outreach: ignore`) and safe (the spec's default `reweight_holdout`:
`riskstrat.training.outreach.outreach_weights`). Each is judged on the risk the persons
would have had without outreach (the same year played without an effect): O/E in the top
decile of its own risk, which should stay within 0.9-1.1.

    uv run --frozen python benchmarks/simulations/safe_retraining.py [--persons N] [--seed S]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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


def labelled(data: Path) -> pd.DataFrame:
    spec = load_spec(SPEC)
    return features_for_data_dir(data, date(2026, 1, 1), spec, [AS_OF], workers=1)


def fold_of(ids: pd.Series) -> np.ndarray:
    return np.array([hashlib.sha256(p.encode()).digest()[0] % 2 for p in ids])


def design(frame: pd.DataFrame) -> np.ndarray:
    x = frame[INPUTS].astype(float).copy()
    x["days_since_last_admission"] = x["days_since_last_admission"].fillna(3650).clip(upper=3650)
    x = np.log1p(x.fillna(0).clip(lower=0))
    x["age_raw"] = frame["age"].astype(float)
    return x.to_numpy()


def cross_fitted(frame: pd.DataFrame, weights: np.ndarray) -> np.ndarray:
    x, y = design(frame), frame[LABEL].astype(int).to_numpy()
    fold = fold_of(frame["person_id"].astype(str))
    risk = np.zeros(len(frame))
    for k in (0, 1):
        train = (fold != k) & (weights > 0)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        model.fit(x[train], y[train], logisticregression__sample_weight=weights[train])
        risk[fold == k] = model.predict_proba(x[fold == k])[:, 1]
    return risk


def top_decile_oe(risk: np.ndarray, observed: np.ndarray) -> tuple[float, float, float, int]:
    """O/E in the top decile of `risk`, with the exact Poisson interval of O."""
    top = risk >= np.quantile(risk, 0.9)
    o, e = float(observed[top].sum()), float(risk[top].sum())
    low = stats.chi2.ppf(0.025, 2 * o) / 2 if o > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * o + 2) / 2
    return o / e, low / e, high / e, int(top.sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--effect", type=float, default=0.25)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = build_world(root, args.persons, args.seed, share_listed=0.125)
        listed = int((world.assignments["arm"] == "listed").sum())
        print(
            f"{args.persons} persons; {len(world.features)} aged 65+; {listed} listed and "
            f"contacted, {len(world.assignments) - listed} held out; planted reduction "
            f"{args.effect:.0%}"
        )
        play_outreach(world.data, root / "effect", 12, world.feedback, args.effect)
        play_outreach(world.data, root / "none", 12, world.feedback, 0.0)
        with_outreach = labelled(root / "effect").dropna(subset=[LABEL]).reset_index(drop=True)
        without = labelled(root / "none").set_index("person_id")[LABEL]
        truth = with_outreach["person_id"].map(without).astype(float).to_numpy()
        keep = ~np.isnan(truth)
        with_outreach, truth = with_outreach[keep].reset_index(drop=True), truth[keep]
        rows = with_outreach[["person_id", "index_date"]]
        results = {}
        for name, policy in (
            ("naive (ignore)", "ignore"),
            ("safe (reweight_holdout)", "reweight_holdout"),
        ):
            weights = outreach_weights(rows, world.assignments, policy, 12)
            risk = cross_fitted(with_outreach, weights)
            results[name] = top_decile_oe(risk, truth)
            oe, low, high, n = results[name]
            print(
                f"{name}: rows left out {int((weights == 0).sum())}, top-decile O/E against "
                f"the outcomes without outreach {oe:.3f} ({low:.3f}-{high:.3f}; {n} persons)",
                flush=True,
            )
        reference = labelled(root / "none").dropna(subset=[LABEL]).reset_index(drop=True)
        ref_risk = cross_fitted(reference, np.ones(len(reference)))
        oe, low, high, n = top_decile_oe(ref_risk, reference[LABEL].astype(float).to_numpy())
        print(
            f"reference (trained in the world without outreach): top-decile O/E {oe:.3f} "
            f"({low:.3f}-{high:.3f}; {n} persons)"
        )
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
