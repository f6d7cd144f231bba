"""The monthly flow: validate → delivery check → feedback → score → lists (with the evaluation's holdout) → fairness audit → follow-up → publish.

    uv run riskstrat monthly --data DIR --month 2026-01          (or: python -m pipelines.monthly ...)

Each task is one library call; only the tasks that read or write files or the registry
retry, never on bad input. Person-level frames stay in memory (`PERSON_LEVEL`: no result
persistence, no caching); the flow returns aggregates. A month whose lists are withheld
ends Failed with the reason as its message (no exception: nothing went wrong in the code).
A month whose extract looks incomplete (`riskstrat.monthly.delivery`: a table's or a
municipality's latest months collapsed) is held before scoring: `MonthHeld` names the table,
municipality and months, nothing is published, unless an override reason is given.

The month's MLflow run is logged whenever MLflow has no finished run of that month tagged
with the SHA-256 of the month's last audit line, also when the files are unchanged: a run
killed after publishing but before logging is completed by the next run of the month.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.states import Failed

from pipelines.settings import IO_RETRIES, PERSON_LEVEL
from riskstrat import monthly as steps
from riskstrat.monthly import ListsWithheld, MonthContext
from riskstrat.runs import RunsLayout

WITHHELD_MARK = "lists withheld: "


@task(**IO_RETRIES, **PERSON_LEVEL)
def validate(data_dir: str, month: str, revalidate: bool) -> MonthContext:
    from riskstrat.contract import validated

    return MonthContext.of(data_dir, month, validated(data_dir, revalidate=revalidate).extract_date)


@task(**IO_RETRIES)
def check_delivery(ctx: MonthContext, workers: int | None) -> list:
    """The month's delivery failures (aggregates: counts of rows per table and municipality)."""
    from riskstrat.partitions import delivery_counts_for_data_dir

    counts = delivery_counts_for_data_dir(ctx.data_dir, ctx.extract_date, ctx.as_of, workers)
    return steps.delivery_findings(counts, ctx.as_of)


@task(**PERSON_LEVEL)
def drift(models, scorings) -> dict[str, float]:
    """Each input's PSI against the model's training rows and the month's risk quantiles."""
    return steps.drift_metrics(models, scorings)


@task(**PERSON_LEVEL)
def read_teams(teams: str):
    """The teams and their `evaluation:` block (None: no evaluation), both validated."""
    from riskstrat.evaluation.settings import teams_evaluation
    from riskstrat.lists import load_teams

    team_config = load_teams(teams)
    return team_config, teams_evaluation(team_config)


@task(**IO_RETRIES, **PERSON_LEVEL)
def load_models(refs: list[str]):
    from riskstrat.tracking import load_models

    return load_models(refs)


@task(**IO_RETRIES, **PERSON_LEVEL)
def score(ctx: MonthContext, models, workers: int | None):
    from riskstrat.partitions import score_data_dir

    return score_data_dir(
        ctx.data_dir, ctx.extract_date, models, ctx.as_of, workers=workers, input_bins=True
    )


@task(**IO_RETRIES, **PERSON_LEVEL)
def read_persons(ctx: MonthContext, runs: RunsLayout):
    from riskstrat.contract.reader import read_table

    persons = read_table(ctx.data_dir, "persons", ctx.extract_date)
    opt_outs = read_table(ctx.data_dir, "opt_outs", ctx.extract_date)
    return persons, opt_outs, runs.previous_lists(ctx.month)


@task(**IO_RETRIES, **PERSON_LEVEL)
def gather_feedback(runs: RunsLayout, ctx: MonthContext, teams):
    """Import the feedback files teams saved beside their earlier lists, then each team's
    earlier lists and answers (person-level, for the feedback rules)."""
    from datetime import date

    from riskstrat.feedback_store import histories, import_dropped

    for done in import_dropped(runs, ctx.month, teams.teams, date.today()):
        if not done.unchanged:
            get_run_logger().info(
                "feedback of %s on %s stored (%d statuses)", done.team, done.month, done.statuses
            )
    return histories(runs, ctx.month, teams.teams)


@task(**IO_RETRIES, **PERSON_LEVEL)
def read_assignments(runs: RunsLayout, evaluation):
    """The evaluation's stored assignments (None without an evaluation; person-level)."""
    from riskstrat.evaluation_store import read_assignments as stored

    return None if evaluation is None else stored(runs.root)


@task(**PERSON_LEVEL)
def make_lists(
    ctx: MonthContext, teams, scorings, persons, opt_outs, previous, histories, evaluation, assigned
):
    return steps.month_lists(
        ctx, teams, scorings, persons, opt_outs, previous, histories, evaluation, assigned
    )


@task(**IO_RETRIES, **PERSON_LEVEL)
def store_assignments(runs: RunsLayout, month: str, assignment):
    """Append the month's assignments to the runs folder (unchanged on a re-run)."""
    from riskstrat.evaluation_store import store_month

    stored = store_month(runs.root, month, assignment)
    get_run_logger().info(
        "evaluation: assignments of %s %s", month, "unchanged" if stored.unchanged else "stored"
    )
    return stored


@task(**IO_RETRIES, **PERSON_LEVEL)
def evaluate(runs: RunsLayout, ctx: MonthContext, scorings, teams, evaluation, workers):
    """The evaluation's report files and MLflow aggregates once a randomised month's horizon
    has passed ({} and {} before, and without an evaluation)."""
    from riskstrat.disclosure import min_cell_of
    from riskstrat.evaluation_store import evaluation_input

    if evaluation is None:
        return {}, {}
    found = evaluation_input(
        runs, ctx, scorings, {t.name: t.model_name for t in teams.teams}, workers
    )
    if found is None:
        return {}, {}
    min_cell = max(min_cell_of(s.spec) for s in scorings.values())
    return steps.month_evaluation(
        evaluation, ctx.month, found.months, found.horizon, found.follow_up, min_cell
    )


@task(**PERSON_LEVEL)
def monitor_feedback(ctx: MonthContext, teams, scorings, histories, left_out):
    """The feedback report's files and MLflow counts (aggregates, suppressed)."""
    from riskstrat.disclosure import min_cell_of

    min_cell = max(min_cell_of(s.spec) for s in scorings.values())
    return steps.month_feedback(ctx.month, teams, histories, left_out, min_cell)


@task(**IO_RETRIES, **PERSON_LEVEL)
def recent_populations(ctx: MonthContext, models, workers: int | None):
    """Each model's population one horizon before the month, with its label now observed,
    scored by the model (the fairness gate's need; features built once per setting)."""
    import pandas as pd

    from riskstrat.partitions import features_for_data_dir
    from riskstrat.scoring.population import feature_key

    built: dict[tuple, pd.DataFrame] = {}
    frames = {}
    for model in models:
        spec = model.bundle.model_spec()
        since = steps.recent_window(ctx.as_of, spec.horizon_months)
        key = (feature_key(spec), spec.horizon_months, since)
        if key not in built:
            built[key] = features_for_data_dir(
                ctx.data_dir, ctx.extract_date, spec, [since], with_labels=True, workers=workers
            )
        if len(built[key]):  # else the report names the model as not audited against it
            frames[model.bundle.model_name] = steps.recent_need(model.bundle, built[key])
    return frames


@task(**PERSON_LEVEL)
def audit(ctx: MonthContext, teams, scorings, listed, persons, recent):
    return steps.month_fairness(
        ctx, teams, scorings, listed, persons[["person_id", "gp_clinic_id"]], recent
    )


@task(**IO_RETRIES, **PERSON_LEVEL)
def gather_follow_ups(runs: RunsLayout, ctx: MonthContext, scorings, workers: int | None):
    from riskstrat.runs import follow_up_inputs

    return follow_up_inputs(runs, ctx, scorings, workers=workers)


@task(**PERSON_LEVEL)
def follow_up(inputs):
    return steps.month_follow_up(inputs)


@task(**IO_RETRIES)
def publish(runs: RunsLayout, month: str, files: dict[str, bytes], record: dict):
    result = runs.publish(month, files, record)
    for note in result.recovered:  # also in the summary; here for runs of the deployment
        get_run_logger().warning("recovered: %s", note)
    return result


@task(**IO_RETRIES)
def log_month(
    month: str, metrics: dict, fairness: dict, record: dict, audit_sha256: str
) -> tuple[str, bool]:
    """The month's run of aggregates in MLflow, logged unless a finished run of this month
    with this audit line is there already: (run id, whether it was logged now)."""
    from riskstrat.tracking import finished_runs, log_aggregates

    key = {"month": month, "audit_sha256": audit_sha256}
    found = finished_runs(steps.MONTHLY_EXPERIMENT, key)
    if found:
        return found[0], False
    run_id = log_aggregates(
        steps.MONTHLY_EXPERIMENT,
        f"month {month}",
        metrics,
        params={"month": month, "models": json.dumps(record["models"], sort_keys=True)},
        artifacts={
            "fairness_summary.json": json.dumps(fairness, indent=2, sort_keys=True).encode()
        },
        tags={**key, "fairness_passed": str(fairness["passed"]).lower()},
    )
    return run_id, True


def current_month() -> str:
    """The month that starts today in Copenhagen (what a scheduled run scores)."""
    return datetime.now(ZoneInfo("Europe/Copenhagen")).strftime("%Y-%m")


@flow(name="riskstrat-monthly")
def monthly_flow(
    data_dir: str,
    month: str | None = None,
    teams: str = "teams.yaml",
    out: str = "runs",
    override_reason: str | None = None,
    workers: int | None = None,
    revalidate: bool = False,
):
    """One month, unattended. Returns aggregates (rows per team, flags, whether it changed,
    whether the month's MLflow run was logged now, what was recovered from an interrupted
    earlier publish), or a Failed state whose message says why the lists were withheld."""
    month = month or current_month()
    runs = RunsLayout(out)
    ctx = validate(data_dir, month, revalidate)
    delivery = check_delivery(ctx, workers)
    steps.hold_if_incomplete(delivery, month, override_reason)  # MonthHeld: nothing published
    for finding in delivery:  # published anyway, by override
        get_run_logger().warning("override: %s", finding.message)
    team_config, evaluation = read_teams(teams)
    histories = gather_feedback(runs, ctx, team_config)  # a bad feedback file: nothing published
    models = load_models(sorted({t.model for t in team_config.teams}))
    scorings = score(ctx, models, workers)
    drifted = drift(models, scorings)  # reported and logged, never held
    persons, opt_outs, previous = read_persons(ctx, runs)
    assigned = read_assignments(runs, evaluation)
    list_files, list_summary, listed, left_out, assignment = make_lists(
        ctx, team_config, scorings, persons, opt_outs, previous, histories, evaluation, assigned
    )
    feedback_files, feedback_metrics = monitor_feedback(
        ctx, team_config, scorings, histories, left_out
    )
    recent = recent_populations(ctx, models, workers)
    fairness_files, fairness, top_tiers = audit(ctx, team_config, scorings, listed, persons, recent)
    follow_files = follow_up(gather_follow_ups(runs, ctx, scorings, workers))
    evaluation_files, evaluation_metrics = evaluate(
        runs, ctx, scorings, team_config, evaluation, workers
    )
    withheld = steps.lists_withheld(fairness, override_reason)
    files = {
        **steps.month_files(scorings, fairness_files, follow_files, list_files, withheld),
        **feedback_files,
        **evaluation_files,
    }
    if assignment is not None and not withheld:  # stored before the lists it made are out
        store_assignments(runs, month, assignment)
    record = steps.audit_record(ctx, scorings, list_summary, fairness, override_reason)
    result = publish(runs, month, files, record)
    _, logged = log_month(
        month,
        {
            **steps.month_aggregates(scorings, top_tiers),
            **steps.delivery_aggregates(delivery),
            **drifted,
            **feedback_metrics,
            **evaluation_metrics,
        },
        fairness,
        record,
        str(result.audit_sha256),
    )
    if withheld:
        # a Failed state without data: Prefect turns its message into the run's error
        return Failed(
            message=WITHHELD_MARK + steps.withheld_message(month, fairness, result.folder)
        )
    summary = steps.month_summary(
        ctx, result.folder, result.unchanged, list_summary, fairness, follow_files, withheld
    )
    return {
        **summary,
        "logged": logged,
        "recovered": list(result.recovered),
        "evaluation": {k.removeprefix("evaluation."): v for k, v in evaluation_metrics.items()},
    }


def run_month(
    data_dir: str,
    month: str,
    teams: str,
    out: str,
    override_reason: str | None = None,
    workers: int | None = None,
    revalidate: bool = False,
) -> dict:
    """Run the flow and return its summary; ListsWithheld (exit code 2) if lists were withheld,
    MonthHeld (exit code 2) if the extract looks incomplete, the step's own error (e.g. a
    ContractError, exit code 2) if a step failed. An ephemeral Prefect server it starts ends with this process (`pipelines.prefect_server`)."""
    from pipelines.prefect_server import install

    install()
    state = monthly_flow(
        data_dir, month, teams, out, override_reason, workers, revalidate, return_state=True
    )
    if state.is_failed() and (state.message or "").startswith(WITHHELD_MARK):
        raise ListsWithheld(state.message.removeprefix(WITHHELD_MARK))
    return state.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--month")
    parser.add_argument("--teams", default="teams.yaml")
    parser.add_argument("--out", default="runs")
    args = parser.parse_args()
    print(run_month(args.data, args.month or current_month(), args.teams, args.out))


if __name__ == "__main__":
    main()
