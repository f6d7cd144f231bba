"""Every label rule of interfaces.md ("Labels, version 1") on hand-built extracts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from riskstrat.features import build_features
from riskstrat.spec import load_spec
from tests.features.extracts import admission, gp, make_extract, person, service

D = date(2024, 1, 1)


@pytest.fixture(scope="module")
def spec():
    return load_spec("models/avoidable_admission.yaml")


def row(table: pd.DataFrame, pid: str) -> pd.Series:
    return table.set_index("person_id").loc[pid]


def test_avoidable_window_edges(spec) -> None:
    e = make_extract(
        [person("on_d"), person("day_before"), person("at_end"), person("last_day")],
        [
            admission("on_d", "2024-01-01", diagnosis="DJ189"),
            admission("day_before", "2023-12-31", diagnosis="DJ189"),
            admission("at_end", "2025-01-01", diagnosis="DJ189"),
            admission("last_day", "2024-12-31", diagnosis="DJ189"),
        ],
    )
    t = build_features(e, spec, [D])
    assert row(t, "on_d")["y_avoidable_admission"] == 1
    assert row(t, "day_before")["y_avoidable_admission"] == 0
    assert row(t, "at_end")["y_avoidable_admission"] == 0
    assert row(t, "last_day")["y_avoidable_admission"] == 1


def test_only_acute_inpatient_action_diagnoses_at_65_plus_count(spec) -> None:
    e = make_extract(
        [
            person("planned"),
            person("outpatient"),
            person("secondary"),
            person("young", "1959-06-15"),
            person("young_then_65", "1959-03-01"),
            person("sks_sub", "1940-01-01"),
        ],
        [
            admission("planned", "2024-03-01", diagnosis="DJ189", acute=False),
            admission("outpatient", "2024-03-01", diagnosis="DJ189", contact_type="outpatient"),
            admission("secondary", "2024-03-01", diagnosis="DR074", secondary="DJ189"),
            admission("young", "2024-03-01", diagnosis="DN390"),
            admission("young_then_65", "2024-03-01", diagnosis="DN390"),
            admission("sks_sub", "2024-03-01", diagnosis="DS720A"),
        ],
    )
    spec64 = spec.model_copy(
        update={"population": spec.population.model_copy(update={"min_age": 60})}
    )
    t = build_features(e, spec64, [D])
    assert row(t, "planned")["y_avoidable_admission"] == 0
    assert row(t, "outpatient")["y_avoidable_admission"] == 0
    assert row(t, "secondary")["y_avoidable_admission"] == 0
    assert row(t, "young")["y_avoidable_admission"] == 0  # 64 at admission
    assert row(t, "young_then_65")["y_avoidable_admission"] == 1  # turned 65 on 2024-03-01
    assert row(t, "sks_sub")["y_avoidable_admission"] == 1  # prefix match on longer SKS code


def test_population_at_d(spec) -> None:
    e = make_extract(
        [
            person("in"),
            person("under", "1960-01-02"),
            person("exactly65", "1959-01-01"),
            person("dead_before", death_date="2023-12-31"),
            person("dead_on_d", death_date="2024-01-01"),
            person("emigrated_before", emigration_date="2023-06-01"),
            person("born_on_d", "2024-01-01"),
        ],
    )
    t = build_features(e, spec, [D])
    assert sorted(t["person_id"]) == ["dead_on_d", "exactly65", "in"]


def test_deaths_and_emigration_inside_the_window(spec) -> None:
    e = make_extract(
        [
            person("died", death_date="2024-05-01"),
            person("left", emigration_date="2024-12-31"),
            person("died_after_admission", death_date="2024-05-01"),
            person("died_later", death_date="2025-01-01"),
        ],
        [admission("died_after_admission", "2024-04-20", diagnosis="DE869")],
    )
    t = build_features(e, spec, [D])
    assert row(t, "died")[
        ["y_avoidable_admission", "died_in_window", "emigrated_in_window"]
    ].tolist() == [0, 1, 0]
    assert row(t, "left")[["died_in_window", "emigrated_in_window"]].tolist() == [0, 1]
    assert row(t, "died_after_admission")[["y_avoidable_admission", "died_in_window"]].tolist() == [
        1,
        1,
    ]
    assert row(t, "died_later")["died_in_window"] == 0


def test_censored_horizon_gives_null_labels(spec) -> None:
    e = make_extract([person("a")], [admission("a", "2025-03-01", diagnosis="DJ189")])
    t = build_features(e, spec, [date(2025, 2, 1)])  # window ends 2026-02-01 > extract date
    assert (
        t.loc[
            0,
            [
                "y_avoidable_admission",
                "y_trilateral",
                "y_new_trilateral",
                "died_in_window",
                "emigrated_in_window",
            ],
        ]
        .isna()
        .all()
    )
    t = build_features(e, spec, [date(2025, 1, 1)])  # window ends on the extract date: observed
    assert t.loc[0, "y_avoidable_admission"] == 1


def test_trilateral_with_municipal_periods_before_d_and_ongoing(spec) -> None:
    e = make_extract(
        [person("ongoing"), person("ended_before"), person("starts_at_end"), person("no_gp")],
        [
            admission(p, "2024-06-01", contact_type="outpatient")
            for p in ("ongoing", "ended_before", "starts_at_end", "no_gp")
        ],
        [gp(p, "2024-02-01") for p in ("ongoing", "ended_before", "starts_at_end")],
        [
            service("ongoing", "home_care", "2020-01-01", None, 3.0),
            service("ended_before", "home_care", "2020-01-01", "2023-12-31"),
            service("starts_at_end", "rehabilitation", "2025-01-01", "2025-02-01"),
            service("no_gp", "home_nursing", "2023-12-01", "2024-01-01"),
        ],
    )
    t = build_features(e, spec, [D])
    assert row(t, "ongoing")["y_trilateral"] == 1
    assert row(t, "ended_before")["y_trilateral"] == 0
    assert row(t, "starts_at_end")["y_trilateral"] == 0
    assert row(t, "no_gp")["y_trilateral"] == 0
    assert (
        row(t, "ongoing")["home_care_active"] == 1
        and row(t, "ongoing")["home_care_hours_per_week"] == 3.0
    )
    assert row(t, "ended_before")["home_care_active"] == 0


def test_new_trilateral_is_null_for_the_already_trilateral_and_short_histories(spec) -> None:
    people = [person("was"), person("becomes")]
    hospital = [
        admission("was", "2023-05-01", contact_type="outpatient"),
        admission("was", "2024-05-01", contact_type="outpatient"),
        admission("becomes", "2024-05-01", contact_type="outpatient"),
    ]
    gps = [gp("was", "2023-05-02"), gp("was", "2024-05-02"), gp("becomes", "2024-05-02")]
    services = [
        service("was", "home_care", "2023-01-01"),
        service("becomes", "home_care", "2024-03-01"),
    ]
    t = build_features(make_extract(people, hospital, gps, services), spec, [D])
    assert pd.isna(row(t, "was")["y_new_trilateral"]) and row(t, "was")["y_trilateral"] == 1
    assert row(t, "becomes")["y_new_trilateral"] == 1
    short = make_extract(people, hospital, gps, services, history_start=date(2023, 6, 1))
    assert build_features(short, spec, [D])["y_new_trilateral"].isna().all()


def test_leap_day_birthday_counts_on_first_of_march(spec) -> None:
    e = make_extract([person("leap", "1959-02-28"), person("leap29", "1960-02-29")])
    spec = spec.model_copy(
        update={"population": spec.population.model_copy(update={"min_age": 60})}
    )
    t = build_features(e, spec, [date(2025, 2, 28), date(2025, 3, 1)])
    ages = t.set_index(["person_id", "index_date"])["age"]
    assert ages[("leap29", pd.Timestamp("2025-02-28"))] == 64
    assert ages[("leap29", pd.Timestamp("2025-03-01"))] == 65
    assert ages[("leap", pd.Timestamp("2025-02-28"))] == 66


def test_max_age_and_nursing_home_exclusion(spec) -> None:
    e = make_extract(
        [
            person("in"),
            person("turns_91_on_d", "1933-01-01"),
            person("ninety", "1933-01-02"),
            person("in_home"),
            person("home_from_d"),
            person("home_ended"),
        ],
        services=[
            service("in_home", "nursing_home", "2022-01-01"),
            service("home_from_d", "nursing_home", "2024-01-01"),  # not yet at D
            service("home_ended", "nursing_home", "2022-01-01", "2023-12-31"),
        ],
    )
    population = spec.population.model_copy(update={"max_age": 90, "exclude_nursing_home": True})
    t = build_features(e, spec.model_copy(update={"population": population}), [D])
    assert sorted(t["person_id"]) == [
        "home_ended",
        "home_from_d",
        "in",
        "ninety",
    ]  # 90 until 2 Jan: still in
    assert "in_home" in set(
        build_features(e, spec, [D])["person_id"]
    )  # default: nursing homes included


def test_trilateral_window_edges(spec) -> None:
    people = ["gp_on_d", "gp_at_end", "hosp_day_before", "service_ends_on_d"]
    hospital = [
        admission("gp_on_d", "2024-06-01", contact_type="outpatient"),
        admission("gp_at_end", "2024-12-31", contact_type="emergency"),
        admission("hosp_day_before", "2023-12-31", contact_type="outpatient"),
        admission("service_ends_on_d", "2024-01-01", contact_type="outpatient"),
    ]
    gps = [
        gp("gp_on_d", "2024-01-01"),
        gp("gp_at_end", "2025-01-01"),
        gp("hosp_day_before", "2024-03-01"),
        gp("service_ends_on_d", "2024-12-31"),
    ]
    services = [service(p, "home_care", "2023-06-01") for p in people[:3]]
    services.append(service("service_ends_on_d", "training", "2023-10-01", "2024-01-01"))
    t = build_features(
        make_extract([person(p) for p in people], hospital, gps, services), spec, [D]
    )
    assert row(t, "gp_on_d")["y_trilateral"] == 1
    assert row(t, "gp_at_end")["y_trilateral"] == 0  # GP contact on D + H: outside
    assert row(t, "hosp_day_before")["y_trilateral"] == 0
    assert row(t, "service_ends_on_d")["y_trilateral"] == 1  # a period ending on D overlaps W
