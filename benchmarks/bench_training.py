"""Training speed: `train_model` on N persons × 3 training index dates (default 1,000,000),
plus one validation and one test date of N persons each, ~60 features of realistic shape.

    uv run python benchmarks/bench_training.py [--persons 1000000] [--spec models/avoidable_admission.yaml]

Prints the wall time of each stage, the total, the process's peak RSS, and the run's headline
metrics. Goal: the whole `train_model` call in at most 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
from scipy.special import expit

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from riskstrat.spec import load_spec  # noqa: E402
from riskstrat.training import train_model  # noqa: E402

WINDOWS = (3, 12, 36)
COUNTS = (
    "acute_admissions",
    "bed_days",
    "outpatient_visits",
    "ed_visits",
    "gp_contacts",
    "gp_phone",
    "dispensings",
    "avoidable_admissions",
)
SERVICES = (
    "home_care_active",
    "home_nursing_active",
    "rehabilitation_active",
    "preventive_visit",
    "acute_team_contact",
)
CONDITIONS = (
    "copd",
    "diabetes",
    "heart_failure",
    "dementia",
    "ckd",
    "cancer",
    "stroke",
    "depression",
)


def feature_table(n: int, index_date: str, seed: int) -> pd.DataFrame:
    """One index date's synthetic feature table: counts driven by a latent frailty."""
    rng = np.random.default_rng(seed)
    frailty = rng.gamma(1.5, 1.0, n).astype(np.float32)
    age = np.clip(65 + rng.gamma(2.0, 6.0, n), 65, 104).astype(np.int16)
    columns: dict[str, np.ndarray] = {"age": age, "sex_male": rng.integers(0, 2, n, dtype=np.int8)}
    for count in COUNTS:
        rate = 0.3 * frailty * (1.0 + rng.random(n, dtype=np.float32))
        for months in WINDOWS:
            columns[f"{count}_{months}m"] = rng.poisson(rate * months / 12).astype(np.int16)
    for service in SERVICES:
        columns[service] = (rng.random(n, dtype=np.float32) < 0.1 * frailty).astype(np.int8)
    for service in SERVICES:
        for months in (12, 36):
            days = rng.poisson(
                columns[service].astype(np.float32) * 20 * months / 12 + 0.1 * frailty
            )
            columns[f"{service.removesuffix('_active')}_days_{months}m"] = days.astype(np.int16)
    columns["home_care_hours_per_week"] = (
        columns["home_care_active"] * rng.gamma(2.0, 2.0, n)
    ).astype(np.float32)
    columns["nursing_home"] = (rng.random(n, dtype=np.float32) < 0.02 * frailty).astype(np.int8)
    for condition in CONDITIONS:
        columns[f"has_{condition}"] = (rng.random(n, dtype=np.float32) < 0.08 * frailty).astype(
            np.int8
        )
    columns["n_chronic_conditions"] = sum(columns[f"has_{c}"] for c in CONDITIONS).astype(np.int8)
    columns["hfrs_score"] = np.round(frailty * 4 + rng.gamma(1.0, 1.0, n), 1).astype(np.float32)
    columns["charlson_index"] = rng.poisson(frailty).astype(np.int8)
    columns["n_medications"] = rng.poisson(2 + 2 * frailty).astype(np.int8)
    columns["months_since_admission"] = np.where(
        columns["acute_admissions_36m"] > 0, rng.integers(0, 36, n), 99
    ).astype(np.int8)
    columns["polypharmacy"] = (columns["n_medications"] >= 5).astype(np.int8)
    columns["lab_tests_12m"] = rng.poisson(2 * frailty).astype(np.int16)
    columns["living_alone"] = (rng.random(n, dtype=np.float32) < 0.45).astype(np.int8)
    columns["admissions_trend"] = (
        columns["acute_admissions_12m"] - columns["acute_admissions_36m"] / 3
    ).astype(np.float32)
    logit = -3.5 + 0.8 * np.log1p(frailty) + 0.6 * np.minimum(columns["acute_admissions_12m"], 3)
    logit += 0.8 * columns["home_care_active"] * columns["living_alone"] + 0.02 * (age - 65)
    y = (rng.random(n) < expit(logit)).astype(np.int8)
    frame = pd.DataFrame(columns)
    frame.insert(0, "person_id", pd.array([f"P{i:07d}" for i in range(n)], dtype="str"))
    frame.insert(1, "index_date", pd.Timestamp(index_date))
    frame["sex"] = np.where(columns["sex_male"] == 1, "M", "F")
    frame["y_avoidable_admission"] = pd.array(y, dtype="Int8")
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--spec", default="models/avoidable_admission.yaml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="  %(message)s", stream=sys.stdout)
    logging.getLogger("riskstrat").setLevel(logging.INFO)

    start = time.perf_counter()
    n = args.persons
    train = pd.concat(
        [feature_table(n, d, s) for s, d in enumerate(["2021-01-01", "2021-07-01", "2022-01-01"])],
        ignore_index=True,
    )
    validation = feature_table(n, "2023-01-01", 10)
    test = feature_table(n, "2024-01-01", 11)
    features = [
        c
        for c in train.columns
        if c not in {"person_id", "index_date", "sex", "y_avoidable_admission"}
    ]
    print(
        f"synthetic tables: {len(train):,} training rows, {len(validation):,} + {len(test):,}; {len(features)} features; built in {time.perf_counter() - start:.1f} s"
    )

    spec = load_spec(args.spec)
    start = time.perf_counter()
    result = train_model(spec, train, validation, test, features)
    elapsed = time.perf_counter() - start
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    m = result.metrics
    print(f"train_model: {elapsed:.1f} s total; peak RSS {peak_gib:.2f} GiB (whole process)")
    print(
        f"best iteration {m['best_iteration']:.0f}; test AUROC {m['test_auroc']:.3f} "
        f"[{m['test_auroc_ci_low']:.3f}, {m['test_auroc_ci_high']:.3f}]; rule {m['rule_test_auroc']:.3f}; "
        f"logistic {m['logistic_test_auroc']:.3f}; beats baselines: {result.beats_baselines}"
    )
    print(f"goal <= 300 s: {'met' if elapsed <= 300 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
