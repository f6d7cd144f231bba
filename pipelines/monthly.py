"""The monthly flow: validate → score each champion → lists → fairness audit → follow-up → publish.

    uv run riskstrat monthly --data DIR --month 2026-01          (or: python -m pipelines.monthly ...)

Each step is a `riskstrat.monthly` function; this module only wires them, with retries on
the steps that do I/O against MLflow or the file system. Person-level frames stay in memory
(`PERSON_LEVEL`: no result persistence, no caching); the flow returns aggregates.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from zoneinfo import ZoneInfo

from prefect import flow, task

from pipelines.settings import PERSON_LEVEL
from riskstrat.errors import InputError


class ListsWithheld(InputError):
    """The month's fairness audit raised flags and no override was given: lists not published."""


@task(retries=2, retry_delay_seconds=5, **PERSON_LEVEL)
def validate(data_dir: str, month: str, out: str):
    from riskstrat.monthly import prepare_month

    return prepare_month(data_dir, month, out)


@task(**PERSON_LEVEL)
def read_teams(teams: str):
    from riskstrat.monthly import load_month_teams

    return load_month_teams(teams)


@task(retries=2, retry_delay_seconds=10, **PERSON_LEVEL)
def score(ctx, refs: list[str], workers: int):
    from riskstrat.monthly import score_models

    return score_models(ctx, refs, workers)


@task(**PERSON_LEVEL)
def make_lists(ctx, teams, scorings):
    from riskstrat.monthly import month_lists

    return month_lists(ctx, teams, scorings)


@task(**PERSON_LEVEL)
def audit(ctx, teams, scorings, listed):
    from riskstrat.monthly import month_fairness

    return month_fairness(ctx, teams, scorings, listed)


@task(**PERSON_LEVEL)
def follow_up(ctx, scorings):
    from riskstrat.monthly import month_follow_up

    return month_follow_up(ctx, scorings)


@task(retries=1, retry_delay_seconds=5, **PERSON_LEVEL)
def publish(ctx, files: dict, record: dict):
    from riskstrat.monthly import publish_month_outputs

    return publish_month_outputs(ctx, files, record)


@task(retries=2, retry_delay_seconds=5)
def log_month(month: str, metrics: dict, fairness: dict, record: dict) -> str:
    import json

    from riskstrat.monthly import MONTHLY_EXPERIMENT
    from riskstrat.tracking import log_aggregates

    return log_aggregates(
        MONTHLY_EXPERIMENT, f"month {month}", metrics,
        params={"month": month, "models": json.dumps(record["models"], sort_keys=True)},
        artifacts={"fairness_summary.json": json.dumps(fairness, indent=2, sort_keys=True).encode()},
        tags={"month": month, "fairness_passed": str(fairness["passed"]).lower()},
    )  # fmt: skip


def current_month() -> str:
    return datetime.now(ZoneInfo("Europe/Copenhagen")).strftime("%Y-%m")


@flow(name="riskstrat-monthly")
def monthly_flow(data_dir: str, month: str | None = None, teams: str = "teams.yaml", out: str = "runs",
                 override_reason: str | None = None, workers: int = 1) -> dict:  # fmt: skip
    """One month, unattended. Returns aggregates: rows per team, flags, whether it changed."""
    from riskstrat.monthly import month_aggregates, month_scores_files

    month = month or current_month()
    ctx = validate(data_dir, month, out)
    team_config = read_teams(teams)
    refs = sorted({t.model for t in team_config.teams})
    scorings = score(ctx, refs, workers)
    list_files, list_summary, listed = make_lists(ctx, team_config, scorings)
    fairness_files, fairness = audit(ctx, team_config, scorings, listed)
    follow_files = follow_up(ctx, scorings)
    withheld = not fairness["passed"] and not override_reason
    files = {**month_scores_files(scorings), **fairness_files, **follow_files,
             **({} if withheld else list_files)}  # fmt: skip
    record = {
        "month": month, "as_of": ctx.as_of.isoformat(), "data_extract_date": ctx.extract_date.isoformat(),
        "models": {n: {"uri": s.model_uri, "version": s.model_version} for n, s in scorings.items()},
        "teams": list_summary, "fairness_passed": fairness["passed"], "fairness_flags": len(fairness["flags"]),
        "override_reason": override_reason if not fairness["passed"] else None, "lists_withheld": withheld,
    }  # fmt: skip
    result = publish(ctx, files, record)
    if not result.unchanged:
        log_month(month, month_aggregates(scorings), fairness, record)
    summary = {"month": month, "folder": str(ctx.folder), "unchanged": result.unchanged,
               "teams": list_summary, "fairness_passed": fairness["passed"],
               "follow_up": sorted({f.split("/")[1] for f in follow_files}), "lists_withheld": withheld}  # fmt: skip
    if withheld:
        from prefect.states import Failed

        # a clear failure state for the schedule, without a traceback; the summary says why
        return Failed(message=withheld_message(month, fairness, ctx.folder), data=summary)
    return summary


def withheld_message(month: str, fairness: dict, folder) -> str:
    return (f"{month}: the fairness audit raised {len(fairness['flags'])} flag(s); scores and the "
            f"audit are published in {folder}, the lists are not. Review fairness/report.html and "
            "re-run with --override-reason TEXT to publish them.")  # fmt: skip


def run_month(data_dir: str, month: str, teams: str, out: str, override_reason: str | None = None,
              workers: int = 1) -> dict:  # fmt: skip
    """Run the flow and return its summary; ListsWithheld (exit code 2) if lists were withheld."""
    state = monthly_flow(data_dir, month, teams, out, override_reason, workers, return_state=True)
    if state.is_failed():
        data = state.data
        if isinstance(data, dict) and data.get("lists_withheld"):
            raise ListsWithheld(state.message)
        state.result()  # re-raises the step's own error (e.g. a ContractError: exit code 2)
    return state.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--month")
    parser.add_argument("--teams", default="teams.yaml")
    parser.add_argument("--out", default="runs")
    args = parser.parse_args()
    print(run_month(args.data, args.month, args.teams, args.out))


if __name__ == "__main__":
    main()
