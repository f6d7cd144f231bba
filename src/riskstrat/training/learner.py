"""The LightGBM learner: parameters from the spec and a deterministic fit with early stopping.

The inputs it is given are coded by `riskstrat.model.coding` (the same coding scoring uses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

# sklearn-style names in the specs, mapped to LightGBM's own so no alias is set twice.
_ALIASES = {"n_jobs": "num_threads", "random_state": "seed", "verbose": "verbosity"}
_ROUNDS = ("n_estimators", "num_iterations", "num_boost_round", "num_rounds", "num_trees")
_FIXED = {"objective": "binary", "metric": "binary_logloss"}


def lightgbm_params(params: dict[str, Any], seed: int) -> tuple[dict[str, Any], int]:
    """LightGBM parameters and number of rounds from a spec's `learner.params`.

    Fixed so that the same data and seed give the same model: `deterministic`, column-wise
    histograms and two threads unless the spec says otherwise.
    """
    merged: dict[str, Any] = {
        "num_threads": 2,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
        "seed": seed,
    }
    rounds = 100
    for key, value in params.items():
        if key in _ROUNDS:
            rounds = int(value)
        else:
            merged[_ALIASES.get(key, key)] = value
    return {**merged, **_FIXED}, rounds


@dataclass(frozen=True)
class FittedLearner:
    """A booster cut at its best iteration, and the log-loss per round behind that choice."""

    booster: lgb.Booster
    best_iteration: int
    learning_curve: pd.DataFrame  # round, train_logloss, validation_logloss


def fit_lightgbm(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    feature_names: list[str],
    categorical: list[str],
    params: dict[str, Any],
    early_stopping_rounds: int,
    seed: int,
) -> FittedLearner:
    """Gradient-boosted trees on the training rows, stopped early on the validation rows."""
    lgb_params, rounds = lightgbm_params(params, seed)
    train_set = lgb.Dataset(
        x_train,
        label=y_train,
        feature_name=feature_names,
        categorical_feature=categorical or "auto",
        free_raw_data=True,
    )
    valid_set = lgb.Dataset(x_valid, label=y_valid, reference=train_set)
    history: dict[str, dict[str, list[float]]] = {}
    booster = lgb.train(
        lgb_params,
        train_set,
        num_boost_round=rounds,
        valid_sets=[train_set, valid_set],
        valid_names=["train", "validation"],
        callbacks=[
            lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False),
            lgb.record_evaluation(history),
        ],
    )
    best = booster.best_iteration or booster.current_iteration()
    # A booster rebuilt from text holds exactly the kept trees, as a loaded bundle will.
    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    curve = pd.DataFrame(
        {
            "round": np.arange(1, len(history["train"]["binary_logloss"]) + 1),
            "train_logloss": history["train"]["binary_logloss"],
            "validation_logloss": history["validation"]["binary_logloss"],
        }
    )
    return FittedLearner(booster=kept, best_iteration=int(best), learning_curve=curve)
