"""persons from BEF / SDS CPR, DOD, VNDS, UDDA and IND: one test per rule (docs/registers.md)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from riskstrat.registers.common import Problem
from riskstrat.registers.persons import persons, to_registers
from tests.registers.files import PNR, bef

EXTRACT = date(2026, 1, 1)


def convert(registers: dict, gp: pd.DataFrame | None = None):
    problems: list[Problem] = []
    done = persons(registers, EXTRACT, problems, gp)
    return done, problems


def by_pnr(done) -> pd.DataFrame:
    return done.table.set_index("pnr")


def test_bef_codes_and_municipalities() -> None:
    done, problems = convert({"bef": bef()})
    assert problems == []
    t = by_pnr(done)
    assert t.loc[PNR[0], "sex"] == "M" and t.loc[PNR[1], "sex"] == "F"
    assert t.loc[PNR[2], "birth_date"] == pd.Timestamp("1960-03-03")
    assert t.loc[PNR[0], "living_alone"] and not t.loc[PNR[1], "living_alone"]
    # 751 Aarhus, 101 København, 730 Randers, 707 Norddjurs: all among the 98
    assert set(t["municipality_code"]) == {730, 707, 101, 751}


def test_municipality_outside_the_98_is_a_counted_drop() -> None:
    done, problems = convert({"bef": bef(kom=[730, 955, None, 0, 730])})
    assert problems == []
    assert list(done.table["pnr"]) == [PNR[0], PNR[4]]
    dropped = [c for c in done.changes if "municipal" in c.reason]
    assert [c.rows for c in dropped] == [3]


@pytest.mark.parametrize("column", ["foed_dag", "foed_dato", "fdato"])
def test_birth_date_column_names(column: str) -> None:
    frame = bef().rename(columns={"foed_dag": column})
    frame[column] = frame[column].dt.strftime("%d%b%Y")  # DST's text dates, e.g. 01JAN1940
    done, problems = convert({"bef": frame})
    assert problems == []
    assert by_pnr(done).loc[PNR[0], "birth_date"] == pd.Timestamp("1940-01-01")


def test_bad_sex_and_date_are_problems_with_rows() -> None:
    frame = bef(koen=[1, 2, 3, 1, "x"], foed_dag=["1940-01-01", "nope", "1960-03-03", "", "x"])
    _, problems = convert({"bef": frame})
    rules = {(p.column, p.rule): p for p in problems}
    assert rules[("koen", "must be 1 or 2")].rows == 2
    assert rules[("koen", "must be 1 or 2")].examples == (3, 5)
    assert rules[("foed_dag", "unparseable date")].examples == (2, 5)


def test_snapshot_in_force_at_the_extract_date() -> None:
    old = bef(kom=[730] * 5).assign(referencetid="2024-12-31")
    new = bef(kom=[707] * 5).iloc[:3].assign(referencetid="2025-12-31")
    future = bef(kom=[101] * 5).assign(referencetid="2026-03-31")
    done, problems = convert({"bef": pd.concat([old, new, future])})
    assert problems == []
    t = by_pnr(done)
    # in the latest snapshot before 2026-01-01: its municipality; not in it (dead,
    # emigrated): their latest earlier snapshot; the snapshot after the extract date unused
    assert list(t.loc[PNR[:3], "municipality_code"]) == [707] * 3
    assert list(t.loc[PNR[3:], "municipality_code"]) == [730] * 2
    reasons = {c.reason: c.rows for c in done.changes}
    assert reasons["snapshot dated on or after the extract date"] == 5


def test_a_pnr_twice_in_one_snapshot_is_a_problem() -> None:
    frame = bef(pnr=[PNR[0], PNR[1], PNR[0], PNR[3], PNR[4]])
    _, problems = convert({"bef": frame})
    assert [(p.column, p.rule, p.rows, p.examples) for p in problems] == [
        ("pnr", "given twice in one snapshot", 1, (3,))
    ]


def test_snapshot_from_the_file_period() -> None:
    old = bef(kom=[730] * 5).assign(source_period="202412")
    new = bef(kom=[707] * 5).assign(source_period="2025")
    done, _ = convert({"bef": pd.concat([new, old])})
    assert set(done.table["municipality_code"]) == {707}
    by_year = pd.concat([new.assign(year="2025"), old.assign(year="2024")]).drop(
        columns="source_period"
    )
    done, _ = convert({"bef": by_year})
    assert set(done.table["municipality_code"]) == {707}


def test_origin_from_ie_type_and_country() -> None:
    done, _ = convert({"bef": bef()})
    origin = by_pnr(done)["origin"]
    assert origin[PNR[0]] == "danish"
    assert origin[PNR[1]] == "immigrant_western"  # NO
    assert origin[PNR[2]] == "descendant_non_western"  # TR
    assert pd.isna(origin[PNR[3]])  # a DST numeric country code: not in the shipped list
    assert pd.isna(origin[PNR[4]])  # ie_type 9 unknown
    warned = [c for c in done.changes if "numeric DST country code" in c.reason]
    assert [c.rows for c in warned] == [1]


def test_sds_cpr_table() -> None:
    cpr = pd.DataFrame(
        {
            "pnr": ["a1", "b2", "c3"],
            "c_kon": ["M", "K", "k"],
            "d_foddato": ["1950-01-01", "1960-01-01", "1970-01-01"],
            "c_kom": ["730", "707", "101"],
            "c_status": ["01", "90", "80"],
            "d_status_hen_start": ["1950-01-01", "2024-02-02", "2023-03-03"],
        }
    )
    done, problems = convert({"cpr3_t_person": cpr})
    assert problems == []
    t = by_pnr(done)
    assert list(t["sex"]) == ["M", "F", "F"]
    assert t.loc["b2", "death_date"] == pd.Timestamp("2024-02-02")
    assert t.loc["c3", "emigration_date"] == pd.Timestamp("2023-03-03")
    assert pd.isna(t.loc["a1", "death_date"])


def test_death_dates() -> None:
    dod = pd.DataFrame(
        {"pnr": [PNR[0], PNR[0], PNR[1]], "doddato": ["2024-06-30", "2024-07-01", "2026-02-01"]}
    )
    done, _ = convert({"bef": bef(), "dod": dod})
    t = by_pnr(done)
    assert t.loc[PNR[0], "death_date"] == pd.Timestamp("2024-06-30")
    assert pd.isna(t.loc[PNR[1], "death_date"])  # after the extract date: dropped, counted
    assert any(c.register == "dod" and c.rows == 1 for c in done.changes)


def test_emigration_rule_over_vnds_and_the_2026_split() -> None:
    hist = pd.DataFrame(
        {"pnr": [PNR[0]], "indud_kode": ["u"], "haend_dato": ["1999-05-01"]}
    )  # emigrated 1999 and never came back
    out = pd.DataFrame(
        {"pnr": [PNR[1], PNR[2], PNR[3]], "haend_dato": ["2020-01-01", "2021-01-01", "2025-12-01"]}
    )
    back = pd.DataFrame({"pnr": [PNR[2], PNR[3]], "haend_dato": ["2022-01-01", "2026-02-01"]})
    done, problems = convert({"bef": bef(), "vnds_hist": hist, "vnds_ud": out, "vnds_ind": back})
    assert problems == []
    t = by_pnr(done)["emigration_date"]
    assert t[PNR[0]] == pd.Timestamp("1999-05-01")
    assert t[PNR[1]] == pd.Timestamp("2020-01-01")
    assert pd.isna(t[PNR[2]])  # returned before the extract date
    assert t[PNR[3]] == pd.Timestamp("2025-12-01")  # the return is after the extract date


def test_same_day_return_counts_as_after() -> None:
    vnds = pd.DataFrame(
        {"pnr": [PNR[0]] * 2, "indud_kode": ["I", "U"], "haend_dato": ["2024-01-01"] * 2}
    )
    done, _ = convert({"bef": bef(), "vnds": vnds})
    assert pd.isna(by_pnr(done).loc[PNR[0], "emigration_date"])


def test_education_through_the_level_lookup() -> None:
    udda = pd.DataFrame(
        {
            "pnr": [PNR[0], PNR[0], PNR[1], PNR[2], PNR[3]],
            "hfaudd": ["1001", "6510", "2015", "4321", None],
            "year": [2020, 2024, 2024, 2024, 2024],
        }
    )
    lookup = pd.DataFrame(
        {"HFAUDD": ["1001", "2015", "6510"], "hovedgruppe": ["H10", "20 Gymnasiale", "65"]}
    ).rename(columns=str.lower)
    done, _ = convert({"bef": bef(), "udda": udda, "audd_niveau": lookup})
    t = by_pnr(done)["education"]
    assert t[PNR[0]] == "tertiary"  # the latest year
    assert t[PNR[1]] == "upper_secondary"
    assert t[PNR[2]] == "unknown"  # not in the lookup: counted
    assert t[PNR[3]] == "unknown"  # no code
    assert pd.isna(t[PNR[4]])  # not in UDDA
    assert any("not in the level lookup" in c.reason and c.rows == 1 for c in done.changes)


def test_education_without_lookup_is_left_empty_with_a_warning() -> None:
    udda = pd.DataFrame({"pnr": PNR, "hfaudd": ["1001"] * 5})
    done, problems = convert({"bef": bef(), "udda": udda})
    assert problems == [] and done.table["education"].isna().all()
    assert any(c.action == "warning" and "audd_niveau" in c.reason for c in done.changes)


def test_income_quintiles_within_age_band() -> None:
    births = pd.to_datetime(["1950-06-01"] * 5 + ["1990-06-01"] * 5 + ["2015-01-01"])
    base = pd.DataFrame(
        {
            "pnr": [f"p{i}" for i in range(11)],
            "koen": 1,
            "foed_dag": births,
            "kom": 730,
        }
    )
    income = [50.0, 10.0, 40.0, 20.0, 30.0, 500.0, 100.0, 400.0, 200.0, 300.0, 1.0]
    ind = pd.DataFrame({"pnr": base["pnr"], "aekvivadisp_13": income, "year": 2025})
    ind_old = ind.assign(year=2019, aekvivadisp_13=income[::-1])
    done, problems = convert({"bef": base, "ind": pd.concat([ind_old, ind])})
    assert problems == []
    q = by_pnr(done)["income_quintile"]
    # five persons per band (75 and 35 years old): ranks 1..5 within each band, latest year
    assert list(q[[f"p{i}" for i in range(5)]]) == [5, 1, 4, 2, 3]
    assert list(q[[f"p{i}" for i in range(5, 10)]]) == [5, 1, 4, 2, 3]
    assert pd.isna(q["p10"])  # a child


def test_gp_clinic_of_the_latest_contact() -> None:
    gp = pd.DataFrame(
        {
            "pnr": [PNR[0], PNR[0], PNR[0], PNR[1]],
            "contact_date": pd.to_datetime(
                ["2024-01-01", "2025-01-01", "2025-06-01", "2025-01-01"]
            ),
            "contact_kind": ["consultation", "phone", "out_of_hours", "email"],
            "clinic_id": ["111111", "222222", "999999", None],
        }
    )
    done, _ = convert({"bef": bef()}, gp)
    t = by_pnr(done)["gp_clinic_id"]
    assert t[PNR[0]] == "222222"  # the out-of-hours contact is no clinic of the person
    assert pd.isna(t[PNR[1]]) and pd.isna(t[PNR[2]])


def test_to_registers_round_trip() -> None:
    table = pd.DataFrame(
        {
            "pnr": ["x1", "x2", "x3"],
            "birth_date": pd.to_datetime(["1940-01-01", "1990-05-05", "2015-02-02"]),
            "sex": ["F", "M", "F"],
            "municipality_code": [730, 707, 710],
            "gp_clinic_id": [None, None, None],
            "education": ["basic", "tertiary", None],
            "income_quintile": pd.array([3, 5, None], dtype="Int64"),
            "origin": ["danish", "immigrant_non_western", "descendant_western"],
            "living_alone": pd.array([True, False, None], dtype="boolean"),
            "death_date": pd.to_datetime(["2024-01-01", None, None]),
            "emigration_date": pd.to_datetime([None, "2023-01-01", None]),
        }
    )
    done, problems = convert(to_registers(table))
    assert problems == []
    got = done.table.set_index("pnr")
    want = table.set_index("pnr")
    for column in ["birth_date", "sex", "municipality_code", "education", "origin", "living_alone"]:
        assert (
            got[column].astype(object).where(got[column].notna(), None).tolist()
            == want[column].astype(object).where(want[column].notna(), None).tolist()
        ), column
    assert got["death_date"].equals(want["death_date"].astype("datetime64[s]"))
    assert got["emigration_date"].equals(want["emigration_date"].astype("datetime64[s]"))
