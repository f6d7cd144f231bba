"""Splitting the registers of a SOURCE_DIR into person buckets, for an import bounded in memory.

A national extract does not fit in memory at once (about 20 KB per person of a five-year
history). The bucketed import streams each register file once, in chunks, into per-bucket
Parquet files in a work folder inside the import's staging folder: a row goes to bucket
`hash(pnr) mod N` of its trimmed, normalised `pnr` (the readers' own spelling), so every
register row of one person lands in the same bucket. Registers without a person key are
routed as follows: LPR's diagnoses (`lpr_diag`, `diagnoser`, ...) follow their contact's
key into its contact's bucket (a DuckDB join, which spills to disk); a register with
neither (a lookup such as `audd_niveau`) is given whole to every bucket.

The importer then converts bucket by bucket with the unchanged converters
(docs/registers.md, "Scale").
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.registers.common import Problem
from riskstrat.registers.hospital import LPR3_LAYOUTS
from riskstrat.registers.sources import (
    SUFFIXES,
    RegisterFiles,
    _hive_columns,
    _normalise_columns,
    _read_csv_options,
)

# input bytes per bucket, Parquet-equivalent: the synthetic randers profile's registers take
# about 230 bytes of Parquet per person (53 MB for 228,000 persons; its CSV files 11 times
# as much) and the whole import about 20 KB of memory per person, so a bucket of about
# 100,000 persons converts in about 2 GiB; inputs below that are imported whole (one bucket)
BUCKET_BYTES = 24 * 1024**2
CSV_SHARE = 0.09
SAS_SHARE = 0.05  # SAS files are mostly uncompressed, larger still than CSV
CHUNK_ROWS = 1_000_000
# diagnoses registers keyed by their contact: register -> (contacts register, key column)
DIAGNOSES = {"lpr_diag": ("lpr_adm", "recnum")} | {
    layout.diagnoses: (layout.contacts, layout.key) for layout in LPR3_LAYOUTS
}
ROW = "__row"  # a diagnoses row's position in its register, to keep its order in a bucket


def parquet_equivalent_bytes(found: dict[str, RegisterFiles]) -> float:
    """The size of the register files, CSV and SAS counted as their Parquet size would be."""
    share = {"parquet": 1.0, "csv": CSV_SHARE, "sas7bdat": SAS_SHARE, "xport": SAS_SHARE}
    total = 0.0
    for register in found.values():
        for path, _ in register.files:
            total += path.stat().st_size * share[SUFFIXES[path.suffix.lower()]]
    return total


def bucket_count(found: dict[str, RegisterFiles]) -> int:
    """Buckets for the input: one per BUCKET_BYTES of Parquet-equivalent input, at least 1."""
    return max(1, math.ceil(parquet_equivalent_bytes(found) / BUCKET_BYTES))


def bucket_of(pnr: pd.Series, buckets: int) -> pd.Series:
    """Each row's bucket from its (already normalised) `pnr`: a fixed-key hash, the same in
    every run and process."""
    hashed = pd.util.hash_pandas_object(pnr.astype("string"), index=False)
    return (hashed % buckets).astype("int64")


@dataclass
class Split:
    """The registers split into buckets: where the files are, each register's schema (for a
    bucket without rows), and the rows read per register."""

    folder: Path
    buckets: int
    schemas: dict[str, pa.Schema] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)
    whole: dict[str, pd.DataFrame] = field(default_factory=dict)  # given to every bucket

    def frames(self, bucket: int) -> dict[str, pd.DataFrame]:
        """Every register's rows of one bucket, as the readers would give them."""
        out = dict(self.whole)
        for name, schema in self.schemas.items():
            files = sorted((self.folder / name / f"bucket={bucket}").glob("*.parquet"))
            frame = _concatenated([pq.read_table(f) for f in files]) if files else None
            if frame is None:
                frame = schema.empty_table().to_pandas()
            if ROW in frame.columns:
                frame = frame.sort_values(ROW, kind="stable").drop(columns=[ROW])
                frame = frame.reset_index(drop=True)
            out[name] = frame
        return out


def _concatenated(tables: list[pa.Table]) -> pd.DataFrame:
    """A bucket's files of one register as one frame: as Arrow where their types agree
    (or widen), else as pandas concatenates them (yearly files typed apart)."""
    try:
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.concat([t.to_pandas() for t in tables], ignore_index=True, sort=False)


def split_registers(
    found: dict[str, RegisterFiles], folder: Path, buckets: int, problems: list[Problem]
) -> Split:
    """Stream every register of `found` into `folder/REGISTER/bucket=K/*.parquet`."""
    split = Split(folder, buckets)
    later: list[str] = []
    for name, register in found.items():
        if name in DIAGNOSES and DIAGNOSES[name][0] in found:
            later.append(name)
            continue
        _split_register(register, split, problems)
    for name in later:
        _split_diagnoses(found[name], split, problems)
    return split


def _chunks(register: RegisterFiles, problems: list[Problem]) -> Iterator[pd.DataFrame]:
    """The register's rows in chunks, columns normalised as `read_register` does."""
    for path, period in register.files:
        for frame in _file_chunks(path, register.name, problems):
            frame = _hive_columns(frame, path)
            if period is not None:
                frame["source_period"] = period
                if "year" not in frame.columns:
                    frame["year"] = int(period[:4])
            yield frame


def _file_chunks(path: Path, register: str, problems: list[Problem]) -> Iterator[pd.DataFrame]:
    kind = SUFFIXES[path.suffix.lower()]
    try:
        if kind == "parquet":
            parquet = pq.ParquetFile(path)
            raw: Iterator[pd.DataFrame] = (
                pa.Table.from_batches([batch], parquet.schema_arrow).to_pandas()
                for batch in parquet.iter_batches(batch_size=CHUNK_ROWS)
            )
        elif kind == "csv":
            raw = pd.read_csv(
                path, chunksize=CHUNK_ROWS, **_read_csv_options(path, _encoding(path))
            )
        else:
            import pyreadstat

            reader = pyreadstat.read_sas7bdat if kind == "sas7bdat" else pyreadstat.read_xport
            raw = (
                frame
                for frame, _ in pyreadstat.read_file_in_chunks(
                    reader, str(path), chunksize=CHUNK_ROWS, dates_as_pandas_datetime=True
                )
            )
        for frame in raw:
            normal = _normalise_columns(frame, register, path.name, problems)
            if normal is None:
                return
            yield normal
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem
        problems.append(
            Problem(f"{register} ({path.name})", None, f"cannot be read ({type(exc).__name__})")
        )


def _encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark) when the whole file decodes, else cp1252,
    as `read_register` decides; checked in blocks, so a large file is not held in memory."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as stream:
        try:
            while block := stream.read(16 * 1024**2):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _arrow(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    """A chunk as Arrow; a column empty throughout the chunk typed as in the register's
    first chunk (`schema`), else as text."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    known = {f.name: f.type for f in schema} if schema is not None else {}
    fields = [
        pa.field(f.name, known.get(f.name, pa.string())) if pa.types.is_null(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _split_register(register: RegisterFiles, split: Split, problems: list[Problem]) -> None:
    name = register.name
    rows = 0
    chunk = 0
    for frame in _chunks(register, problems):
        rows += len(frame)
        if "pnr" not in frame.columns:
            # a lookup without persons: every bucket gets all of it
            split.whole[name] = (
                pd.concat([split.whole[name], frame], ignore_index=True)
                if name in split.whole
                else frame
            )
            continue
        table = _arrow(frame, split.schemas.get(name))
        split.schemas.setdefault(name, table.schema)
        _write_buckets(table, bucket_of(frame["pnr"], split.buckets), split, name, chunk)
        chunk += 1
    split.rows_read[name] = rows


def _write_buckets(table: pa.Table, bucket: pd.Series, split: Split, name: str, chunk: int) -> None:
    codes = bucket.to_numpy()
    order = codes.argsort(kind="stable")
    sorted_codes = codes[order]
    ordered = table.take(pa.array(order))
    bounds = sorted_codes.searchsorted(range(split.buckets + 1))
    for k in range(split.buckets):
        if bounds[k] == bounds[k + 1]:
            continue
        folder = split.folder / name / f"bucket={k}"
        folder.mkdir(parents=True, exist_ok=True)
        part = ordered.slice(bounds[k], bounds[k + 1] - bounds[k])
        pq.write_table(part, folder / f"part-{chunk:06d}.parquet", compression="lz4")


def _split_diagnoses(register: RegisterFiles, split: Split, problems: list[Problem]) -> None:
    """A diagnoses register goes to the bucket of its contact (by the contact key); a
    diagnosis whose contact is not there goes to bucket 0, where the converter counts it."""
    import duckdb

    name = register.name
    contacts, key = DIAGNOSES[name]
    staged = split.folder / f"_{name}"
    staged.mkdir(parents=True)
    rows = 0
    for chunk, frame in enumerate(_chunks(register, problems)):
        frame[ROW] = range(rows, rows + len(frame))
        rows += len(frame)
        table = _arrow(frame, split.schemas.get(name))
        split.schemas.setdefault(name, table.schema)
        pq.write_table(table, staged / f"part-{chunk:06d}.parquet", compression="lz4")
    split.rows_read[name] = rows
    contact_files = split.folder / contacts
    if not rows or key not in split.schemas[name].names or not contact_files.is_dir():
        if rows:  # no key to route by: the converter reports the missing column
            _write_buckets(pq.read_table(staged), pd.Series([0] * rows), split, name, 0)
        return
    target = split.folder / name
    connection = duckdb.connect()
    try:
        connection.execute("SET memory_limit = '2GB'")
        connection.execute(f"SET temp_directory = '{split.folder / '_duckdb'}'")
        connection.execute("SET preserve_insertion_order = false")
        connection.execute(
            f"""COPY (
                SELECT d.*, coalesce(k.bucket, 0) AS bucket
                FROM read_parquet('{staged}/*.parquet', union_by_name = true) d
                LEFT JOIN (
                    SELECT DISTINCT CAST({key} AS VARCHAR) AS contact, bucket
                    FROM read_parquet('{contact_files}/*/*.parquet', hive_partitioning = true,
                                      union_by_name = true)
                ) k ON CAST(d.{key} AS VARCHAR) = k.contact
            ) TO '{target}' (FORMAT parquet, PARTITION_BY (bucket))"""
        )
    finally:
        connection.close()
