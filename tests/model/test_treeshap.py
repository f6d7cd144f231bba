"""TreeShap gives LightGBM's own pred_contrib numbers, for every kind of split it accepts."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from riskstrat.model.treeshap import TreeShap


def _data(rows: int = 4000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 8))
    x[:, 1] = rng.integers(0, 4, rows)  # few levels: repeated splits on one feature
    x[:, 2] = np.where(rng.random(rows) < 0.3, 0.0, x[:, 2])  # many zeros
    x[rng.random(rows) < 0.15, 3] = np.nan  # missing values
    logit = x[:, 0] + 0.8 * x[:, 1] * (x[:, 4] > 0) - np.nan_to_num(x[:, 3]) ** 2 + 0.5 * x[:, 2]
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def _fit(x, y, **params) -> lgb.Booster:
    base = {
        "objective": "binary",
        "verbose": -1,
        "num_leaves": 15,
        "max_depth": 5,
        "min_data_in_leaf": 20,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": 1,
        "num_threads": 1,
    }
    return lgb.train({**base, **params}, lgb.Dataset(x, y), num_boost_round=40)


@pytest.mark.parametrize(
    "params",
    [
        {},  # NaN-aware splits (missing type NaN)
        {"zero_as_missing": True},  # missing type Zero
        {"use_missing": False},  # missing type None: NaN read as 0
        {"max_depth": 10, "num_leaves": 40},  # longer paths, features repeated on them
    ],
    ids=["nan", "zero", "none", "deep"],
)
def test_contributions_equal_lightgbm_pred_contrib(params) -> None:
    x, y = _data()
    booster = _fit(x, y, **params)
    compiled = TreeShap.compile(booster)
    assert compiled is not None
    probe, _ = _data(1500, seed=11)
    probe[:5] = [[np.nan] * 8, [0.0] * 8, [1e-40] * 8, [-0.0] * 8, [1e6] * 8]  # edge values
    expected = booster.predict(probe, pred_contrib=True)
    mine = compiled.contributions(probe, chunk=256)
    np.testing.assert_allclose(mine, expected, rtol=1e-9, atol=1e-12)
    # local accuracy: contributions and expected value add up to the raw score
    np.testing.assert_allclose(mine.sum(axis=1), booster.predict(probe, raw_score=True), atol=1e-9)


def test_thresholds_are_compared_exactly() -> None:
    x, y = _data()
    booster = _fit(x, y)
    thresholds = booster.trees_to_dataframe()["threshold"].dropna().to_numpy()
    probe = np.tile(np.nanmedian(x, axis=0), (thresholds.size, 1))
    probe[:, 0] = thresholds  # values exactly on split points go left, as in LightGBM
    np.testing.assert_allclose(
        TreeShap.compile(booster).contributions(probe),
        booster.predict(probe, pred_contrib=True),
        rtol=1e-9,
        atol=1e-12,
    )


def test_models_it_does_not_cover_are_refused_and_bundles_fall_back() -> None:
    x, y = _data()
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["kind"] = pd.Categorical(np.where(x[:, 0] > 0, "a", np.where(x[:, 4] > 0, "b", "c")))
    categorical = lgb.train(
        {"objective": "binary", "verbose": -1, "min_data_per_group": 5, "cat_smooth": 1},
        lgb.Dataset(frame, y),
        num_boost_round=10,
    )
    assert "==" in set(categorical.trees_to_dataframe()["decision_type"].dropna())
    assert TreeShap.compile(categorical) is None

    rng = np.random.default_rng(5)
    wide = rng.normal(size=(6000, 30))
    deep = lgb.train(
        {
            "objective": "binary",
            "verbose": -1,
            "num_leaves": 400,
            "max_depth": -1,
            "min_data_in_leaf": 2,
            "feature_fraction": 1.0,
        },
        lgb.Dataset(wide, (wide.sum(axis=1) + rng.normal(size=6000) > 0).astype(int)),
        num_boost_round=3,
    )
    assert TreeShap.compile(deep) is None  # paths on more than MAX_PATH_FEATURES features


@pytest.mark.parametrize("categorical", [False, True], ids=["numeric", "with-education"])
def test_bundle_contributions_match_lightgbm(categorical: bool) -> None:
    from riskstrat.training import train_model
    from tests.training.synthetic import FEATURES, design, feature_frame, small_spec

    train, validation, test = design(1500, signal="nonlinear")
    inputs = FEATURES + (["education"] if categorical else [])
    bundle = train_model(small_spec(), train, validation, test, inputs).bundle
    rows = feature_frame(600, "2024-07-01", seed=41)
    expected = bundle.booster.predict(bundle.matrix(rows), pred_contrib=True)[:, :-1]
    assert (bundle.tree_shap is None) == categorical  # categorical splits: LightGBM's own
    np.testing.assert_allclose(bundle.contributions(rows), expected, rtol=1e-9, atol=1e-12)
