"""persons from BEF (or SDS's CPR table), DOD, VNDS, UDDA and IND.

The rules, each with its source, are in docs/registers.md ("persons"). In short: the BEF
snapshot in force at the extract date gives sex, birth date, municipality, origin and
living alone (persons no longer in it, the dead and emigrated, keep their latest
snapshot); DOD the death date; VNDS the emigration date (the latest emigration not
followed by a return before the extract date); UDDA the education level through DST's
level lookup and `data/education_levels.csv`; IND the income quintile within age band;
the GP contacts the clinic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from riskstrat.reference import municipalities
from riskstrat.registers.common import (
    Change,
    Converted,
    Problem,
    example_rows,
    parse_dates,
    require_columns,
)
from riskstrat.registers.social import education, income_quintiles, origin

TABLE = "persons"
REGISTERS = (
    "bef",
    "cpr3_t_person",
    "dod",
    "vnds",
    "vnds_ud",
    "vnds_ind",
    "vnds_hist",
    "udda",
    "audd_niveau",
    "ind",
)
SDS_REGISTERS = ("cpr3_t_person",)
BIRTH_COLUMNS = ("foed_dag", "foed_dato", "fdato")
SDS_MUNICIPALITY = ("c_kom", "kom", "c_kommunekode")
COLUMNS = [
    "pnr",
    "birth_date",
    "sex",
    "municipality_code",
    "gp_clinic_id",
    "education",
    "income_quintile",
    "origin",
    "living_alone",
    "death_date",
    "emigration_date",
]


def persons(
    registers: Mapping[str, pd.DataFrame],
    extract_date: date,
    problems: list[Problem],
    gp_contacts: pd.DataFrame | None = None,
) -> Converted | None:
    """The contract's persons table keyed by `pnr`, from BEF (or SDS's `cpr3_t_person`)
    and, where present, DOD, VNDS, UDDA (+ `audd_niveau`), IND and the GP contacts
    (`gp_contacts`: the converted table, keyed by `pnr`). None when neither BEF nor the
    CPR table is there."""
    changes: list[Change] = []
    if "bef" in registers:
        base = _from_bef(registers["bef"], extract_date, problems, changes)
    elif "cpr3_t_person" in registers:
        base = _from_cpr(registers["cpr3_t_person"], extract_date, problems, changes)
    else:
        return None
    if base is None:  # still read the other registers, so every problem is reported at once
        base = _new_base(pd.Series([], dtype="string")).assign(
            sex=pd.Series([], dtype="string"),
            birth_date=pd.Series([], dtype="datetime64[s]"),
            municipality_code=pd.Series([], dtype="Int64"),
        )
    base = _in_municipalities(base, changes)
    pnr = base["pnr"]
    if "dod" in registers:
        base["death_date"] = _death_dates(registers["dod"], pnr, extract_date, problems, changes)
    vnds = {k: registers[k] for k in ("vnds", "vnds_hist", "vnds_ud", "vnds_ind") if k in registers}
    if vnds:
        base["emigration_date"] = _emigration_dates(vnds, pnr, extract_date, problems, changes)
    if "udda" in registers:
        base["education"] = education(
            registers["udda"], registers.get("audd_niveau"), pnr, extract_date, problems, changes
        )
    if "ind" in registers:
        base["income_quintile"] = income_quintiles(
            registers["ind"], base, extract_date, problems, changes
        )
    if gp_contacts is not None and len(gp_contacts):
        base["gp_clinic_id"] = _gp_clinics(gp_contacts, pnr)
    base = _dates_after_birth(base, changes)
    return Converted(base[COLUMNS].reset_index(drop=True), changes, _rows(registers))


def _rows(registers: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    return {name: len(registers[name]) for name in REGISTERS if name in registers}


def _empty(pnr: pd.Series, dtype: str) -> pd.Series:
    return pd.Series(pd.NA, index=pnr.index, dtype=dtype)


def _dates_by_person(pnr: pd.Series, dates: pd.Series) -> pd.Series:
    """`dates` (indexed by unique pnr) looked up for each `pnr`, as dates (NaT if absent)."""
    found = dates.astype("datetime64[s]").reindex(pnr.to_numpy())
    return pd.Series(found.to_numpy(), index=pnr.index, dtype="datetime64[s]")


def _new_base(pnr: pd.Series) -> pd.DataFrame:
    base = pd.DataFrame({"pnr": pnr.astype("string").str.strip().to_numpy()})
    base["gp_clinic_id"] = pd.Series(pd.NA, index=base.index, dtype="string")
    base["education"] = pd.Series(pd.NA, index=base.index, dtype="string")
    base["income_quintile"] = pd.Series(pd.NA, index=base.index, dtype="Int64")
    base["origin"] = pd.Series(pd.NA, index=base.index, dtype="string")
    base["living_alone"] = pd.Series(pd.NA, index=base.index, dtype="boolean")
    base["death_date"] = pd.Series(pd.NaT, index=base.index, dtype="datetime64[s]")
    base["emigration_date"] = pd.Series(pd.NaT, index=base.index, dtype="datetime64[s]")
    return base


# --- BEF ---------------------------------------------------------------------------------


def _snapshot_dates(bef: pd.DataFrame, problems: list[Problem]) -> pd.Series:
    """Each BEF row's snapshot date: `referencetid` when given, else the file's period
    (`bef2023` -> 2023-12-31, `bef202312` -> 2023-12-31) or its `year` (a `year=2023`
    folder); one undated snapshot otherwise."""
    if "referencetid" in bef.columns:
        return parse_dates(bef["referencetid"], "bef", "referencetid", problems)
    period_column = next((c for c in ("source_period", "year") if c in bef.columns), None)
    if period_column is not None:
        period = (
            bef[period_column].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
        )
        month = period.str.slice(4, 6).replace("", "12").fillna("12")
        first = pd.to_datetime(period.str.slice(0, 4) + "-" + month + "-01", errors="coerce")
        return (first + pd.offsets.MonthEnd(0)).astype("datetime64[s]")
    return pd.Series(pd.NaT, index=bef.index, dtype="datetime64[s]")


def _from_bef(
    bef: pd.DataFrame, extract_date: date, problems: list[Problem], changes: list[Change]
) -> pd.DataFrame | None:
    birth_col = next((c for c in BIRTH_COLUMNS if c in bef.columns), "foed_dag")
    if not require_columns(bef, "bef", ["pnr", "koen", birth_col, "kom"], problems):
        return None
    snapshot = _snapshot_dates(bef, problems)
    later = snapshot.notna() & (snapshot >= pd.Timestamp(extract_date))
    if later.any():
        changes.append(
            Change(
                "bef",
                TABLE,
                "dropped",
                "snapshot dated on or after the extract date",
                int(later.sum()),
            )
        )
    rows = bef.loc[~later].assign(_snapshot=snapshot[~later])
    twice = rows.duplicated(["pnr", "_snapshot"])
    if twice.any():
        # two rows of one person in one snapshot: the key is not unique (two persons under
        # one pnr would be merged silently)
        problems.append(
            Problem(
                "bef", "pnr", "given twice in one snapshot", int(twice.sum()), example_rows(twice)
            )
        )
    latest = rows.sort_values("_snapshot", kind="stable").drop_duplicates("pnr", keep="last")
    earlier = len(rows) - len(latest)
    if earlier:
        changes.append(
            Change(
                "bef",
                TABLE,
                "merged",
                "rows of earlier snapshots (attributes from each person's latest snapshot "
                "before the extract date)",
                earlier,
            )
        )
    latest = latest.reset_index(drop=True)
    base = _new_base(latest["pnr"])
    base["sex"] = _coded(latest["koen"], {"1": "M", "2": "F"}, "bef", "koen", problems)
    base["birth_date"] = parse_dates(latest[birth_col], "bef", birth_col, problems)
    base["municipality_code"] = _whole_numbers(latest["kom"], "bef", "kom", problems)
    if "antpersh" in latest.columns:
        size = _whole_numbers(latest["antpersh"], "bef", "antpersh", problems)
        base["living_alone"] = (size == 1).astype("boolean").mask(size.isna())
    if "ie_type" in latest.columns:
        base["origin"] = origin(latest, changes, problems)
    return base


def _from_cpr(
    cpr: pd.DataFrame, extract_date: date, problems: list[Problem], changes: list[Change]
) -> pd.DataFrame | None:
    register = "cpr3_t_person"
    kom = next((c for c in SDS_MUNICIPALITY if c in cpr.columns), "c_kom")
    if not require_columns(cpr, register, ["pnr", "c_kon", "d_foddato", kom], problems):
        return None
    twice = cpr["pnr"].duplicated()
    if twice.any():
        changes.append(
            Change(register, TABLE, "dropped", "pnr given twice (first row kept)", int(twice.sum()))
        )
    cpr = cpr.loc[~twice].reset_index(drop=True)
    base = _new_base(cpr["pnr"])
    base["sex"] = _coded(cpr["c_kon"], {"M": "M", "K": "F"}, register, "c_kon", problems)
    base["birth_date"] = parse_dates(cpr["d_foddato"], register, "d_foddato", problems)
    base["municipality_code"] = _whole_numbers(cpr[kom], register, kom, problems)
    if {"c_status", "d_status_hen_start"} <= set(cpr.columns):
        status = cpr["c_status"].astype("string").str.strip().str.zfill(2)
        since = parse_dates(cpr["d_status_hen_start"], register, "d_status_hen_start", problems)
        before = since < pd.Timestamp(extract_date)
        # c_status 90 dead, 80 abroad (registers-notes: SDS CPR); DOD and VNDS win when present
        base["death_date"] = since.where((status == "90") & before).to_numpy()
        base["emigration_date"] = since.where((status == "80") & before).to_numpy()
    return base


def _coded(
    values: pd.Series, codes: dict[str, str], register: str, column: str, problems: list[Problem]
) -> pd.Series:
    text = values.astype("string").str.strip().str.upper().str.replace(r"\.0$", "", regex=True)
    out = text.map(codes)
    bad = out.isna()
    if bad.any():
        allowed = " or ".join(codes)
        problems.append(
            Problem(register, column, f"must be {allowed}", int(bad.sum()), example_rows(bad))
        )
    return out.astype("string")


def _whole_numbers(
    values: pd.Series, register: str, column: str, problems: list[Problem]
) -> pd.Series:
    numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    bad = (numbers.isna() & values.notna() & (values.astype("string").str.strip() != "")) | (
        numbers.notna() & (numbers % 1 != 0)
    )
    if bad.any():
        problems.append(
            Problem(register, column, "not a whole number", int(bad.sum()), example_rows(bad))
        )
    return numbers.where(~bad).astype("Int64")


def _in_municipalities(base: pd.DataFrame, changes: list[Change]) -> pd.DataFrame:
    """Persons living in one of the 98 municipalities; others (no `kom`, Greenland, abroad,
    pre-2007 codes) are dropped with a count, and so are their events (importer)."""
    known = set(municipalities()["municipality_code"])
    inside = base["municipality_code"].isin(known).fillna(False).astype(bool)
    if not inside.all():
        changes.append(
            Change(
                "bef",
                TABLE,
                "dropped",
                "municipality (kom) missing or not one of the 98 municipalities",
                int((~inside).sum()),
            )
        )
    return base.loc[inside].reset_index(drop=True)


# --- DOD, VNDS ---------------------------------------------------------------------------


def _death_dates(
    dod: pd.DataFrame,
    pnr: pd.Series,
    extract_date: date,
    problems: list[Problem],
    changes: list[Change],
) -> pd.Series:
    if not require_columns(dod, "dod", ["pnr", "doddato"], problems):
        return _empty(pnr, "datetime64[s]")
    when = parse_dates(dod["doddato"], "dod", "doddato", problems)
    later = when >= pd.Timestamp(extract_date)
    if later.any():
        changes.append(
            Change("dod", TABLE, "dropped", "death on or after the extract date", int(later.sum()))
        )
    first = (
        pd.DataFrame({"pnr": dod["pnr"].astype("string").str.strip(), "when": when})[~later]
        .dropna()
        .groupby("pnr")["when"]
        .min()
    )
    return _dates_by_person(pnr, first)


def _emigration_dates(
    vnds: Mapping[str, pd.DataFrame],
    pnr: pd.Series,
    extract_date: date,
    problems: list[Problem],
    changes: list[Change],
) -> pd.Series:
    """The latest emigration not followed by an immigration before the extract date; a
    return on the same day as an emigration counts as after it (the person is resident)."""
    moves = []
    for name, frame in vnds.items():
        fixed = {"vnds_ud": "U", "vnds_ind": "I"}.get(name)
        needed = ["pnr", "haend_dato"] + ([] if fixed else ["indud_kode"])
        if not require_columns(frame, name, needed, problems):
            continue
        when = parse_dates(frame["haend_dato"], name, "haend_dato", problems)
        if fixed:
            kind = pd.Series(fixed, index=frame.index, dtype="string")
        else:
            kind = frame["indud_kode"].astype("string").str.strip().str.upper()
            bad = ~kind.isin(["I", "U"])
            if bad.any():
                problems.append(
                    Problem(name, "indud_kode", "must be I or U", int(bad.sum()), example_rows(bad))
                )
        moves.append(
            pd.DataFrame(
                {"pnr": frame["pnr"].astype("string").str.strip(), "when": when, "kind": kind}
            )
        )
    if not moves:
        return _empty(pnr, "datetime64[s]")
    all_moves = pd.concat(moves, ignore_index=True).dropna()
    later = all_moves["when"] >= pd.Timestamp(extract_date)
    if later.any():
        changes.append(
            Change("vnds", TABLE, "dropped", "moves on or after the extract date", int(later.sum()))
        )
    all_moves = all_moves[~later & all_moves["kind"].isin(["I", "U"])]
    # by date, and on one day the emigration before the return (the return is the latest)
    all_moves = all_moves.assign(order=all_moves["kind"].map({"U": 0, "I": 1}))
    last = all_moves.sort_values(["pnr", "when", "order"]).drop_duplicates("pnr", keep="last")
    abroad = last[last["kind"] == "U"].set_index("pnr")["when"]
    emigrated = all_moves.loc[all_moves["kind"] == "U", "pnr"]
    back = int(((last["kind"] == "I") & last["pnr"].isin(emigrated)).sum())
    if back:
        changes.append(
            Change(
                "vnds",
                TABLE,
                "changed",
                "emigrated and returned before the extract date: no emigration date",
                back,
            )
        )
    return _dates_by_person(pnr, abroad)


# --- GP clinic, checks -------------------------------------------------------------------


def _gp_clinics(gp_contacts: pd.DataFrame, pnr: pd.Series) -> pd.Series:
    """The clinic of each person's latest GP contact with a clinic (out-of-hours contacts
    left out; on one day with several clinics, the highest clinic id)."""
    contacts = gp_contacts.dropna(subset=["clinic_id"])
    if "contact_kind" in contacts.columns:
        contacts = contacts[contacts["contact_kind"] != "out_of_hours"]
    latest = contacts.sort_values(["pnr", "contact_date", "clinic_id"]).drop_duplicates(
        "pnr", keep="last"
    )
    clinic = pd.Series(
        latest["clinic_id"].astype("string").to_numpy(), index=latest["pnr"].to_numpy()
    )
    return pnr.map(clinic).astype("string")


def _dates_after_birth(base: pd.DataFrame, changes: list[Change]) -> pd.DataFrame:
    for column, register in (("death_date", "dod"), ("emigration_date", "vnds")):
        before = base[column] < base["birth_date"]
        if before.any():
            changes.append(
                Change(
                    register,
                    TABLE,
                    "changed",
                    f"{column} before birth: left empty",
                    int(before.sum()),
                )
            )
            base[column] = base[column].mask(before)
    return base


# --- the inverse, for the synthetic round trip ------------------------------------------

# register values the synthetic registers use for each contract value: opr_land as ISO
# codes (data/western_countries.csv), hfaudd as codes of the lookup written beside them
SYNTH_ORIGIN = {
    "danish": ("1", "DK"),
    "immigrant_western": ("2", "NO"),
    "immigrant_non_western": ("2", "TR"),
    "descendant_western": ("3", "DE"),
    "descendant_non_western": ("3", "PK"),
}
SYNTH_HFAUDD = {"basic": "1001", "upper_secondary": "2015", "tertiary": "6510", "unknown": "9999"}
SYNTH_LEVEL = {"basic": "10", "upper_secondary": "20", "tertiary": "65", "unknown": "90"}


def to_registers(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The persons table (keyed by `pnr`) as BEF, DOD, VNDS, UDDA (with its level lookup
    `audd_niveau`) and IND. IND's incomes are ranks that keep the table's quintile order
    (the importer recomputes quintiles within age band: a documented transformation)."""
    table = table.reset_index(drop=True)
    origin = table["origin"].map(SYNTH_ORIGIN)
    alone = table["living_alone"].astype("boolean")
    bef = pd.DataFrame(
        {
            "pnr": table["pnr"],
            "koen": table["sex"].map({"M": 1, "F": 2}).astype("Int64"),
            "foed_dag": table["birth_date"],
            "kom": table["municipality_code"].astype("Int64"),
            "ie_type": origin.map(lambda o: o[0] if isinstance(o, tuple) else "9"),
            "opr_land": origin.map(lambda o: o[1] if isinstance(o, tuple) else None),
            "antpersh": pd.Series(np.where(alone.fillna(False), 1, 2), dtype="Int64").mask(
                alone.isna().to_numpy()
            ),
        }
    )
    dead = table["death_date"].notna()
    dod = pd.DataFrame({"pnr": table.loc[dead, "pnr"], "doddato": table.loc[dead, "death_date"]})
    gone = table["emigration_date"].notna()
    vnds = pd.DataFrame(
        {
            "pnr": table.loc[gone, "pnr"],
            "indud_kode": "U",
            "haend_dato": table.loc[gone, "emigration_date"],
        }
    )
    known = table["education"].notna()
    udda = pd.DataFrame(
        {"pnr": table.loc[known, "pnr"], "hfaudd": table.loc[known, "education"].map(SYNTH_HFAUDD)}
    )
    lookup = pd.DataFrame(
        {"hfaudd": list(SYNTH_HFAUDD.values()), "hovedgruppe": list(SYNTH_LEVEL.values())}
    )
    earning = table["income_quintile"].notna()
    rank = table.loc[earning, "income_quintile"].astype("int64") * 1_000_000
    ind = pd.DataFrame(
        {
            "pnr": table.loc[earning, "pnr"],
            "aekvivadisp_13": (rank + np.arange(int(earning.sum()))).astype("float64"),
        }
    )
    return {
        "bef": bef.reset_index(drop=True),
        "dod": dod.reset_index(drop=True),
        "vnds": vnds.reset_index(drop=True),
        "udda": udda.reset_index(drop=True),
        "audd_niveau": lookup,
        "ind": ind.reset_index(drop=True),
    }
