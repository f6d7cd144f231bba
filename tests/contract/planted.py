"""Extracts with planted person ids and CPR-shaped values, and a search for them in any text:
for the tests that no message, log or store shows what the data holds (`riskstrat.redact`)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.redact import is_cpr_shaped
from tests.contract.extracts import valid_tables, write_extract

# pseudonyms that occur nowhere else, and CPR-shaped values with every kind of separator
IDS = {"P1": "QZPSEUDO0001", "P2": "QZPSEUDO0002", "P3": "QZPSEUDO0003", "P4": "QZPSEUDO0004"}
CPRS = ["290471-8823", "150382\u20134417", "121190 5512", "0307851946", "281160\u20143308"]
DASHES = "\u002d\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


def planted_tables() -> dict[str, pd.DataFrame]:
    """The valid extract with distinctive pseudonyms in every table."""
    tables = valid_tables()
    for frame in tables.values():
        frame["person_id"] = frame["person_id"].map(IDS)
    return tables


def write(root: Path, tables: dict[str, pd.DataFrame], layout: str) -> Path:
    """CSV, or Parquet with every column stored as text (so that any value fits any column)."""
    if layout == "csv":
        return write_extract(root, tables, "csv")
    root.mkdir(parents=True)
    for name, frame in tables.items():
        columns = {
            c: pa.array(frame[c].astype(object).where(frame[c].notna(), None), pa.string())
            for c in frame.columns
        }
        pq.write_table(pa.table(columns), root / f"{name}.parquet")
    return write_extract(root, {}, "csv")  # the manifest


def leaks(text: str, planted=(*IDS.values(), *CPRS)) -> list[str]:
    """The planted values found in `text`, however it was wrapped or escaped (whitespace
    ignored, JSON's \\u escapes read; a CPR number also found with any separator or none)."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)  # JSON's escapes
    flat = re.sub(r"\s", "", text)
    digits = re.sub(f"[\\s{re.escape(DASHES)}]", "", text)
    found = [v for v in planted if re.sub(r"\s", "", v) in flat]
    found += [v for v in planted if is_cpr_shaped(v) and re.sub(r"\D", "", v) in digits]
    return found
