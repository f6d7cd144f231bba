"""The Register of Medicinal Product Statistics (LMDB) → `prescriptions`.

One row per dispensing: `eksd` (dispensing date), `atc`, `volume` (defined daily doses in
one package) and `apk` (packages), so DDD = volume × apk (osdc, `R/add.R`). Returns and
corrections are rows with a negative `apk`; each is netted against the latest dispensing
of the same person, ATC code and package (`vnr`, else `volume`) on or before its date.
Rules and sources: docs/registers-events.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from riskstrat.registers.common import (
    Change,
    Converted,
    Problem,
    example_rows,
    parse_dates,
    require_columns,
)

TABLE = "prescriptions"
REGISTERS: tuple[str, ...] = ("lmdb",)
COLUMNS = ["pnr", "dispense_date", "atc_code", "ddd"]


def prescriptions(
    registers: Mapping[str, pd.DataFrame], extract_date: date, problems: list[Problem]
) -> Converted | None:
    """LMDB dispensings as `prescriptions` rows keyed by `pnr`, corrections netted; None
    when LMDB is absent. `extract_date` is not needed (dispensings are dated events)."""
    frame = registers.get("lmdb")
    if frame is None:
        return None
    changes: list[Change] = []
    converted = Converted(pd.DataFrame(columns=COLUMNS), changes, {"lmdb": len(frame)})
    if not require_columns(frame, "lmdb", ["pnr", "eksd", "atc"], problems):
        return converted
    rows = pd.DataFrame({"pnr": frame["pnr"].astype("string")})
    rows["dispense_date"] = parse_dates(frame["eksd"], "lmdb", "eksd", problems)
    atc = frame["atc"].astype("string").str.replace(r"\s+", "", regex=True).str.upper()
    rows["atc_code"] = atc.mask(atc == "")
    rows["package"] = _package(frame)
    rows["volume"], rows["apk"] = _amounts(frame, problems, changes)
    undated = rows["dispense_date"].isna() | rows["atc_code"].isna()
    _count(changes, "dropped", "no dispensing date or no ATC code", undated)
    rows = _netted(rows[~undated], changes)
    rows["ddd"] = (rows["volume"] * rows["apk"]).astype("float64")
    table = rows.sort_values(["pnr", "dispense_date", "atc_code"], kind="stable")
    table = table.reset_index(drop=True)[COLUMNS]
    table["pnr"] = table["pnr"].astype(object)
    table["atc_code"] = table["atc_code"].astype(object)
    converted.table = table
    return converted


def _count(changes: list[Change], action: str, reason: str, mask: pd.Series) -> None:
    if mask.any():
        changes.append(Change("lmdb", TABLE, action, reason, int(mask.sum())))


def _package(frame: pd.DataFrame) -> pd.Series:
    """What a correction must match besides person and ATC: the product number when given."""
    column = "vnr" if "vnr" in frame.columns else "volume" if "volume" in frame.columns else None
    if column is None:
        return pd.Series("", index=frame.index, dtype="string")
    return frame[column].astype("string").str.strip().fillna("")


def _amounts(
    frame: pd.DataFrame, problems: list[Problem], changes: list[Change]
) -> tuple[pd.Series, pd.Series]:
    missing = [c for c in ("volume", "apk") if c not in frame.columns]
    if missing:
        changes.append(
            Change(
                "lmdb",
                TABLE,
                "warning",
                f"no {' or '.join(missing)} column: ddd left empty",
                len(frame),
            )
        )
    volume = _number(frame, "volume", problems)
    apk = (
        _number(frame, "apk", problems)
        if "apk" in frame.columns
        else pd.Series(1.0, index=frame.index)
    )
    return volume, apk


def _number(frame: pd.DataFrame, column: str, problems: list[Problem]) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(float("nan"), index=frame.index)
    values = frame[column]
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = number.isna() & text.notna() & (text != "")
    if bad.any():
        problems.append(Problem("lmdb", column, "not a number", int(bad.sum()), example_rows(bad)))
    return number


def _netted(rows: pd.DataFrame, changes: list[Change]) -> pd.DataFrame:
    """Corrections (negative `apk`) subtracted from the dispensing they correct."""
    negative = rows["apk"] < 0
    if not negative.any():
        return rows
    keys = ["pnr", "atc_code", "package"]
    dispensings = rows[~negative].reset_index(names="target")
    corrections = rows[negative].reset_index(names="row")
    matched = pd.merge_asof(
        corrections.sort_values("dispense_date"),
        dispensings[[*keys, "dispense_date", "target"]].sort_values("dispense_date"),
        on="dispense_date",
        by=keys,
        direction="backward",
    )
    orphan = matched["target"].isna()
    _count(
        changes, "dropped", "correction (negative apk) without an earlier dispensing to net", orphan
    )
    taken = matched[~orphan].groupby("target")["apk"].sum()
    _count(changes, "merged", "correction (negative apk) netted against its dispensing", ~orphan)
    kept = rows[~negative].copy()
    kept.loc[taken.index, "apk"] = kept.loc[taken.index, "apk"] + taken
    gone = kept["apk"] <= 0
    _count(changes, "dropped", "dispensing cancelled by its corrections (net apk 0 or less)", gone)
    return kept[~gone]


def to_registers(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The contract's `prescriptions` (keyed by `pnr`) as LMDB rows: one package per
    dispensing whose volume is the dispensing's DDD (read back unchanged)."""
    t = table.reset_index(drop=True)
    lmdb = pd.DataFrame(
        {
            "pnr": t["pnr"].astype(object),
            "eksd": pd.to_datetime(t["dispense_date"]),
            "atc": t["atc_code"].astype(object),
            "volume": t["ddd"].astype("float64"),
            "apk": 1.0,
        }
    )
    return {"lmdb": lmdb}
