"""What every register converter shares: the report lines, the problems, date parsing.

A converter takes register frames (column names already lower case, person key still
`pnr`) and returns its contract table with the key still `pnr` plus the rows it dropped or
changed, each with its reason and count; the importer pseudonymises and writes. Problems
the user must fix are collected as `Problem`s and raised together as one `InputError`, so
a run reports every problem class at once and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from riskstrat.errors import InputError


@dataclass(frozen=True)
class Change:
    """One line of the import report: rows of a register dropped, changed or warned about
    for one reason (counts only, never person ids)."""

    register: str  # source register as found, e.g. "lpr_adm" or "kontakter"
    table: str  # contract table, e.g. "hospital_contacts"
    action: str  # "dropped", "changed", "merged" or "warning"
    reason: str
    rows: int


@dataclass
class Converted:
    """A contract table still keyed by `pnr`, with the report lines of its conversion."""

    table: pd.DataFrame
    changes: list[Change] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)  # register -> rows read


@dataclass(frozen=True)
class Problem:
    """One class of bad input: register (or file), column, rule, how many rows, examples."""

    register: str
    column: str | None
    rule: str
    rows: int = 0
    examples: tuple[int, ...] = ()  # 1-based row numbers within the register

    def message(self) -> str:
        where = self.register + (f", column {self.column}" if self.column else "")
        count = f": {self.rows:,} row(s)" if self.rows else ""
        shown = f" (e.g. rows {', '.join(str(r) for r in self.examples)})" if self.examples else ""
        return f"{where}: {self.rule}{count}{shown}"


class RegisterError(InputError):
    """Bad register input; the message lists one line per problem class."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"- {p.message()}" for p in self.problems)
        super().__init__(f"cannot import the registers ({len(self.problems)} problem(s)):\n{lines}")


def raise_if_any(problems: Iterable[Problem]) -> None:
    """Raise one `RegisterError` naming every problem, if there are any."""
    found = list(problems)
    if found:
        raise RegisterError(found)


def example_rows(mask: pd.Series, limit: int = 5) -> tuple[int, ...]:
    """The first few 1-based row numbers where `mask` holds (positions, not index labels)."""
    positions = mask.to_numpy().nonzero()[0][:limit]
    return tuple(int(p) + 1 for p in positions)


def require_columns(
    frame: pd.DataFrame, register: str, columns: Sequence[str], problems: list[Problem]
) -> bool:
    """Add a problem per missing column; True when all are present."""
    missing = [c for c in columns if c not in frame.columns]
    for column in missing:
        problems.append(Problem(register, column, "required column is missing"))
    return not missing


def parse_dates(
    values: pd.Series, register: str, column: str, problems: list[Problem]
) -> pd.Series:
    """Register dates as `datetime64` (day precision): already dates or timestamps, SAS
    dates read as dates, or text in ISO (`2019-03-01`), DST's `01MAR2019`/`01mar2019`,
    `20190301` or `01-03-2019`/`01.03.2019`. Empty stays missing; anything else is a
    problem naming the register, the column and example rows."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.tz_localize(None) if values.dt.tz is not None else values
        return out.dt.normalize().astype("datetime64[s]")
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[s]")
    for fmt in ("%Y-%m-%d", "%d%b%Y", "%Y%m%d", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S"):
        todo = parsed.isna() & text.notna()
        if not todo.any():
            break
        attempt = pd.to_datetime(
            text[todo].str.title() if "%b" in fmt else text[todo], format=fmt, errors="coerce"
        )
        parsed[todo] = attempt.astype("datetime64[s]")
    bad = parsed.isna() & text.notna()
    if bad.any():
        problems.append(
            Problem(register, column, "unparseable date", int(bad.sum()), example_rows(bad))
        )
    return parsed


# ------------------------------------------------------------------ event converters (B)
def code_text(values: pd.Series) -> pd.Series:
    """Register codes as trimmed text, whatever the reader typed them as: a float column of
    whole numbers (Parquet/SAS, or a CSV column with gaps) gives `1`, not `1.0`; empty is
    missing."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == whole.round()).all():
            values = values.astype("Int64")
    text = values.astype("string").str.strip()
    return text.mask(text == "")
