"""Training: out-of-time LightGBM with baselines, calibration, evaluation and a model card.

`riskstrat.scoring` uses the calibrator and the input coding from here, and training builds
scoring's bundles; the training entry points are therefore imported on first use, so that
importing either package first never meets a half-initialised other.
"""

from riskstrat.training.calibration import Calibrator
from riskstrat.training.evaluation import evaluate_scores

__all__ = [
    "Calibrator",
    "EvaluationSettings",
    "TrainingResult",
    "evaluate_bundle",
    "evaluate_scores",
    "train_model",
]
_LAZY = {"EvaluationSettings", "TrainingResult", "evaluate_bundle", "train_model"}


def __getattr__(name: str):
    if name in _LAZY:
        from riskstrat.training import train

        return getattr(train, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
