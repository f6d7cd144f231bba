"""Scoring a population with a registered model bundle (`scores.parquet`'s rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.errors import InputError
from riskstrat.model.bundle import ModelBundle
from riskstrat.scoring.reasons import REASON_COLUMNS, reason_codes

SCORE_COLUMNS = [
    "person_id",
    "index_date",
    "model_name",
    "model_version",
    "risk",
    "tier",
    "segment",
    *REASON_COLUMNS,
]


def score_population(
    bundle: ModelBundle, features: pd.DataFrame, model_version: str
) -> pd.DataFrame:
    """Risk, tier, needs segment and reasons for every person in a feature table.

    `features` is one index date's feature table (person_id, index_date and at least the
    model's inputs and the columns its segment rules read). Tiers and segments come from
    the bundle's scheme, fixed at training. Reasons (`reason_1..3`) are computed only for
    persons above the lowest tier and are missing for the rest. Rows are sorted by risk
    descending, ties by person_id, so rankings are reproducible.
    """
    missing = [c for c in ("person_id", "index_date") if c not in features.columns]
    if missing:
        raise InputError(f"the feature table lacks {', '.join(missing)}")
    if len(features) == 0:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c == "risk" else "str") for c in SCORE_COLUMNS}
        )
    risk = bundle.predict_risk(features)
    tier = bundle.segments.tier(risk)
    scores = pd.DataFrame(
        {
            "person_id": features["person_id"].to_numpy(),
            "index_date": features["index_date"].to_numpy(),
            "model_name": bundle.model_name,
            "model_version": str(model_version),
            "risk": risk,
            "tier": pd.Series(tier, dtype="str").to_numpy(),
            "segment": pd.Series(bundle.segments.segment(features), dtype="str").to_numpy(),
        }
    )
    shown = np.flatnonzero(tier != bundle.segments.lowest_tier)
    reasons = {c: np.full(len(scores), None, dtype=object) for c in REASON_COLUMNS}
    if shown.size:
        rows = features.iloc[shown]
        found = reason_codes(bundle.contributions(rows), rows, list(bundle.feature_names))
        for column in REASON_COLUMNS:
            reasons[column][shown] = found[column].to_numpy(dtype=object)
    for column, values in reasons.items():
        scores[column] = pd.Series(values, dtype="str")
    scores["model_name"] = scores["model_name"].astype("str")
    scores["model_version"] = scores["model_version"].astype("str")
    return scores.sort_values(
        ["risk", "person_id"], ascending=[False, True], kind="mergesort", ignore_index=True
    )[SCORE_COLUMNS]
