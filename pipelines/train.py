"""The training flow: one experiment as a Prefect flow run (the same steps as `riskstrat train`).

    uv run python -m pipelines.train --spec models/avoidable_admission.yaml --data DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, task

from pipelines.settings import PERSON_LEVEL


@task(retries=2, retry_delay_seconds=3, **PERSON_LEVEL)
def load_and_validate(data_dir: str):
    from riskstrat.experiment import validated

    return validated(data_dir)


@task(**PERSON_LEVEL)
def build_tables(spec, data_dir: str, workers: int):
    from riskstrat.experiment import experiment_data

    return experiment_data(spec, data_dir, workers=workers)


@task(**PERSON_LEVEL)
def fit_and_evaluate(spec, data, n_boot: int, data_dir: str):
    from riskstrat.features import feature_columns
    from riskstrat.training import train_model

    return train_model(spec, data.train, data.validation, data.test, feature_columns(spec),
                       data_description=f"{Path(data_dir).name} (extract date {data.report.extract_date})",
                       n_boot=n_boot)  # fmt: skip


@task(**PERSON_LEVEL)
def audit(spec, result) -> dict:
    from riskstrat.experiment import training_audit

    return training_audit(spec, result)


@task(retries=2, retry_delay_seconds=5, **PERSON_LEVEL)
def log_and_register(result, spec, report, fairness: dict) -> dict:
    from riskstrat.experiment import data_fingerprint
    from riskstrat.tracking import log_training

    record = log_training(result, spec, data_fingerprint=data_fingerprint(report),
                          extract_date=report.extract_date, audit=fairness)  # fmt: skip
    return {"run_id": record.run_id, "model_name": record.model_name, "version": record.version,
            "metrics": record.metrics}  # fmt: skip


@flow(name="riskstrat-train", log_prints=False)
def train_flow(spec_path: str, data_dir: str, overrides: list[str] | None = None, workers: int = 1,
               n_boot: int = 200) -> dict:  # fmt: skip
    """load and validate → features → baselines, LightGBM, calibration, evaluation → fairness
    audit → log and register (alias `challenger`). Returns aggregates only."""
    from riskstrat.spec import load_spec

    spec = load_spec(spec_path, overrides or [])
    report = load_and_validate(data_dir)
    data = build_tables(spec, data_dir, workers)
    result = fit_and_evaluate(spec, data, n_boot, data_dir)
    fairness = audit(spec, result)
    out = log_and_register(result, spec, report, fairness)
    out["fairness_passed"] = fairness["passed"]
    out["beats_baselines"] = bool(result.beats_baselines)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    print(train_flow(args.spec, args.data, args.overrides))


if __name__ == "__main__":
    main()
