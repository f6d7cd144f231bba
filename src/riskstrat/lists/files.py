"""`target_list.csv` (for scripts) and a list's `manifest.json`, as deterministic bytes.

A CSV opened in a spreadsheet runs any cell that starts with `=`, `+`, `-` or `@` as a
formula (`=HYPERLINK(...)` in a person id or clinic would be live). As OWASP advises for
CSV injection, such text cells, and those starting with a tab or carriage return, are
written with a leading single quote, which spreadsheets show as text; a cell that itself
starts with a quote gets one more, so `read_target_list_csv` gives back the exact values.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from pathlib import Path

import pandas as pd

from riskstrat.lists.teams import Team

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise_formula(value: str) -> str:
    """`value` as a spreadsheet shows it as text: a quote before a leading `=`, `+`, `-`,
    `@`, tab, carriage return, or quote (so that `restore_formula` is its exact inverse)."""
    return QUOTE + value if value.startswith((*FORMULA_START, QUOTE)) else value


def restore_formula(value: str) -> str:
    """The value `neutralise_formula` was given (drops the one quote it added)."""
    if value.startswith(QUOTE) and value[1:].startswith((*FORMULA_START, QUOTE)):
        return value[1:]
    return value


TEXT_COLUMNS = [
    "person_id",
    "sex",
    "gp_clinic_id",
    "tier",
    "segment",
    "reasons",
    "last_status",
    "last_status_month",
]


def target_list_csv(list_frame: pd.DataFrame) -> bytes:
    """A list as UTF-8 CSV with the interfaces.md column names in English (whatever the
    team's language, so scripts can rely on them); risk with six decimals, '\\n' line ends;
    text that a spreadsheet would run as a formula is written quoted (`neutralise_formula`)."""
    out = list_frame.copy()
    out["risk"] = out["risk"].map(lambda r: f"{r:.6f}")
    for column in TEXT_COLUMNS:
        if column in out.columns:
            out[column] = out[column].map(
                lambda v: neutralise_formula(v) if isinstance(v, str) else v
            )
    # Python's csv module quotes a field holding '\n' but not one holding a lone '\r',
    # which readers take as a line end: then every text cell is quoted
    carriage_return = any(
        out[c].astype(str).str.contains("\r", regex=False).any()
        for c in TEXT_COLUMNS
        if c in out.columns
    )
    quoting = csv.QUOTE_NONNUMERIC if carriage_return else csv.QUOTE_MINIMAL
    return out.to_csv(index=False, lineterminator="\n", quoting=quoting).encode("utf-8")


def read_target_list_csv(path: str | Path) -> pd.DataFrame:
    """A `target_list.csv` as written by `target_list_csv`: ids and clinics as text, the
    quotes that neutralised formulas removed (the values are the list's own)."""
    frame = pd.read_csv(
        path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False, na_values=[""]
    )
    for column in TEXT_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].map(
                lambda v: restore_formula(v) if isinstance(v, str) else v
            )
    return frame


def list_manifest(
    team: Team,
    month: str,
    as_of: date,
    list_frame: pd.DataFrame,
    csv: bytes,
    xlsx: bytes,
    *,
    model_uri: str | None,
    model_version: str | None,
    data_extract_date: str | None,
) -> bytes:
    """A list's manifest.json: team, month, model (reference, URI, version), data extract
    date, rows, capacity, the team's rules (eligibility, feedback) and the sha256 of the CSV and the workbook.
    JSON with sorted keys; no person ids."""
    manifest = {
        "team": team.name,
        "month": month,
        "as_of": as_of.isoformat(),
        "model": team.model,
        "model_uri": model_uri,
        "model_version": None if model_version is None else str(model_version),
        "data_extract_date": None if data_extract_date is None else str(data_extract_date),
        "rows": len(list_frame),
        "new_this_month": int(list_frame["new_this_month"].sum()),
        "capacity": team.capacity,
        "language": team.language,
        "catchment": team.catchment.model_dump(),
        "eligibility": team.eligibility.model_dump(),
        "feedback": team.feedback.model_dump(),
        "sha256": {
            "target_list.csv": hashlib.sha256(csv).hexdigest(),
            "target_list.xlsx": hashlib.sha256(xlsx).hexdigest(),
        },
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )
