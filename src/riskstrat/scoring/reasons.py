"""Reason codes: the inputs that pushed a person's risk up most, as `feature=value`.

Language-neutral (`acute_admissions_12m=3`); the lists turn them into phrases. Values are
the person's own input values, written compactly: whole numbers without decimals, other
numbers with one decimal, categories as their level, a missing value as `missing`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.model.coding import is_categorical

N_REASONS = 3
REASON_COLUMNS = [f"reason_{i}" for i in range(1, N_REASONS + 1)]


def format_values(values: pd.Series) -> np.ndarray:
    """Compact text for input values: `3`, `2.5`, `basic`, `missing`."""
    if is_categorical(values):
        text = values.astype(object).to_numpy()
        return np.where(values.isna().to_numpy(), "missing", text.astype(str)).astype(object)
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    rounded = np.round(numbers, 1)
    whole = np.isfinite(rounded) & (rounded == np.round(rounded))
    out = np.full(len(numbers), "missing", dtype=object)
    if whole.any():
        out[whole] = rounded[whole].astype(np.int64).astype(str)
    decimal = np.isfinite(rounded) & ~whole
    if decimal.any():
        out[decimal] = np.char.mod("%.1f", rounded[decimal])
    return out


def reason_codes(
    contributions: np.ndarray, features: pd.DataFrame, feature_names: list[str]
) -> pd.DataFrame:
    """The three largest positive contributions of each row, strongest first.

    `contributions` has one row per row of `features` and one column per input in
    `feature_names` order. A row with fewer than three positive contributions gets
    missing values in the remaining reason columns. Equal contributions keep input order.
    """
    n, k = contributions.shape
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :N_REASONS]
    top = np.take_along_axis(contributions, order, axis=1)
    out = {c: np.full(n, np.nan, dtype=object) for c in REASON_COLUMNS}
    for slot, column in enumerate(REASON_COLUMNS[: min(N_REASONS, k)]):
        for j in np.unique(order[:, slot]):
            rows = np.flatnonzero((order[:, slot] == j) & (top[:, slot] > 0))
            if rows.size:
                name = feature_names[j]
                values = format_values(features[name].iloc[rows])
                out[column][rows] = name + "=" + values.astype(str).astype(object)
    return pd.DataFrame(
        {c: pd.Series(v, dtype="str", index=features.index) for c, v in out.items()}
    )
