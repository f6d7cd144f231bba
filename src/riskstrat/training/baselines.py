"""The two baselines a LightGBM model must beat to be worth its opacity.

- `rule`: what a clinician would do without a model: most prior acute admissions first,
  and among equals the oldest first.
- `logistic`: an L2-regularised logistic regression on the same inputs, as a scikit-learn
  pipeline (median imputation with missing-value indicators, standardising, one-hot
  categories).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from riskstrat.errors import InputError
from riskstrat.features.columns import RULE_COLUMNS

# A logistic regression with ~60 inputs is saturated long before this many rows; the cap
# keeps a baseline from costing more than the model it is compared with.
LOGISTIC_MAX_ROWS = 300_000


def rule_score(frame: pd.DataFrame) -> np.ndarray:
    """Prior acute admissions (capped at 9) first, then age: `100 * admissions + age`."""
    missing = [c for c in RULE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"the rule baseline needs the columns {', '.join(missing)}")
    admissions = frame["acute_admissions_12m"].to_numpy(dtype=np.float64, na_value=0.0)
    age = frame["age"].to_numpy(dtype=np.float64, na_value=0.0)
    return 100.0 * np.clip(admissions, 0, 9) + np.clip(age, 0, 99)


def one_hot(matrix: np.ndarray, feature_names: list[str], levels: dict[str, list]) -> np.ndarray:
    """The model matrix with each categorical code column replaced by one column per level."""
    blocks = []
    for j, name in enumerate(feature_names):
        column = matrix[:, j]
        if name not in levels:
            blocks.append(column[:, None])
            continue
        codes = np.where(np.isnan(column), -1, column).astype(np.int64)
        blocks.append((codes[:, None] == np.arange(len(levels[name]))).astype(np.float32))
    return np.hstack(blocks) if blocks else matrix


def fit_logistic(x: np.ndarray, y: np.ndarray, *, seed: int) -> Pipeline:
    """A regularised logistic regression on (at most `LOGISTIC_MAX_ROWS` sampled) rows."""
    if len(y) > LOGISTIC_MAX_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(len(y), LOGISTIC_MAX_ROWS, replace=False))
        x, y = x[keep], y[keep]
    pipeline = Pipeline(
        [
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=1.0, max_iter=500)),
        ]
    )
    return pipeline.fit(x, y)
