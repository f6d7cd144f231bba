"""How a feature table becomes model inputs: a fixed numeric matrix, the same at training and
at every later scoring.

Categorical inputs (e.g. `education`, `origin`) become codes over levels fixed at training,
so training, validation, test and every later scoring use the same codes; a level never seen
in training scores as missing. Everything else becomes float32 (half the memory of float64,
and the precision LightGBM bins at anyway).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from riskstrat.errors import InputError


def is_categorical(series: pd.Series) -> bool:
    """True for inputs LightGBM must treat as categories (category, text) rather than numbers."""
    dtype = series.dtype
    return isinstance(dtype, pd.CategoricalDtype) or not (
        is_numeric_dtype(dtype) or is_bool_dtype(dtype)
    )


def categorical_levels(frame: pd.DataFrame, feature_names: list[str]) -> dict[str, list]:
    """The fixed levels of each categorical input: a category's own levels, else those seen."""
    levels = {}
    for name in feature_names:
        column = frame[name]
        if not is_categorical(column):
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            values = list(column.cat.categories)
        else:
            values = sorted(column.dropna().unique())
        levels[name] = [v.item() if isinstance(v, np.generic) else v for v in values]
    return levels


def model_matrix(
    frame: pd.DataFrame, feature_names: list[str], levels: dict[str, list]
) -> np.ndarray:
    """The model inputs as a C-ordered float32 matrix (rows of `frame`, columns in order)."""
    missing = [name for name in feature_names if name not in frame.columns]
    if missing:
        raise InputError(f"the feature table lacks model inputs: {', '.join(missing)}")
    matrix = np.empty((len(frame), len(feature_names)), dtype=np.float32)
    for j, name in enumerate(feature_names):
        column = frame[name]
        if name in levels:
            codes = pd.Categorical(column, categories=levels[name]).codes.astype(np.float32)
            codes[codes < 0] = np.nan
            matrix[:, j] = codes
        elif is_categorical(column):
            raise InputError(f"input {name} is text here but was numeric at training")
        else:
            matrix[:, j] = column.to_numpy(dtype=np.float32, na_value=np.nan)
    return matrix
