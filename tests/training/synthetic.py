"""Tiny synthetic feature tables with the project's column names, and a small spec.

`signal` plants what the outcome depends on:
- "nonlinear": a frailty score that matters only in a middle band, and home care that
  matters only for persons living alone (what trees find and a linear model cannot);
- "rule": risk strictly increasing in the rule baseline's own ordering (admissions, then
  age), so no model can rank better than the rule;
- "noise": the outcome ignores every input.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import expit

from riskstrat.spec import ModelSpec

FEATURES = [
    "age",
    "sex_male",
    "acute_admissions_12m",
    "acute_admissions_3m",
    "bed_days_12m",
    "gp_contacts_12m",
    "home_care_active",
    "home_care_hours_per_week",
    "nursing_home",
    "n_chronic_conditions",
    "hfrs_score",
    "charlson_index",
    "living_alone",
]
EDUCATION = ["basic", "vocational", "higher", "unknown"]
LABEL = "y_avoidable_admission"


def feature_frame(
    n: int, index_date: str, *, seed: int, signal: str = "nonlinear", null_labels: int = 0
) -> pd.DataFrame:
    """One index date's feature table for `n` persons."""
    rng = np.random.default_rng(seed)
    age = np.clip(65 + rng.gamma(2.0, 6.0, n), 65, 104).astype(np.int64)
    admissions = rng.poisson(0.4, n)
    home_care = (rng.random(n) < 0.25).astype(np.int64)
    alone = (rng.random(n) < 0.45).astype(np.int64)
    hfrs = np.round(rng.gamma(2.0, 4.0, n), 1)
    frame = pd.DataFrame(
        {
            "person_id": [f"P{seed:03d}{i:06d}" for i in range(n)],
            "index_date": pd.Timestamp(index_date),
            "age": age,
            "sex_male": rng.integers(0, 2, n),
            "acute_admissions_12m": admissions,
            "acute_admissions_3m": rng.binomial(admissions, 0.3),
            "bed_days_12m": admissions * rng.integers(1, 8, n),
            "gp_contacts_12m": rng.poisson(6, n),
            "home_care_active": home_care,
            "home_care_hours_per_week": np.round(home_care * rng.gamma(2.0, 2.0, n), 1),
            "nursing_home": (rng.random(n) < 0.04).astype(np.int64),
            "n_chronic_conditions": rng.poisson(1.2, n),
            "hfrs_score": hfrs,
            "charlson_index": rng.poisson(1.0, n),
            "living_alone": alone,
            "education": pd.Categorical(rng.choice(EDUCATION, n), categories=EDUCATION),
            "sex": np.where(rng.random(n) < 0.5, "F", "M"),
            "municipality_code": rng.choice([730, 710, 707, 706], n),
            "rurality": rng.choice(["urban", "rural"], n),
        }
    )
    if signal == "nonlinear":
        band = ((hfrs > 6) & (hfrs < 14)).astype(float)
        logit = -3.2 + 2.4 * band + 2.4 * home_care * alone - 1.2 * home_care * (1 - alone)
        logit = logit + 0.3 * np.minimum(admissions, 3)
    elif signal == "rule":
        logit = -4.0 + 2.5 * np.minimum(admissions, 9) + 0.02 * (age - 65)
    else:
        logit = np.full(n, -1.8)
    y = (rng.random(n) < expit(logit)).astype(np.int64)
    labels = pd.array(y, dtype="Int8")
    labels[:null_labels] = pd.NA
    frame[LABEL] = labels
    return frame


def design(n: int, *, signal: str = "nonlinear", seed: int = 1, null_labels: int = 0):
    """Training (two stacked dates), validation and test tables of an out-of-time design."""
    train = pd.concat(
        [
            feature_frame(n, "2021-01-01", seed=seed, signal=signal, null_labels=null_labels),
            feature_frame(n, "2021-07-01", seed=seed + 1, signal=signal),
        ],
        ignore_index=True,
    )
    validation = feature_frame(n, "2022-07-01", seed=seed + 2, signal=signal)
    test = feature_frame(n, "2023-07-01", seed=seed + 3, signal=signal, null_labels=null_labels)
    return train, validation, test


def small_spec(**changes) -> ModelSpec:
    """A spec with few, small trees (fast) and the shipped segment rules."""
    raw = {
        "name": "avoidable_admission",
        "label": "avoidable_admission",
        "index_dates": {
            "train": ["2021-01-01", "2021-07-01"],
            "validation": "2022-07-01",
            "test": "2023-07-01",
        },
        "learner": {
            "params": {
                "n_estimators": 150,
                "learning_rate": 0.1,
                "num_leaves": 8,
                "min_child_samples": 20,
            },
            "early_stopping_rounds": 15,
        },
        "segments": {
            "needs": [
                {"name": "nursing_home", "when": "nursing_home == 1"},
                {"name": "frail_home_care", "when": "home_care_active == 1"},
                {"name": "multimorbid", "when": "n_chronic_conditions >= 2"},
                {"name": "single_chronic", "when": "n_chronic_conditions == 1"},
                {"name": "largely_healthy", "when": "n_chronic_conditions == 0"},
            ]
        },
        "capacity_for_metrics": 20,
        "seed": 7,
    }
    raw.update(changes)
    return ModelSpec.model_validate(raw)


@lru_cache(maxsize=4)
def trained(signal: str = "nonlinear", n: int = 2000):
    """One training run per signal, shared by the tests that only read its results."""
    from riskstrat.training import train_model

    train, validation, test = design(n, signal=signal)
    return train_model(small_spec(), train, validation, test, FEATURES + ["education"]), (
        train,
        validation,
        test,
    )
