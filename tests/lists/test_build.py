"""Who a team's list holds: catchment, eligibility, opt-outs, deaths, capacity, ranking."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from riskstrat.errors import InputError
from riskstrat.lists import LIST_COLUMNS, build_target_list, list_candidates, load_teams
from tests.lists.frames import AS_OF, CLINICS, MUNICIPALITIES, NO_OPT_OUTS, people, team


def expected_inside(persons: pd.DataFrame, catchment: dict) -> pd.DataFrame:
    keep = pd.Series(True, index=persons.index)
    if catchment.get("municipalities"):
        keep &= persons["municipality_code"].isin(catchment["municipalities"])
    if catchment.get("gp_clinics"):
        keep &= persons["gp_clinic_id"].isin(catchment["gp_clinics"])
    return persons[keep]


@pytest.mark.parametrize(
    "catchment",
    [
        {"municipalities": [730]},
        {"municipalities": [707, 706]},
        {"gp_clinics": ["730002"]},
        {"municipalities": [730], "gp_clinics": ["730001", "710001"]},
    ],
)
def test_only_and_all_persons_in_the_catchment(catchment) -> None:
    persons, scores = people()
    frame = build_target_list(
        team(catchment=catchment, capacity=1000, eligibility={}),
        scores,
        persons,
        NO_OPT_OUTS,
        AS_OF,
    )
    inside = expected_inside(persons, catchment)
    assert set(frame["person_id"]) == set(inside["person_id"])
    listed = persons.set_index("person_id").loc[frame["person_id"]]
    assert (listed["municipality_code"].to_numpy() == frame["municipality_code"].to_numpy()).all()


def test_both_parts_of_a_catchment_must_hold() -> None:
    persons, scores = people()
    # a Randers clinic whose patients partly live in Favrskov: only Randers residents count
    persons.loc[:9, ["municipality_code", "gp_clinic_id"]] = [710, "730001"]
    t = team(
        catchment={"municipalities": [730], "gp_clinics": ["730001"]}, capacity=1000, eligibility={}
    )
    frame = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)
    assert len(frame) > 0
    assert (frame["municipality_code"] == 730).all() and (frame["gp_clinic_id"] == "730001").all()
    assert not set(frame["person_id"]) & set(persons.loc[:9, "person_id"])


@settings(max_examples=40, deadline=None)
@given(
    municipalities=st.lists(st.sampled_from(MUNICIPALITIES + [751]), max_size=3, unique=True),
    clinics=st.lists(st.sampled_from(CLINICS + ["999999"]), max_size=3, unique=True),
    capacity=st.integers(1, 60),
    seed=st.integers(0, 10_000),
)
def test_every_listed_person_is_in_the_catchment(municipalities, clinics, capacity, seed) -> None:
    assume(municipalities or clinics)  # an empty catchment is refused when teams are loaded
    persons, scores = people(120, seed)
    persons.loc[persons.index % 7 == 0, "gp_clinic_id"] = (
        None  # unknown GP: never a clinic's patient
    )
    catchment = {"municipalities": municipalities, "gp_clinics": clinics}
    frame = build_target_list(
        team(catchment=catchment, capacity=capacity, eligibility={}),
        scores,
        persons,
        NO_OPT_OUTS,
        AS_OF,
    )
    listed = persons.set_index("person_id").loc[frame["person_id"]]
    if municipalities:
        assert listed["municipality_code"].isin(municipalities).all()
    if clinics:
        assert listed["gp_clinic_id"].isin(clinics).all()
    assert len(frame) == min(capacity, len(expected_inside(persons, catchment)))


def test_the_shipped_teams_each_get_only_their_own_catchment() -> None:
    persons, scores = people(3000, seed=5)
    persons["birth_date"] = pd.to_datetime(  # everyone 65-100 so that every team has candidates
        np.random.default_rng(2).integers(-36500, -23800, len(persons)), unit="D"
    ).astype("datetime64[s]")
    tri = scores.assign(model_name="trilateral_need")
    for t in load_teams("teams.yaml").teams:
        frame = build_target_list(
            t, tri if t.model_name == "trilateral_need" else scores, persons, NO_OPT_OUTS, AS_OF
        )
        assert 0 < len(frame) <= t.capacity, t.name
        where = persons.set_index("person_id").loc[frame["person_id"], "municipality_code"]
        assert where.isin(t.catchment.municipalities).all(), t.name


def test_capacity_ranking_and_ties_by_person_id() -> None:
    persons, scores = people()
    scores["risk"] = np.where(scores.index % 2 == 0, 0.5, 0.9)  # two tied groups
    frame = build_target_list(
        team(capacity=300, eligibility={}), scores, persons, NO_OPT_OUTS, AS_OF
    )
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    expected = frame.sort_values(["risk", "person_id"], ascending=[False, True])[
        "person_id"
    ].tolist()
    assert frame["person_id"].tolist() == expected
    small = build_target_list(team(capacity=7, eligibility={}), scores, persons, NO_OPT_OUTS, AS_OF)
    assert small["person_id"].tolist() == frame["person_id"].tolist()[:7]
    assert list(small.columns) == LIST_COLUMNS


def test_eligibility_age_segments_and_tiers() -> None:
    persons, scores = people()
    rules = {
        "min_age": 70,
        "max_age": 85,
        "exclude_segments": ["nursing_home"],
        "include_tiers": ["very_high", "high"],
    }
    frame = build_target_list(
        team(capacity=1000, eligibility=rules), scores, persons, NO_OPT_OUTS, AS_OF
    )
    assert len(frame) > 0
    assert frame["age"].between(70, 85).all()
    assert not (frame["segment"] == "nursing_home").any()
    assert frame["tier"].isin(["very_high", "high"]).all()
    everyone = build_target_list(
        team(capacity=1000, eligibility={}), scores, persons, NO_OPT_OUTS, AS_OF
    )
    allowed = (
        everyone["age"].between(70, 85)
        & (everyone["segment"] != "nursing_home")
        & everyone["tier"].isin(["very_high", "high"])
    )
    assert set(frame["person_id"]) == set(everyone.loc[allowed, "person_id"])


def test_age_is_completed_years_on_the_as_of_date() -> None:
    persons, scores = people(3)
    persons["birth_date"] = pd.to_datetime(["1951-01-01", "1951-01-02", "1950-12-31"]).astype(
        "datetime64[s]"
    )
    frame = build_target_list(
        team(eligibility={"min_age": 75}),
        scores,
        persons.assign(municipality_code=730),
        NO_OPT_OUTS,
        date(2026, 1, 1),
    )
    ages = dict(zip(frame["person_id"], frame["age"], strict=True))
    assert ages == {"P00000": 75, "P00002": 75}  # P00001 turns 75 the day after


def test_opt_outs_deaths_and_emigrations_are_never_listed() -> None:
    persons, scores = people()
    t = team(capacity=1000, eligibility={})
    everyone = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)["person_id"].tolist()
    out, later, dead, gone = everyone[:3], everyone[3:4], everyone[4:6], everyone[6:8]
    opt_outs = pd.DataFrame(
        {
            "person_id": out + later,
            "opt_out_date": pd.to_datetime(["2025-06-01"] * 3 + ["2026-03-01"]),
        }
    )
    persons.loc[persons["person_id"].isin(dead), "death_date"] = pd.Timestamp("2025-12-01")
    persons.loc[persons["person_id"].isin(gone), "emigration_date"] = pd.Timestamp("2025-11-01")
    listed = set(build_target_list(t, scores, persons, opt_outs, AS_OF)["person_id"])
    assert not listed & set(out + later + dead + gone)  # an opt-out is honoured whatever its date
    assert len(listed) == len(everyone) - 8
    assert len(build_target_list(t, scores, persons, None, AS_OF)) == len(everyone) - 4


@pytest.mark.parametrize("column", ["death_date", "emigration_date"])
def test_a_person_who_leaves_later_is_a_candidate_of_the_months_before(column: str) -> None:
    # a past month's list built from a later extract: leaving the persons who died after it
    # out would select the evaluation's randomised persons on their outcome
    persons, scores = people()
    t = team(capacity=1000, eligibility={})
    everyone = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)["person_id"].tolist()
    later, on_the_day = everyone[:3], everyone[3:5]
    persons.loc[persons["person_id"].isin(later), column] = pd.Timestamp("2026-06-15")
    persons.loc[persons["person_id"].isin(on_the_day), column] = pd.Timestamp(AS_OF)

    def candidates(as_of: date) -> set[str]:
        return set(list_candidates(t, scores, persons, NO_OPT_OUTS, as_of)["person_id"])

    def listed(as_of: date) -> set[str]:
        return set(build_target_list(t, scores, persons, NO_OPT_OUTS, as_of)["person_id"])

    # a date on or after as_of keeps the person, as in the population at an index date
    assert set(later + on_the_day) <= candidates(AS_OF) & listed(AS_OF)
    june = date(2026, 6, 1)
    assert set(later) <= candidates(june) & listed(june)
    assert not set(on_the_day) & (candidates(june) | listed(june))
    july = date(2026, 7, 1)  # the month after: gone
    assert not set(later + on_the_day) & (candidates(july) | listed(july))


def test_persons_without_a_score_or_a_person_record_are_not_listed() -> None:
    persons, scores = people()
    t = team(capacity=1000, eligibility={})
    frame = build_target_list(t, scores.iloc[10:], persons.iloc[:-10], NO_OPT_OUTS, AS_OF)
    assert not set(frame["person_id"]) & (
        set(scores["person_id"][:10]) | set(persons["person_id"][-10:])
    )


def test_new_this_month_marks_persons_not_on_last_months_list() -> None:
    persons, scores = people()
    t = team(capacity=5)
    first = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)
    assert first["new_this_month"].all()
    last_month = first.iloc[[0, 2]]
    again = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF, previous=last_month)
    assert again["new_this_month"].tolist() == [False, True, False, True, True]
    as_ids = build_target_list(
        t, scores, persons, NO_OPT_OUTS, AS_OF, previous=set(last_month["person_id"])
    )
    assert as_ids.equals(again)


def test_reasons_are_phrased_in_the_teams_language() -> None:
    persons, scores = people()
    da = build_target_list(team(), scores, persons, NO_OPT_OUTS, AS_OF)
    en = build_target_list(team(language="en"), scores, persons, NO_OPT_OUTS, AS_OF)
    assert da["reasons"].iloc[0] == "3 akutte indlæggelser seneste år; bor alene"
    assert en["reasons"].iloc[0] == "3 acute admissions in the last year; lives alone"


def test_inputs_are_not_changed_and_other_models_are_refused() -> None:
    persons, scores = people()
    before = (persons.copy(), scores.copy())
    build_target_list(team(), scores, persons, NO_OPT_OUTS, AS_OF)
    assert persons.equals(before[0]) and scores.equals(before[1])
    with pytest.raises(InputError, match="trilateral_need"):
        build_target_list(
            team(), scores.assign(model_name="trilateral_need"), persons, NO_OPT_OUTS, AS_OF
        )
    with pytest.raises(InputError, match="more than once"):
        build_target_list(team(), pd.concat([scores, scores.iloc[:1]]), persons, NO_OPT_OUTS, AS_OF)


def test_the_log_shows_counts_of_one_to_four_as_under_five(caplog) -> None:
    import logging

    persons, scores = people()
    with caplog.at_level(logging.INFO, logger="riskstrat.lists.build"):
        frame = build_target_list(
            team(catchment={"municipalities": [730]}, capacity=3, eligibility={}),
            scores,
            persons,
            NO_OPT_OUTS,
            AS_OF,
        )
    assert len(frame) == 3
    message = next(
        r.getMessage() for r in caplog.records if "listed (capacity 3)" in r.getMessage()
    )
    assert "<5 listed" in message and " 3 listed" not in message
