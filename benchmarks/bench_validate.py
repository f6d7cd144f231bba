"""Validation speed: a hospital_contacts table of N rows (default 1,000,000), Parquet and CSV.

    uv run python benchmarks/bench_validate.py [--rows 1000000] [--persons 200000]

Prints wall time, rows per second and the process's peak RSS for each layout.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskstrat.contract import validate_data_dir

CODES = np.array(["DJ189", "DI500", "DJ441", "DE119", "DN390", "DS720", "DR069", "DZ038", "DK590"])


def make_extract(root: Path, rows: int, persons: int, layout: str, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    ids = pc.binary_join_element_wise("P", pc.cast(pa.array(np.arange(persons)), pa.string()), "")
    start = np.datetime64("2021-01-01") + rng.integers(0, 1800, rows).astype("timedelta64[D]")
    tables = {
        "persons": pa.table(
            {
                "person_id": ids,
                "birth_date": pa.array(
                    np.datetime64("1930-01-01")
                    + rng.integers(0, 30000, persons).astype("timedelta64[D]")
                ),
                "sex": pa.array(rng.choice(["F", "M"], persons)),
                "municipality_code": pa.array(rng.choice([730, 710, 707, 706], persons)),
            }
        ),
        "hospital_contacts": pa.table(
            {
                "person_id": pc.take(ids, pa.array(rng.integers(0, persons, rows))),
                "start_date": pa.array(start),
                "end_date": pa.array(start + rng.integers(0, 10, rows).astype("timedelta64[D]")),
                "contact_type": pa.array(
                    rng.choice(["inpatient", "outpatient", "emergency"], rows)
                ),
                "acute": pa.array(rng.random(rows) < 0.4),
                "action_diagnosis": pa.array(rng.choice(CODES, rows)),
                "secondary_diagnoses": pa.array(
                    np.where(rng.random(rows) < 0.3, "DI109;DE119", None)
                ),
            }
        ),
        "gp_contacts": pa.table(
            {
                "person_id": ids[:10],
                "contact_date": pa.array(start[:10]),
                "contact_kind": pa.array(["consultation"] * 10),
            }
        ),
        "municipal_services": pa.table(
            {
                "person_id": ids[:10],
                "service": pa.array(["home_care"] * 10),
                "start_date": pa.array(start[:10]),
            }
        ),
    }
    for col in ("birth_date",):
        tables["persons"] = tables["persons"].set_column(
            1, col, pc.cast(tables["persons"][col], pa.date32())
        )
    for name, table in tables.items():
        for i, field in enumerate(table.schema):
            if pa.types.is_timestamp(field.type):
                table = table.set_column(i, field.name, pc.cast(table[field.name], pa.date32()))
        if layout == "csv":
            pacsv.write_csv(table, root / f"{name}.csv")
        else:
            pq.write_table(table, root / f"{name}.parquet")
    (root / "manifest.json").write_text(
        json.dumps({"contract_version": 1, "extract_date": "2026-01-01"})
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--persons", type=int, default=200_000)
    args = ap.parse_args()
    print(
        f"python {sys.version.split()[0]}; hospital_contacts rows: {args.rows:,}; persons: {args.persons:,}"
    )
    for layout in ("parquet", "csv"):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_extract(root, args.rows, args.persons, layout)
            t0 = time.perf_counter()
            report = validate_data_dir(root)
            wall = time.perf_counter() - t0
            assert report.ok, [f.message() for f in report.errors]
            total = sum(report.rows.values())
            print(
                f"{layout:8s} validate: {wall:6.2f} s  ({total / wall:,.0f} rows/s over all tables)"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
