"""Small hand-built extracts for contract tests: a valid one, written as CSV, Parquet or parts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def valid_tables() -> dict[str, pd.DataFrame]:
    """A tiny valid extract (extract date 2026-01-01) as text columns, like a CSV export."""
    persons = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4"],
            "birth_date": ["1940-02-29", "1950-05-01", "1960-05-01", "1930-01-01"],
            "sex": ["F", "M", "m", "f"],
            "municipality_code": ["730", "710", "707", "706"],
            "gp_clinic_id": ["C1", "C2", None, "C1"],
            "education": ["basic", "Tertiary", None, "unknown"],
            "income_quintile": ["2", "5", None, "1"],
            "origin": ["danish", "immigrant_western", None, "danish"],
            "living_alone": ["true", "false", None, "1"],
            "death_date": [None, None, None, "2025-06-01"],
            "emigration_date": [None, None, None, None],
        }
    )
    hospital = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P4"],
            "start_date": ["2024-01-05", "2024-03-05", "2025-05-01"],
            "end_date": ["2024-01-09", None, "2025-05-20"],
            "contact_type": ["Inpatient", "outpatient", "inpatient"],
            "acute": ["true", "false", "true"],
            "action_diagnosis": ["J18.9", "DI500", "dn390"],
            "secondary_diagnoses": ["dj441;E11.9", None, None],
            "hospital_code": ["H1", "H1", None],
        }
    )
    gp = pd.DataFrame(
        {
            "person_id": ["P1", "P3"],
            "contact_date": ["2024-02-01", "2025-12-31"],
            "contact_kind": ["consultation", "home_visit"],
            "clinic_id": ["C1", None],
        }
    )
    municipal = pd.DataFrame(
        {
            "person_id": ["P1", "P4"],
            "service": ["home_care", "nursing_home"],
            "start_date": ["2023-01-01", "2024-01-01"],
            "end_date": [None, "2025-06-01"],
            "hours_per_week": ["4.5", None],
        }
    )
    prescriptions = pd.DataFrame(
        {
            "person_id": ["P1", "P2"],
            "dispense_date": ["2024-02-02", "2024-03-01"],
            "atc_code": ["a10ba02", "C03CA01"],
            "ddd": ["30", None],
        }
    )
    opt_outs = pd.DataFrame({"person_id": ["P2"], "opt_out_date": ["2025-01-01"]})
    return {
        "persons": persons,
        "hospital_contacts": hospital,
        "gp_contacts": gp,
        "municipal_services": municipal,
        "prescriptions": prescriptions,
        "opt_outs": opt_outs,
    }


MANIFEST = {
    "contract_version": 1,
    "extract_date": "2026-01-01",
    "history_start": "2021-01-01",
    "source": "test",
}


def write_extract(
    root: Path,
    tables: dict[str, pd.DataFrame],
    layout: str = "csv",
    manifest: dict | None = MANIFEST,
) -> Path:
    """Write `tables` to `root` as `csv`, `parquet` (typed) or `parts` (typed, two parts each)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if layout == "csv":
            frame.to_csv(root / f"{name}.csv", index=False)
        elif layout == "parquet":
            pq.write_table(_typed(frame), root / f"{name}.parquet")
        else:
            (root / name).mkdir()
            half = (len(frame) + 1) // 2
            for i, chunk in enumerate((frame.iloc[:half], frame.iloc[half:])):
                pq.write_table(_typed(chunk), root / name / f"part-{i:05d}.parquet")
    if manifest is not None:
        (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def _typed(frame: pd.DataFrame) -> pa.Table:
    """Parquet with native types where the contract has them (dates, numbers, booleans)."""
    cols = {}
    for col in frame.columns:
        s = frame[col]
        if col.endswith("_date"):
            cols[col] = pa.array(pd.to_datetime(s).dt.date, pa.date32())
        elif col in ("municipality_code", "income_quintile"):
            cols[col] = pa.array(pd.to_numeric(s).astype("Int64"), pa.int64())
        elif col in ("hours_per_week", "ddd"):
            cols[col] = pa.array(pd.to_numeric(s), pa.float64())
        elif col in ("acute", "living_alone"):
            cols[col] = pa.array(
                [None if v is None or v != v else v in ("true", "1") for v in s], pa.bool_()
            )
        else:
            cols[col] = pa.array(s.astype(object).where(s.notna(), None), pa.string())
    return pa.table(cols)
