"""Drift (reported, never held): each model input's distribution in this month's scored
population against the model's training rows, as a population stability index (PSI), and
the distribution of the month's risks.

The training distribution is the one the bundle stores (`riskstrat.model.inputs`); a model
trained before it was stored gets no PSI, and the month says so (`no_distribution`). The
month's counts (rows per model, input and bin; aggregates only) are made while scoring,
from the same features (`partitions.score_data_dir(..., input_bins=True)`).
"""

from __future__ import annotations

import numpy as np

from riskstrat.model.inputs import psi
from riskstrat.scoring.population import (
    LoadedModel,
    ModelScoring,
)

BIN_COLUMNS = ["model", "feature", "bin", "n"]
PSI_MODERATE = 0.10
PSI_LARGE = 0.25


def drift_metrics(models: list[LoadedModel], scorings: dict[str, ModelScoring]) -> dict[str, float]:
    """The month's drift for MLflow: `MODEL.psi.INPUT` per input with a stored training
    distribution, `MODEL.psi_max`, `MODEL.psi_inputs_large` (PSI above 0.25),
    `MODEL.no_distribution` (inputs without one), and the month's risk quantiles
    (`MODEL.risk_p10` … `MODEL.risk_p99`) and mean, from scorings made with `input_bins`."""
    metrics: dict[str, float] = {}
    for model in models:
        bundle = model.bundle
        name = bundle.model_name
        scoring = scorings.get(name)
        counts = scoring.input_bins if scoring is not None else None
        summed = (
            counts.groupby(["model", "feature", "bin"])["n"].sum()
            if counts is not None and len(counts)
            else None
        )
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
