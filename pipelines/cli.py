"""The `riskstrat` command: the library's commands plus those that run Prefect flows.

`riskstrat.cli` holds every command that is plain library wiring; `monthly` and `demo` run
the flows of this package, so they are added here (the library never imports `pipelines`).
The console script `riskstrat` points at `entrypoint`.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import typer

from riskstrat.cli import app, main
from riskstrat.cli import registers as register_commands
from riskstrat.cli.common import (
    REVALIDATE_HELP,
    WORKERS_HELP,
    console,
    err_console,
    print_json,
    progress_bar,
    show_recovered,
    workers_option,
)
from riskstrat.errors import InputError

register_commands.register(app)  # import, reidentify (official register files)


def flow_log_path(month: str) -> Path:
    """Where a `monthly` run's Prefect log goes: a file of its own in a folder only the
    user can read (`$TMPDIR/riskstrat-logs/`), named by month, time and process."""
    folder = Path(tempfile.gettempdir()) / f"riskstrat-logs-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    # "pid" keeps the time and the process id apart: "133012-12345" would be shaped like a
    # CPR number and be masked in the message that names the log (riskstrat.redact).
    return folder / f"monthly-{month}-{stamp}-pid{os.getpid()}.log"


@contextmanager
def prefect_logs_to(path: Path) -> Iterator[None]:
    """Prefect's console logging (task and flow run lines, their tracebacks, the temporary
    server's) goes to the file `path` instead of the terminal while the block runs; the
    handlers are put back afterwards. Logs sent to Prefect's API are left as they are."""
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()
    to_file = logging.FileHandler(path, encoding="utf-8", delay=True)
    to_file.setFormatter(
        logging.Formatter("%(asctime)s | %(levelname)-7s | %(name)s - %(message)s")
    )
    swapped: list[tuple[logging.Logger, logging.Handler]] = []
    for name in ["", *sorted(logging.root.manager.loggerDict)]:
        logger = logging.getLogger(name)
        for handler in list(getattr(logger, "handlers", [])):
            if _to_terminal(handler):
                logger.removeHandler(handler)
                swapped.append((logger, handler))
                if to_file not in logger.handlers:
                    logger.addHandler(to_file)
    try:
        yield
    finally:
        for logger, handler in swapped:
            logger.removeHandler(to_file)
            logger.addHandler(handler)
        to_file.close()


def _to_terminal(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and not isinstance(
        handler, logging.FileHandler
    )


@app.command("monthly")
def monthly(
    data: Path = typer.Option(
        ..., help="Data directory whose extract reaches the month's first day."
    ),
    month: str = typer.Option(..., help="YYYY-MM"),
    teams: Path = typer.Option(Path("teams.yaml"), help="teams.yaml"),
    out: Path = typer.Option(Path("runs"), help="Monthly output root."),
    override_reason: str | None = typer.Option(
        None, help="Publish the lists even if the fairness audit raises flags; recorded."
    ),
    workers: str = typer.Option("auto", help=WORKERS_HELP),
    revalidate: bool = typer.Option(False, "--revalidate", help=REVALIDATE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """The monthly Prefect flow: validate, score each champion, lists, audit, follow-up, publish.

    Writes OUT/MONTH/ (scores/, lists/, fairness/, follow-up/, audit.jsonl) all at once; a
    month whose data fails validation publishes nothing. Runs as a Prefect flow (local
    ephemeral server unless PREFECT_API_URL points at one).
    """
    from pipelines.monthly import run_month
    from riskstrat.dates import parse_month

    parse_month(month)  # a bad month is refused before any flow starts
    log = flow_log_path(month)
    try:
        with (
            prefect_logs_to(log),
            progress_bar(f"monthly flow {month} (Prefect)", enabled=not as_json) as update,
        ):
            update(0, None)
            summary = run_month(
                str(data),
                month,
                str(teams),
                str(out),
                override_reason,
                workers_option(workers),
                revalidate,
            )
    except InputError as exc:
        raise InputError(f"{exc}\n(the flow run's log: {log})") from exc
    except Exception:
        err_console.print(f"the flow run's log: {log}")
        raise
    if as_json:
        print_json(summary)
        return
    show_recovered(summary["recovered"])
    if summary["unchanged"]:
        console.print(f"{month} is unchanged: {summary['folder']} already holds identical outputs")
        if summary["logged"]:
            console.print(
                f"logged {month} to MLflow: it had no run of this publication (an earlier run "
                "stopped after publishing)"
            )
        return
    for team, facts in summary["teams"].items():
        console.print(f"  {team:<32} {facts['rows']:>4} persons ({facts['new_this_month']} new)")
    audit = "clean" if summary["fairness_passed"] else "flags raised (override recorded)"
    console.print(f"fairness audit: {audit}")
    if summary["follow_up"]:
        console.print(f"follow-up of earlier scorings: {', '.join(summary['follow_up'])}")
    console.print(f"published {summary['folder']}")


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("demo-out"), help="Folder for the demo's data and outputs."),
    persons: int = typer.Option(
        228_000, help="Persons in the synthetic Randers-profile population."
    ),
    seed: int = typer.Option(2026, help="Seed of the synthetic population."),
    workers: str = typer.Option("auto", help=WORKERS_HELP),
) -> None:
    """The main job on embedded defaults, end to end (synthetic Randers-profile population).

    synthesise → validate → train and register both models → promote → monthly flow for
    2025-01, 2025-12 and 2026-01 (2026-01 follows up 2025-01, and leaves out the persons the
    teams handled on their 2025-12 lists: synthetic feedback) → population overview. The
    demo's teams file (OUT/teams.yaml: the shipped one with an `evaluation:` block) holds out
    one in five new candidates; 2026-01 publishes the evaluation's follow-up of 2025-01.
    MLflow: MLFLOW_TRACKING_URI or ./mlruns; Prefect: local ephemeral server.
    """
    from pipelines.demo import run_demo

    run_demo(out, persons=persons, seed=seed, workers=workers_option(workers), console=console)


def entrypoint() -> None:
    """The console script `riskstrat`."""
    sys.exit(main())


__all__ = ["app", "entrypoint", "main"]


if __name__ == "__main__":
    entrypoint()
