"""A trained model and everything scoring needs with it, as one folder of plain files.

`model.txt` is LightGBM's own text format; `bundle.json` holds the inputs and their levels,
the calibrator, the segment scheme and where the model came from. No pickles: a bundle can
be read, diffed and audited (`riskstrat.tracking` wraps one as an MLflow pyfunc model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from riskstrat.errors import InputError
from riskstrat.model.calibration import Calibrator
from riskstrat.model.coding import model_matrix
from riskstrat.model.segments import SegmentScheme
from riskstrat.model.treeshap import TreeShap

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelBundle:
    """A calibrated LightGBM risk model with its segment scheme and provenance."""

    booster: lgb.Booster
    model_name: str
    label: str
    label_column: str
    horizon_months: int
    min_age: int
    feature_names: tuple[str, ...]
    categorical_levels: dict[str, list]
    calibrator: Calibrator
    segments: SegmentScheme
    spec_fingerprint: str
    index_dates: dict[str, Any]  # {"train": [...], "validation": "...", "test": "..."}
    # Per input: its kind (integer, float, boolean, category) and three synthetic values
    # (quartiles, or the mode of a category) for MLflow's input example; never a person's row.
    input_summary: dict[str, dict] = field(default_factory=dict)
    best_iteration: int = 0
    # The whole model spec (JSON), so scoring builds the same population and features.
    spec: dict = field(default_factory=dict)

    def model_spec(self):
        """The `ModelSpec` the bundle was trained with."""
        from riskstrat.spec import ModelSpec

        if not self.spec:
            raise InputError(f"model {self.model_name}: its bundle carries no model spec")
        return ModelSpec.model_validate(self.spec)

    def predict_score(self, features: pd.DataFrame) -> np.ndarray:
        """The model's uncalibrated score for each row of a feature table."""
        # LightGBM types `predict` for every kind of output; for a matrix in, an ndarray out
        return np.asarray(self.booster.predict(self.matrix(features)))

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray:
        """The calibrated probability of the label within the horizon, for each row."""
        return self.calibrator.predict(self.predict_score(features))

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """Per-row, per-input contributions to the log-odds score (LightGBM's TreeSHAP).

        One column per input in `feature_names` order; the bias column is dropped. The same
        numbers as `booster.predict(..., pred_contrib=True)`, computed many rows at a time by
        `TreeShap` where the model allows it (numeric splits, paths on at most 10 features:
        the shipped specs bound `max_depth`), else by LightGBM. Costly either way: call it
        only for the rows whose reasons will be shown.
        """
        if len(features) == 0:
            return np.empty((0, len(self.feature_names)))
        matrix = self.matrix(features)
        if self.tree_shap is not None:
            return self.tree_shap.contributions(matrix)[:, :-1]
        return np.asarray(self.booster.predict(matrix, pred_contrib=True))[:, :-1]

    @cached_property
    def tree_shap(self) -> TreeShap | None:
        """The model compiled for `contributions` (None: LightGBM computes them). Computed
        once and pickled with the bundle, so partition workers do not compile it again."""
        return TreeShap.compile(self.booster)

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The model inputs of a feature table, coded exactly as at training."""
        return model_matrix(features, list(self.feature_names), self.categorical_levels)

    def input_example(self) -> pd.DataFrame:
        """Three synthetic rows (per-input quartiles, or a category's mode as text) in the
        training table's dtypes, so MLflow's inferred signature matches real feature tables."""
        return pd.DataFrame({name: self._example_column(name) for name in self.feature_names})

    def _example_column(self, name: str) -> pd.Series:
        summary = self.input_summary.get(name, {"kind": "float", "values": [0.0] * 3})
        if summary["kind"] == "category":
            return pd.Series(summary["values"], dtype="str")
        fallback = {"integer": "int64", "boolean": "bool"}.get(summary["kind"], "float64")
        try:
            return pd.Series(summary["values"], dtype=summary.get("dtype", fallback))
        except (TypeError, ValueError):
            return pd.Series(summary["values"], dtype=fallback)

    def save(self, folder: Path) -> None:
        """Write `model.txt` and `bundle.json` into `folder` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.txt").write_text(self.booster.model_to_string(), encoding="utf-8")
        text = json.dumps(self._description(), indent=2, sort_keys=True, ensure_ascii=False)
        (folder / "bundle.json").write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> ModelBundle:
        """The bundle `save` wrote into `folder`."""
        folder = Path(folder)
        data = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise InputError(
                f"{folder}: bundle format {data.get('format_version')} is not supported"
            )
        booster = lgb.Booster(model_str=(folder / "model.txt").read_text(encoding="utf-8"))
        return cls(
            booster=booster,
            model_name=data["model_name"],
            label=data["label"],
            label_column=data["label_column"],
            horizon_months=int(data["horizon_months"]),
            min_age=int(data["min_age"]),
            feature_names=tuple(data["feature_names"]),
            categorical_levels={k: list(v) for k, v in data["categorical_levels"].items()},
            calibrator=Calibrator.from_dict(data["calibrator"]),
            segments=SegmentScheme.from_dict(data["segments"]),
            spec_fingerprint=data["spec_fingerprint"],
            index_dates=data["index_dates"],
            input_summary=data.get("input_summary", {}),
            best_iteration=int(data.get("best_iteration", 0)),
            spec=data.get("spec", {}),
        )

    def _description(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "model_name": self.model_name,
            "label": self.label,
            "label_column": self.label_column,
            "horizon_months": self.horizon_months,
            "min_age": self.min_age,
            "feature_names": list(self.feature_names),
            "categorical_levels": self.categorical_levels,
            "calibrator": self.calibrator.to_dict(),
            "segments": self.segments.to_dict(),
            "spec_fingerprint": self.spec_fingerprint,
            "index_dates": self.index_dates,
            "input_summary": self.input_summary,
            "best_iteration": self.best_iteration,
            "spec": self.spec,
        }
