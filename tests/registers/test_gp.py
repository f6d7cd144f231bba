"""SSSY/SYSI → gp_contacts: fee weeks, fee codes, timing, children's services, counts, 2005."""

from __future__ import annotations

from datetime import date

import pandas as pd

from riskstrat.registers.common import Problem
from riskstrat.registers.gp import fee_week_monday, gp_contacts, to_registers

EXTRACT = date(2026, 1, 1)
COLUMNS = ["pnr", "ydernr", "honuge", "speciale", "ydlant", "ydltid", "barnmak"]


def claims(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def convert(registers):
    problems: list[Problem] = []
    result = gp_contacts(registers, EXTRACT, problems)
    assert result is not None
    return result, problems


def reason_count(result, words: str) -> int:
    return sum(c.rows for c in result.changes if words in c.reason)


def test_fee_week_is_the_monday_of_its_iso_week():
    problems: list[Problem] = []
    weeks = pd.Series(["2101", "0453", "9924", "9001", "2053", 107, "2153"])
    mondays = fee_week_monday(weeks, "sssy", problems)
    assert not problems
    expected = [
        date(2021, 1, 4),  # ISO week 1 of 2021
        date(2004, 12, 27),  # 2004 has 53 ISO weeks
        date(1999, 6, 14),  # years 90-99 are 19xx
        date(1990, 1, 1),
        date(2020, 12, 28),  # week 53 of 2020
        date(2001, 2, 12),  # 0107 read from a numeric column as 107
        date(2022, 1, 3),  # week 53 of 52-week 2021: the Monday after week 52
    ]
    assert [d.date() for d in mondays] == expected
    assert all(d.weekday() == 0 for d in mondays)


def test_unparseable_weeks_are_one_problem_with_examples():
    problems: list[Problem] = []
    fee_week_monday(pd.Series(["2101", "2100", "21x1", "2154", "210101"]), "sysi", problems)
    assert len(problems) == 1
    assert (problems[0].column, problems[0].rows, problems[0].examples) == (
        "honuge",
        4,
        (2, 3, 4, 5),
    )


def test_fee_codes_give_the_contact_kind_and_timing_gives_out_of_hours():
    sssy = claims(
        [
            ("p1", "012345", "2110", "800101", 1, "1", 0),  # consultation
            ("p1", "012345", "2110", "800201", 1, "1", 0),  # phone
            ("p1", "012345", "2110", "800105", 1, "1", 0),  # e-mail
            ("p1", "012345", "2110", "800411", 1, "1", 0),  # home visit
            ("p1", "098765", "2111", "800101", 1, "3", 0),  # evening: out of hours
            ("p1", "012345", "2110", "802101", 1, "1", 0),  # a fee that is not a contact
            ("p1", "554433", "2110", "540101", 1, "1", 0),  # podiatrist, not GP
        ]
    )
    result, problems = convert({"sssy": sssy})
    assert not problems
    t = result.table
    assert sorted(t["contact_kind"]) == [
        "consultation",
        "email",
        "home_visit",
        "out_of_hours",
        "phone",
    ]
    assert t.loc[t["contact_kind"] == "out_of_hours", "clinic_id"].tolist() == ["098765"]
    assert set(t.loc[t["contact_kind"] != "out_of_hours", "contact_date"]) == {
        pd.Timestamp("2021-03-08")
    }
    assert reason_count(result, "not a contact") == 1
    assert reason_count(result, "not general practice") == 1


def test_only_the_persons_own_services_count():
    sssy = claims(
        [
            ("p1", "1", "2110", "800101", 1, "1", 0),
            ("p1", "1", "2110", "800101", 1, "1", 1),  # a service to p1's child
        ]
    )
    result, _ = convert({"sssy": sssy})
    assert len(result.table) == 1
    assert reason_count(result, "child") == 1


def test_ydlant_gives_one_contact_per_service_and_corrections_net():
    sssy = claims(
        [
            ("p1", "1", "2110", "800101", 3, "1", 0),  # three consultations
            ("p2", "1", "2110", "800101", 2, "1", 0),
            ("p2", "1", "2110", "800101", -2, "1", 0),  # a correction cancelling both
            ("p3", "1", "2110", "800101", 2.0, "1", 0),
        ]
    )
    result, problems = convert({"sssy": sssy})
    assert not problems
    assert result.table["pnr"].tolist() == ["p1", "p1", "p1", "p3", "p3"]
    assert reason_count(result, "net to zero") == 1
    assert reason_count(result, "one contact per service") == 3
    bad = claims([("p1", "1", "2110", "800101", "two", "1", 0)])
    assert convert({"sssy": bad})[1][0].column == "ydlant"


def test_2005_in_both_registers_is_counted_once():
    week = [("p1", "1", "0510", "800101", 1, "1", 0)]
    sysi = claims(week + [("p1", "1", "0410", "800101", 1, "1", 0)])
    sssy = claims(week + [("p1", "1", "0610", "800101", 1, "1", 0)])
    result, _ = convert({"sysi": sysi, "sssy": sssy})
    assert [d.year for d in result.table["contact_date"]] == [2004, 2005, 2006]
    assert reason_count(result, "also in SSSY") == 1
    assert result.rows_read == {"sssy": 2, "sysi": 2}


def test_missing_columns_are_problems():
    problems: list[Problem] = []
    gp_contacts({"sssy": pd.DataFrame({"pnr": ["p1"], "honuge": ["2101"]})}, EXTRACT, problems)
    assert [(p.register, p.column) for p in problems] == [("sssy", "speciale")]
    assert gp_contacts({}, EXTRACT, []) is None


def test_round_trip_dates_contacts_on_their_monday():
    table = pd.DataFrame(
        {
            "pnr": ["a", "a", "a", "a", "b", "b"],
            "contact_date": pd.to_datetime(
                ["2021-03-10", "2021-03-12", "2021-03-12", "2021-01-01", "2005-06-01", "2022-02-02"]
            ),
            "contact_kind": ["consultation", "consultation", "phone", "out_of_hours", "email",
                             "home_visit"],
            "clinic_id": ["C1", "C1", "C1", None, "C2", "C2"],
        }
    )  # fmt: skip
    registers = to_registers(table)
    assert set(registers) == {"sysi", "sssy"}
    assert registers["sssy"]["ydlant"].max() == 2  # two consultations in one week
    back = convert(registers)[0].table
    monday = table["contact_date"] - pd.to_timedelta(table["contact_date"].dt.weekday, unit="D")
    expected = table.assign(contact_date=monday).sort_values(
        ["pnr", "contact_date", "contact_kind"]
    )
    assert back["contact_date"].tolist() == expected["contact_date"].tolist()
    assert back["contact_kind"].tolist() == expected["contact_kind"].tolist()
    assert back["clinic_id"].tolist() == expected["clinic_id"].tolist()


def test_numeric_columns_as_parquet_and_sas_readers_give_them():
    sssy = pd.DataFrame(
        {
            "pnr": ["p1", "p1"],
            "ydernr": [12345.0, 12345.0],
            "honuge": [107.0, 2110.0],  # 0107 lost its leading zero
            "speciale": [800101.0, 800201.0],
            "ydlant": [1.0, 2.0],
            "ydltid": [1.0, 2.0],
            "barnmak": [0.0, 0.0],
        }
    )
    result, problems = convert({"sssy": sssy})
    assert not problems
    t = result.table
    assert [d.date() for d in t["contact_date"]] == [
        date(2001, 2, 12),
        date(2021, 3, 8),
        date(2021, 3, 8),
    ]
    assert t["contact_kind"].tolist() == ["consultation", "out_of_hours", "out_of_hours"]
    assert t["clinic_id"].tolist() == ["12345"] * 3
