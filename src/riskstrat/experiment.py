"""One experiment, as plain steps that `run_experiment` (the CLI, the demo) and the Prefect
training flow (`pipelines/train.py`) both call, in this order:

1. `validated`: the data directory against the input contract (once per experiment);
2. `feature_tables`: the out-of-time feature tables of the spec's index dates;
3. `fit`: baselines, LightGBM, calibration and evaluation (riskstrat.training);
4. `training_audit`: the fairness audit on the test date;
5. `current_champion` (registry) and `compare_with_champion` (the champion evaluated on the
   challenger's test rows);
6. `log_and_register`: one MLflow run, registered with alias `challenger` (riskstrat.tracking).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from riskstrat.contract import PassingReport, ValidationReport
from riskstrat.contract import validated as contract_validated
from riskstrat.errors import InputError
from riskstrat.features import feature_columns
from riskstrat.spec import ModelSpec, ResolvedDates

if TYPE_CHECKING:
    from riskstrat.model import ModelBundle
    from riskstrat.tracking import TrainingRecord
    from riskstrat.training import TrainingResult


@dataclass
class ExperimentData:
    """What one experiment trains on: the data directory's validation report, the spec's
    resolved index dates, and the person-level feature tables (with labels) of the training
    dates, the validation date and the test date."""

    report: ValidationReport
    dates: ResolvedDates
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    description: str = ""  # the data in words, for the model card: "DIR (extract date D)"
    # the registered model's training dates (spec `refit`; None when it is not refitted)
    refit_train: pd.DataFrame | None = None
    # training rows left out / reweighted for outreach (None: no outreach recorded)
    outreach: dict[str, int] | None = None


@dataclass(frozen=True)
class Champion:
    """The current champion version of a spec's model, loaded to be compared with a
    challenger; `bundle` is None (and `error` says why) if it could not be loaded."""

    version: str
    bundle: ModelBundle | None
    error: str = ""


@dataclass(frozen=True)
class ChampionComparison:
    """The champion's `champion_test_*` metrics on the challenger's test rows, and the tags
    saying which version was compared (`champion_version_compared`, "none" if none was,
    with `champion_comparison_error` saying why when there was a champion)."""

    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=lambda: {"champion_version_compared": "none"})


@dataclass
class ExperimentOutcome:
    """What an experiment produced: the MLflow run, the registered model name and version
    (alias `challenger`), its numeric metrics, whether it beats its baselines, and the
    summary of its fairness audit (aggregates only)."""

    run_id: str
    model_name: str
    version: str
    metrics: dict[str, float]
    beats_baselines: bool
    audit: dict


# --- 1. validate ---------------------------------------------------------------------------


def validated(data_dir: str | Path, *, revalidate: bool = False) -> PassingReport:
    """The contract report of `data_dir`; raises ContractError if it breaks the contract.

    Files that passed before and are unchanged are not checked again unless `revalidate`
    (see riskstrat.contract.record); the report's `record_note` then says so."""
    return contract_validated(data_dir, revalidate=revalidate)


def data_fingerprint(report: ValidationReport) -> str:
    """A short hash of what the extract holds (rows per table, date ranges, extract date);
    no person-level value enters it."""
    text = json.dumps(
        {
            "extract_date": str(report.extract_date),
            "rows": report.rows,
            "date_ranges": {k: [str(x) for x in v] for k, v in (report.date_ranges or {}).items()},
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def extract_date_of(data_dir: str | Path) -> date:
    """The extract date of `data_dir`, validated against the contract first (ContractError if
    it breaks it)."""
    return validated(data_dir).extract_date


# --- 2. features ---------------------------------------------------------------------------


def feature_tables(
    spec: ModelSpec,
    data_dir: str | Path,
    report: PassingReport,
    workers: int | None = 1,
    progress=None,
    runs: str | Path | None = None,
) -> ExperimentData:
    """The out-of-time feature tables (training, validation, test index dates) of a spec on
    a data directory already validated (`report`, from `validated`). With `runs` (a monthly
    output root holding the evaluation's assignments), the spec's `outreach` choice is
    applied to the training rows (`riskstrat.training.outreach.apply_outreach`)."""
    from riskstrat.contract import open_data_dir
    from riskstrat.partitions import features_for_data_dir

    manifest = open_data_dir(data_dir).manifest
    history = manifest.history_start if manifest else None
    extract_date = report.extract_date
    dates = spec.resolve_dates(extract_date, history)
    every = sorted({*dates.train, dates.validation, dates.test, *dates.refit_train})
    table = features_for_data_dir(
        data_dir, extract_date, spec, every, workers=workers, progress=progress
    )
    on = table["index_date"]
    data = ExperimentData(
        report=report,
        dates=dates,
        train=table[on.isin([pd.Timestamp(d) for d in dates.train])].reset_index(drop=True),
        validation=table[on == pd.Timestamp(dates.validation)].reset_index(drop=True),
        test=table[on == pd.Timestamp(dates.test)].reset_index(drop=True),
        refit_train=(
            table[on.isin([pd.Timestamp(d) for d in dates.refit_train])].reset_index(drop=True)
            if dates.refit_train
            else None
        ),
        description=" ".join(
            filter(
                None,
                [
                    f"{Path(data_dir).name} (extract date {extract_date}).",
                    dates.history_warning(spec, history),
                ],
            )
        ).removesuffix("."),
    )
    return with_outreach(spec, data, runs)


def with_outreach(spec: ModelSpec, data: ExperimentData, runs: str | Path | None) -> ExperimentData:
    """The data with the spec's `outreach` choice applied to the training rows (and the
    refit's), given the assignments stored in `runs` (None, or none stored: unchanged, and
    the model card says no outreach was recorded)."""
    from riskstrat.evaluation_store import read_assignments
    from riskstrat.training.outreach import apply_outreach

    exposures = None if runs is None else read_assignments(runs)
    if exposures is None or not len(exposures):
        return data
    train, counts = apply_outreach(data.train, exposures, spec.outreach, spec.horizon_months)
    refit = data.refit_train
    if refit is not None:
        refit, more = apply_outreach(refit, exposures, spec.outreach, spec.horizon_months)
        counts = {k: counts[k] + more[k] for k in counts}
    return dataclasses.replace(data, train=train, refit_train=refit, outreach=counts)


def experiment_data(
    spec: ModelSpec, data_dir: str | Path, workers: int | None = 1, progress=None
) -> ExperimentData:
    """Validated data and the out-of-time feature tables of a spec (steps 1 and 2)."""
    return feature_tables(spec, data_dir, validated(data_dir), workers=workers, progress=progress)


# --- 3. fit, 4. audit ----------------------------------------------------------------------


def fit(spec: ModelSpec, data: ExperimentData, n_boot: int = 200) -> TrainingResult:
    """Baselines, LightGBM, calibration, segments and test metrics with `n_boot` bootstrap
    replicates, on the feature tables of `feature_tables`; then (spec `refit`) the model that
    is registered, refitted on the most recent fully observed dates."""
    from riskstrat.training import train_model

    result = train_model(
        spec,
        data.train,
        data.validation,
        data.test,
        feature_columns(spec),
        data_description=data.description or None,
        n_boot=n_boot,
        refit_train=data.refit_train,
    )
    # counted with the run's metrics; the model card says which dates (data.description)
    result.metrics["index_dates_short_history"] = float(len(data.dates.short_history))
    return with_outreach_card(spec, result, data.outreach)


def with_outreach_card(
    spec: ModelSpec, result: TrainingResult, counts: dict[str, int] | None
) -> TrainingResult:
    """The result with the model card's outreach section and, when rows were left out or
    reweighted, their counts as metrics (none under the minimum cell)."""
    from riskstrat.disclosure import is_small, min_cell_of
    from riskstrat.training.outreach import outreach_section

    section = outreach_section(spec.outreach, counts, min_cell_of(spec))
    metrics = dict(result.metrics)
    for key, n in (counts or {}).items():
        if not is_small(n, min_cell_of(spec)):
            metrics[key] = float(n)
    card = result.model_card.rstrip("\n") + "\n\n" + section
    return dataclasses.replace(result, model_card=card, metrics=metrics)


def training_audit(spec: ModelSpec, result: TrainingResult) -> dict:
    """The fairness audit of a trained model on its test date (aggregates only), by group:
    O/E, AUROC against the AUROC its case mix allows, and equal opportunity at capacity (the
    share of the group's events that lists of `capacity_for_metrics` persons per
    municipality capture, against the share its risks expect)."""
    from riskstrat.fairness import audit_outcomes
    from riskstrat.fairness.groups import capacity_lists

    scores = result.test_scores
    # each municipality a team's catchment (everyone one catchment without municipalities)
    catchments = scores[["risk"]].assign(catchment=scores.get("municipality_code", "all"))
    listed = capacity_lists(
        catchments, spec.capacity_for_metrics, risk="risk", catchment="catchment"
    )
    audit = audit_outcomes(
        scores,
        spec.fairness,
        risk="risk",
        outcome="y",
        selected=listed,
        equal_opportunity_on={"all"},
    )
    return audit.summary()


# --- 5. compare with the champion ----------------------------------------------------------


def current_champion(spec: ModelSpec) -> Champion | None:
    """The registered champion of `spec.name`, loaded; None if there is none yet."""
    from riskstrat.tracking import champion_version, load_bundle

    version = champion_version(spec.name)
    if version is None:
        return None
    try:
        bundle, _ = load_bundle(f"{spec.name}/{version}")
    except InputError as error:  # registered, but its bundle cannot be read
        return Champion(version, None, f"InputError: {error}")
    return Champion(version, bundle)


def compare_with_champion(result: TrainingResult, champion: Champion | None) -> ChampionComparison:
    """The champion's `test_*` metrics on this run's test rows, as `champion_test_*`.

    Same rows, same bootstrap replicates as the challenger's own metrics, so promotion
    compares like with like. A champion that cannot be evaluated on these rows (e.g. it
    needs inputs this run lacks) is recorded as not compared, with the error."""
    from riskstrat.tracking import numeric_metrics

    if champion is None:
        return ChampionComparison()
    error = champion.error
    if champion.bundle is not None:
        try:
            metrics = numeric_metrics(result.evaluate_on(champion.bundle))
        except Exception as failure:  # noqa: BLE001 - recorded on the run; promotion refuses
            error = f"{type(failure).__name__}: {failure}"
        else:
            compared = {
                f"champion_{k}": v
                for k, v in metrics.items()
                if k.startswith("test_") and "gain_over" not in k
            }
            tags = {"champion_version_compared": champion.version}
            if _saw_outcomes_of(champion.bundle, result.bundle.index_dates["test"]):
                # a champion calibrated on this test date (or later) has seen its outcomes, so
                # it is compared with an advantage; the challenger's registered refit, which
                # has seen them as well, is evaluated beside it for the reviewer
                mine = numeric_metrics(result.evaluate_on(result.bundle))
                compared.update(
                    {f"registered_{k}": mine[k] for k in ("test_auroc", "test_brier") if k in mine}
                )
                tags["champion_saw_test_outcomes"] = "true"
            return ChampionComparison(compared, tags)
    why = f"champion v{champion.version}: {error}"[:5000]
    return ChampionComparison(
        {}, {"champion_version_compared": "none", "champion_comparison_error": why}
    )


def _saw_outcomes_of(bundle: ModelBundle, test_date: str) -> bool:
    """Whether a bundle was calibrated on `test_date` or later (a refit of the same or a
    later extract): its calibration has seen that date's outcomes."""
    calibrated_on = bundle.index_dates.get("refit_calibration") or bundle.index_dates.get(
        "validation"
    )
    return calibrated_on is not None and str(calibrated_on) >= str(test_date)


# --- 6. log and register -------------------------------------------------------------------


def log_and_register(
    spec: ModelSpec,
    result: TrainingResult,
    report: PassingReport,
    audit: dict,
    comparison: ChampionComparison,
) -> TrainingRecord:
    """One MLflow run with the result, audit and champion comparison (the model card gains a
    section on what each fairness gate checks and what the training audit found); the model
    registered as a new version of `spec.name` with alias `challenger`."""
    from riskstrat.fairness.report import gates_markdown
    from riskstrat.tracking import log_training

    card = result.model_card.rstrip("\n") + "\n\n" + gates_markdown(spec.fairness.tolerances, audit)
    return log_training(
        dataclasses.replace(result, model_card=card + "\n"),
        spec,
        data_fingerprint=data_fingerprint(report),
        extract_date=report.extract_date,
        audit=audit,
        champion_metrics=comparison.metrics,
        champion_tags=comparison.tags,
    )


def outcome_of(record: TrainingRecord, result: TrainingResult, audit: dict) -> ExperimentOutcome:
    """What `riskstrat train` reports of an experiment: run, version, metrics, verdicts."""
    return ExperimentOutcome(
        record.run_id,
        record.model_name,
        record.version,
        record.metrics,
        bool(result.beats_baselines),
        audit,
    )


def run_experiment(
    spec: ModelSpec,
    data_dir: str | Path,
    *,
    workers: int | None = 1,
    n_boot: int = 200,
    progress=None,
    report: PassingReport | None = None,
    runs: str | Path | None = None,
) -> ExperimentOutcome:
    """Train, audit, compare with the champion, log and register one model spec on one data
    directory (steps 1-6; step 1 is skipped when its `report` is given). `runs`: a monthly
    output root whose evaluation assignments say who was exposed to outreach (None: no
    outreach recorded)."""
    report = report or validated(data_dir)
    data = feature_tables(spec, data_dir, report, workers=workers, progress=progress, runs=runs)
    result = fit(spec, data, n_boot=n_boot)
    audit = training_audit(spec, result)
    comparison = compare_with_champion(result, current_champion(spec))
    record = log_and_register(spec, result, report, audit, comparison)
    return outcome_of(record, result, audit)
