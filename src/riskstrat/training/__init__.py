"""Training: out-of-time LightGBM with baselines, calibration, evaluation and a model card."""

from riskstrat.training.evaluation import evaluate_scores
from riskstrat.training.train import (
    EvaluationSettings,
    TrainingResult,
    evaluate_bundle,
    train_model,
)

__all__ = [
    "EvaluationSettings",
    "TrainingResult",
    "evaluate_bundle",
    "evaluate_scores",
    "train_model",
]
