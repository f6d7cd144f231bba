"""Hand-built typed extracts (the reader's frame conventions) for feature and label tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

from riskstrat.contract import Extract

EXTRACT_DATE = date(2026, 1, 1)


def _dates(values) -> pd.Series:
    return pd.Series(pd.to_datetime(pd.Series(values, dtype="object")), dtype="datetime64[s]")


def person(pid: str, birth: str = "1940-06-15", **kw) -> dict:
    row = {
        "person_id": pid,
        "birth_date": birth,
        "sex": "F",
        "municipality_code": 730,
        "gp_clinic_id": "730001",
        "education": "basic",
        "income_quintile": 2,
        "origin": "danish",
        "living_alone": True,
        "death_date": None,
        "emigration_date": None,
    }
    row.update(kw)
    return row


def admission(
    pid: str,
    start: str,
    end: str | None = None,
    diagnosis: str = "DR074",
    *,
    contact_type: str = "inpatient",
    acute: bool = True,
    secondary: str | None = None,
) -> dict:
    return {
        "person_id": pid,
        "start_date": start,
        "end_date": end or start,
        "contact_type": contact_type,
        "acute": acute,
        "action_diagnosis": diagnosis,
        "secondary_diagnoses": secondary,
        "hospital_code": "H",
    }


def gp(pid: str, when: str, kind: str = "consultation") -> dict:
    return {"person_id": pid, "contact_date": when, "contact_kind": kind, "clinic_id": "730001"}


def service(
    pid: str, name: str, start: str, end: str | None = None, hours: float | None = None
) -> dict:
    return {
        "person_id": pid,
        "service": name,
        "start_date": start,
        "end_date": end,
        "hours_per_week": hours,
    }


def rx(pid: str, when: str, atc: str) -> dict:
    return {"person_id": pid, "dispense_date": when, "atc_code": atc, "ddd": 30.0}


def make_extract(
    persons,
    hospital=(),
    gps=(),
    services=(),
    prescriptions=(),
    opt_outs=(),
    extract_date: date = EXTRACT_DATE,
    history_start: date | None = date(2021, 1, 1),
) -> Extract:
    p = pd.DataFrame(list(persons))
    p = pd.DataFrame(
        {
            "person_id": p["person_id"].astype("str"),
            "birth_date": _dates(p["birth_date"]),
            "sex": p["sex"].astype("str"),
            "municipality_code": p["municipality_code"].astype("int64"),
            "gp_clinic_id": p["gp_clinic_id"].astype("str"),
            "education": p["education"].astype("str"),
            "income_quintile": p["income_quintile"].astype("Int8"),
            "origin": p["origin"].astype("str"),
            "living_alone": p["living_alone"].astype("boolean"),
            "death_date": _dates(p["death_date"]),
            "emigration_date": _dates(p["emigration_date"]),
        }
    )
    h = pd.DataFrame(list(hospital), columns=list(admission("x", "2020-01-01")))
    h = h.assign(
        start_date=_dates(h["start_date"]),
        end_date=_dates(h["end_date"]),
        acute=h["acute"].astype(bool),
        person_id=h["person_id"].astype("str"),
    )
    g = pd.DataFrame(list(gps), columns=list(gp("x", "2020-01-01")))
    g = g.assign(contact_date=_dates(g["contact_date"]), person_id=g["person_id"].astype("str"))
    m = pd.DataFrame(list(services), columns=list(service("x", "home_care", "2020-01-01")))
    m = m.assign(
        start_date=_dates(m["start_date"]),
        end_date=_dates(m["end_date"]),
        hours_per_week=m["hours_per_week"].astype("float64"),
        person_id=m["person_id"].astype("str"),
    )
    r = pd.DataFrame(list(prescriptions), columns=list(rx("x", "2020-01-01", "A")))
    r = r.assign(dispense_date=_dates(r["dispense_date"]), person_id=r["person_id"].astype("str"))
    o = pd.DataFrame(list(opt_outs), columns=["person_id", "opt_out_date"])
    o = o.assign(opt_out_date=_dates(o["opt_out_date"]))
    return Extract(p, h, g, m, r, o, extract_date=extract_date, history_start=history_start)
