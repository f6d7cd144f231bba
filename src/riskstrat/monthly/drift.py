"""Drift (reported, never held): each model input's distribution in this month's scored
population against the model's training rows, as a population stability index (PSI), and
the distribution of the month's risks.

The training distribution is the one the bundle stores (`riskstrat.model.inputs`); a model
trained before it was stored gets no PSI, and the month says so (`no_distribution`). The
counts are made per partition (`input_bin_counts`, a pure function of an `Extract`): a
second feature build besides scoring, aggregates only (rows per model, input and bin).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from riskstrat.contract import Extract
from riskstrat.model.inputs import bin_labels, psi
from riskstrat.scoring.population import (
    LoadedModel,
    ModelScoring,
    feature_key,
    features_by_setting,
)

BIN_COLUMNS = ["model", "feature", "bin", "n"]
PSI_MODERATE = 0.10
PSI_LARGE = 0.25


def input_bin_counts(extract: Extract, models: list[LoadedModel], as_of: date) -> pd.DataFrame:
    """Rows of each model's population at `as_of` per input and training bin (columns
    `BIN_COLUMNS`); inputs without a stored distribution are left out."""
    built = features_by_setting(extract, models, as_of)
    parts = []
    for model in models:
        features = built[feature_key(model.bundle.model_spec())]
        for name in model.bundle.feature_names:
            stored = model.bundle.input_summary.get(name, {}).get("distribution")
            if stored is None or name not in features:
                continue
            counted = bin_labels(stored["edges"], features[name]).value_counts()
            parts.append(
                pd.DataFrame(
                    {
                        "model": model.bundle.model_name,
                        "feature": name,
                        "bin": counted.index.astype(str),
                        "n": counted.to_numpy(dtype=np.int64),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=BIN_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def drift_metrics(
    counts: pd.DataFrame, models: list[LoadedModel], scorings: dict[str, ModelScoring]
) -> dict[str, float]:
    """The month's drift for MLflow: `MODEL.psi.INPUT` per input with a stored training
    distribution, `MODEL.psi_max`, `MODEL.psi_inputs_large` (PSI above 0.25),
    `MODEL.no_distribution` (inputs without one), and the month's risk quantiles
    (`MODEL.risk_p10` … `MODEL.risk_p99`) and mean."""
    summed = counts.groupby(["model", "feature", "bin"])["n"].sum() if len(counts) else None
    metrics: dict[str, float] = {}
    for model in models:
        bundle = model.bundle
        name = bundle.model_name
        values = []
        missing = 0
        for feature in bundle.feature_names:
            stored = bundle.input_summary.get(feature, {}).get("distribution")
            if stored is None:
                missing += 1
                continue
            try:
                observed = summed.loc[(name, feature)] if summed is not None else None
            except KeyError:
                observed = None
            if observed is None or observed.empty:
                continue
            value = psi(stored["shares"], {str(k): float(v) for k, v in observed.items()})
            metrics[f"{name}.psi.{feature}"] = value
            values.append(value)
        metrics[f"{name}.no_distribution"] = float(missing)
        if values:
            metrics[f"{name}.psi_max"] = float(max(values))
            metrics[f"{name}.psi_inputs_large"] = float(sum(v > PSI_LARGE for v in values))
        metrics.update(_risk_quantiles(name, scorings.get(name)))
    return metrics


def _risk_quantiles(name: str, scoring: ModelScoring | None) -> dict[str, float]:
    if scoring is None or scoring.scores.empty:
        return {}
    risk = scoring.scores["risk"].to_numpy(dtype=np.float64)
    out = {f"{name}.risk_mean": float(risk.mean())}
    for q in (10, 50, 90, 99):
        out[f"{name}.risk_p{q}"] = float(np.quantile(risk, q / 100))
    return out
