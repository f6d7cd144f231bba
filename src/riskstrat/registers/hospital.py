"""The National Patient Register (LPR) → `hospital_contacts`.

LPR2 (`lpr_adm` + `lpr_diag`, to early 2019) gives one row per contact with its patient
type. LPR3 (from 2019: DST's `kontakter` + `diagnoser`, DST's LPR_A `lpr_a_kontakt` +
`lpr_a_diagnose`, or SDS's `lpr3_sb_kontakt` + `lpr3_sb_diagnose`) has no inpatient flag:
physical attendances that overlap or lie at most 4 hours apart form one hospital stay, and
a stay of 12 hours or more is an admission (eSundhed, "Nøgletal for sygehusvæsenet";
DST, Sygehusbenyttelse, "Statistisk behandling"). Each LPR3 stay becomes one contract row.
The rules, their sources and the stay transformation: docs/registers-events.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from riskstrat.registers.common import (
    Change,
    Converted,
    Problem,
    code_text,
    example_rows,
    parse_dates,
    require_columns,
)

TABLE = "hospital_contacts"
COLUMNS = [
    "pnr",
    "start_date",
    "end_date",
    "contact_type",
    "acute",
    "action_diagnosis",
    "secondary_diagnoses",
    "hospital_code",
]
# from 2014 LPR2 no longer marks ED visits (c_pattype 3): an acute outpatient is one (DST)
ED_AS_ACUTE_OUTPATIENT_FROM = pd.Timestamp(2014, 1, 1)
ICD10_FROM = pd.Timestamp(1994, 1, 1)
ADMISSION = pd.Timedelta(hours=12)
STAY_GAP = pd.Timedelta(hours=4)
PHYSICAL_ATTENDANCE = "ALCA00"
ACUTE_PRIORITY = "ATA1"


@dataclass(frozen=True)
class Lpr3Layout:
    """Where one LPR3 delivery keeps the fields a stay needs (column names lower case)."""

    contacts: str
    diagnoses: str
    key: str
    start: tuple[str, str | None]  # date (or timestamp) column, time column
    end: tuple[str, str | None]
    kind: str
    priority: str
    action: str
    hospital: str
    code: str
    code_type: tuple[str, ...]  # the first present is used


LPR3_LAYOUTS = (
    Lpr3Layout(
        "kontakter", "diagnoser", "dw_ek_kontakt", ("dato_start", "tidspunkt_start"),
        ("dato_slut", "tidspunkt_slut"), "kontakttype", "prioritet", "aktionsdiagnose",
        "sorenhed_ans", "diagnosekode", ("diagnosetype",),
    ),
    Lpr3Layout(
        "lpr_a_kontakt", "lpr_a_diagnose", "dw_ek_kontakt", ("kont_starttidspunkt", None),
        ("kont_sluttidspunkt", None), "kont_type", "prioritet", "adiag", "kont_ans",
        "diag_kode", ("diag_kode_type", "diag_type"),
    ),
    Lpr3Layout(
        "lpr3_sb_kontakt", "lpr3_sb_diagnose", "kontakt_id", ("starttidspunkt", None),
        ("sluttidspunkt", None), "kontakttype", "prioritet", "aktionsdiagnose",
        "sorenhed_ans", "kode", ("art", "diagnosetype"),
    ),
)  # fmt: skip
REGISTERS: tuple[str, ...] = ("lpr_adm", "lpr_diag") + tuple(
    name for layout in LPR3_LAYOUTS for name in (layout.contacts, layout.diagnoses)
)


def hospital_contacts(
    registers: Mapping[str, pd.DataFrame], extract_date: date, problems: list[Problem]
) -> Converted | None:
    """LPR2 contacts and LPR3 stays as `hospital_contacts` rows keyed by `pnr`.

    Takes the LPR frames present (lower-case columns) and the extract date (ongoing LPR3
    contacts count up to it); returns None when no LPR register is present. Bad values are
    appended to `problems`; every dropped or changed row is a `Change` of the result.
    """
    if not any(name in registers for name in REGISTERS):
        return None
    changes: list[Change] = []
    rows_read = {name: len(registers[name]) for name in REGISTERS if name in registers}
    parts = []
    layouts = [layout for layout in LPR3_LAYOUTS if layout.contacts in registers]
    # DST delivers the same LPR3 contacts in two formats (LPR_F and LPR_A; osdc's edge
    # cases say so): read one, so no contact is counted twice
    for other in layouts[1:]:
        for name in (other.contacts, other.diagnoses):
            if name in registers:
                reason = f"same LPR3 contacts as {layouts[0].contacts}: read from there"
                changes.append(Change(name, TABLE, "dropped", reason, len(registers[name])))
    for layout in layouts[:1]:
        contacts = _lpr3_contacts(registers, layout, problems, changes)
        if contacts is not None:
            parts.append(_lpr3_stays(contacts, pd.Timestamp(extract_date), layout, changes))
    for layout in LPR3_LAYOUTS:
        if layout.diagnoses in registers and layout.contacts not in registers:
            problems.append(
                Problem(
                    layout.diagnoses, None, f"diagnoses without their contacts ({layout.contacts})"
                )
            )
    lpr3 = pd.concat(parts, ignore_index=True) if parts else _empty()
    lpr2 = _lpr2(registers, problems, changes)
    if lpr2 is not None and len(lpr3):
        lpr2 = _without_lpr3_overlap(lpr2, lpr3, pd.Timestamp(extract_date), changes)
    table = pd.concat([t for t in (lpr2, lpr3) if t is not None and len(t)] or [_empty()])
    table = table.sort_values(["pnr", "start_date", "contact_type"], kind="stable")
    return Converted(_typed(table.reset_index(drop=True)[COLUMNS]), changes, rows_read)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Contract types: dates as `datetime64[s]`, `acute` as bool, text as objects with None
    for missing (never pandas' NA, which has no truth value)."""
    out = table.copy()
    for column in ("start_date", "end_date"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[s]")
    out["acute"] = out["acute"].astype(bool)
    for column in (
        "pnr",
        "contact_type",
        "action_diagnosis",
        "secondary_diagnoses",
        "hospital_code",
    ):
        text = out[column].astype(object)
        out[column] = text.where(text.notna(), None)
    return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})


def _text(values: pd.Series) -> pd.Series:
    """Register codes as trimmed upper-case text; empty is missing."""
    return code_text(values).str.upper()


# ------------------------------------------------------------------------------ LPR3
def _lpr3_contacts(
    registers: Mapping[str, pd.DataFrame],
    layout: Lpr3Layout,
    problems: list[Problem],
    changes: list[Change],
) -> pd.DataFrame | None:
    """One row per LPR3 contact: pnr, key, start, end, ongoing, physical, acute, action
    diagnosis, secondary diagnoses (a list) and hospital."""
    frame = registers[layout.contacts]
    name = layout.contacts
    if not require_columns(frame, name, ["pnr", layout.key, layout.start[0]], problems):
        return None
    out = pd.DataFrame({"pnr": frame["pnr"].astype("string"), "key": _text(frame[layout.key])})
    out["start"] = _moments(frame, name, *layout.start, problems)
    if layout.end[0] in frame.columns:
        out["end"] = _moments(frame, name, *layout.end, problems)
    else:
        changes.append(
            Change(
                name,
                TABLE,
                "warning",
                f"no {layout.end[0]} column: every contact read as ending when it starts (never an admission)",
                len(frame),
            )
        )
        out["end"] = out["start"]
    out["ongoing"] = out["end"].isna()
    out["physical"] = _flag(frame, name, layout.kind, PHYSICAL_ATTENDANCE, True, changes)
    out["acute"] = _flag(frame, name, layout.priority, ACUTE_PRIORITY, False, changes)
    out["hospital"] = _text(frame[layout.hospital]) if layout.hospital in frame.columns else pd.NA
    given = _text(frame[layout.action]) if layout.action in frame.columns else pd.NA
    out["given_action"] = given
    diagnoses = _lpr3_diagnoses(registers, layout, problems, changes)
    return _attach_diagnoses(out, diagnoses, name, changes)


def _flag(
    frame: pd.DataFrame, name: str, column: str, value: str, default: bool, changes: list[Change]
) -> pd.Series:
    if column not in frame.columns:
        changes.append(
            Change(
                name,
                TABLE,
                "warning",
                f"no {column} column: read as {'physical attendance' if default else 'not acute'}",
                len(frame),
            )
        )
        return pd.Series(default, index=frame.index)
    return (_text(frame[column]) == value).fillna(False).astype(bool)


def _moments(
    frame: pd.DataFrame,
    name: str,
    date_column: str,
    time_column: str | None,
    problems: list[Problem],
) -> pd.Series:
    """Date and time of day as one timestamp (a missing time of day is midnight)."""
    values = frame[date_column]
    if pd.api.types.is_datetime64_any_dtype(values):
        moments = values.dt.tz_localize(None) if values.dt.tz is not None else values
        moments = moments.astype("datetime64[ns]")
    else:
        text = values.astype("string").str.strip()
        moments = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d%b%Y:%H:%M:%S"):
            todo = moments.isna() & text.notna() & (text != "")
            if not todo.any():
                break
            moments[todo] = pd.to_datetime(
                text[todo].str.title() if "%b" in fmt else text[todo], format=fmt, errors="coerce"
            )
        rest = moments.isna() & text.notna() & (text != "")
        if rest.any():
            moments[rest] = parse_dates(values[rest], name, date_column, problems).astype(
                "datetime64[ns]"
            )
    if time_column is None or time_column not in frame.columns:
        return moments
    return moments + _times(frame[time_column], name, time_column, problems)


def _times(values: pd.Series, name: str, column: str, problems: list[Problem]) -> pd.Series:
    """Time of day as a duration since midnight: `08:30`, `08:30:00`, SAS seconds."""
    if pd.api.types.is_timedelta64_dtype(values):
        return values.fillna(pd.Timedelta(0))
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_timedelta(values.fillna(0), unit="s")
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    padded = text.where(text.str.count(":") != 1, text + ":00")
    parsed = pd.to_timedelta(padded.astype(object), errors="coerce")
    bad = parsed.isna() & text.notna() | (parsed >= pd.Timedelta(days=1))
    if bad.any():
        problems.append(
            Problem(name, column, "unparseable time of day", int(bad.sum()), example_rows(bad))
        )
    return parsed.where(~bad).fillna(pd.Timedelta(0))


def _lpr3_diagnoses(
    registers: Mapping[str, pd.DataFrame],
    layout: Lpr3Layout,
    problems: list[Problem],
    changes: list[Change],
) -> pd.DataFrame:
    """Diagnosis rows kept: key, code, kind (A or B); disproved and add-on rows dropped."""
    frame = registers.get(layout.diagnoses)
    name = layout.diagnoses
    empty = pd.DataFrame({"key": [], "code": [], "kind": []}, dtype="string")
    if frame is None:
        return empty
    type_column = next((c for c in layout.code_type if c in frame.columns), layout.code_type[0])
    if not require_columns(frame, name, [layout.key, layout.code, type_column], problems):
        return empty
    rows = pd.DataFrame(
        {
            "key": _text(frame[layout.key]),
            "code": _text(frame[layout.code]),
            "kind": _text(frame[type_column]),
        }
    )
    keep = pd.Series(True, index=frame.index)
    if "senere_afkraeftet" in frame.columns:
        disproved = (_text(frame["senere_afkraeftet"]) == "JA").fillna(False)
        _drop(changes, name, disproved, "diagnosis later disproved (senere_afkraeftet = Ja)")
        keep &= ~disproved
    return _typed_diagnoses(rows, keep, name, changes)


def _typed_diagnoses(
    rows: pd.DataFrame, keep: pd.Series, name: str, changes: list[Change]
) -> pd.DataFrame:
    add_on = keep & (rows["kind"] == "+").fillna(False)
    _drop(changes, name, add_on, "add-on code (diagnosis type +), not a diagnosis")
    other = keep & ~add_on & ~rows["kind"].isin(["A", "B"]).fillna(False)
    _drop(changes, name, other, "diagnosis type other than A (action) or B (secondary)")
    empty_code = keep & ~add_on & ~other & rows["code"].isna()
    _drop(changes, name, empty_code, "empty diagnosis code")
    return rows[keep & ~add_on & ~other & ~empty_code]


def _drop(changes: list[Change], name: str, mask: pd.Series, reason: str) -> None:
    if mask.any():
        changes.append(Change(name, TABLE, "dropped", reason, int(mask.sum())))


def _attach_diagnoses(
    contacts: pd.DataFrame, diagnoses: pd.DataFrame, name: str, changes: list[Change]
) -> pd.DataFrame:
    """The contact's action diagnosis (its own field, else its first A row) and the list of
    its other diagnoses (B rows, and further A rows)."""
    first_a = diagnoses[diagnoses["kind"] == "A"].drop_duplicates("key").set_index("key")["code"]
    action = contacts["given_action"].fillna(contacts["key"].map(first_a))
    contacts = contacts.assign(action=action).drop(columns="given_action")
    listed = diagnoses.merge(contacts[["key", "action"]], on="key", how="inner")
    extra_a = (listed["kind"] == "A") & (listed["code"] != listed["action"]).fillna(True)
    if extra_a.any():
        changes.append(
            Change(
                name,
                TABLE,
                "changed",
                "a further A diagnosis of a contact kept as a secondary diagnosis",
                int(extra_a.sum()),
            )
        )
    # a B row repeating the action diagnosis is kept as written (the generator writes such)
    others = listed[(listed["kind"] == "B") | extra_a].drop_duplicates(["key", "code"])
    # joined text, not lists: pandas may store lists as Arrow lists that map() hands back
    # as arrays
    contacts["others"] = contacts["key"].map(
        others.groupby("key", sort=False)["code"].agg(";".join)
    )
    return contacts


def _lpr3_stays(
    contacts: pd.DataFrame, extract: pd.Timestamp, layout: Lpr3Layout, changes: list[Change]
) -> pd.DataFrame:
    """Physical attendances linked into stays (overlapping or ≤ 4 h apart), one row each."""
    name = layout.contacts
    virtual = ~contacts["physical"]
    _drop(
        changes,
        name,
        virtual,
        f"not a physical attendance (kontakttype other than {PHYSICAL_ATTENDANCE}): not part of a hospital stay",
    )
    undated = contacts["start"].isna()
    _drop(changes, name, undated & ~virtual, "no start date")
    c = contacts[~virtual & ~undated].copy()
    c["until"] = c["end"].fillna(extract).clip(lower=c["start"])
    c = c.sort_values(["pnr", "start", "until"], kind="stable").reset_index(drop=True)
    reach = c.groupby("pnr", sort=False)["until"].cummax()
    before = reach.groupby(c["pnr"], sort=False).shift()
    c["stay"] = (before.isna() | (c["start"] > before + STAY_GAP)).cumsum()
    linked = len(c) - int(c["stay"].nunique()) if len(c) else 0
    if linked:
        changes.append(
            Change(
                name,
                TABLE,
                "merged",
                "contacts linked into the stay of an earlier contact (overlapping or ≤ 4 h apart): one row per stay",
                linked,
            )
        )
    return _stay_rows(c, name, changes)


def _stay_rows(c: pd.DataFrame, name: str, changes: list[Change]) -> pd.DataFrame:
    if not len(c):
        return _empty()
    g = c.groupby("stay", sort=False)
    first = g.head(1).set_index("stay")  # sorted by start: the contact the stay began with
    begin, until = g["start"].min(), g["until"].max()
    ongoing = g["ongoing"].any()
    c["length"] = c["until"] - c["start"]
    # the stay's diagnosis is its temporally dominant action diagnosis (DST): the longest
    # contact that has one, the earliest of equally long ones
    ranked = c[c["action"].notna()].sort_values(
        ["stay", "length", "start"], ascending=[True, False, True], kind="stable"
    )
    dominant = ranked.drop_duplicates("stay").set_index("stay")
    stays = pd.DataFrame(
        {
            "pnr": first["pnr"],
            "begin": begin,
            "until": until,
            "ongoing": ongoing,
            "acute": first["acute"],
        }
    )
    stays["action_diagnosis"] = dominant["action"]
    stays["hospital_code"] = dominant["hospital"]
    nameless = stays["action_diagnosis"].isna()
    _drop(
        changes, name, nameless, "stay without an action diagnosis (none of its contacts has one)"
    )
    stays = stays[~nameless]
    stays["secondary_diagnoses"] = _stay_secondaries(c, stays["action_diagnosis"])
    admitted = (stays["until"] - stays["begin"]) >= ADMISSION
    stays["contact_type"] = np.where(
        admitted, "inpatient", np.where(stays["acute"], "emergency", "outpatient")
    )
    stays["start_date"] = stays["begin"].dt.normalize()
    stays["end_date"] = stays["until"].dt.normalize().where(~stays["ongoing"])
    return stays.reset_index(drop=True)[COLUMNS]


def _stay_secondaries(c: pd.DataFrame, action: pd.Series) -> pd.Series:
    """The stay's other diagnoses once each, contact by contact: the other contacts' action
    diagnoses (unless the stay's own) and every contact's secondary diagnoses."""
    own = c[["stay", "action"]].rename(columns={"action": "code"}).assign(order=c.index, pos=0)
    own = own[own["code"].notna() & (own["code"] != own["stay"].map(action))]
    listed = c[["stay", "others"]].dropna()
    listed = listed.assign(
        code=listed["others"].astype("string").str.split(";"), order=listed.index
    )
    listed = listed.explode("code")[["stay", "code", "order"]]
    listed["pos"] = listed.groupby("order").cumcount() + 1
    codes = pd.concat([own, listed]).dropna(subset=["code"])
    codes = codes.sort_values(["order", "pos"], kind="stable").drop_duplicates(["stay", "code"])
    codes = codes[codes["stay"].isin(action.index)]
    return codes.groupby("stay", sort=False)["code"].agg(";".join).reindex(action.index)


# ------------------------------------------------------------------------------ LPR2
def _lpr2(
    registers: Mapping[str, pd.DataFrame], problems: list[Problem], changes: list[Change]
) -> pd.DataFrame | None:
    adm = registers.get("lpr_adm")
    if adm is None:
        if "lpr_diag" in registers:
            problems.append(Problem("lpr_diag", None, "diagnoses without their contacts (lpr_adm)"))
        return None
    if not require_columns(adm, "lpr_adm", ["pnr", "recnum", "d_inddto"], problems):
        return None
    out = pd.DataFrame({"pnr": adm["pnr"].astype("string"), "key": _text(adm["recnum"])})
    out["start_date"] = parse_dates(adm["d_inddto"], "lpr_adm", "d_inddto", problems)
    if "d_uddto" in adm.columns:
        out["end_date"] = parse_dates(adm["d_uddto"], "lpr_adm", "d_uddto", problems)
    else:
        changes.append(
            Change(
                "lpr_adm",
                TABLE,
                "warning",
                "no d_uddto column: end dates missing (admissions read as ongoing)",
                len(adm),
            )
        )
        out["end_date"] = pd.Series(pd.NaT, index=adm.index, dtype="datetime64[s]")
    out["acute"] = _flag(adm, "lpr_adm", "c_indm", "1", False, changes)
    out["contact_type"] = _lpr2_contact_type(adm, out, problems, changes)
    out["hospital_code"] = _text(adm["c_sgh"]) if "c_sgh" in adm.columns else pd.NA
    given = (
        _text(adm["c_adiag"])
        if "c_adiag" in adm.columns
        else pd.Series(pd.NA, index=adm.index, dtype="string")
    )
    out["given_action"] = given
    diagnoses, icd8_actions = _lpr2_diagnoses(registers, problems, changes)
    out = _attach_diagnoses(out, diagnoses, "lpr_diag", changes)
    out["icd8_action"] = out["key"].isin(icd8_actions)
    return _lpr2_rows(out, changes)


def _lpr2_contact_type(
    adm: pd.DataFrame, out: pd.DataFrame, problems: list[Problem], changes: list[Change]
) -> pd.Series:
    if "c_pattype" not in adm.columns:
        changes.append(
            Change(
                "lpr_adm",
                TABLE,
                "warning",
                "no c_pattype column: contacts read as outpatient",
                len(adm),
            )
        )
        return pd.Series("outpatient", index=adm.index)
    pattype = _text(adm["c_pattype"])
    bad = ~pattype.isin(list("012345")).fillna(False)
    if bad.any():
        problems.append(
            Problem(
                "lpr_adm",
                "c_pattype",
                "patient type must be 0-5",
                int(bad.sum()),
                example_rows(bad),
            )
        )
    acute_outpatient = (
        (pattype == "2") & out["acute"] & (out["start_date"] >= ED_AS_ACUTE_OUTPATIENT_FROM)
    )
    kind = np.where(
        pattype == "0",
        "inpatient",
        np.where((pattype == "3") | acute_outpatient, "emergency", "outpatient"),
    )
    return pd.Series(kind, index=adm.index)


def _lpr2_diagnoses(
    registers: Mapping[str, pd.DataFrame], problems: list[Problem], changes: list[Change]
) -> tuple[pd.DataFrame, pd.Series]:
    """Diagnosis rows kept (key, code, kind), and the keys whose action diagnosis is ICD-8."""
    frame = registers.get("lpr_diag")
    empty = pd.DataFrame({"key": [], "code": [], "kind": []}, dtype="string")
    if frame is None or not require_columns(
        frame, "lpr_diag", ["recnum", "c_diag", "c_diagtype"], problems
    ):
        return empty, empty["key"]
    rows = pd.DataFrame(
        {
            "key": _text(frame["recnum"]),
            "code": _text(frame["c_diag"]),
            "kind": _text(frame["c_diagtype"]),
        }
    )
    icd8 = _icd8(rows["code"])
    _drop(
        changes,
        "lpr_diag",
        icd8,
        "ICD-8 code (before 1994, no D prefix): kept out of the ICD-10 code lists",
    )
    icd8_actions = rows.loc[icd8 & (rows["kind"] == "A").fillna(False), "key"]
    return _typed_diagnoses(rows, ~icd8, "lpr_diag", changes), icd8_actions


def _icd8(codes: pd.Series) -> pd.Series:
    """LPR writes ICD-10 with a leading D (SKS); ICD-8 codes (to 1993) are numeric, or
    E/Y supplementary codes followed by digits, without it."""
    return codes.str.match(r"^(?:[0-9]|[EY][0-9])").fillna(False).astype(bool)


def _lpr2_rows(out: pd.DataFrame, changes: list[Change]) -> pd.DataFrame:
    icd8_action = (out["icd8_action"] & out["action"].isna()) | (out["start_date"] < ICD10_FROM)
    _drop(
        changes,
        "lpr_adm",
        icd8_action,
        "contact of ICD-8 (before 1994, or its action diagnosis coded in ICD-8): no ICD-10 action diagnosis",
    )
    out = out[~icd8_action]
    nameless = out["action"].isna()
    _drop(changes, "lpr_adm", nameless, "contact without an action diagnosis")
    out = out[~nameless & out["start_date"].notna()]
    secondary = out["others"]
    return pd.DataFrame(
        {
            "pnr": out["pnr"],
            "start_date": out["start_date"],
            "end_date": out["end_date"],
            "contact_type": out["contact_type"],
            "acute": out["acute"].astype(bool),
            "action_diagnosis": out["action"],
            "secondary_diagnoses": secondary,
            "hospital_code": out["hospital_code"],
        }
    ).reset_index(drop=True)


def _without_lpr3_overlap(
    lpr2: pd.DataFrame, lpr3: pd.DataFrame, extract: pd.Timestamp, changes: list[Change]
) -> pd.DataFrame:
    """Contacts open at the 2019 switch were closed in LPR2 and reported again in LPR3: an
    LPR2 contact ending (or open) in 2019 or later is dropped when an LPR3 stay of the same
    person overlaps it or starts the day after it ends; the LPR3 stay is kept."""
    ends = lpr2["end_date"].fillna(lpr2["start_date"].where(lpr2["contact_type"] != "inpatient"))
    late = ends.isna() | (ends >= pd.Timestamp(2019, 1, 1))
    candidates = lpr2[late].reset_index()
    if not len(candidates):
        return lpr2
    pairs = candidates.merge(lpr3[["pnr", "start_date", "end_date"]], on="pnr", suffixes=("", "_3"))
    # a missing end means still admitted for an admission, the same day for any other contact
    open_end = pairs["start_date"].where(pairs["contact_type"] != "inpatient", extract)
    two_end = pairs["end_date"].fillna(open_end) + pd.Timedelta(days=1)
    three_end = pairs["end_date_3"].fillna(extract)
    overlap = (pairs["start_date_3"] <= two_end) & (three_end >= pairs["start_date"])
    twice = pd.Index(pairs.loc[overlap, "index"].unique())
    if len(twice):
        changes.append(
            Change(
                "lpr_adm",
                TABLE,
                "dropped",
                "LPR2 contact also reported in LPR3 after the 2019 switch (an overlapping LPR3 stay is kept)",
                len(twice),
            )
        )
    return lpr2.drop(index=twice).reset_index(drop=True)


# ------------------------------------------------------------------------------ inverse
# Same-day contacts that are not admissions get one of four one-hour slots, 5 hours apart
# (and 5 hours from the next day's first slot), so that the stay rule keeps them apart;
# an admission runs from 08:00 on its start date to 20:00 on its end date (≥ 12 hours).
# the regions switched to LPR3 on 2-3 February and 2-3 March 2019 (RKKP-LPR3); the inverse
# writes LPR2 contacts ending before 2019 only
LPR2_UNTIL = pd.Timestamp(2019, 1, 1)
SLOTS = ("01:00:00", "07:00:00", "13:00:00", "19:00:00")
SLOT_ENDS = ("02:00:00", "08:00:00", "14:00:00", "20:00:00")


def to_registers(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The contract's `hospital_contacts` (keyed by `pnr`) in the registers' layouts:
    contacts ending before 2019 as LPR2 (`lpr_adm`, `lpr_diag`), the others as LPR3
    (`kontakter`, `diagnoser`, DST's LPR_F). Reading them back gives the same rows: the
    generator writes no contacts that the stay rule links (docs/registers-events.md)."""
    t = table.reset_index(drop=True).copy()
    t["start_date"] = pd.to_datetime(t["start_date"])
    t["end_date"] = pd.to_datetime(t["end_date"])
    t["key"] = [f"K{i:09d}" for i in range(len(t))]
    # an LPR2 contact ending in 2019 or later is the switch rule's (`_without_lpr3_overlap`):
    # dropped when an LPR3 stay follows within a day, as if reported twice. Written once, in
    # LPR3 from 2019 (a month before the first region switched), none is taken for a double.
    old = t["end_date"].notna() & (t["end_date"] < LPR2_UNTIL)
    out: dict[str, pd.DataFrame] = {}
    if old.any():
        out.update(_lpr2_layout(t[old]))
    if (~old).any():
        out.update(_lpr3_layout(t[~old]))
    return out


def _diagnosis_rows(t: pd.DataFrame) -> pd.DataFrame:
    action = pd.DataFrame({"key": t["key"], "code": t["action_diagnosis"], "kind": "A"})
    secondary = t[["key", "secondary_diagnoses"]].dropna()
    listed = secondary.assign(code=secondary["secondary_diagnoses"].str.split(";")).explode("code")
    listed = listed[listed["code"].str.strip().fillna("") != ""]
    rows = pd.concat(
        [
            action,
            pd.DataFrame({"key": listed["key"], "code": listed["code"].str.strip(), "kind": "B"}),
        ]
    )
    return rows.sort_values("key", kind="stable").reset_index(drop=True)


def _lpr2_layout(t: pd.DataFrame) -> dict[str, pd.DataFrame]:
    emergency = t["contact_type"] == "emergency"
    pattype = np.where(
        t["contact_type"] == "inpatient",
        "0",
        np.where(emergency & (t["start_date"] < ED_AS_ACUTE_OUTPATIENT_FROM), "3", "2"),
    )
    adm = pd.DataFrame(
        {
            "pnr": t["pnr"].to_numpy(),
            "recnum": t["key"].to_numpy(),
            "d_inddto": t["start_date"].to_numpy(),
            "d_uddto": t["end_date"].to_numpy(),
            "c_pattype": pattype,
            "c_indm": np.where(t["acute"].astype(bool), "1", "2"),
            "c_adiag": t["action_diagnosis"].to_numpy(),
            "c_sgh": t["hospital_code"].to_numpy(),
        }
    )
    diag = _diagnosis_rows(t).rename(
        columns={"key": "recnum", "code": "c_diag", "kind": "c_diagtype"}
    )
    return {"lpr_adm": adm, "lpr_diag": diag}


def _lpr3_layout(t: pd.DataFrame) -> dict[str, pd.DataFrame]:
    admitted = (t["contact_type"] == "inpatient").to_numpy()
    slot = (
        t.assign(short=~admitted).groupby(["pnr", "start_date", "short"]).cumcount().clip(upper=3)
    )
    start_time = np.where(admitted, "08:00:00", np.asarray(SLOTS, dtype=object)[slot])
    end_time = np.where(admitted, "20:00:00", np.asarray(SLOT_ENDS, dtype=object)[slot])
    end_date = t["end_date"].where(admitted, t["start_date"])
    ongoing = admitted & t["end_date"].isna().to_numpy()
    contacts = pd.DataFrame(
        {
            "pnr": t["pnr"].to_numpy(),
            "dw_ek_kontakt": t["key"].to_numpy(),
            "dato_start": t["start_date"].to_numpy(),
            "tidspunkt_start": start_time,
            "dato_slut": end_date.to_numpy(),
            "tidspunkt_slut": pd.Series(end_time, dtype=object).where(~ongoing).to_numpy(),
            "kontakttype": PHYSICAL_ATTENDANCE,
            "prioritet": np.where(t["acute"].astype(bool), ACUTE_PRIORITY, "ATA3"),
            "aktionsdiagnose": t["action_diagnosis"].to_numpy(),
            "sorenhed_ans": t["hospital_code"].to_numpy(),
        }
    )
    diagnoses = _diagnosis_rows(t).rename(
        columns={"key": "dw_ek_kontakt", "code": "diagnosekode", "kind": "diagnosetype"}
    )
    diagnoses["senere_afkraeftet"] = "Nej"
    return {"kontakter": contacts, "diagnoser": diagnoses}
