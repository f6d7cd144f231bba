"""Feature values on hand-built extracts, leakage, stacking and the command."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskstrat.cli import main
from riskstrat.features import build_features, feature_columns
from riskstrat.features.columns import built_columns
from riskstrat.spec import load_spec
from tests.features.extracts import admission, gp, make_extract, person, rx, service

D = date(2024, 1, 1)


@pytest.fixture(scope="module")
def spec():
    return load_spec("models/avoidable_admission.yaml")


def one(table: pd.DataFrame, pid: str = "a") -> pd.Series:
    return table.set_index("person_id").loc[pid]


def test_window_counts_and_bed_days_cut_at_d(spec) -> None:
    e = make_extract(
        [person("a")],
        [
            admission("a", "2023-12-20", "2024-01-10"),  # ongoing at D: 12 nights before D
            admission("a", "2023-06-01", "2023-06-05"),
            admission("a", "2022-06-01", "2022-06-03", acute=False),
            admission("a", "2023-11-01", contact_type="emergency"),
            admission("a", "2023-12-01", contact_type="outpatient"),
            admission("a", "2024-02-01", "2024-02-09"),
        ],  # after D: ignored
        [
            gp("a", "2023-12-15"),
            gp("a", "2023-03-01", "home_visit"),
            gp("a", "2021-03-01", "out_of_hours"),
        ],
    )
    f = one(build_features(e, spec, [D]))
    assert f["acute_admissions_3m"] == 1 and f["acute_admissions_12m"] == 2
    assert f["planned_admissions_12m"] == 0 and f["planned_admissions_36m"] == 1
    assert f["bed_days_3m"] == 12 and f["bed_days_12m"] == 16 and f["bed_days_36m"] == 18
    assert f["ed_visits_3m"] == 1 and f["outpatient_contacts_3m"] == 1
    assert (
        f["gp_contacts_3m"] == 1 and f["gp_home_visits_12m"] == 1 and f["gp_out_of_hours_36m"] == 1
    )
    assert f["days_since_last_admission"] == 12
    assert f["acute_admissions_trend"] == 2  # two this year, none the year before


def test_conditions_charlson_hierarchy_and_hfrs(spec) -> None:
    e = make_extract(
        [person("a"), person("b")],
        [
            admission(
                "a", "2023-01-01", diagnosis="DE119", secondary="DE112;DJ441"
            ),  # diabetes mild+complicated, COPD
            admission("a", "2023-02-01", diagnosis="DF009"),  # dementia (HFRS DF00 = 7.1)
            admission("a", "2023-03-01", diagnosis="DF001"),  # same 3-character code: counted once
            admission("a", "2023-04-01", diagnosis="DC449"),  # skin cancer: not a cancer condition
            admission("b", "2024-02-01", diagnosis="DI500"),
        ],  # after D
        prescriptions=[rx("b", "2023-05-01", "N06DA02")],  # dementia by medication
    )
    t = build_features(e, spec, [D])
    a, b = one(t, "a"), one(t, "b")
    assert (a["cond_diabetes"], a["cond_copd"], a["cond_dementia"], a["cond_cancer"]) == (
        1,
        1,
        1,
        0,
    )
    assert a["n_chronic_conditions"] == 3
    # Charlson 1987: diabetes with complications 2 (the mild form not added), COPD 1, dementia 1
    assert a["charlson_index"] == 4
    assert a["hfrs_score"] == pytest.approx(7.1 + _hfrs("DE11") + _hfrs("DJ44"))
    assert b["cond_dementia"] == 1 and b["cond_heart_failure"] == 0 and b["charlson_index"] == 0


def _hfrs(code: str) -> float:
    from riskstrat.reference import data_path

    table = pd.read_csv(data_path("code_lists", "hfrs_gilbert2018.csv"))
    return float(table.loc[table["code_prefix"].str[:4] == code, "weight"].sum())


def test_municipal_and_medication_features(spec) -> None:
    e = make_extract(
        [person("a")],
        services=[
            service("a", "home_care", "2023-01-01", None, 5.0),
            service("a", "home_care", "2023-06-01", "2024-03-01", 2.5),
            service("a", "nursing_home", "2024-01-01"),  # starts on D: not yet
            service("a", "preventive_home_visit", "2023-05-01", "2023-05-01"),
            service("a", "rehabilitation", "2022-01-01", "2022-03-01"),
        ],
        prescriptions=[
            rx("a", f"2023-{m:02d}-01", atc)
            for m, atc in enumerate(
                ["C10AA05", "C09AA05", "A02BC02", "N02BE01", "B01AC06", "C10AA05"], start=1
            )
        ],
    )
    f = one(build_features(e, spec, [D]))
    assert f["home_care_active"] == 1 and f["home_care_hours_per_week"] == 7.5
    assert f["nursing_home"] == 0 and f["rehabilitation_active"] == 0
    assert f["preventive_home_visit_12m"] == 1 and f["municipal_services_12m"] == 3
    assert f["distinct_atc_12m"] == 5 and f["polypharmacy_5"] == 1 and f["polypharmacy_10"] == 0


def test_stacked_index_dates_equal_single_dates(spec) -> None:
    e = make_extract(
        [person("a"), person("b", "1955-03-01")],
        [
            admission("a", "2023-06-01", diagnosis="DJ189"),
            admission("b", "2024-06-01", diagnosis="DN390"),
        ],
        [gp("a", "2023-07-01")],
    )
    dates = [date(2023, 1, 1), date(2024, 1, 1)]
    stacked = build_features(e, spec, dates)
    single = pd.concat([build_features(e, spec, [d]) for d in dates], ignore_index=True)
    pd.testing.assert_frame_equal(stacked, single)


def test_social_attributes_are_audited_not_inputs_unless_the_spec_says(spec) -> None:
    assert "education" not in feature_columns(spec)
    social = spec.model_copy(
        update={"features": spec.features.model_copy(update={"social_inputs": True})}
    )
    assert {"education", "income_quintile", "origin", "living_alone", "rurality"} <= set(
        feature_columns(social)
    )
    t = build_features(make_extract([person("a")]), spec, [D])
    assert one(t)["rurality"] == "Provinsbykommune" and one(t)["age_band"] == "75-84"


# ---------------------------------------------------------------- leakage
PIDS = ["a", "b", "c"]
# days relative to D, often right at the edges (D itself, the day before, window starts)
days = st.one_of(
    st.integers(min_value=-900, max_value=400),
    st.sampled_from([0, 0, 1, -1, -90, -91, -92, -365, -366, -730, -731]),
)


def _iso(offset: int) -> str:
    return (pd.Timestamp(D) + pd.Timedelta(days=offset)).date().isoformat()


event = st.one_of(
    st.tuples(
        st.just("h"),
        st.sampled_from(PIDS),
        days,
        st.one_of(st.none(), st.integers(0, 20)),
        st.sampled_from(["inpatient", "outpatient", "emergency"]),
        st.booleans(),
        st.sampled_from(["DJ189", "DE119", "DF009", "DI500", "DR074", "DN390", "DC509"]),
        st.sampled_from([None, "DE112", "DK703;DK721", "DJ441;DN18"]),
    ),
    st.tuples(
        st.just("g"),
        st.sampled_from(PIDS),
        days,
        st.sampled_from(["consultation", "home_visit", "out_of_hours", "phone"]),
    ),
    st.tuples(
        st.just("m"),
        st.sampled_from(PIDS),
        days,
        st.one_of(st.none(), st.integers(0, 400)),
        st.sampled_from(["home_care", "nursing_home", "acute_team", "rehabilitation"]),
    ),
    st.tuples(
        st.just("r"),
        st.sampled_from(PIDS),
        days,
        st.sampled_from(["A10BA02", "N06DA02", "C10AA05"]),
    ),
)


def _extract(events):
    hospital, gps, services, prescriptions = [], [], [], []
    for e in events:
        if e[0] == "h":
            _, pid, start, length, ctype, acute, dx, secondary = e
            # an inpatient contact without an end is still admitted at the extract date
            end = (
                (None if length is None else _iso(start + length))
                if ctype == "inpatient"
                else _iso(start)
            )
            row = admission(
                pid, _iso(start), end, dx, contact_type=ctype, acute=acute, secondary=secondary
            )
            hospital.append({**row, "end_date": end})
        elif e[0] == "g":
            gps.append(gp(e[1], _iso(e[2]), e[3]))
        elif e[0] == "m":
            _, pid, start, length, name = e
            services.append(
                service(
                    pid, name, _iso(start), None if length is None else _iso(start + length), 2.0
                )
            )
        else:
            prescriptions.append(rx(e[1], _iso(e[2]), e[3]))
    people = [person("a"), person("b", "1950-02-28"), person("c", "1930-07-01")]
    return make_extract(
        people, hospital, gps, services, prescriptions, extract_date=date(2025, 3, 1)
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.lists(event, max_size=25), after=st.lists(event, max_size=25), data=st.data())
def test_events_on_or_after_d_never_change_a_feature(spec, before, after, data) -> None:
    """Adding, deleting or changing events that start on or after D leaves every feature as it
    was (labels may change)."""
    keep = [e for e in before if e[2] < 0]
    later = [e for e in before + after if e[2] >= 0]
    subset = data.draw(st.lists(st.sampled_from(later), unique_by=id) if later else st.just([]))
    columns = ["person_id", *built_columns(spec)]
    base = build_features(_extract(keep), spec, [D])[columns]
    for variant in (later, subset):
        other = build_features(_extract(keep + variant), spec, [D])[columns]
        pd.testing.assert_frame_equal(base, other)


# ---------------------------------------------------------------- data directory and command
def test_plain_icd10_codes_in_a_csv_extract(tmp_path: Path, spec) -> None:
    from riskstrat.contract import load_extract

    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame([person("a")]).to_csv(data / "persons.csv", index=False)
    pd.DataFrame(
        [
            admission("a", "2024-02-01", "2024-02-03", "j18.9"),
            admission("a", "2023-02-01", "2023-02-03", "E11.9"),
        ]
    ).to_csv(data / "hospital_contacts.csv", index=False)
    pd.DataFrame([gp("a", "2023-05-01")]).to_csv(data / "gp_contacts.csv", index=False)
    pd.DataFrame([service("a", "home_care", "2023-01-01", None, 1.0)]).to_csv(
        data / "municipal_services.csv", index=False
    )
    (data / "manifest.json").write_text('{"contract_version": 1, "extract_date": "2025-06-01"}')
    f = one(build_features(load_extract(data), spec, [D]))
    assert f["y_avoidable_admission"] == 1 and f["cond_diabetes"] == 1
    out = tmp_path / "features.parquet"
    code = main(
        [
            "features",
            "--data",
            str(data),
            "--index-date",
            "2024-01-01",
            "--spec",
            "models/avoidable_admission.yaml",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    written = pd.read_parquet(out)
    assert written.loc[0, "person_id"] == "a" and written.loc[0, "y_avoidable_admission"] == 1


def test_tiny_profile_features_are_plausible(tiny_data: Path, spec) -> None:
    from riskstrat.partitions import features_for_data_dir

    table = features_for_data_dir(tiny_data, date(2026, 1, 1), spec, [date(2024, 1, 1)])
    assert len(table) > 300 and table["person_id"].is_unique
    assert (table["age"] >= 65).all()
    assert 0.01 < table["y_avoidable_admission"].mean() < 0.2
    assert table[feature_columns(spec)].notna().all().drop("days_since_last_admission").all()


def test_candidates_cover_the_population_at_every_edge(spec) -> None:
    import duckdb

    from riskstrat.features import candidates

    dates = [date(2023, 3, 1), D, date(2025, 3, 1)]
    people = [
        person("turns-65-on-the-last-date", "1960-03-01"),
        person("leap-day-65-on-1-march", "1960-02-29"),
        person("turns-65-a-day-late", "1960-03-02"),
        person("died-on-the-first-date", death_date="2023-03-01"),
        person("died-the-day-before", death_date="2023-02-28"),
        person("emigrated-on-the-first-date", emigration_date="2023-03-01"),
        person("young", "1990-01-01"),
    ]
    extract = make_extract(people)
    table = build_features(extract, spec, dates, with_labels=False)
    con = duckdb.connect()
    con.register("persons", extract.persons)
    where = candidates(spec, dates).predicate()
    chosen = set(con.sql(f"SELECT person_id FROM persons WHERE {where}").df()["person_id"])
    in_population = set(table["person_id"])
    assert in_population <= chosen
    assert {
        "turns-65-on-the-last-date",
        "leap-day-65-on-1-march",
        "died-on-the-first-date",
        "emigrated-on-the-first-date",
    } <= in_population
    assert "turns-65-a-day-late" not in in_population
    assert {"died-the-day-before", "young"}.isdisjoint(chosen)


def test_reading_only_candidates_changes_no_feature_or_label(tiny_data: Path, spec) -> None:
    from riskstrat.contract import read_extract
    from riskstrat.features import candidates

    dates = [date(2023, 1, 1), date(2024, 1, 1), date(2025, 1, 1)]
    whole = build_features(read_extract(tiny_data, date(2026, 1, 1)), spec, dates)
    chosen = read_extract(tiny_data, date(2026, 1, 1), persons=candidates(spec, dates))
    assert len(chosen.persons) < 0.5 * len(read_extract(tiny_data, date(2026, 1, 1)).persons)
    pd.testing.assert_frame_equal(build_features(chosen, spec, dates), whole)


def test_empty_extract_population_and_dates_keep_columns_and_dtypes(spec) -> None:
    full = build_features(make_extract([person("a")], [admission("a", "2023-05-01")]), spec, [D])
    empties = [
        build_features(make_extract([person("young", "2000-01-01")]), spec, [D]),  # nobody 65+
        build_features(make_extract([person("a")]), spec, []),  # no index dates
    ]
    e = make_extract([person("a")])
    empties.append(
        build_features(dataclasses.replace(e, persons=e.persons.iloc[:0]), spec, [D])
    )  # no persons at all
    for table in empties:
        assert table.empty
        pd.testing.assert_series_equal(table.dtypes, full.dtypes)
    no_events = build_features(make_extract([person("a")]), spec, [D])  # nobody has any event
    pd.testing.assert_series_equal(no_events.dtypes, full.dtypes)
    assert (full[built_columns(spec)].dtypes == "float64").all()


def test_feature_columns_follow_the_spec(spec) -> None:
    names = feature_columns(spec)
    assert names[:2] == ["age", "sex_male"] and len(names) == len(set(names))
    assert set(names) <= set(build_features(make_extract([person("a")]), spec, [D]).columns)
    short = spec.model_copy(
        update={
            "features": spec.features.model_copy(
                update={"groups": ["demographics", "hospital"], "windows_months": [3]}
            )
        }
    )
    assert "acute_admissions_3m" in feature_columns(short)
    assert "acute_admissions_12m" not in feature_columns(
        short
    ) and "gp_contacts_3m" not in feature_columns(short)
    assert "acute_admissions_12m" in build_features(make_extract([person("a")]), short, [D]).columns
