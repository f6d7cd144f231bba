"""Commands that publish: lists, fairness, follow-up, monthly, report, demo."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat.cli.common import not_built


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("lists")(lists)
    app.command("fairness")(fairness)
    app.command("follow-up")(follow_up)
    app.command("monthly")(monthly)
    app.command("report")(report)


def demo(
    out: Path = typer.Option(Path("demo-out"), help="Folder for the demo's data and outputs."),
) -> None:
    """The main job on embedded defaults, end to end (synthetic Randers-profile population)."""
    not_built("demo", "[monthly]")


def lists(
    scores: list[Path] = typer.Option(..., help="A scores folder (repeatable, one per model)."),
    data: Path = typer.Option(..., help="Data directory (current attributes, deaths, opt-outs)."),
    teams: Path = typer.Option(..., help="teams.yaml"),
    month: str = typer.Option(..., help="YYYY-MM"),
    out: Path = typer.Option(..., help="Output root; lists go to OUT/MONTH/<team>/."),
) -> None:
    """Target lists per team, within catchment and capacity, opt-outs excluded."""
    not_built("lists", "[monthly]")


def fairness(
    scores: Path = typer.Option(..., help="A scores folder."),
    data: Path = typer.Option(..., help="Data directory."),
    lists_dir: Path | None = typer.Option(None, "--lists", help="The month's lists folder."),
    out: Path = typer.Option(..., help="Output folder for report.html, report.md, groups.json."),
) -> None:
    """Fairness audit of one scoring: who is selected, by group, against observed need."""
    not_built("fairness", "[fairness]")


def follow_up(
    scores: Path = typer.Option(..., help="A scores folder from at least one horizon ago."),
    data: Path = typer.Option(..., help="Data directory whose extract covers the horizon."),
    lists_dir: Path | None = typer.Option(None, "--lists", help="That month's lists folder."),
    out: Path = typer.Option(..., help="Output folder for report.html, report.md, groups.json."),
) -> None:
    """Realised performance of an earlier scoring, overall and by group, with flags."""
    not_built("follow-up", "[fairness]")


def monthly(
    data: Path = typer.Option(
        ..., help="Data directory whose extract reaches the month's first day."
    ),
    month: str = typer.Option(..., help="YYYY-MM"),
    teams: Path = typer.Option(Path("teams.yaml"), help="teams.yaml"),
    out: Path = typer.Option(Path("runs"), help="Monthly output root."),
) -> None:
    """The monthly Prefect flow: validate, score each champion, lists, audit, follow-up, publish."""
    not_built("monthly", "[monthly]")


def report(
    data: Path = typer.Option(..., help="Data directory."),
    out: Path = typer.Option(..., help="Output HTML file."),
) -> None:
    """The population overview for the cluster's steering group."""
    not_built("report", "[monthly]")
