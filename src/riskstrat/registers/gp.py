"""The Health Insurance Service Register (SSSY from 2006, SYSI 1990–2005) → `gp_contacts`.

A row is a fee claim: provider (`ydernr`), fee week (`honuge`, yyww), `speciale` (two
digits of specialty, 80 = general practice, then a four-digit fee code) and the number of
services (`ydlant`). A general-practice fee code that is a contact gives the contact kind
(shipped mapping `data/registers/gp_service_codes.csv`); the timing code `ydltid` marks
out-of-hours services. Each service becomes one contact dated the Monday of its fee week.
Rules and sources: docs/registers-events.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from riskstrat.reference import data_path
from riskstrat.registers.common import (
    Change,
    Converted,
    Problem,
    code_text,
    example_rows,
    require_columns,
)

TABLE = "gp_contacts"
REGISTERS: tuple[str, ...] = ("sssy", "sysi")
COLUMNS = ["pnr", "contact_date", "contact_kind", "clinic_id"]
GENERAL_PRACTICE = "80"
DAYTIME = "1"  # ydltid: 1 daytime, 2-9 evening, night and weekend (out of hours)
SPLIT_YEAR = 2006  # the first SSSY year; SYSI runs to 2005, which SSSY may repeat


@cache
def service_kinds() -> dict[str, str]:
    """General-practice fee code (four digits) → contract contact kind (shipped mapping)."""
    table = pd.read_csv(data_path("registers", "gp_service_codes.csv"), dtype=str)
    return dict(zip(table["service_code"], table["contact_kind"], strict=True))


def gp_contacts(
    registers: Mapping[str, pd.DataFrame], extract_date: date, problems: list[Problem]
) -> Converted | None:
    """SSSY/SYSI general-practice contacts as `gp_contacts` rows keyed by `pnr`, one per
    service; None when neither register is present. `extract_date` is not needed: fee weeks
    are whole weeks of the past."""
    present = [name for name in REGISTERS if name in registers]
    if not present:
        return None
    changes: list[Change] = []
    claims = {}
    for name in present:
        claim = _claims(registers[name], name, problems, changes)
        if claim is not None:
            claims[name] = claim
    if "sssy" in claims and "sysi" in claims:
        claims["sysi"] = _without_sssy_years(claims["sysi"], claims["sssy"], changes)
    rows = [_contacts(claim, name, changes) for name, claim in claims.items()]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=COLUMNS)
    table = table.sort_values(["pnr", "contact_date", "contact_kind"], kind="stable")
    return Converted(
        table.reset_index(drop=True)[COLUMNS],
        changes,
        {name: len(registers[name]) for name in present},
    )


def _claims(
    frame: pd.DataFrame, name: str, problems: list[Problem], changes: list[Change]
) -> pd.DataFrame | None:
    """The register's general-practice contact claims: pnr, week, clinic, kind, services."""
    if not require_columns(frame, name, ["pnr", "honuge", "speciale"], problems):
        return None
    out = pd.DataFrame({"pnr": frame["pnr"].astype("string")})
    out["week"], out["year"] = _fee_weeks(frame["honuge"], name, problems)
    speciale = code_text(frame["speciale"]).str.zfill(6)
    out["clinic"] = code_text(frame["ydernr"]) if "ydernr" in frame.columns else pd.NA
    out["services"] = _services(frame, name, problems, changes)
    out["ooh"] = _out_of_hours(frame, name, changes)
    keep = _own_services(frame, name, changes)
    other = keep & ~(speciale.str[:2] == GENERAL_PRACTICE).fillna(False)
    _drop(changes, name, other, "not general practice (speciale does not start with 80)")
    kind = speciale.str[2:].map(service_kinds())
    no_contact = keep & ~other & kind.isna()
    _drop(changes, name, no_contact, "general-practice fee code that is not a contact")
    out["kind"] = kind.where(~out["ooh"], "out_of_hours")
    out["speciale"] = speciale
    return out[keep & ~other & ~no_contact & out["week"].notna()]


def _drop(changes: list[Change], name: str, mask: pd.Series, reason: str) -> None:
    if mask.any():
        changes.append(Change(name, TABLE, "dropped", reason, int(mask.sum())))


def fee_week_monday(values: pd.Series, name: str, problems: list[Problem]) -> pd.Series:
    """`honuge` (yyww; years 90-99 are 19xx, the rest 20xx; a leading zero lost to a
    numeric column is put back) as the Monday of that ISO week."""
    return _fee_weeks(values, name, problems)[0]


def _fee_weeks(
    values: pd.Series, name: str, problems: list[Problem]
) -> tuple[pd.Series, pd.Series]:
    """The Monday of each fee week, and the fee year (not always the Monday's year)."""
    text = code_text(values).str.zfill(4)
    good = text.str.fullmatch(r"[0-9]{4}").fillna(False).astype(bool)
    yyww = text.where(good, "0000").astype("int64").to_numpy()
    yy, week = yyww // 100, yyww % 100
    bad = (text.notna() & ~good) | (good & ((week < 1) | (week > 53)))
    if bad.any():
        problems.append(
            Problem(
                name,
                "honuge",
                "unparseable fee week (yyww, week 01-53)",
                int(bad.sum()),
                example_rows(bad),
            )
        )
    ok = (~bad & text.notna()).to_numpy()
    year = pd.Series(np.where(yy >= 90, 1900 + yy, 2000 + yy), index=values.index).where(ok)
    # ISO week 1 is the week with 4 January; week w starts w - 1 weeks after its Monday, so
    # week 53 of a 52-week year is the Monday after week 52 (osdc's yyww_to_yyyymmdd)
    jan4 = pd.to_datetime(year * 10000 + 104, format="%Y%m%d", errors="coerce")
    monday = jan4 - pd.to_timedelta(jan4.dt.weekday, unit="D")
    offset = pd.Series(np.where(ok, (week - 1) * 7, np.nan), index=values.index)
    monday = monday + pd.to_timedelta(offset, unit="D")
    return monday.astype("datetime64[s]"), year


def _services(
    frame: pd.DataFrame, name: str, problems: list[Problem], changes: list[Change]
) -> pd.Series:
    if "ydlant" not in frame.columns:
        changes.append(
            Change(name, TABLE, "warning", "no ydlant column: one service per row", len(frame))
        )
        return pd.Series(1, index=frame.index)
    count = pd.to_numeric(frame["ydlant"], errors="coerce")
    bad = count.isna() | (count != count.round())
    if bad.any():
        problems.append(
            Problem(
                name,
                "ydlant",
                "number of services must be a whole number",
                int(bad.sum()),
                example_rows(bad),
            )
        )
    return count.where(~bad, 0).astype("int64")


def _out_of_hours(frame: pd.DataFrame, name: str, changes: list[Change]) -> pd.Series:
    if "ydltid" not in frame.columns:
        changes.append(
            Change(
                name,
                TABLE,
                "warning",
                "no ydltid column: no service read as out of hours",
                len(frame),
            )
        )
        return pd.Series(False, index=frame.index)
    timing = code_text(frame["ydltid"])
    return timing.str.fullmatch(r"[2-9]").fillna(False).astype(bool)


def _own_services(frame: pd.DataFrame, name: str, changes: list[Change]) -> pd.Series:
    """barnmak = 0: the service was given to the person whose pnr the row carries."""
    if "barnmak" not in frame.columns:
        changes.append(
            Change(
                name,
                TABLE,
                "warning",
                "no barnmak column: every row read as the person's own service",
                len(frame),
            )
        )
        return pd.Series(True, index=frame.index)
    child = ~(code_text(frame["barnmak"]).isin(["0"])).fillna(False).astype(bool)
    _drop(changes, name, child, "service to the person's child (barnmak not 0)")
    return ~child


def _without_sssy_years(
    sysi: pd.DataFrame, sssy: pd.DataFrame, changes: list[Change]
) -> pd.DataFrame:
    """2005 is delivered in both registers: a SYSI year that SSSY also covers is read from
    SSSY only."""
    twice = sysi["year"].isin(set(sssy["year"].unique()))
    _drop(
        changes, "sysi", twice, "year also in SSSY (2005 is delivered in both): read from SSSY only"
    )
    return sysi[~twice]


def _contacts(claims: pd.DataFrame, name: str, changes: list[Change]) -> pd.DataFrame:
    """Claims netted per person, clinic, fee code, week and timing (corrections carry
    negative counts), then one contact per service."""
    keys = ["pnr", "clinic", "speciale", "week", "ooh", "kind"]
    netted = claims.groupby(keys, dropna=False, sort=False)["services"].sum().reset_index()
    none = netted["services"] <= 0
    if none.any():
        changes.append(
            Change(
                name, TABLE, "dropped", "claims whose services net to zero or less", int(none.sum())
            )
        )
    netted = netted[~none]
    expanded = int(netted["services"].sum()) - len(netted)
    if expanded:
        changes.append(
            Change(
                name,
                TABLE,
                "changed",
                "claims of several services written as one contact per service",
                expanded,
            )
        )
    rows = netted.loc[netted.index.repeat(netted["services"])]
    clinic = rows["clinic"].astype(object)
    return pd.DataFrame(
        {
            "pnr": rows["pnr"].astype(object).to_numpy(),
            "contact_date": rows["week"].to_numpy(),
            "contact_kind": rows["kind"].astype(object).to_numpy(),
            "clinic_id": clinic.where(clinic.notna(), None).to_numpy(),
        }
    )


# ------------------------------------------------------------------------------ inverse
KIND_CODES = {"consultation": "0101", "phone": "0201", "email": "0105", "home_visit": "0411"}


def to_registers(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The contract's `gp_contacts` (keyed by `pnr`) as SYSI (to 2005) and SSSY claims:
    contacts of one person, clinic, kind and ISO week become one row with `ydlant` = their
    number; out-of-hours contacts are consultations with timing code 2. Reading them back
    dates each contact on the Monday of its week (docs/registers-events.md)."""
    t = table.reset_index(drop=True)
    when = pd.to_datetime(t["contact_date"]).dt.isocalendar()
    ooh = t["contact_kind"] == "out_of_hours"
    claims = pd.DataFrame(
        {
            "pnr": t["pnr"].astype(object),
            "ydernr": t["clinic_id"].astype(object).where(t["clinic_id"].notna(), None),
            "honuge": [
                f"{y % 100:02d}{w:02d}" for y, w in zip(when["year"], when["week"], strict=True)
            ],
            "speciale": GENERAL_PRACTICE + t["contact_kind"].map(KIND_CODES).fillna("0101"),
            "ydltid": np.where(ooh, "2", DAYTIME),
            "barnmak": "0",
            "year": when["year"].astype("int64"),
        }
    )
    keys = ["pnr", "ydernr", "honuge", "speciale", "ydltid", "barnmak", "year"]
    grouped = claims.groupby(keys, dropna=False, sort=False).size().rename("ydlant").reset_index()
    out = {}
    for name, rows in (
        ("sysi", grouped["year"] < SPLIT_YEAR),
        ("sssy", grouped["year"] >= SPLIT_YEAR),
    ):
        if rows.any():
            out[name] = grouped[rows].drop(columns="year").reset_index(drop=True)
    return out
