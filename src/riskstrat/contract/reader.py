"""Typed, normalised frames of a data directory (all of it, or one person-aligned partition).

Frame conventions: contract column names; dates `datetime64[s]`; identifiers and category
values `str`; `municipality_code` int64; `income_quintile` `Int8`; `living_alone` `boolean`;
`acute` bool; diagnosis codes in SKS form (`DJ189`); `secondary_diagnoses` a `;`-joined
string or null; end dates on or after the extract date read as null (ongoing).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

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


def read_extract(
    data_dir: DataDir | str | Path,
    extract_date: date,
    partition: str | None = None,
    columns: dict[str, list[str]] | None = None,
) -> Extract:
    """Read the tables of `data_dir` (validated beforehand) into typed frames.

    `partition` is None (everything), the name of one part of a person-aligned layout
    (`DataDir.partitions`), or `hash:i/n` — the persons whose id hashes to bucket i of n, for
    layouts that are not person-aligned (each such partition reads every file once).
    `columns` may name, per table, the only columns to read (the others stay out of memory).
    """
    if not isinstance(data_dir, DataDir):
        data_dir = open_data_dir(data_dir)
    frames = {
        name: _read_table(data_dir, table, extract_date, partition, (columns or {}).get(name))
        for name, table in TABLES.items()
    }
    history = data_dir.manifest.history_start if data_dir.manifest else None
    return Extract(**frames, extract_date=extract_date, history_start=history)


def read_table(data_dir: DataDir | str | Path, name: str, extract_date: date) -> pd.DataFrame:
    """One table of a (validated) data directory as a typed frame, e.g. `persons`."""
    if not isinstance(data_dir, DataDir):
        data_dir = open_data_dir(data_dir)
    return _read_table(data_dir, TABLES[name], extract_date, None)


def load_extract(path: str | Path) -> Extract:
    """Validate the data directory at `path` and read it; raises ContractError if it is invalid."""
    from riskstrat.contract.validate import ContractError, validate_data_dir

    report = validate_data_dir(path)
    if not report.ok:
        raise ContractError(report)
    return read_extract(path, report.extract_date)


def _read_table(
    data_dir: DataDir, table: Table, extract: date, partition: str | None,
    only: list[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    if only is not None:
        table = Table(table.name, table.required, tuple(c for c in table.columns if c.name in only),
                      tuple(p for p in table.periods if set(p) <= set(only)))  # fmt: skip
        if not table.columns:
            return pd.DataFrame()
    tf = data_dir.tables.get(table.name)
    bucket = hash_bucket(partition)
    named = partition if bucket is None else None
    files = [] if tf is None else [f for f in tf.files if named is None or f.name == named]
    where = "" if bucket is None else f"WHERE hash(person_id) % {bucket[1]} = {bucket[0]}"
    con = duckdb.connect()
    parts = []
    for file in files:
        raw = read_raw(tf, file)
        con.register("raw", raw)
        types = {r[0]: r[1] for r in con.execute("DESCRIBE raw").fetchall()}
        cols = ", ".join(_select(col, types, extract) for col in table.columns)
        parts.append(con.sql(f"SELECT * FROM (SELECT {cols} FROM raw) {where}").to_arrow_table())
    if not parts:
        return _empty(table)
    return _to_pandas(pa.concat_tables(parts), table)


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
    frame = arrow.to_pandas()
    return pd.DataFrame({c.name: frame[c.name].astype(_dtype(c)) for c in table.columns})


def _empty(table: Table) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series([], dtype=_dtype(c)) for c in table.columns})
