"""An input's stored distribution and its drift (PSI)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.model.inputs import bin_labels, distribution, psi


def _counts(edges, column) -> dict[str, float]:
    return {k: float(v) for k, v in bin_labels(edges, column).value_counts().items()}


def test_the_same_distribution_is_stable_and_a_shift_is_large() -> None:
    rng = np.random.default_rng(1)
    train = pd.Series(rng.poisson(3, 20_000), dtype="int64")
    stored = distribution(train)
    assert stored["edges"] == sorted(stored["edges"])
    assert abs(sum(stored["shares"].values()) - 1) < 1e-9
    same = pd.Series(rng.poisson(3, 5_000), dtype="int64")
    shifted = pd.Series(rng.poisson(5, 5_000), dtype="int64")
    assert psi(stored["shares"], _counts(stored["edges"], same)) < 0.02
    assert psi(stored["shares"], _counts(stored["edges"], shifted)) > 0.25


def test_categories_booleans_and_missing_values_have_their_own_bins() -> None:
    sex = pd.Series(pd.Categorical(["F", "M", "F", None]))
    stored = distribution(sex)
    assert stored == {"edges": [], "shares": {"F": 0.5, "M": 0.25, "missing": 0.25}}
    flags = pd.Series([True, False, pd.NA], dtype="boolean")
    assert set(distribution(flags)["shares"]) == {"True", "False", "missing"}
    numbers = pd.Series([1.0, np.nan, 2.0, 3.0])
    assert "missing" in distribution(numbers)["shares"]
    all_missing = pd.Series([np.nan, np.nan])
    assert distribution(all_missing) == {"edges": [], "shares": {"missing": 1.0}}
    assert psi({"F": 1.0}, {}) != psi({"F": 1.0}, {})  # nothing observed: NaN
