"""The training flow: one experiment as a Prefect flow run, each task one step of
`riskstrat.experiment` (the same steps `riskstrat train` runs through `run_experiment`).

    uv run python -m pipelines.train --spec models/avoidable_admission.yaml --data DIR

Reading the data and the registry retries (never on an InputError); fitting, the audit and
the comparison do not. No task result is persisted or cached (`PERSON_LEVEL`): person-level
frames stay in memory, and a report or champion from an earlier run is never reused. The
flow returns aggregates.
"""

from __future__ import annotations

import argparse

from prefect import flow, task

from pipelines.settings import PERSON_LEVEL, retrying
from riskstrat import experiment


@task(**retrying(retries=2, delay=3), **PERSON_LEVEL)
def validate(data_dir: str):
    return experiment.validated(data_dir)


@task(**retrying(retries=1, delay=5), **PERSON_LEVEL)
def build_tables(spec, data_dir: str, report, workers: int, runs: str | None):
    return experiment.feature_tables(spec, data_dir, report, workers=workers, runs=runs)


@task(**PERSON_LEVEL)
def fit(spec, data, n_boot: int):
    return experiment.fit(spec, data, n_boot=n_boot)


@task(**PERSON_LEVEL)
def audit(spec, result) -> dict:
    return experiment.training_audit(spec, result)


@task(**retrying(retries=2, delay=5), **PERSON_LEVEL)
def load_champion(spec):
    return experiment.current_champion(spec)


@task(**PERSON_LEVEL)
def compare(result, champion):
    return experiment.compare_with_champion(result, champion)


@task(**retrying(retries=2, delay=5), **PERSON_LEVEL)
def log_and_register(spec, result, report, fairness: dict, comparison):
    return experiment.log_and_register(spec, result, report, fairness, comparison)


@flow(name="riskstrat-train", log_prints=False)
def train_flow(
    spec_path: str,
    data_dir: str,
    overrides: list[str] | None = None,
    workers: int | None = 1,
    n_boot: int = 200,
    runs: str | None = None,
) -> dict:
    """validate → features → baselines, LightGBM, calibration, evaluation → fairness audit
    → compare with the champion → log and register (alias `challenger`). Returns
    aggregates only: run id, model name, version, metrics, audit verdict. `runs`: the
    monthly output root whose evaluation assignments say who was exposed to outreach (the
    spec's `outreach` choice is applied; None: no outreach recorded)."""
    from riskstrat.spec import load_spec

    spec = load_spec(spec_path, overrides or [])
    report = validate(data_dir)
    data = build_tables(spec, data_dir, report, workers, runs)
    result = fit(spec, data, n_boot)
    fairness = audit(spec, result)
    comparison = compare(result, load_champion(spec))
    record = log_and_register(spec, result, report, fairness, comparison)
    outcome = experiment.outcome_of(record, result, fairness)
    return {
        "run_id": outcome.run_id,
        "model_name": outcome.model_name,
        "version": outcome.version,
        "metrics": outcome.metrics,
        "fairness_passed": fairness["passed"],
        "beats_baselines": outcome.beats_baselines,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--runs", help="monthly output root with the evaluation's assignments")
    args = parser.parse_args()
    from pipelines.prefect_server import install

    install()
    print(train_flow(args.spec, args.data, args.overrides, runs=args.runs))


if __name__ == "__main__":
    main()
