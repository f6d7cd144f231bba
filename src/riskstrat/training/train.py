"""One training run: out-of-time fit, calibration, segment scheme, baselines, evaluation.

`train_model` takes feature tables already built (training dates stacked, one validation
date, one test date) and returns everything an MLflow run logs, plus the person-level test
scores for the fairness audit, which stay in memory and are never logged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_integer_dtype

from riskstrat.disclosure import min_cell_of
from riskstrat.errors import InputError
from riskstrat.model.bundle import ModelBundle
from riskstrat.model.calibration import Calibrator
from riskstrat.model.coding import categorical_levels, is_categorical, model_matrix
from riskstrat.model.inputs import distribution
from riskstrat.model.segments import SegmentScheme
from riskstrat.spec import AUDIT_ATTRIBUTES, ModelSpec
from riskstrat.training import baselines as base
from riskstrat.training.evaluation import calibration_metrics, evaluate_scores, ranking_metrics
from riskstrat.training.frames import check_out_of_time, labelled_rows
from riskstrat.training.learner import FittedLearner, fit_lightgbm
from riskstrat.training.model_card import render_model_card
from riskstrat.training.outreach import training_weights
from riskstrat.training.refit import refit_bundle
from riskstrat.training.report import run_figures
from riskstrat.training.summaries import calibration_at_top

SHAP_SAMPLE = 2000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationSettings:
    """How the test metrics are computed, so another bundle is judged the same way."""

    label_column: str
    capacity: int
    n_boot: int
    seed: int


@dataclass
class TrainingResult:
    """Everything a training run produces (see interfaces.md, `riskstrat train`)."""

    bundle: ModelBundle
    metrics: dict[str, float]
    beats_baselines: bool
    figures: dict[str, bytes]
    tables: dict[str, pd.DataFrame]
    model_card: str
    test_scores: pd.DataFrame  # person-level: in memory only, never logged
    test_frame: pd.DataFrame = field(repr=False)  # the labelled test rows, for evaluate_on
    settings: EvaluationSettings = field(repr=False)  # how `evaluate_on` evaluates

    def evaluate_on(
        self, bundle: ModelBundle, frame: pd.DataFrame | None = None
    ) -> dict[str, float]:
        """Test metrics (the same `test_*` keys and bootstrap replicates) of another bundle,
        e.g. the current champion, on this run's test rows (or on `frame`)."""
        return evaluate_bundle(bundle, self.test_frame if frame is None else frame, self.settings)


def evaluate_bundle(
    bundle: ModelBundle, frame: pd.DataFrame, settings: EvaluationSettings
) -> dict[str, float]:
    """`test_*` metrics with bootstrap intervals of a bundle's calibrated risk on a feature table."""
    if bundle.label_column != settings.label_column:
        raise InputError(
            f"model {bundle.model_name} predicts {bundle.label_column}, not {settings.label_column}"
        )
    rows, _ = labelled_rows(frame, settings.label_column, list(bundle.feature_names), "test")
    y = rows[settings.label_column].to_numpy(dtype=np.int64)
    return evaluate_scores(
        y,
        bundle.predict_risk(rows),
        rows["person_id"].to_numpy(dtype=object),
        capacity=settings.capacity,
        n_boot=settings.n_boot,
        seed=settings.seed,
    )


def train_model(
    spec: ModelSpec,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    test: pd.DataFrame,
    feature_names: list[str],
    *,
    data_description: str | None = None,
    n_boot: int = 200,
    refit_train: pd.DataFrame | None = None,
) -> TrainingResult:
    """Fit, calibrate, segment and evaluate one model spec on out-of-time feature tables.

    `train` holds the training index dates stacked; `validation` and `test` one later date
    each. Rows with a null label (window not observed) are dropped and counted. LightGBM
    stops early on the validation date, is calibrated there, and the tier cut-points are
    set on its population; the test date is only used for evaluation. `data_description`
    (e.g. the extract's name and date) goes into the model card. With `refit_train` (the
    spec's refit dates, `ResolvedDates.refit_train`), the bundle returned, which is
    registered and scores, is the same learner refitted there and calibrated on the test
    date (`riskstrat.training.refit`); the figures are the evaluated model's, the backtest
    of that procedure.
    """
    features = list(feature_names)
    parts, dropped = {}, {}
    for name, frame in (("train", train), ("validation", validation), ("test", test)):
        parts[name], dropped[name] = labelled_rows(frame, spec.label_column, features, name)
    dates = check_out_of_time(parts, spec.horizon_months)
    clock = time.perf_counter()
    fit = _fit(spec, parts, features)
    log.info("fitted LightGBM, baselines and calibration in %.1f s", time.perf_counter() - clock)
    bundle = _bundle(spec, fit, parts["train"], features, dates)

    clock = time.perf_counter()
    settings = EvaluationSettings(spec.label_column, spec.capacity_for_metrics, n_boot, spec.seed)
    metrics = evaluate_scores(
        fit.y["test"],
        fit.risk["test"],
        parts["test"]["person_id"].to_numpy(dtype=object),
        capacity=settings.capacity,
        n_boot=n_boot,
        seed=spec.seed,
        baselines=fit.baselines,
    )
    metrics.update(_run_counts(fit.y, dropped, fit.learner.best_iteration, len(features)))
    metrics.update(_validation_metrics(fit.y["validation"], fit.score, fit.risk["validation"]))
    beats = all(metrics[f"test_auroc_gain_over_{b}_ci_low"] > 0 for b in fit.baselines)
    metrics["beats_baselines"] = float(beats)
    log.info(
        "evaluated on the test date (%d bootstrap replicates) in %.1f s",
        n_boot,
        time.perf_counter() - clock,
    )

    clock = time.perf_counter()
    test_scores = _test_scores(parts["test"], bundle, fit.risk["test"], fit.y["test"])
    figures, tables = run_figures(
        bundle,
        fit.learner.learning_curve,
        metrics,
        test_scores,
        fit.risk["validation"],
        shap_rows=_shap_sample(parts["test"], spec.seed),
        test_frame=parts["test"],
        min_cell=min_cell_of(spec),
    )
    tables["calibration_top.csv"] = calibration_at_top(
        fit.y["test"],
        fit.risk["test"],
        parts["test"]["person_id"].to_numpy(dtype=object),
        min_cell=min_cell_of(spec),
    )
    metrics.update(_top_metrics(tables["calibration_top.csv"]))
    if refit_train is not None:
        bundle, refit_counts = refit_bundle(spec, bundle, refit_train, parts["test"])
        metrics.update(refit_counts)
    tables["metrics.csv"] = pd.DataFrame({"metric": list(metrics), "value": list(metrics.values())})
    card = render_model_card(spec, bundle, metrics, tables, beats, data_description)
    log.info("drew figures, tables and the model card in %.1f s", time.perf_counter() - clock)
    return TrainingResult(
        bundle=bundle,
        metrics=metrics,
        beats_baselines=beats,
        figures=figures,
        tables=tables,
        model_card=card,
        test_scores=test_scores,
        test_frame=parts["test"],
        settings=settings,
    )


@dataclass(frozen=True)
class _Fit:
    learner: FittedLearner
    levels: dict[str, list]
    calibrator: Calibrator
    y: dict[str, np.ndarray]
    score: np.ndarray  # the uncalibrated score on the validation date
    risk: dict[str, np.ndarray]  # calibrated, on the validation and test dates
    baselines: dict[str, np.ndarray]  # each baseline's score on the test date


def _fit(spec: ModelSpec, parts: dict[str, pd.DataFrame], features: list[str]) -> _Fit:
    """LightGBM with early stopping on validation, the baselines, and calibration."""
    y = {name: part[spec.label_column].to_numpy(dtype=np.int64) for name, part in parts.items()}
    levels = categorical_levels(parts["train"], features)
    x = {name: model_matrix(part, features, levels) for name, part in parts.items()}
    clock = time.perf_counter()
    learner = fit_lightgbm(
        x["train"],
        y["train"],
        x["validation"],
        y["validation"],
        feature_names=features,
        categorical=sorted(levels),
        params=spec.learner.params,
        early_stopping_rounds=spec.learner.early_stopping_rounds,
        weight=training_weights(parts["train"]),
        seed=spec.seed,
    )
    log.info(
        "LightGBM: %d rounds (best %d) in %.1f s",
        len(learner.learning_curve),
        learner.best_iteration,
        time.perf_counter() - clock,
    )
    clock = time.perf_counter()
    baseline_scores = _baselines(spec, parts, x, y, features, levels)
    log.info("baselines %s in %.1f s", ", ".join(baseline_scores), time.perf_counter() - clock)
    del x["train"]  # the largest matrix; nothing below needs it
    # LightGBM types `predict` for every kind of output; for a matrix in, an ndarray out
    score = {name: np.asarray(learner.booster.predict(x[name])) for name in ("validation", "test")}
    calibrator = Calibrator.fit(spec.calibration, score["validation"], y["validation"])
    risk = {name: calibrator.predict(s) for name, s in score.items()}
    return _Fit(learner, levels, calibrator, y, score["validation"], risk, baseline_scores)


def _bundle(
    spec: ModelSpec, fit: _Fit, train: pd.DataFrame, features: list[str], dates: dict
) -> ModelBundle:
    return ModelBundle(
        booster=fit.learner.booster,
        model_name=spec.name,
        label=spec.label,
        label_column=spec.label_column,
        horizon_months=spec.horizon_months,
        min_age=spec.population.min_age,
        feature_names=tuple(features),
        categorical_levels=fit.levels,
        calibrator=fit.calibrator,
        segments=SegmentScheme.fit(spec.segments, fit.risk["validation"]),
        spec_fingerprint=spec.fingerprint(),
        index_dates=dates,
        input_summary=input_summary(train, features),
        best_iteration=fit.learner.best_iteration,
        spec=spec.model_dump(mode="json"),
    )


def input_summary(frame: pd.DataFrame, feature_names: list[str]) -> dict[str, dict]:
    """Per input its kind, dtype, three synthetic example values (quartiles; a mode) and its
    distribution over the training rows (`riskstrat.model.inputs`: for drift, as PSI)."""
    summary: dict[str, dict] = {}
    for name in feature_names:
        summary[name] = _example(frame[name])
        summary[name]["distribution"] = distribution(frame[name])
    return summary


def _example(column: pd.Series) -> dict:
    """One input's kind, dtype and three synthetic example values."""
    if is_categorical(column) or is_bool_dtype(column.dtype):
        mode = column.mode(dropna=True)
        value = mode.iloc[0] if len(mode) else ""
        kind = "boolean" if is_bool_dtype(column.dtype) else "category"
        value = bool(value) if kind == "boolean" else str(value)
        return {"kind": kind, "dtype": str(column.dtype), "values": [value] * 3}
    numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = numbers[np.isfinite(numbers)]
    quartiles = np.quantile(finite, [0.25, 0.5, 0.75]) if finite.size else np.zeros(3)
    if is_integer_dtype(column.dtype):
        integers = [int(round(q)) for q in quartiles]
        return {"kind": "integer", "dtype": str(column.dtype), "values": integers}
    floats = [float(q) for q in quartiles]
    return {"kind": "float", "dtype": str(column.dtype), "values": floats}


def _baselines(spec, parts, x, y, features, levels) -> dict[str, np.ndarray]:
    """Each baseline's score on the test date."""
    scores = {}
    if "rule" in spec.baselines:
        scores["rule"] = base.rule_score(parts["test"])
    if "logistic" in spec.baselines:
        model = base.fit_logistic(
            base.one_hot(x["train"], features, levels), y["train"], seed=spec.seed
        )
        scores["logistic"] = model.predict_proba(base.one_hot(x["test"], features, levels))[:, 1]
    return scores


def _top_metrics(table: pd.DataFrame) -> dict[str, float]:
    """The calibration-at-top table as metrics (`test_top_1pct_oe_ratio`, ...), shown
    figures only."""
    keys = {"top 1 %": "top_1pct", "1-5 %": "top_1_5pct", "5-20 %": "top_5_20pct"}
    out = {}
    for row in table.itertuples():
        for figure in (
            "observed_risk",
            "mean_predicted_risk",
            "oe_ratio",
            "oe_ci_low",
            "oe_ci_high",
        ):
            value = getattr(row, figure)
            if pd.notna(value):
                out[f"test_{keys[row.band]}_{figure}"] = float(value)
    return out


def _run_counts(y, dropped, best_iteration: int, n_features: int) -> dict[str, float]:
    counts: dict[str, float] = {"best_iteration": best_iteration, "n_features": n_features}
    for name in y:
        counts[f"n_{name}"] = len(y[name])
        counts[f"events_{name}"] = int(y[name].sum())
        counts[f"dropped_unlabelled_{name}"] = dropped[name]
    return {k: float(v) for k, v in counts.items()}


def _validation_metrics(y: np.ndarray, score: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    """Calibration before and after, on the validation date it was fitted on."""
    ones = np.ones((1, len(y)))
    raw, calibrated = calibration_metrics(y, score, ones), calibration_metrics(y, risk, ones)
    order = np.argsort(-risk, kind="stable")
    auroc = ranking_metrics(y[order].astype(float), risk[order], ones)["auroc"]
    return {
        "validation_auroc": float(auroc[0]),
        "validation_brier_uncalibrated": float(raw["brier"][0]),
        "validation_brier": float(calibrated["brier"][0]),
        "validation_oe_ratio_uncalibrated": float(raw["oe_ratio"][0]),
        "validation_oe_ratio": float(calibrated["oe_ratio"][0]),
    }


def _test_scores(
    frame: pd.DataFrame, bundle: ModelBundle, risk: np.ndarray, y: np.ndarray
) -> pd.DataFrame:
    scores = pd.DataFrame(
        {
            "person_id": frame["person_id"].to_numpy(),
            "risk": risk,
            "y": y.astype(np.int8),
            "tier": pd.Series(bundle.segments.tier(risk), dtype="str").to_numpy(),
            "segment": pd.Series(bundle.segments.segment(frame), dtype="str").to_numpy(),
        }
    )
    for attribute in AUDIT_ATTRIBUTES:
        if attribute in frame.columns:
            scores[attribute] = frame[attribute].reset_index(drop=True)
    return scores


def _shap_sample(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    if len(frame) <= SHAP_SAMPLE:
        return frame
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), SHAP_SAMPLE, replace=False))
    return frame.iloc[keep]
