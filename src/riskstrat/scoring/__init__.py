"""Scoring: model bundles, segment schemes, reason codes and population scores.

`RiskModel` (MLflow's pyfunc wrapper) is imported on first use, since importing MLflow
takes seconds that plain scoring does not need.
"""

from riskstrat.scoring.bundle import ModelBundle
from riskstrat.scoring.reasons import format_values, reason_codes
from riskstrat.scoring.score import SCORE_COLUMNS, score_population
from riskstrat.scoring.segments import SegmentScheme, evaluate_rule

__all__ = [
    "SCORE_COLUMNS",
    "ModelBundle",
    "RiskModel",
    "SegmentScheme",
    "evaluate_rule",
    "format_values",
    "reason_codes",
    "score_population",
]


def __getattr__(name: str):
    if name == "RiskModel":
        from riskstrat.scoring.pyfunc import RiskModel

        return RiskModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
