"""The model as training leaves it and scoring uses it: bundle, calibration, input coding,
segment scheme and exact TreeSHAP contributions.

Training builds these objects and scoring reads them; neither imports the other.
"""

from riskstrat.model.bundle import ModelBundle
from riskstrat.model.calibration import Calibrator
from riskstrat.model.coding import categorical_levels, is_categorical, model_matrix
from riskstrat.model.segments import SegmentScheme, evaluate_rule
from riskstrat.model.treeshap import TreeShap

__all__ = [
    "Calibrator",
    "ModelBundle",
    "SegmentScheme",
    "TreeShap",
    "categorical_levels",
    "evaluate_rule",
    "is_categorical",
    "model_matrix",
]
