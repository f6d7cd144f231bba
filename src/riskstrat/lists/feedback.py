"""What a team answers on its list: a status per person, read from the filled-in workbook (or
a CSV) and checked against the list that was published.

The team types a status (`STATUSES`, or its label in Danish or English), a date and a
free-text note beside each person. The note is never read: it may hold names. `read_feedback`
turns the file's bytes into rows; `check_feedback` holds them against the published list
and returns one record per person with a status, or raises InputError with one line per
problem class (row numbers only: never a person id, never what was typed).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from riskstrat.dates import add_months, parse_month
from riskstrat.errors import InputError

STATUSES = (
    "contacted",
    "enrolled",
    "declined",
    "not_reachable",
    "already_known",
    "not_relevant",
    "died_or_moved",
)
NO_FEEDBACK = "no_feedback"  # the list came back without this person's status, or not at all
STATUS_LABELS = {
    "da": {
        "contacted": "kontaktet",
        "enrolled": "indskrevet",
        "declined": "takket nej",
        "not_reachable": "ikke truffet",
        "already_known": "allerede kendt",
        "not_relevant": "ikke relevant",
        "died_or_moved": "død eller fraflyttet",
        NO_FEEDBACK: "ingen tilbagemelding",
    },
    "en": {
        "contacted": "contacted",
        "enrolled": "enrolled",
        "declined": "declined",
        "not_reachable": "not reachable",
        "already_known": "already known",
        "not_relevant": "not relevant",
        "died_or_moved": "died or moved",
        NO_FEEDBACK: "no feedback",
    },
}
# the columns a team fills in, as the workbook names them (CSV files use the English codes)
FILL_HEADERS = {
    "da": {"status": "Status", "status_date": "Dato", "note": "Note (læses ikke)"},
    "en": {"status": "Status", "status_date": "Date", "note": "Note (never read)"},
}
FEEDBACK_COLUMNS = ["month", "team", "person_id", "rank", "status", "status_date"]
_HEADER_NAMES = {
    "rank": {"rank", "rang"},
    "person_id": {"person_id", "person id", "person-id"},
    "status": {"status"},
    "status_date": {"status_date", "date", "dato"},
}
_SPACES = re.compile(r"[\s_]+")


def status_code(text: object) -> str | None:
    """The status code a typed value means (a code or a label in Danish or English, any
    case, spaces or underscores), None for an empty cell; ValueError for anything else."""
    if text is None or (isinstance(text, float) and text != text):
        return None
    typed = _SPACES.sub(" ", str(text)).strip().casefold()
    if not typed:
        return None
    for code in STATUSES:
        names = {code.replace("_", " ")} | {labels[code] for labels in STATUS_LABELS.values()}
        if typed in names:
            return code
    raise ValueError("unknown status")


@dataclass(frozen=True)
class FeedbackFile:
    """A feedback file's rows as typed (`rank`, `person_id`, `status`, `status_date` as
    found, `row`: the spreadsheet row number) and what its explanation sheet says it is
    (`team`, `month`; None for a CSV or a sheet without them)."""

    rows: pd.DataFrame
    team: str | None = None
    month: str | None = None


def read_feedback(payload: bytes, name: str) -> FeedbackFile:
    """The rows of a filled-in `target_list.xlsx` (first sheet; its explanation sheet names
    team and month) or of a CSV with the list's columns plus `status` and `status_date`.
    Headers in Danish or English; the note column and every other column are not read.
    InputError for a file that is neither, or lacks person id, rank or status columns."""
    if payload[:4] == b"PK\x03\x04":
        return _read_xlsx(payload, name)
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise InputError(f"{name} is not an Excel workbook (.xlsx) that can be read")
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name} is neither an Excel workbook nor a UTF-8 CSV file") from None
    table = list(csv.reader(io.StringIO(text), dialect=_dialect(text)))
    return FeedbackFile(_rows(table, name))


def _dialect(text: str) -> type[csv.Dialect]:
    try:  # Danish Excel saves CSV with ';'
        return csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _read_xlsx(payload: bytes, name: str) -> FeedbackFile:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(payload), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise InputError(f"{name} is not an Excel workbook (.xlsx) that can be read") from None
    table = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    facts: dict[str, object] = {}
    if len(wb.worksheets) > 1:
        for row in wb.worksheets[1].iter_rows(values_only=True):
            if len(row) >= 2 and isinstance(row[0], str):
                facts[row[0].strip()] = row[1]
    wb.close()
    team = facts.get("Team")
    month = facts.get("Måned", facts.get("Month"))
    return FeedbackFile(
        _rows(table, name),
        str(team) if team is not None else None,
        str(month) if month is not None else None,
    )


def _rows(table: list[list], name: str) -> pd.DataFrame:
    """The typed rows of a sheet or CSV table (header first): the four read columns."""
    if not table:
        raise InputError(f"{name} is empty: it holds no list")
    header = [_SPACES.sub(" ", str(h or "")).strip().casefold() for h in table[0]]
    where: dict[str, int] = {}
    for column, names in _HEADER_NAMES.items():
        found = [i for i, h in enumerate(header) if h in names or h.replace(" ", "_") in names]
        if found:
            where[column] = found[0]
    missing = [c for c in ("rank", "person_id", "status") if c not in where]
    if missing:
        raise InputError(
            f"{name} lacks the column(s) {', '.join(missing)}: give back the team's list "
            "with its columns as published (the status, date and note columns filled in)"
        )
    records = []
    for number, row in enumerate(table[1:], start=2):
        cells = {c: (row[i] if i < len(row) else None) for c, i in where.items()}
        if all(v is None or str(v).strip() == "" for v in cells.values()):
            continue  # an empty row (a deleted person leaves one in Excel)
        records.append({"row": number, **cells})
    columns = ["row", "rank", "person_id", "status", "status_date"]
    return pd.DataFrame(records, columns=columns).astype(object)


def check_feedback(
    found: FeedbackFile,
    published: pd.DataFrame,
    team: str,
    month: str,
    today: date,
    other_lists: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The feedback of `team` on its list of `month` (`published`: that list, with `rank`
    and `person_id`): one row per person with a status (FEEDBACK_COLUMNS; rows without a
    status are no feedback and left out). InputError, one line per problem class with row
    numbers, for a file of another team or month, an unknown status, a person not on the
    list, a changed person id or rank, a person on two rows, a date that is not a date, in
    the future or outside the month. `other_lists` (other teams' lists of the month) lets
    the message say when the persons are another team's."""
    problems = _file_of(found, team, month)
    rows = found.rows
    ranks = dict(
        zip(published["person_id"].astype(str), published["rank"].astype(int), strict=True)
    )
    by_rank = {r: p for p, r in ranks.items()}
    ids = rows["person_id"].map(lambda v: None if v is None else str(v).strip())
    rank = rows["rank"].map(_as_int)
    on_list = ids.isin(ranks.keys())
    elsewhere = ids.isin({str(p) for f in (other_lists or {}).values() for p in f["person_id"]})
    rank_of_id = ids.map(ranks)
    moved = on_list & (rank != rank_of_id)
    renamed = ~on_list & ~elsewhere & rank.isin(by_rank.keys())
    stranger = ~on_list & ~renamed
    problems += _problem(
        stranger,
        rows,
        f"are not on {team}'s list of {month}" + _whose(ids[stranger], other_lists),
    )
    problems += _problem(
        moved | renamed,
        rows,
        "have a person id or rank changed from the published list (rank and person id "
        "must stay as published; rows may be re-ordered or deleted)",
    )
    problems += _problem(
        on_list & ids.duplicated(keep=False), rows, "hold a person who is on another row too"
    )
    statuses, unknown = _statuses(rows["status"])
    problems += _problem(
        unknown,
        rows,
        "have an unknown status; use one of: "
        + ", ".join(STATUSES)
        + " (or their labels: "
        + ", ".join(STATUS_LABELS["da"][s] for s in STATUSES)
        + ")",
    )
    dates, bad_date = _dates(rows["status_date"])
    first = parse_month(month)
    future = dates.map(lambda d: d is not None and d > today)
    outside = dates.map(lambda d: d is not None and not first <= d < add_months(first, 1))
    problems += _problem(bad_date, rows, "have a date that is not a date (write YYYY-MM-DD)")
    problems += _problem(future, rows, f"have a date in the future (after {today})")
    problems += _problem(outside & ~future, rows, f"have a date outside {month}")
    if problems:
        raise InputError(
            f"the feedback of {team} on its list of {month} has {len(problems)} problem(s); "
            "nothing was stored:\n  - " + "\n  - ".join(problems)
        )
    keep = statuses.notna()
    return pd.DataFrame(
        {
            "month": month,
            "team": team,
            "person_id": ids[keep].astype(str),
            "rank": rank[keep].astype("int64"),
            "status": statuses[keep].astype(str),
            "status_date": pd.Series(
                [None if d is None else d.isoformat() for d in dates[keep]],
                index=dates[keep].index,
                dtype=object,
            ),
        },
        columns=FEEDBACK_COLUMNS,
    ).reset_index(drop=True)


def _file_of(found: FeedbackFile, team: str, month: str) -> list[str]:
    problems = []
    if found.team is not None and found.team != team:
        problems.append(f"the file is {found.team}'s list, not {team}'s (its explanation sheet)")
    if found.month is not None and found.month != month:
        problems.append(f"the file is the list of {found.month}, not of {month}")
    return problems


def _whose(ids: pd.Series, other_lists: Mapping[str, pd.DataFrame] | None) -> str:
    for name, frame in (other_lists or {}).items():
        if len(ids) and ids.isin(set(frame["person_id"].astype(str))).all():
            return f" (they are on {name}'s list: is this {name}'s file?)"
    return ""


def _problem(mask: pd.Series, rows: pd.DataFrame, what: str) -> list[str]:
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return []
    numbers = rows.loc[mask, "row"].astype(int).tolist()
    shown = ", ".join(str(n) for n in numbers[:5]) + (" ..." if len(numbers) > 5 else "")
    return [f"{len(numbers)} row(s) {what}: row(s) {shown}"]


def _as_int(value: object) -> int | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _statuses(typed: pd.Series) -> tuple[pd.Series, pd.Series]:
    codes, unknown = [], []
    for value in typed:
        try:
            codes.append(status_code(value))
            unknown.append(False)
        except ValueError:
            codes.append(None)
            unknown.append(True)
    return pd.Series(codes, index=typed.index, dtype=object), pd.Series(unknown, index=typed.index)


def _dates(typed: pd.Series) -> tuple[pd.Series, pd.Series]:
    found, bad = [], []
    for value in typed:
        try:
            found.append(_as_date(value))
            bad.append(False)
        except ValueError:
            found.append(None)
            bad.append(True)
    return pd.Series(found, index=typed.index, dtype=object), pd.Series(bad, index=typed.index)


def _as_date(value: object) -> date | None:
    """A typed date: an Excel date, `YYYY-MM-DD`, or Danish `DD-MM-YYYY` / `DD.MM.YYYY`."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for layout in ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise ValueError(text)
