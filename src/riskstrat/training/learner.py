"""The LightGBM learner: parameters from the spec and a deterministic fit with early stopping.

The inputs it is given are coded by `riskstrat.model.coding` (the same coding scoring uses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import ValidationError

from riskstrat.spec import LightGBMParams, SpecError, describe_errors

# Parameters that always reach LightGBM: the spec's value, else the spec schema's default
# (LightGBMParams: deterministic, column-wise, two threads, quiet; seed None -> the spec's seed).
_ALWAYS = ("num_threads", "deterministic", "force_col_wise", "verbosity", "seed")
_ROUNDS = "n_estimators"  # the LightGBMParams field for the number of boosting rounds
_FIXED = {"objective": "binary", "metric": "binary_logloss"}


def lightgbm_params(params: dict[str, Any], seed: int) -> tuple[dict[str, Any], int]:
    """LightGBM parameters and number of rounds from a spec's `learner.params`.

    Typed by `riskstrat.spec.LightGBMParams` (SpecError if not valid); each parameter goes to
    LightGBM under that model's field name (`n_jobs` -> `num_threads`, `random_state` ->
    `seed`, `bagging_fraction` -> `subsample`), so no parameter is set twice, with the value
    the spec gives. Fixed so that the same data and seed give the same model: `deterministic`,
    column-wise histograms and two threads unless the spec says otherwise.
    """
    try:
        typed = LightGBMParams.model_validate(params)
    except ValidationError as exc:
        problems = describe_errors(exc, prefix="learner.params")
        raise SpecError("learner.params are not valid:\n  - " + "\n  - ".join(problems)) from None
    field = LightGBMParams.accepted_names()
    merged: dict[str, Any] = {name: getattr(typed, name) for name in _ALWAYS}
    if typed.seed is None:
        merged["seed"] = seed
    for key, value in params.items():  # in the spec's order, values as the spec gives them
        if field[key] != _ROUNDS:
            merged[field[key]] = value
    return {**merged, **_FIXED}, typed.n_estimators


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
    weight: np.ndarray | None = None,
) -> FittedLearner:
    """Gradient-boosted trees on the training rows, stopped early on the validation rows."""
    lgb_params, rounds = lightgbm_params(params, seed)
    train_set = lgb.Dataset(
        x_train,
        label=y_train,
        weight=weight,  # outreach weights of the training rows (None: all 1)
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


def refit_lightgbm(
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    feature_names: list[str],
    categorical: list[str],
    params: dict[str, Any],
    rounds: int,
    seed: int,
    weight: np.ndarray | None = None,
) -> lgb.Booster:
    """The same learner refitted on other rows with a fixed number of rounds (those early
    stopping chose when it was evaluated): no rows are held out to stop on."""
    lgb_params, _ = lightgbm_params(params, seed)
    train_set = lgb.Dataset(
        x_train,
        label=y_train,
        weight=weight,
        feature_name=feature_names,
        categorical_feature=categorical or "auto",
        free_raw_data=True,
    )
    booster = lgb.train(lgb_params, train_set, num_boost_round=max(1, rounds))
    return lgb.Booster(model_str=booster.model_to_string())
