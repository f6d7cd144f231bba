"""Typed, normalised frames of a data directory (all of it, or one person-aligned partition).

Frame conventions: contract column names; dates `datetime64[s]`; identifiers and category
values `str`; `municipality_code` int64; `income_quintile` `Int8`; `living_alone` `boolean`;
`acute` bool; diagnosis codes in SKS form (`DJ189`); `secondary_diagnoses` a `;`-joined
string or null; end dates on or after the extract date read as null (ongoing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskstrat.contract.source import DataDir, open_data_dir, read_raw
from riskstrat.contract.sql import q, typed_expr
from riskstrat.contract.tables import TABLES, Column, Table


@dataclass(frozen=True)
class Extract:
    """One register extract (or one partition of it) as typed frames."""

    persons: pd.DataFrame
    hospital_contacts: pd.DataFrame
    gp_contacts: pd.DataFrame
    municipal_services: pd.DataFrame
    prescriptions: pd.DataFrame
    opt_outs: pd.DataFrame
    extract_date: date
    history_start: date | None = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in TABLES}


@dataclass(frozen=True)
class PersonSelection:
    """Which persons to read: born on or before `born_by` and after `born_after`, alive and
    not emigrated on `present_on` (`death_date` and `emigration_date` null or on or after it).

    Only their rows of every table are read; everyone else's stay on disk. Any superset of
    a model's population will do, because a person's features and labels read only that
    person's own rows (`riskstrat.features.candidates` gives one per spec).
    """

    COLUMNS = ("birth_date", "death_date", "emigration_date")  # what `predicate` reads

    born_by: date | None = None
    born_after: date | None = None
    present_on: date | None = None

    def predicate(self) -> str:
        """SQL over the typed persons columns, true for a selected person."""
        terms = ["TRUE"]
        if self.born_by is not None:
            terms.append(f"birth_date <= DATE '{self.born_by.isoformat()}'")
        if self.born_after is not None:
            terms.append(f"birth_date > DATE '{self.born_after.isoformat()}'")
        if self.present_on is not None:
            on = f"DATE '{self.present_on.isoformat()}'"
            terms += [
                f"(death_date IS NULL OR death_date >= {on})",
                f"(emigration_date IS NULL OR emigration_date >= {on})",
            ]
        return " AND ".join(terms)


def read_extract(
    data_dir: DataDir | str | Path,
    extract_date: date,
    partition: str | None = None,
    columns: dict[str, list[str]] | None = None,
    persons: PersonSelection | None = None,
) -> Extract:
    """Read the tables of `data_dir` (validated beforehand) into typed frames.

    `partition` is None (everything), the name of one part of a person-aligned layout
    (`DataDir.partitions`), or `hash:i/n` — the persons whose id hashes to bucket i of n, for
    layouts that are not person-aligned (each such partition reads every file once).
    `columns` may name, per table, the only columns to read (the others stay out of memory).
    `persons` reads only the selected persons and their rows of the other tables.
    """
    if not isinstance(data_dir, DataDir):
        data_dir = open_data_dir(data_dir)
    columns = columns or {}
    frames: dict[str, pd.DataFrame] = {}
    keep = None
    if persons is not None:
        frames["persons"], keep = _read_persons(
            data_dir, extract_date, partition, columns.get("persons"), persons
        )
    for name, table in TABLES.items():
        if name not in frames:
            frames[name] = _read_table(
                data_dir, table, extract_date, partition, columns.get(name), keep
            )
    history = data_dir.manifest.history_start if data_dir.manifest else None
    return Extract(**frames, extract_date=extract_date, history_start=history)


def read_table(data_dir: DataDir | str | Path, name: str, extract_date: date) -> pd.DataFrame:
    """One table of a (validated) data directory as a typed frame, e.g. `persons`."""
    if not isinstance(data_dir, DataDir):
        data_dir = open_data_dir(data_dir)
    return _read_table(data_dir, TABLES[name], extract_date, None)


def load_extract(path: str | Path) -> Extract:
    """Validate the data directory at `path` (or find the record of an earlier validation of
    the same files) and read it; raises ContractError if it is invalid."""
    from riskstrat.contract.record import validated

    return read_extract(path, validated(path).extract_date)


def _read_persons(
    data_dir: DataDir,
    extract: date,
    partition: str | None,
    only: list[str] | None,
    selection: PersonSelection,
) -> tuple[pd.DataFrame, pa.Table]:
    """The selected persons (only the columns asked for) and their ids as an Arrow table."""
    table = TABLES["persons"]
    wanted = table.column_names if only is None else [c for c in table.column_names if c in only]
    needed = sorted({"person_id", *wanted, *PersonSelection.COLUMNS}, key=table.column_names.index)
    arrow = _read_arrow(data_dir, _subset(table, needed), extract, partition, selection.predicate())
    frame = _to_pandas(arrow.select(wanted), _subset(table, wanted)) if wanted else pd.DataFrame()
    return frame, arrow.select(["person_id"])


def _subset(table: Table, only: list[str]) -> Table:
    return Table(
        table.name,
        table.required,
        tuple(c for c in table.columns if c.name in only),
        tuple(p for p in table.periods if set(p) <= set(only)),
    )


def _read_table(
    data_dir: DataDir,
    table: Table,
    extract: date,
    partition: str | None,
    only: list[str] | None = None,
    keep: pa.Table | None = None,
) -> pd.DataFrame:
    """One table as a typed frame; `keep` (a `person_id` table) reads only those persons' rows."""
    if only is not None:
        table = _subset(table, only)
        if not table.columns:
            return pd.DataFrame()
    return _to_pandas(_read_arrow(data_dir, table, extract, partition, keep=keep), table)


def _read_arrow(
    data_dir: DataDir,
    table: Table,
    extract: date,
    partition: str | None,
    where: str | None = None,
    keep: pa.Table | None = None,
) -> pa.Table:
    """Typed Arrow rows of `table`'s columns: of one partition, where the typed row satisfies
    `where`, of the persons in `keep`."""
    tf = data_dir.tables.get(table.name)
    if tf is None:  # an optional table the data directory does not have
        return _empty(table, arrow=True)
    bucket = hash_bucket(partition)
    named = partition if bucket is None else None
    files = [f for f in tf.files if named is None or f.name == named]
    terms = [] if bucket is None else [f"hash(person_id) % {bucket[1]} = {bucket[0]}"]
    if where:
        terms.append(where)
    con = connect()
    condition = f"WHERE {' AND '.join(terms)}" if terms else ""
    parts = []
    for file in files:
        raw = read_raw(tf, file, table.column_names)
        if keep is not None:
            raw = _of_persons(raw, keep)
        con.register("raw", raw)
        types = {r[0]: r[1] for r in con.execute("DESCRIBE raw").fetchall()}
        cols = ", ".join(_select(col, types, extract) for col in table.columns)
        parts.append(
            con.sql(f"SELECT * FROM (SELECT {cols} FROM raw) {condition}").to_arrow_table()
        )
    if not parts:
        return _empty(table, arrow=True)
    return pa.concat_tables(parts)


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection, with `RISKSTRAT_THREADS` threads if set (partition
    workers set it to their share of the cores)."""
    threads = os.environ.get("RISKSTRAT_THREADS")
    return duckdb.connect(config={"threads": int(threads)} if threads else {})


def _of_persons(raw: pa.Table, keep: pa.Table) -> pa.Table:
    """The rows of `raw` whose person_id (typed as the reader types it: text, trimmed of
    spaces) is in `keep`, in file order; by Arrow hashing, before any other typing work."""
    if "person_id" not in raw.column_names:
        return raw.slice(0, 0)
    ids = pc.utf8_trim(pc.cast(raw["person_id"], pa.string()), characters=" ")
    return raw.filter(pc.is_in(ids, value_set=keep["person_id"].combine_chunks().cast(pa.string())))


def hash_bucket(partition: str | None) -> tuple[int, int] | None:
    """(i, n) of a `hash:i/n` partition name, else None."""
    if not partition or not partition.startswith("hash:"):
        return None
    i, n = partition[5:].split("/")
    return int(i), int(n)


def hash_partitions(n: int) -> list[str]:
    """Names of n hash partitions over person_id, for layouts that are not person-aligned."""
    return [f"hash:{i}/{n}" for i in range(n)]


def _select(col: Column, types: dict[str, str], extract: date) -> str:
    if col.name not in types:
        return f"NULL AS {q(col.name)}"
    expr = typed_expr(col, types[col.name])
    if col.date_role == "end":
        expr = f"CASE WHEN {expr} < DATE '{extract.isoformat()}' THEN {expr} END"
    return f"{expr} AS {q(col.name)}"


_DTYPES = {"date": "datetime64[s]", "int": "int64", "float": "float64", "bool": "bool"}


def _dtype(col: Column) -> str:
    if col.name == "income_quintile":
        return "Int8"
    if col.kind == "bool" and col.nullable:
        return "boolean"
    if col.kind == "int" and col.nullable:
        return "Int64"
    return _DTYPES.get(col.kind, "str")


def _to_pandas(arrow: pa.Table, table: Table) -> pd.DataFrame:
    frame = arrow.to_pandas(date_as_object=False)  # dates as datetime64, not Python objects
    return pd.DataFrame({c.name: frame[c.name].astype(_dtype(c)) for c in table.columns})


def _empty(table: Table, arrow: bool = False) -> pd.DataFrame | pa.Table:
    frame = pd.DataFrame({c.name: pd.Series([], dtype=_dtype(c)) for c in table.columns})
    return pa.Table.from_pandas(frame, preserve_index=False) if arrow else frame
