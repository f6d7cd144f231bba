"""One experiment, as plain steps that the CLI and the Prefect training flow both call.

load and validate → features for the training, validation and test index dates → fit
baselines, LightGBM and calibration, evaluate (riskstrat.training) → fairness audit on the
test date → log and register (riskstrat.tracking).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from riskstrat.contract import ValidationReport
from riskstrat.contract import validated as contract_validated
from riskstrat.features import feature_columns
from riskstrat.spec import ModelSpec, ResolvedDates


@dataclass
class ExperimentData:
    report: ValidationReport
    dates: ResolvedDates
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def validated(data_dir: str | Path, *, revalidate: bool = False) -> ValidationReport:
    """The contract report of `data_dir`; raises ContractError if it breaks the contract.

    Files that passed before and are unchanged are not checked again unless `revalidate`
    (see riskstrat.contract.record); the report's `record_note` then says so."""
    return contract_validated(data_dir, revalidate=revalidate)


def data_fingerprint(report: ValidationReport) -> str:
    """A short hash of what the extract holds (rows per table, date ranges, extract date);
    no person-level value enters it."""
    text = json.dumps(
        {"extract_date": str(report.extract_date), "rows": report.rows,
         "date_ranges": {k: [str(x) for x in v] for k, v in (report.date_ranges or {}).items()}},
        sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def experiment_data(spec: ModelSpec, data_dir: str | Path, workers: int = 1, progress=None) -> ExperimentData:
    """Validated data and the out-of-time feature tables of a spec."""
    from riskstrat.contract import open_data_dir
    from riskstrat.partitions import features_for_data_dir

    report = validated(data_dir)
    manifest = open_data_dir(data_dir).manifest
    history = manifest.history_start if manifest else None
    dates = spec.resolve_dates(report.extract_date, history)
    every = [*dates.train, dates.validation, dates.test]
    table = features_for_data_dir(data_dir, report.extract_date, spec, every, workers=workers,
                                  progress=progress)  # fmt: skip
    on = table["index_date"]
    return ExperimentData(
        report=report,
        dates=dates,
        train=table[on.isin([pd.Timestamp(d) for d in dates.train])].reset_index(drop=True),
        validation=table[on == pd.Timestamp(dates.validation)].reset_index(drop=True),
        test=table[on == pd.Timestamp(dates.test)].reset_index(drop=True),
    )


def training_audit(spec: ModelSpec, result) -> dict:
    """The fairness audit of a trained model on its test date (aggregates only): calibration
    and discrimination by group, with the top tiers as the selection."""
    from riskstrat.fairness import audit_outcomes

    scores = result.test_scores
    selected = (scores["tier"] != spec.segments.lowest_tier).to_numpy()
    audit = audit_outcomes(scores, spec.fairness, risk="risk", outcome="y", selected=selected)
    return audit.summary()


@dataclass
class ExperimentOutcome:
    run_id: str
    model_name: str
    version: str
    metrics: dict[str, float]
    beats_baselines: bool
    audit: dict


def run_experiment(spec: ModelSpec, data_dir: str | Path, *, workers: int = 1, n_boot: int = 200,
                   progress=None) -> ExperimentOutcome:  # fmt: skip
    """Train, audit, log and register one model spec on one data directory."""
    from riskstrat.tracking import log_training
    from riskstrat.training import train_model

    data = experiment_data(spec, data_dir, workers=workers, progress=progress)
    result = train_model(spec, data.train, data.validation, data.test, feature_columns(spec),
                         data_description=f"{Path(data_dir).name} (extract date {data.report.extract_date})",
                         n_boot=n_boot)  # fmt: skip
    audit = training_audit(spec, result)
    record = log_training(result, spec, data_fingerprint=data_fingerprint(data.report),
                          extract_date=data.report.extract_date, audit=audit)  # fmt: skip
    return ExperimentOutcome(record.run_id, record.model_name, record.version, record.metrics,
                             bool(result.beats_baselines), audit)  # fmt: skip


def extract_date_of(data_dir: str | Path) -> date:
    return validated(data_dir).extract_date
