"""A team's target list from a scoring: catchment, eligibility, opt-outs, capacity, ranking.

Only counts are logged, never person ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

import pandas as pd

from riskstrat.dates import age_on
from riskstrat.disclosure import log_count
from riskstrat.errors import InputError
from riskstrat.lists.phrases import reasons_text
from riskstrat.lists.teams import Team

log = logging.getLogger(__name__)

LIST_COLUMNS = [
    "rank",
    "person_id",
    "age",
    "sex",
    "municipality_code",
    "gp_clinic_id",
    "risk",
    "tier",
    "segment",
    "reasons",
    "new_this_month",
]
REASONS = ["reason_1", "reason_2", "reason_3"]
PERSON_COLUMNS = [
    "person_id",
    "birth_date",
    "sex",
    "municipality_code",
    "gp_clinic_id",
    "death_date",
    "emigration_date",
]


def in_catchment(team: Team, persons: pd.DataFrame) -> pd.Series:
    """True for persons (current attributes) inside the team's catchment: in one of its
    municipalities and/or with one of its GP clinics (both parts must hold if both are given)."""
    inside = pd.Series(True, index=persons.index)
    if team.catchment.municipalities:
        inside &= persons["municipality_code"].isin(team.catchment.municipalities).fillna(False)
    if team.catchment.gp_clinics:
        clinics = persons["gp_clinic_id"].astype("str")
        inside &= (
            clinics.isin(team.catchment.gp_clinics).fillna(False) & persons["gp_clinic_id"].notna()
        )
    return inside.astype(bool)


def build_target_list(
    team: Team,
    scores: pd.DataFrame,
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    as_of: date,
    previous: pd.DataFrame | Iterable[str] | None = None,
) -> pd.DataFrame:
    """The team's list for the month starting `as_of`: at most `capacity` persons.

    `scores` is one model's scoring (scores.parquet's columns), `persons` the data's persons
    table (current municipality and GP clinic, deaths, emigrations), `opt_outs` the optional
    opt-out table, `previous` last month's list of this team (a frame with `person_id`, or ids).
    Never lists a person outside the catchment, anyone in the opt-out table (whatever the
    date: the table holds the persons known to have declined), or anyone with a recorded
    death or emigration date. Eligibility is checked on age in completed years at `as_of`,
    segment and tier. Ranked by the full-resolution risk (highest first; calibration keeps
    the model's score order inside its steps), exact ties by person_id. Returns the
    columns LIST_COLUMNS, `reasons` as phrases in the team's language.
    """
    _check_columns(scores, ["person_id", "risk", "tier", "segment", *REASONS], "scores")
    _check_columns(persons, PERSON_COLUMNS, "persons")
    if "model_name" in scores.columns and len(scores):
        other = sorted(set(scores["model_name"].astype(str).unique()) - {team.model_name})
        if other:
            raise InputError(
                f"team {team.name} uses model {team.model_name}, "
                f"but the scores given are of {', '.join(other)}"
            )
    if scores["person_id"].duplicated().any():
        raise InputError("the scores hold a person more than once")
    people = persons[in_catchment(team, persons)]
    gone = people["death_date"].notna() | people["emigration_date"].notna()
    declined = people["person_id"].isin(_ids(opt_outs))
    people = people[~gone & ~declined]
    frame = scores.merge(
        people[PERSON_COLUMNS[:5]], on="person_id", how="inner", validate="one_to_one"
    )
    frame["age"] = age_on(frame["birth_date"], as_of) if len(frame) else pd.Series(dtype="int64")
    frame = frame[_eligible(team, frame)]
    eligible = len(frame)
    frame = frame.sort_values(["risk", "person_id"], ascending=[False, True], kind="mergesort")
    frame = frame.head(team.capacity).reset_index(drop=True)
    # logs hold aggregates only, and small counts of persons are not shown even there ("<5")
    counts = [log_count(n) for n in (len(gone), int((gone | declined).sum()), eligible, len(frame))]
    log.info(
        "team %s: %s in catchment, %s died, emigrated or opted out, %s eligible and scored, "
        "%s listed (capacity %d)",
        team.name,
        *counts,
        team.capacity,
    )
    return _list_frame(frame, team, _ids(previous))


def _list_frame(frame: pd.DataFrame, team: Team, previous: set[str]) -> pd.DataFrame:
    codes = frame[REASONS].astype(object).where(frame[REASONS].notna(), None).to_numpy().tolist()
    return pd.DataFrame(
        {
            "rank": pd.Series(range(1, len(frame) + 1), dtype="int64"),
            "person_id": frame["person_id"].astype("str"),
            "age": frame["age"].astype("int64"),
            "sex": frame["sex"].astype("str"),
            "municipality_code": frame["municipality_code"].astype("int64"),
            "gp_clinic_id": frame["gp_clinic_id"].astype("str"),
            "risk": frame["risk"].astype("float64"),
            "tier": frame["tier"].astype("str"),
            "segment": frame["segment"].astype("str"),
            "reasons": pd.Series([reasons_text(row, team.language) for row in codes], dtype="str"),
            "new_this_month": ~frame["person_id"].astype("str").isin(previous),
        }
    )[LIST_COLUMNS]


def eligible_by_rules(team: Team, frame: pd.DataFrame) -> pd.Series:
    """True for persons the team's own rules allow on its list before the model has a say:
    age in completed years (`age`) within its range, `segment` not excluded. Tiers are the
    model's selection, so they are not part of it (the fairness audit compares a list with
    need among these persons)."""
    rules = team.eligibility
    age = frame["age"]
    keep = age.notna() & (age >= rules.min_age).fillna(False)
    if rules.max_age is not None:
        keep &= (age <= rules.max_age).fillna(False)
    if rules.exclude_segments:
        keep &= ~frame["segment"].isin(rules.exclude_segments)
    return keep.astype(bool)


def _eligible(team: Team, frame: pd.DataFrame) -> pd.Series:
    keep = eligible_by_rules(team, frame)
    if team.eligibility.include_tiers is not None:
        keep &= frame["tier"].isin(team.eligibility.include_tiers)
    keep &= frame["risk"].notna()
    return keep.astype(bool)


def _ids(rows: pd.DataFrame | Iterable[str] | None) -> set[str]:
    if rows is None:
        return set()
    if isinstance(rows, pd.DataFrame):
        return set(rows["person_id"].dropna().astype(str)) if "person_id" in rows.columns else set()
    return {str(r) for r in rows}


def _check_columns(frame: pd.DataFrame, needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"the {what} table lacks the column(s) {', '.join(missing)}")
