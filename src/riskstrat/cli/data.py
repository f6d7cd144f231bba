"""Commands on data: synth, validate, features."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from riskstrat.cli.common import (
    REVALIDATE_HELP,
    WORKERS_HELP,
    checked_data,
    console,
    err_console,
    iso_date,
    print_json,
    progress_bar,
    styled,
    workers_option,
)
from riskstrat.contract import (
    ValidationReport,
    validate_and_record,
)


def register(app: typer.Typer) -> None:
    """Add the data commands (`synth`, `validate`, `features`) to the CLI `app`."""
    app.command("synth")(synth)
    app.command("validate")(validate)
    app.command("features")(features)


def synth(
    profile: str = typer.Option(
        ..., help="tiny (≈2,000 persons), randers (≈228,000) or denmark (≈5.9 M)."
    ),
    seed: int = typer.Option(
        ..., help="Random seed; the same seed and arguments give the same bytes."
    ),
    out: Path = typer.Option(..., help="Output data directory (must not exist or be empty)."),
    persons: int | None = typer.Option(None, help="Scale the profile to this many persons."),
    extract_date: str = typer.Option("2026-01-01", help="First day with no events (ISO date)."),
    layout: str = typer.Option(
        "contract",
        help="contract, or dst: also the same population as register files (OUT/registers/"
        "parquet and OUT/registers/csv, a SOURCE_DIR for `riskstrat import`).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write a synthetic population in input contract v1, with a calibration report."""
    from riskstrat.errors import InputError
    from riskstrat.synth import generate

    if layout not in ("contract", "dst"):
        raise InputError(f"--layout must be contract or dst, got {layout!r}")
    with progress_bar(f"synthesising {profile} (person chunks)", enabled=not as_json) as update:
        result = generate(
            profile,
            seed=seed,
            out_dir=out,
            persons=persons,
            extract_date=iso_date(extract_date, "--extract-date"),
            progress=update,
        )
    payload = {
        "out": str(result.out_dir),
        "persons": result.persons,
        "rows": result.rows,
        "calibration": getattr(result, "calibration", None),
    }
    if layout == "dst":
        from riskstrat.registers.synthetic import write_register_layout

        payload["registers"] = write_register_layout(result.out_dir, result.out_dir / "registers")
    if as_json:
        print_json(payload)
    else:
        console.print(f"wrote {result.persons:,} persons to {result.out_dir}")
        for table, n in result.rows.items():
            console.print(f"  {table:<20} {n:>12,} rows")
        console.print(f"calibration report: {Path(result.out_dir) / 'calibration.md'}")
        if layout == "dst":
            console.print(f"register files: {Path(result.out_dir) / 'registers'} (parquet/, csv/)")


def validate(
    data_dir: Path = typer.Argument(..., help="Data directory in input contract v1."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check a data directory against input contract v1 and print a summary.

    Exit code 2 when any rule is broken, with one line per problem class (table, column,
    rule, row count, example rows). The rules always run here; a passing report is recorded
    so that other commands on the same unchanged files skip them (riskstrat.contract.record).
    """
    report = validate_and_record(data_dir)
    if as_json:
        print_json(_report_json(report))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(2)


def features(
    data: Path = typer.Option(..., help="Data directory in input contract v1."),
    index_date: str = typer.Option(..., help="Index date D (ISO date)."),
    spec: Path = typer.Option(..., "--spec", "--model-spec", help="Model spec (models/*.yaml)."),
    out: Path = typer.Option(..., help="Output Parquet file."),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a spec value: key.sub=value (repeatable)."
    ),
    workers: str = typer.Option("auto", help=WORKERS_HELP),
    revalidate: bool = typer.Option(False, "--revalidate", help=REVALIDATE_HELP),
) -> None:
    """The cohort, features and labels of one model spec at one index date."""
    from riskstrat.io import write_parquet_atomic
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.spec import load_spec

    model_spec = load_spec(spec, set_)
    report = checked_data(data, revalidate)
    with progress_bar("building features (person partitions)") as update:
        table = features_for_data_dir(
            data,
            report.extract_date,
            model_spec,
            [iso_date(index_date, "--index-date")],
            workers=workers_option(workers),
            progress=update,
        )
    write_parquet_atomic(table, out)
    console.print(f"wrote features and labels of {len(table):,} persons to {out}")


def _report_json(report: ValidationReport) -> dict:
    def finding(f):
        return {
            "table": f.table,
            "column": f.column,
            "rule": f.rule,
            "count": f.count,
            "examples": f.examples,
        }

    return {
        "ok": report.ok,
        "path": str(report.path),
        "extract_date": report.extract_date,
        "extract_date_source": report.extract_date_source,
        "rows": report.rows,
        "date_ranges": {k: list(v) for k, v in report.date_ranges.items()},
        "persons_by_age_band": report.persons_by_age_band,
        "errors": [finding(f) for f in report.errors],
        "warnings": [finding(f) for f in report.warnings],
    }


def _print_report(report: ValidationReport) -> None:
    source = (
        "manifest" if report.extract_date_source == "manifest" else "derived from the latest event"
    )
    console.print(
        styled((str(report.path), "bold"), f"  extract date {report.extract_date} ({source})")
    )
    table = Table("table", "rows", "first event", "last event", box=None)
    for name, n in report.rows.items():
        first, last = report.date_ranges.get(name, (None, None))
        table.add_row(name, f"{n:,}", str(first or ""), str(last or ""))
    console.print(table)
    if report.persons_by_age_band:
        bands = ", ".join(f"{b}: {n:,}" for b, n in report.persons_by_age_band.items())
        console.print(f"persons alive at the extract date by age band: {bands}")
    for f in report.warnings:
        console.print(styled(("warning", "yellow"), f" {f.message()}"))
    for f in report.errors:
        err_console.print(styled(("error", "bold red"), f" {f.message()}"))
    if report.ok:
        console.print(styled(("valid", "green"), ": the data directory meets input contract v1"))
    else:
        err_console.print(
            styled(
                ("invalid", "bold red"),
                f": {len(report.errors)} problem classes; nothing was written",
            )
        )
