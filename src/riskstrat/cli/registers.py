"""Commands on official register files: import, reidentify (docs/registers.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat.cli.common import console, iso_date, print_json, progress_bar, styled


def register(app: typer.Typer) -> None:
    """Add the register commands (`import`, `reidentify`) to the CLI `app`."""
    app.command("import")(import_)
    app.command("reidentify")(reidentify)


def import_(
    source_dir: Path = typer.Argument(..., help="Folder of register files (DST or SDS layout)."),
    out: Path = typer.Option(..., help="Data directory to write (replaced whole)."),
    layout: str = typer.Option("auto", help="auto, dst or sds: which register names to accept."),
    extract_date: str | None = typer.Option(
        None, help="First day with no events (ISO date); default: the day after the latest."
    ),
    pseudonym_key: Path | None = typer.Option(
        None,
        help="Key file of the pseudonyms (created when missing); keep it outside the data. "
        "Default: ~/.config/riskstrat/pseudonym.key.",
    ),
    buckets: int | None = typer.Option(
        None,
        help="Person buckets converted one at a time (bounds memory; 1: the whole import). "
        "Default: one per 24 MiB of Parquet-equivalent input.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import register files into a data directory in input contract v1.

    Writes DATA_DIR with import_report.md/json (rows read per register, rows written per
    table, every row dropped or changed with its reason and count). `pnr` is replaced by a
    keyed pseudonym and never written. Exit code 2 on bad input, with nothing written.
    """
    from riskstrat.registers.importer import import_registers
    from riskstrat.registers.report import report_dict

    with progress_bar("importing registers (steps)", enabled=not as_json) as update:
        result = import_registers(
            source_dir,
            out,
            layout=layout,
            extract_date=iso_date(extract_date, "--extract-date") if extract_date else None,
            key_path=pseudonym_key,
            buckets=buckets,
            progress=update,
        )
    if as_json:
        print_json({"out": str(result.out_dir), **report_dict(result)})
        return
    if result.key_created:
        console.print(
            styled(("new pseudonym key", "bold yellow"), f": {result.key_path}"),
            "\n  keep it (same key, same ids every month) and outside the data directory",
        )
    for table, n in sorted(result.rows_written.items()):
        console.print(f"  {table:<20} {n:>12,} rows")
    console.print(
        f"extract date {result.extract_date} ({result.extract_date_source}), "
        f"history from {result.history_start}"
    )
    console.print(f"{len(result.changes)} report line(s) of dropped or changed rows")
    console.print(f"wrote {result.out_dir} (report: {result.out_dir / 'import_report.md'})")


def reidentify(
    list_file: Path = typer.Argument(..., help="A team's target_list.csv or target_list.xlsx."),
    pseudonym_key: Path = typer.Option(..., help="The key file the import used."),
    persons: Path = typer.Option(..., help="The persons register (BEF/CPR file or SOURCE_DIR)."),
) -> None:
    """Add each person's pnr to a team's list (a new file beside it, never in a data dir)."""
    from riskstrat.registers.reidentify import reidentify as add_pnr

    done = add_pnr(list_file, pseudonym_key, persons)
    console.print(f"wrote {done.path}: {done.found:,} person(s) with pnr")
    if done.missing:
        console.print(
            styled(("warning", "yellow"), f": {done.missing:,} person(s) not in the register")
        )
