"""Scoring: a population's risks, tiers, segments and reason codes from a model bundle."""

from riskstrat.scoring.reasons import format_values, reason_codes
from riskstrat.scoring.score import SCORE_COLUMNS, score_population

__all__ = [
    "SCORE_COLUMNS",
    "format_values",
    "reason_codes",
    "score_population",
]
