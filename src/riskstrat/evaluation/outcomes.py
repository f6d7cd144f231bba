"""The follow-up frame of an evaluation: each randomised person once, at their first
assignment, with the outcomes of the horizon that followed.

Avoidable admission and death come from the model's own labels at the randomisation month's
index date (`y_avoidable_admission`, `died_in_window` of `riskstrat.features`: one function
defines each label); any acute admission and days in hospital are counted here from the
hospital contacts in the same window [D, D + H months), by the labels' rules (contacts by
start date; inpatient days cut at the window's ends; an open stay runs to the window's end).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from riskstrat.dates import add_months, parse_month
from riskstrat.errors import InputError

HOSPITAL_COLUMNS = ["person_id", "start_date", "end_date", "contact_type", "acute"]


def window_outcomes(
    entries: pd.DataFrame, hospital_contacts: pd.DataFrame, horizon_months: int
) -> pd.DataFrame:
    """Per entry (person_id, index_date): `acute_admission` (0/1: an acute inpatient
    contact starting in the window) and `hospital_days` (days of inpatient stays inside the
    window, any kind of admission), for the window [index_date, index_date + horizon)."""
    missing = [c for c in HOSPITAL_COLUMNS if c not in hospital_contacts.columns]
    if missing:
        raise InputError(f"the hospital contacts lack the column(s) {', '.join(missing)}")
    start = pd.to_datetime(entries["index_date"])
    end = pd.to_datetime([add_months(d.date(), horizon_months) for d in start])
    window = pd.DataFrame(
        {"person_id": entries["person_id"].astype(str), "w0": start.to_numpy(), "w1": end}
    )
    inpatient = hospital_contacts[hospital_contacts["contact_type"] == "inpatient"]
    stays = inpatient[HOSPITAL_COLUMNS].assign(person_id=lambda f: f["person_id"].astype(str))
    stays = stays.merge(window, on="person_id", how="inner")
    s = pd.to_datetime(stays["start_date"])
    e = pd.to_datetime(stays["end_date"]).fillna(stays["w1"])
    began = (s >= stays["w0"]) & (s < stays["w1"])
    acute = began & stays["acute"].astype(bool)
    overlap = (np.minimum(e, stays["w1"]) - np.maximum(s, stays["w0"])).dt.days.clip(lower=0)
    per_person = pd.DataFrame(
        {"person_id": stays["person_id"], "acute": acute.astype(int), "days": overlap}
    ).groupby("person_id")
    out = window[["person_id"]].copy()
    out["acute_admission"] = out["person_id"].map(per_person["acute"].max()).fillna(0).astype(int)
    out["hospital_days"] = out["person_id"].map(per_person["days"].sum()).fillna(0).astype(float)
    return out


def follow_up_frame(
    assignments: pd.DataFrame,
    labels: pd.DataFrame,
    window: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
    covariates: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per randomised person: the assignment table's `arm`, `stratum`, `team`,
    `risk_band` and `month`, the labels at that month's index date (`labels`: person_id,
    index_date, y_avoidable_admission, died_in_window and the `covariates` at baseline),
    `window` (window_outcomes of the same entries) and, when the teams' `feedback` is given
    (person_id, contacted), `contacted` (listed persons without feedback count as not
    contacted; held-out persons as not contacted). Persons whose labels are unknown (the
    horizon has not passed) are left out."""
    base = assignments[["person_id", "arm", "stratum", "team", "risk_band", "month"]].copy()
    base["index_date"] = [parse_month(m) for m in base["month"].astype(str)]
    keep = ["person_id", "index_date", "y_avoidable_admission", "died_in_window", *covariates]
    frame = base.merge(
        labels[keep].assign(index_date=lambda f: pd.to_datetime(f["index_date"]).dt.date),
        on=["person_id", "index_date"],
        how="inner",
    )
    frame = frame.dropna(subset=["y_avoidable_admission"])
    frame = frame.merge(window, on="person_id", how="left")
    frame = frame.rename(
        columns={"y_avoidable_admission": "avoidable_admission", "died_in_window": "death"}
    )
    for name in ("avoidable_admission", "death"):
        frame[name] = frame[name].astype(float)
    if feedback is not None:
        contacted = dict(zip(feedback["person_id"].astype(str), feedback["contacted"], strict=True))
        frame["contacted"] = [
            float(bool(contacted.get(p, False))) if arm == "listed" else 0.0
            for p, arm in zip(frame["person_id"], frame["arm"], strict=True)
        ]
    return frame.reset_index(drop=True)


def entries_of(assignments: pd.DataFrame) -> pd.DataFrame:
    """(person_id, index_date) of each randomised person: the first day of their first month."""
    return pd.DataFrame(
        {
            "person_id": assignments["person_id"].astype(str),
            "index_date": [date.fromisoformat(f"{m}-01") for m in assignments["month"].astype(str)],
        }
    )
