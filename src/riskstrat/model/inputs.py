"""The distribution of one model input, stored at training, and its drift since (PSI).

At training each input's distribution over the training rows is kept in the bundle's
`input_summary` (`distribution`: a number's decile edges and the share of rows in each bin
and missing; a category's or boolean's share per level). A month's scored population is
binned the same way (`bin_labels`) and compared by the population stability index:
PSI = Σ (actual − expected) · ln(actual / expected) over the bins, shares floored at
`FLOOR`. Usual reading: below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a large one.
Bundles trained before this was stored have no `distribution`: no PSI for their inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

MISSING = "missing"
FLOOR = 1e-4
DECILES = [0.1 * k for k in range(1, 10)]


def distribution(column: pd.Series) -> dict:
    """A column's distribution: `edges` (numbers; empty for levels) and `shares` per label."""
    edges: list[float] = []
    if is_numeric_dtype(column.dtype) and not is_bool_dtype(column.dtype):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = numbers[np.isfinite(numbers)]
        if finite.size:
            edges = sorted({float(e) for e in np.quantile(finite, DECILES)})
    labels = bin_labels(edges, column)
    shares = labels.value_counts(normalize=True).sort_index()
    return {"edges": edges, "shares": {str(k): float(v) for k, v in shares.items()}}


def bin_labels(edges: list[float], column: pd.Series) -> pd.Series:
    """Each value's bin: `b0`..`bK` by the edges (a number), its level as text (a category or
    boolean: no edges), or `missing`."""
    missing = column.isna().to_numpy().copy()
    if edges and is_numeric_dtype(column.dtype) and not is_bool_dtype(column.dtype):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        index = np.searchsorted(np.asarray(edges), numbers, side="right")
        labels = np.char.add("b", index.astype(str)).astype(object)
        missing |= ~np.isfinite(numbers)
    else:
        labels = column.astype("string").to_numpy(dtype=object, na_value=MISSING)
    labels[missing] = MISSING
    return pd.Series(labels, index=column.index, dtype=object)


def psi(expected: dict[str, float], counts: dict[str, float]) -> float:
    """Population stability index of observed bin `counts` against `expected` shares."""
    total = sum(counts.values())
    if total <= 0:
        return float("nan")
    labels = sorted(set(expected) | set(counts))
    e = np.maximum([expected.get(k, 0.0) for k in labels], FLOOR)
    a = np.maximum([counts.get(k, 0.0) / total for k in labels], FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


BIN_COLUMNS = ["model", "feature", "bin", "n"]


def input_bin_counts(
    features: pd.DataFrame, model_name: str, inputs: tuple[str, ...], input_summary: dict
) -> pd.DataFrame:
    """Rows of a feature table per model input and training bin (columns `BIN_COLUMNS`);
    inputs without a stored distribution in `input_summary` are left out."""
    parts = []
    for name in inputs:
        stored = input_summary.get(name, {}).get("distribution")
        if stored is None or name not in features:
            continue
        counted = bin_labels(stored["edges"], features[name]).value_counts()
        parts.append(
            pd.DataFrame(
                {
                    "model": model_name,
                    "feature": name,
                    "bin": counted.index.astype(str),
                    "n": counted.to_numpy(dtype=np.int64),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=BIN_COLUMNS)
    return pd.concat(parts, ignore_index=True)
