"""Console, JSON output and 'not built yet' handling shared by the commands.

The consoles never read rich markup: what they print holds data (values, team names, paths,
`--set` keys) in which `[/x]` is text, not a tag. Colour comes from `styled` pieces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

if TYPE_CHECKING:
    from riskstrat.contract import PassingReport

console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """One line for the consoles from plain text and (text, rich style) pieces; no piece is
    read as markup, so data in it is printed as it is."""
    return Text.assemble(*parts)


def print_json(payload: Any) -> None:
    """Print `payload` as JSON on stdout (what `--json` gives): dates as ISO text, numpy
    scalars as plain numbers, non-ASCII text as is."""
    console.print_json(json.dumps(payload, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@contextmanager
def progress_bar(description: str, enabled: bool = True) -> Iterator:
    """A rich progress bar on stderr; yields `update(completed, total)`."""
    if not enabled:
        yield lambda completed, total=None: None
        return
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda completed, total=None: progress.update(task, completed=completed, total=total)


def show_recovered(notes: tuple[str, ...] | list[str]) -> None:
    """Say on stderr what a publish recovered from an interrupted earlier one."""
    for note in notes:
        err_console.print(styled(("recovered: ", "yellow"), note))


def iso_date(text: str, flag: str) -> date:
    """An ISO date given on the command line, or an InputError naming the flag."""
    from riskstrat.errors import InputError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag} must be an ISO date (YYYY-MM-DD), got {text!r}") from None


WORKERS_HELP = (
    "Processes for person partitions: a number, or auto (the machine's cores, bounded by memory)."
)


def workers_option(text: str) -> int | None:
    """`--workers`: None for auto (the library picks what the machine can run), else >= 1."""
    from riskstrat.errors import InputError

    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"--workers expects a number or auto, got {text!r}") from None
    if value < 1:
        raise InputError(f"--workers must be at least 1, got {value}")
    return value


REVALIDATE_HELP = (
    "Run the contract's rules even if these files passed before (default: reuse the record)."
)


def checked_data(data: str | Path, revalidate: bool = False) -> PassingReport:
    """The data directory's validation report (ContractError if it breaks the contract);
    says on stderr when the rules were skipped because the same files passed before."""
    from riskstrat.contract import validated

    report = validated(data, revalidate=revalidate)
    if report.record_note:
        err_console.print(styled((report.record_note, "dim")))
    return report
