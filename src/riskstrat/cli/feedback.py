"""`riskstrat feedback`: a team's answers on its list, checked and kept in the runs folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from riskstrat.cli.common import console, print_json, show_recovered


def register(app: typer.Typer) -> None:
    """Add the `feedback` command to the CLI `app`."""
    app.command("feedback")(feedback)


def feedback(
    file: Path = typer.Argument(..., help="The team's filled-in target_list.xlsx, or a CSV."),
    runs: Path = typer.Option(..., help="Monthly output root holding the month's lists."),
    month: str = typer.Option(..., help="YYYY-MM: the month of the list the file answers."),
    team: str = typer.Option(..., help="The team whose list it is."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Store a team's statuses on its list of a month (contacted, enrolled, declined, ...).

    The file is checked against the published list RUNS/MONTH/lists/TEAM/: statuses in
    Danish or English, dates within the month and not in the future, persons, ranks and
    team as published (rows may be re-ordered or deleted). A problem exits with code 2,
    one line per kind of problem, and nothing is stored. Notes are never read. Importing
    the same statuses again changes nothing; a corrected file supersedes the earlier one.
    Next month's lists use the answers (teams.yaml `feedback`).
    """
    from riskstrat.dates import parse_month
    from riskstrat.errors import InputError
    from riskstrat.feedback_store import import_feedback
    from riskstrat.runs import RunsLayout

    parse_month(month)
    if not file.is_file():
        raise InputError(f"{file} is not a file: give the team's filled-in list (xlsx or csv)")
    result = import_feedback(
        RunsLayout(runs), month, team, file.read_bytes(), file.name, date.today()
    )
    show_recovered(result.recovered)
    payload = {
        "team": result.team,
        "month": result.month,
        "sha256": result.sha256,
        "statuses": result.statuses,
        "unchanged": result.unchanged,
        "supersedes": result.supersedes,
    }
    if as_json:
        print_json(payload)
    elif result.unchanged:
        console.print(f"{team} {month}: unchanged (these statuses are stored already)")
    else:
        console.print(f"{team} {month}: stored {result.statuses} status(es) from {file.name}")
        if result.supersedes:
            console.print(
                f"  supersedes the import of {result.supersedes['when']} "
                f"(sha256 {result.supersedes['sha256'][:12]}…)"
            )
