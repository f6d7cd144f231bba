"""The registered model: the evaluated learner refitted on the most recent fully observed dates.

A model evaluated out of time was fitted on the oldest dates of the extract (its test date
must come after its validation date, which must come after its training dates), which are
the dates furthest from the months it will score and those with the shortest history. After
evaluation the same learner (same parameters, the number of rounds early stopping chose) is
refitted on the training dates moved forward by the validation-to-test gap (`ResolvedDates.
refit_train`: the last label window ends on the test date), and calibrated, and its tier
cut-points set, on the test date, which the refit did not see. The evaluation is this very
procedure run one gap earlier (fitted on dates up to the validation date, calibrated there,
tested on the next date), so its test figures are the procedure's backtest.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from riskstrat.model.bundle import ModelBundle
from riskstrat.model.calibration import Calibrator
from riskstrat.model.coding import categorical_levels, model_matrix
from riskstrat.model.inputs import distribution
from riskstrat.model.segments import SegmentScheme
from riskstrat.spec import ModelSpec
from riskstrat.training.frames import labelled_rows
from riskstrat.training.learner import refit_lightgbm
from riskstrat.training.outreach import training_weights


def refit_bundle(
    spec: ModelSpec,
    evaluated: ModelBundle,
    refit_train: pd.DataFrame,
    calibration: pd.DataFrame,
) -> tuple[ModelBundle, dict[str, float]]:
    """The bundle to register and its counts (`n_refit_train`, `events_refit_train`,
    `dropped_unlabelled_refit_train`, `refit_rounds`, `n_refit_calibration`).

    `refit_train` holds the refit's training dates stacked, `calibration` the labelled test
    date's rows (calibration and tier cut-points); both as the feature tables of training."""
    features = list(evaluated.feature_names)
    rows, dropped = labelled_rows(refit_train, spec.label_column, features, "refit training")
    y = rows[spec.label_column].to_numpy(dtype=np.int64)
    levels = categorical_levels(rows, features)
    booster = refit_lightgbm(
        model_matrix(rows, features, levels),
        y,
        feature_names=features,
        categorical=sorted(levels),
        params=spec.learner.params,
        rounds=evaluated.best_iteration,
        seed=spec.seed,
        weight=training_weights(rows),
    )
    y_cal = calibration[spec.label_column].to_numpy(dtype=np.int64)
    score = np.asarray(booster.predict(model_matrix(calibration, features, levels)))
    calibrator = Calibrator.fit(spec.calibration, score, y_cal)
    risk = calibrator.predict(score)
    summary = {
        name: {**facts, "distribution": distribution(rows[name])}
        for name, facts in evaluated.input_summary.items()
        if name in rows
    }
    dates = sorted({d.date().isoformat() for d in pd.to_datetime(rows["index_date"])})
    calibrated_on = evaluated.index_dates["test"]
    bundle = dataclasses.replace(
        evaluated,
        booster=booster,
        categorical_levels=levels,
        calibrator=calibrator,
        segments=SegmentScheme.fit(spec.segments, risk),
        index_dates={
            **evaluated.index_dates,
            "refit_train": dates,
            "refit_calibration": calibrated_on,
        },
        input_summary=summary,
    )
    counts = {
        "n_refit_train": float(len(y)),
        "events_refit_train": float(y.sum()),
        "dropped_unlabelled_refit_train": float(dropped),
        "refit_rounds": float(evaluated.best_iteration),
        "n_refit_calibration": float(len(y_cal)),
    }
    return bundle, counts
