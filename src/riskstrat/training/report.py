"""All figures and aggregate tables of a training run, by artifact file name."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.disclosure import MIN_CELL
from riskstrat.model.bundle import ModelBundle
from riskstrat.training import plots, summaries

_COUNTS = ["share_flagged", "risk_threshold", "n_flagged", "true_positives", "false_positives"]


def run_figures(
    bundle: ModelBundle,
    learning_curve: pd.DataFrame,
    metrics: dict[str, float],
    test_scores: pd.DataFrame,
    validation_risk: np.ndarray,
    *,
    shap_rows: pd.DataFrame,
    test_frame: pd.DataFrame,
    min_cell: int = MIN_CELL,
) -> tuple[dict[str, bytes], dict[str, pd.DataFrame]]:
    """PNG figures and their tables (`roc.png` beside `roc.csv`, ...), plus the tier,
    segment and subgroup tables. Every table is aggregate and suppresses counts from 1 to
    min_cell - 1 (the spec's `fairness.tolerances.min_cell`; `riskstrat.disclosure`)."""
    y = test_scores["y"].to_numpy(dtype=np.int64)
    risk = test_scores["risk"].to_numpy(dtype=np.float64)
    person_id = test_scores["person_id"].to_numpy(dtype=object)
    names = list(bundle.feature_names)
    figures, tables = {}, {}

    curve = plots.selection_curve(y, risk, person_id, min_cell=min_cell)
    tables["roc.csv"] = curve[
        [*_COUNTS, "false_negatives", "true_negatives", "tpr", "fpr", "suppressed"]
    ]
    figures["roc.png"] = plots.roc_figure(curve, metrics["test_auroc"])
    tables["pr.csv"] = curve[[*_COUNTS, "precision", "tpr", "suppressed"]].rename(
        columns={"tpr": "recall"}
    )
    figures["pr.png"] = plots.pr_figure(curve, metrics["test_auprc"], float(np.mean(y)))

    tables["calibration.csv"] = plots.calibration_table(y, risk, person_id, min_cell=min_cell)
    figures["calibration.png"] = plots.calibration_figure(tables["calibration.csv"])
    tables["risk_distribution.csv"] = plots.risk_distribution_table(y, risk, min_cell=min_cell)
    figures["risk_distribution.png"] = plots.risk_distribution_figure(
        tables["risk_distribution.csv"]
    )

    tables["feature_importance.csv"] = plots.importance_table(bundle.booster, names)
    figures["feature_importance.png"] = plots.importance_figure(tables["feature_importance.csv"])
    contributions = bundle.contributions(shap_rows)
    tables["shap_summary.csv"] = plots.shap_summary_table(
        contributions, shap_rows, names, min_cell=min_cell
    )
    figures["shap_summary.png"] = plots.shap_summary_figure(tables["shap_summary.csv"])

    tables["learning_curve.csv"] = learning_curve
    figures["learning_curve.png"] = plots.learning_curve_figure(
        learning_curve, bundle.best_iteration
    )

    scheme = bundle.segments
    tables["tiers.csv"] = summaries.tier_table(scheme, validation_risk, risk, y, min_cell=min_cell)
    tables["segments.csv"] = summaries.segment_table(
        test_scores["segment"].to_numpy(),
        test_scores["tier"].to_numpy(),
        scheme.lowest_tier,
        y,
        risk,
        min_cell=min_cell,
    )
    tables["subgroups.csv"] = summaries.subgroup_table(test_frame, y, risk, min_cell=min_cell)
    return figures, tables
