"""Municipal care (contract table, FSIII via KL Gateway, DST AE tables) and opt-outs."""

from __future__ import annotations

from datetime import date

import pandas as pd

from riskstrat.registers.common import Problem
from riskstrat.registers.municipal import (
    municipal_services,
    opt_outs,
    opt_outs_to_registers,
    to_registers,
)

EXTRACT = date(2026, 1, 1)


def convert(registers):
    problems: list[Problem] = []
    result = municipal_services(registers, EXTRACT, problems)
    assert result is not None
    return result, problems


def reason_count(result, words: str) -> int:
    return sum(c.rows for c in result.changes if words in c.reason)


def contract_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pnr": ["a", "a", "b"],
            "service": ["home_care", "nursing_home", "preventive_home_visit"],
            "start_date": pd.to_datetime(["2021-01-01", "2022-06-01", "2023-02-02"]).astype(
                "datetime64[s]"
            ),
            "end_date": pd.to_datetime(["2022-05-31", None, "2023-02-02"]).astype("datetime64[s]"),
            "hours_per_week": [3.5, None, None],
        }
    )


def test_the_contract_table_is_taken_as_given():
    table = contract_table()
    result, problems = convert(to_registers(table))
    assert not problems and not result.changes
    pd.testing.assert_frame_equal(result.table, table, check_dtype=False)


def test_fsiii_interventions_map_to_services_and_merge():
    fsiii = pd.DataFrame(
        {
            "citizen": ["a", "a", "a", "a", "b", "b", "c"],
            "intervention": ["H1.1", "h1.2", "G1.10", "H6.1", "H7.1", "H2.1", "G2.1"],
            "start": [
                "2021-01-01",
                "2021-03-01",
                "2021-02-01",
                "2022-01-01",
                "2021-01-01",
                "2021-05-01",
                "2021-01-01",
            ],
            "end": ["2021-04-30", None, "2021-02-28", "2022-03-31", None, "2021-07-31", None],
            "status": [
                "active",
                "active",
                "completed",
                "completed",
                "active",
                "completed",
                "entered-in-error",
            ],
        }
    )
    result, problems = convert({"fsiii": fsiii})
    assert not problems
    t = result.table
    rows = [
        (
            r.pnr,
            r.service,
            str(r.start_date.date()),
            None if pd.isna(r.end_date) else str(r.end_date.date()),
        )
        for r in t.itertuples()
    ]
    assert rows == [
        ("a", "home_care", "2021-01-01", None),  # H1.1 and the open H1.2 merge, open
        ("a", "home_nursing", "2021-02-01", "2021-02-28"),
        ("a", "training", "2022-01-01", "2022-03-31"),
        ("b", "rehabilitation", "2021-05-01", "2021-07-31"),
    ]
    assert reason_count(result, "merged") == 1
    assert reason_count(result, "no contract service") == 1  # H7 0-ydelse
    assert reason_count(result, "entered in error") == 1


def test_unknown_fsiii_code_and_bad_date_are_problems():
    fsiii = pd.DataFrame(
        {
            "citizen": ["a", "a"],
            "intervention": ["Z9.9", "H1.1"],
            "start": ["2021-01-01", "2021-02-30"],
        }
    )
    _, problems = convert({"fsiii": fsiii})
    assert {(p.column, p.examples) for p in problems} == {("intervention", (1,)), ("start", (2,))}


def test_dst_months_become_periods_with_a_coverage_warning():
    aefv = pd.DataFrame(
        {"pnr": ["a", "a", "a", "a"], "haend_mdr": ["201101", "201102", "201103", 201106]}
    )
    aepb = pd.DataFrame({"pnr": ["b"], "hænd_mdr": ["201512"]})
    result, problems = convert({"aefv": aefv, "aepb": aepb})
    assert not problems
    t = result.table
    assert t[["pnr", "service"]].values.tolist() == [
        ["a", "home_care"],
        ["a", "home_care"],
        ["b", "nursing_home"],
    ]
    assert [str(d.date()) for d in t["start_date"]] == ["2011-01-01", "2011-06-01", "2015-12-01"]
    assert [str(d.date()) for d in t["end_date"]] == ["2011-03-31", "2011-06-30", "2015-12-31"]
    warnings = [c for c in result.changes if c.action == "warning"]
    assert [(c.register, c.rows) for c in warnings] == [("aefv", 4), ("aepb", 1)]
    assert all("partial" in c.reason for c in warnings)


def test_sources_combine_and_missing_columns_are_problems():
    fsiii = pd.DataFrame(
        {"citizen": ["c"], "intervention": ["H5.2"], "start": ["2024-01-01"], "end": ["2024-02-01"]}
    )
    result, _ = convert({"municipal_services": contract_table(), "fsiii": fsiii})
    assert result.table["pnr"].tolist() == ["a", "a", "b", "c"]
    assert result.rows_read == {"municipal_services": 3, "fsiii": 1}
    problems: list[Problem] = []
    municipal_services({"aetr": pd.DataFrame({"pnr": ["a"]})}, EXTRACT, problems)
    assert [(p.register, p.column) for p in problems] == [("aetr", "haend_mdr")]
    assert municipal_services({}, EXTRACT, []) is None


def test_opt_outs_as_given():
    table = pd.DataFrame(
        {
            "pnr": ["a", "b"],
            "opt_out_date": pd.to_datetime(["2024-01-02", "2025-03-04"]).astype("datetime64[s]"),
        }
    )
    problems: list[Problem] = []
    result = opt_outs(opt_outs_to_registers(table), EXTRACT, problems)
    assert result is not None and not problems
    pd.testing.assert_frame_equal(result.table, table, check_dtype=False)
    bad: list[Problem] = []
    opt_outs({"opt_outs": pd.DataFrame({"pnr": ["a"], "opt_out_date": ["someday"]})}, EXTRACT, bad)
    assert [(p.column, p.rule) for p in bad] == [("opt_out_date", "unparseable date")]
    assert opt_outs({}, EXTRACT, []) is None
