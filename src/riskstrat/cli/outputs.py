"""Commands that publish: lists, fairness, follow-up, monthly, report, demo."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat.cli.common import console, not_built, print_json, progress_bar


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
    out: Path = typer.Option(..., help="Output HTML file; FILE.md and FILE.json are written beside it."),
    workers: int = typer.Option(1, help="Processes for person partitions."),
    as_json: bool = typer.Option(False, "--json", help="Print where the files are as JSON."),
) -> None:
    """The population overview for the cluster's steering group.

    Inhabitants and their contacts with hospital, GP and municipality over the 12 months
    before the extract date; acute and avoidable admissions by municipality and social
    group. Aggregates only; counts of 1-4 suppressed.
    """
    from riskstrat.contract import ContractError, validate_data_dir
    from riskstrat.io import atomic_write_bytes
    from riskstrat.population import build_overview, render

    checked = validate_data_dir(data)
    if not checked.ok:
        raise ContractError(checked)
    with progress_bar("population overview (person partitions)", enabled=not as_json) as update:
        overview = build_overview(data, checked.extract_date, workers=workers, progress=update)
    files = render(overview, "Population overview", f"{data} (extract date {checked.extract_date})")
    targets = {
        "report.html": out,
        "report.md": out.with_suffix(".md"),
        "tables.json": out.with_suffix(".json"),
    }
    for name, path in targets.items():
        atomic_write_bytes(path, files[name])
    if as_json:
        print_json({k: str(v) for k, v in targets.items()})
    else:
        console.print(f"population overview: {out} (also {targets['report.md'].name}, "
                      f"{targets['tables.json'].name})")
