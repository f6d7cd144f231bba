"""A team's target list from a scoring: catchment, eligibility, opt-outs, capacity, ranking."""

from __future__ import annotations

from datetime import date

import pandas as pd

from riskstrat.dates import age_on
from riskstrat.lists.phrases import reasons_text
from riskstrat.lists.teams import Team

LIST_COLUMNS = ["rank", "person_id", "age", "sex", "municipality_code", "gp_clinic_id", "risk",
                "tier", "segment", "reasons", "new_this_month"]  # fmt: skip
REASONS = ["reason_1", "reason_2", "reason_3"]


def in_catchment(team: Team, persons: pd.DataFrame) -> pd.Series:
    """Persons (current attributes) inside the team's catchment; both parts must hold if both given."""
    inside = pd.Series(True, index=persons.index)
    if team.catchment.municipalities:
        inside &= persons["municipality_code"].isin(team.catchment.municipalities)
    if team.catchment.gp_clinics:
        inside &= persons["gp_clinic_id"].isin(team.catchment.gp_clinics)
    return inside


def build_target_list(team: Team, scores: pd.DataFrame, persons: pd.DataFrame, opt_outs: pd.DataFrame,
                      as_of: date, previous: set[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """At most `capacity` persons of the team's catchment, ranked by risk (ties by person_id).

    Never a person outside the catchment, a person who has opted out, or a person known to
    have died or emigrated (by the data's extract date)."""
    people = persons[in_catchment(team, persons)]
    people = people[people["death_date"].isna() & people["emigration_date"].isna()]
    people = people[~people["person_id"].isin(opt_outs["person_id"])]
    frame = scores.merge(
        people[["person_id", "birth_date", "sex", "municipality_code", "gp_clinic_id"]],
        on="person_id", how="inner", validate="one_to_one",
    )  # fmt: skip
    frame["age"] = age_on(frame["birth_date"], as_of).to_numpy() if len(frame) else []
    rules = team.eligibility
    keep = frame["age"] >= rules.min_age
    if rules.max_age is not None:
        keep &= frame["age"] <= rules.max_age
    if rules.exclude_segments:
        keep &= ~frame["segment"].isin(rules.exclude_segments)
    if rules.include_tiers is not None:
        keep &= frame["tier"].isin(rules.include_tiers)
    frame = frame[keep].sort_values(["risk", "person_id"], ascending=[False, True], kind="mergesort")
    frame = frame.head(team.capacity).reset_index(drop=True)
    frame["rank"] = range(1, len(frame) + 1)
    codes = frame[REASONS].astype(object).where(frame[REASONS].notna(), None).to_numpy().tolist()
    frame["reasons"] = [reasons_text(row, team.language) for row in codes]
    frame["new_this_month"] = ~frame["person_id"].isin(previous or set())
    out = frame[LIST_COLUMNS].copy()
    out["age"] = out["age"].astype("int64")
    out["municipality_code"] = out["municipality_code"].astype("int64")
    return out
