"""Where the tables of a data directory are, and reading them raw, one file at a time.

A data directory holds per table `TABLE.parquet`, `TABLE.csv` or a folder `TABLE/` of
Parquet parts, and optionally `manifest.json`. When every present table is a part folder
with the same part names, part k of each table is taken to hold the same persons
(the synthetic generator writes it so); that gives person-aligned partitions that the
pipeline can process one at a time.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskstrat.contract.tables import CONTRACT_VERSION, TABLES
from riskstrat.errors import InputError
from riskstrat.redact import mask_cpr, shown_text


class DataDirError(InputError):
    """The data directory cannot be read at all (missing folder, unreadable manifest)."""


@dataclass(frozen=True)
class TableFiles:
    """The files of one contract table in a data directory: a single `TABLE.parquet` or
    `TABLE.csv`, or the Parquet parts of a folder `TABLE/` (`layout` says which)."""

    table: str
    files: tuple[Path, ...]
    layout: str  # "parquet", "csv" or "parts"

    def label(self, file: Path) -> str:
        """How a file is named in messages: the part name for part folders, else the table file."""
        return file.name if self.layout == "parts" else f"{self.table}.{self.layout}"


@dataclass(frozen=True)
class Manifest:
    """The optional `manifest.json` of a data directory: the contract version it was written
    for, its extract date and start of history, where it came from, and the whole JSON."""

    contract_version: int | None = None
    extract_date: date | None = None
    history_start: date | None = None
    source: str | None = None
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DataDir:
    """A data directory as found on disk: the files of each contract table it has (absent
    optional tables are left out) and its manifest, if any. Nothing is read yet."""

    path: Path
    tables: dict[str, TableFiles]
    manifest: Manifest | None

    @property
    def partitions(self) -> list[str] | None:
        """Part names shared by the present tables, or None when the layout is not person-aligned.

        Optional tables may lack a part (a chunk without opt-outs) but never have other names.
        """
        if "persons" not in self.tables or any(t.layout != "parts" for t in self.tables.values()):
            return None
        persons = [f.name for f in self.tables["persons"].files]
        for t in self.tables.values():
            if not {f.name for f in t.files} <= set(persons):
                return None
        return persons


def open_data_dir(path: str | Path) -> DataDir:
    """Find each contract table in `path` and read `manifest.json` if present."""
    root = Path(path)
    if not root.is_dir():
        raise DataDirError(f"data directory {root} does not exist or is not a folder")
    tables: dict[str, TableFiles] = {}
    for name in TABLES:
        found = _find_table(root, name)
        if found is not None:
            tables[name] = found
    return DataDir(root, tables, _read_manifest(root / "manifest.json"))


def _find_table(root: Path, name: str) -> TableFiles | None:
    folder = root / name
    candidates = []
    if folder.is_dir():
        parts = tuple(sorted(folder.glob("*.parquet")))
        candidates.append(TableFiles(name, parts, "parts"))
    for ext in ("parquet", "csv"):
        file = root / f"{name}.{ext}"
        if file.is_file():
            candidates.append(TableFiles(name, (file,), ext))
    if len(candidates) > 1:
        kinds = ", ".join(c.layout for c in candidates)
        raise DataDirError(f"table {name} is given more than once in {root} ({kinds}); keep one")
    return candidates[0] if candidates else None


def _read_manifest(path: Path) -> Manifest | None:
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest(
            contract_version=raw.get("contract_version"),
            extract_date=_parse_date(raw.get("extract_date")),
            history_start=_parse_date(raw.get("history_start")),
            source=raw.get("source"),
            raw=raw,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise DataDirError(f"manifest.json in {path.parent} is not valid: {exc}") from None
    _check_version(raw.get("contract_version"), path)
    return manifest


def _check_version(version: object, path: Path) -> None:
    """DataDirError unless the manifest's contract_version is absent or this contract's."""
    if version is None or (type(version) is int and version == CONTRACT_VERSION):
        return
    raise DataDirError(
        f"{path} says contract_version {repr(version)[:20]}, but riskstrat reads input "
        f"contract v{CONTRACT_VERSION}: convert the extract to v{CONTRACT_VERSION} "
        f"(docs/input-contract.md), or write contract_version: {CONTRACT_VERSION} if it is"
    )


def _parse_date(value: object) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def read_raw(tf: TableFiles, file: Path, columns: list[str] | None = None) -> pa.Table:
    """One file of a table as Arrow (only `columns`, those of them it has, if given); CSV is
    read as text so that typing is the validator's job.

    A file that cannot be read is a `DataDirError` naming the table, the file, and for a CSV
    the row and line at fault, never the row itself: pyarrow's messages quote the offending
    row (person id included), so they are rewritten (`riskstrat.redact`)."""
    try:
        if tf.layout == "csv":
            return _read_csv_as_text(file, columns)
        _check_unique(pq.read_schema(file).names, tf, file)
        if columns is not None:
            present = set(pq.read_schema(file).names)
            return pq.read_table(file, columns=[c for c in columns if c in present])
        return pq.read_table(file)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        problem = _read_problem(tf, file, exc)
    # raised outside the except block: the library's exception (and the row it quotes) is not
    # kept as the context of ours, where a traceback or a flow run's state could show it
    raise DataDirError(f"table {tf.table}: cannot read {file.name}: {problem}")


_FIELDS = re.compile(r"Expected (\d+) columns, got (\d+)")
NOT_UTF8_HINT = (
    "save it as UTF-8 (in Excel: CSV UTF-8), or convert it, e.g. "
    "iconv -f latin1 -t utf-8 FILE > utf8-FILE"
)


def _read_problem(tf: TableFiles, file: Path, exc: Exception) -> str:
    """What went wrong reading `file`, without quoting any of its data."""
    text = str(exc)
    if "straddling object" in text:
        return "it has a line longer than 1 MB (no contract value is that long): is it the right file, with matching quotes?"
    if tf.layout != "csv":
        text = mask_cpr(text)  # the Parquet reader's messages do not quote values
        return text if len(text) <= 300 else text[:300] + "…"
    if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in text:
        line = _first_line_not_utf8(file)
        where = f" (first at line {line})" if line else ""
        return f"not UTF-8 text{where}: {NOT_UTF8_HINT}"
    fields = _FIELDS.search(text)
    if fields:
        expected, got = int(fields[1]), int(fields[2])
        at = _row_with_other_fields(file, expected)
        where = f"row {at[0]} (line {at[1]})" if at else "a row"
        return (
            f"{where} has {got} fields where the header has {expected} "
            "(the row is not shown: it may hold identifiers)"
        )
    if isinstance(exc, OSError) and not isinstance(exc, pa.ArrowException):
        return shown_text(exc.strerror or type(exc).__name__)
    return "not a CSV file the reader understands (its message is not shown: it quotes the data)"


def _lines(file: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its end) of a file, read as bytes."""
    with file.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            yield number, line.rstrip(b"\r\n")


def _first_line_not_utf8(file: Path) -> int | None:
    for number, line in _lines(file):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return number
    return None


def _row_with_other_fields(file: Path, expected: int) -> tuple[int, int] | None:
    """(row, line) of the first data row whose number of fields is not `expected`, counted
    as pyarrow does (the header is line 1, empty lines are skipped, no line breaks inside
    quotes)."""
    row = 0
    for number, line in _lines(file):
        if number == 1 or not line:
            continue
        row += 1
        fields = next(csv.reader([line.decode("utf-8", errors="replace")]), [])
        if len(fields) != expected:
            return row, number
    return None


def _check_unique(names: list[str], tf: TableFiles, file: Path) -> None:
    """DataDirError if the file names a column more than once (readers would keep one)."""
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataDirError(
            f"table {tf.table}: {file.name} names the column(s) {', '.join(twice)[:200]} more "
            "than once; keep one of each"
        )


def _read_csv_as_text(file: Path, columns: list[str] | None = None) -> pa.Table:
    with file.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    twice = sorted({n for n in header if header.count(n) > 1})
    if twice:
        raise DataDirError(
            f"{file.name} names the column(s) {', '.join(twice)[:200]} more than once; "
            "keep one of each"
        )
    opts = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=True,
        include_columns=None if columns is None else [c for c in header if c in columns],
    )
    return pacsv.read_csv(file, convert_options=opts)
