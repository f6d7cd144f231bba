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
from riskstrat.lists.exclusions import FeedbackHistory, feedback_exclusions, last_status
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
    "last_status",
    "last_status_month",
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
    history: FeedbackHistory | None = None,
) -> pd.DataFrame:
    """The team's list for the month starting `as_of` (`compose_target_list` without the
    persons its feedback rules left out)."""
    return compose_target_list(team, scores, persons, opt_outs, as_of, previous, history)[0]


def compose_target_list(
    team: Team,
    scores: pd.DataFrame,
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    as_of: date,
    previous: pd.DataFrame | Iterable[str] | None = None,
    history: FeedbackHistory | None = None,
    chosen: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the team's list for the month starting `as_of`: at most `capacity` persons, the
    eligible persons its feedback rules left out: `person_id`, `rule`).

    `scores` is one model's scoring (scores.parquet's columns), `persons` the data's persons
    table (current municipality and GP clinic, deaths, emigrations), `opt_outs` the optional
    opt-out table, `previous` last month's list of this team (a frame with `person_id`, or
    ids), `history` the team's earlier lists and answers (None: none).
    Never lists a person outside the catchment, anyone in the opt-out table (whatever the
    date: the table holds the persons known to have declined), or anyone who died or
    emigrated before `as_of` (`_gone_before`). Eligibility is checked on age in completed years at `as_of`,
    segment and tier. Ranked by the full-resolution risk (highest first; calibration keeps
    the model's score order inside its steps), exact ties by person_id; the feedback rules
    (`riskstrat.lists.exclusions`) then leave persons out and the list fills its capacity
    from the next ones. `chosen` (None: the top `capacity`): the person ids a randomised
    evaluation's holdout step kept among the candidates (`list_candidates`); the list is
    those, in rank order. Returns the columns LIST_COLUMNS, `reasons` as phrases in the
    team's language, `last_status` / `last_status_month` for persons on an earlier list.
    """
    frame, left_out = _candidates(team, scores, persons, opt_outs, as_of, history)
    history = history or FeedbackHistory()
    month = as_of.strftime("%Y-%m")
    if chosen is None:
        frame = frame.head(team.capacity)
    else:
        # the holdout step chose the list among the candidates, in their rank order
        frame = frame[frame["person_id"].astype(str).isin({str(p) for p in chosen})].head(
            team.capacity
        )
    frame = frame.reset_index(drop=True)
    log.info("team %s: %s listed (capacity %d)", team.name, log_count(len(frame)), team.capacity)
    listed = _list_frame(frame, team, _ids(previous))
    earlier = last_status(listed["person_id"], history, month)
    listed["last_status"] = earlier["last_status"].to_numpy()
    listed["last_status_month"] = earlier["last_status_month"].to_numpy()
    return listed[LIST_COLUMNS], left_out


def list_candidates(
    team: Team,
    scores: pd.DataFrame,
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    as_of: date,
    history: FeedbackHistory | None = None,
) -> pd.DataFrame:
    """Everyone the team's list may take this month, best first, after opt-outs and the
    feedback rules: `person_id`, `rank` (1 = first), `risk_band` (the tier). Person-level:
    the input of the evaluation's holdout step (`riskstrat.evaluation.assign_month`)."""
    frame, _ = _candidates(team, scores, persons, opt_outs, as_of, history)
    return pd.DataFrame(
        {
            "person_id": frame["person_id"].astype(str).to_numpy(),
            "rank": range(1, len(frame) + 1),
            "risk_band": frame["tier"].astype(str).to_numpy(),
        }
    )


def _candidates(
    team: Team,
    scores: pd.DataFrame,
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    as_of: date,
    history: FeedbackHistory | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the ranked candidates after opt-outs and feedback rules, who the rules left out)."""
    frame, gone, declined = _ranked_candidates(team, scores, persons, opt_outs, as_of)
    eligible = len(frame)
    month = as_of.strftime("%Y-%m")
    left_out = feedback_exclusions(
        frame, history or FeedbackHistory(), month, team.feedback, _tier_order(scores)
    )
    frame = frame[~frame["person_id"].astype(str).isin(set(left_out["person_id"]))]
    # logs hold aggregates only, and small counts of persons are not shown even there ("<5")
    counts = [
        log_count(n) for n in (len(gone), int((gone | declined).sum()), eligible, len(left_out))
    ]
    log.info(
        "team %s: %s in catchment, %s died, emigrated or opted out, %s eligible and scored, "
        "%s left out by feedback rules",
        team.name,
        *counts,
    )
    return frame, left_out


def _ranked_candidates(
    team: Team,
    scores: pd.DataFrame,
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    as_of: date,
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """(everyone the team may list, best first; who in the catchment died or emigrated
    before `as_of`; who opted out)."""
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
    gone = _gone_before(people, as_of)
    declined = people["person_id"].isin(_ids(opt_outs))
    people = people[~gone & ~declined]
    frame = scores.merge(
        people[PERSON_COLUMNS[:5]], on="person_id", how="inner", validate="one_to_one"
    )
    frame["age"] = age_on(frame["birth_date"], as_of) if len(frame) else pd.Series(dtype="int64")
    frame = frame[_eligible(team, frame)]
    frame = frame.sort_values(["risk", "person_id"], ascending=[False, True], kind="mergesort")
    return frame, gone, declined


def _gone_before(persons: pd.DataFrame, as_of: date) -> pd.Series:
    """True for persons who died or emigrated before `as_of`.

    The population rule at an index date D (`riskstrat.features.build_features`,
    interfaces.md "Population at D"): a death or emigration on D or later leaves the person
    in D's population. A list of a past month built from a later extract must not leave out
    the persons who died after it: that would select the evaluation's persons on their
    outcome."""
    day = pd.Timestamp(as_of)
    died = pd.to_datetime(persons["death_date"]) < day
    left = pd.to_datetime(persons["emigration_date"]) < day
    return (died | left).astype(bool)


def _tier_order(scores: pd.DataFrame) -> list[str]:
    """The scoring's tiers from the highest: tiers are bands of risk, so by their top risk."""
    if not len(scores):
        return []
    tops = scores.groupby("tier", observed=True)["risk"].max().sort_values(ascending=False)
    return [str(t) for t in tops.index]


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
    )


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
