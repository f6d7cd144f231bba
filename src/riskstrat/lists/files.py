"""`target_list.csv` (for scripts) and a list's `manifest.json`, as deterministic bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pandas as pd

from riskstrat.lists.teams import Team


def target_list_csv(list_frame: pd.DataFrame) -> bytes:
    """A list as UTF-8 CSV with the interfaces.md column names in English (whatever the
    team's language, so scripts can rely on them); risk with six decimals, '\\n' line ends."""
    out = list_frame.copy()
    out["risk"] = out["risk"].map(lambda r: f"{r:.6f}")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


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
    date, rows, capacity, the team's rules and the sha256 of the CSV and the workbook.
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
        "sha256": {
            "target_list.csv": hashlib.sha256(csv).hexdigest(),
            "target_list.xlsx": hashlib.sha256(xlsx).hexdigest(),
        },
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )
