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
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskstrat.contract.tables import CONTRACT_VERSION, TABLES
from riskstrat.errors import InputError


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
    read as text so that typing is the validator's job."""
    try:
        if tf.layout == "csv":
            return _read_csv_as_text(file, columns)
        _check_unique(pq.read_schema(file).names, tf, file)
        if columns is not None:
            present = set(pq.read_schema(file).names)
            return pq.read_table(file, columns=[c for c in columns if c in present])
        return pq.read_table(file)
    except UnicodeDecodeError:
        raise DataDirError(_not_utf8(tf, file)) from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataDirError(_unreadable(tf, file, exc)) from None


def _not_utf8(tf: TableFiles, file: Path) -> str:
    return (
        f"table {tf.table}: {file} is not UTF-8 text; the contract's CSV files are UTF-8. "
        "Save it as 'CSV UTF-8' (Excel), or convert it, e.g. "
        f"iconv -f latin1 -t utf-8 {file.name} > utf8-{file.name}"
    )


def _unreadable(tf: TableFiles, file: Path, exc: Exception) -> str:
    """What a file that cannot be read breaks, in a line (never a whole row or value)."""
    text = str(exc)
    if "invalid UTF8" in text or "UTF-8" in text:
        return _not_utf8(tf, file)
    if "straddling object" in text:
        return (
            f"table {tf.table}: {file.name} has a line longer than 1 MB (no contract value "
            "is that long): is it the right file, with matching quotes?"
        )
    return f"table {tf.table}: cannot read {file.name}: {text[:300]}"


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
