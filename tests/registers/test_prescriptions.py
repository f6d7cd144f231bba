"""LMDB → prescriptions: DDD from volume × apk, corrections netted, bad values as problems."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from riskstrat.registers.common import Problem
from riskstrat.registers.prescriptions import prescriptions, to_registers

EXTRACT = date(2026, 1, 1)


def lmdb(rows: list[tuple]) -> dict[str, pd.DataFrame]:
    return {"lmdb": pd.DataFrame(rows, columns=["pnr", "eksd", "atc", "volume", "apk", "vnr"])}


def convert(registers):
    problems: list[Problem] = []
    result = prescriptions(registers, EXTRACT, problems)
    assert result is not None
    return result, problems


def reason_count(result, words: str) -> int:
    return sum(c.rows for c in result.changes if words in c.reason)


def test_ddd_is_volume_times_packages():
    result, problems = convert(
        lmdb(
            [
                ("p1", "20200110", "a10ab01", 10, 5, "111"),
                ("p1", "01MAR2020", "C03 CA01", 98, 1, "222"),
                ("p2", "2020-04-01", "N06DA02", "28,5", 2, "333"),
            ]
        )
    )
    assert not problems
    t = result.table
    assert t["ddd"].tolist() == [50.0, 98.0, 57.0]
    assert t["atc_code"].tolist() == ["A10AB01", "C03CA01", "N06DA02"]
    assert t["dispense_date"].tolist() == [
        pd.Timestamp(d) for d in ("2020-01-10", "2020-03-01", "2020-04-01")
    ]


def test_corrections_are_netted_against_their_dispensing():
    result, problems = convert(
        lmdb(
            [
                ("p1", "2021-01-10", "A10BA02", 50, 3, "111"),
                ("p1", "2021-01-20", "A10BA02", 50, -1, "111"),  # one of three packages returned
                ("p2", "2021-02-01", "C10AA01", 30, 1, "222"),
                ("p2", "2021-02-01", "C10AA01", 30, -1, "222"),  # the dispensing cancelled
                ("p3", "2021-03-01", "N02BE01", 10, -2, "333"),  # nothing to net against
                ("p4", "2021-03-01", "N02BE01", 10, 1, "444"),
                ("p4", "2021-02-01", "N02BE01", 10, -1, "444"),  # before the dispensing: orphan
            ]
        )
    )
    assert not problems
    t = result.table
    assert t[["pnr", "ddd"]].values.tolist() == [["p1", 100.0], ["p4", 10.0]]
    assert reason_count(result, "netted against") == 2
    assert reason_count(result, "cancelled by its corrections") == 1
    assert reason_count(result, "without an earlier dispensing") == 2


def test_bad_values_are_problems():
    registers = lmdb(
        [("p1", "2021-02-30", "A10BA02", "x", 1, "1"), ("p1", "2021-02-01", "A10", 5, 1, "1")]
    )
    result, problems = convert(registers)
    assert {(p.column, p.rule, p.examples) for p in problems} == {
        ("eksd", "unparseable date", (1,)),
        ("volume", "not a number", (1,)),
    }
    missing: list[Problem] = []
    prescriptions({"lmdb": pd.DataFrame({"pnr": ["p1"], "eksd": ["2021-01-01"]})}, EXTRACT, missing)
    assert [(p.column, p.rule) for p in missing] == [("atc", "required column is missing")]
    assert prescriptions({}, EXTRACT, []) is None


def test_without_volume_ddd_is_empty_with_a_warning():
    frame = pd.DataFrame({"pnr": ["p1"], "eksd": ["2021-01-01"], "atc": ["A10BA02"], "apk": [2]})
    result, _ = convert({"lmdb": frame})
    assert result.table["ddd"].isna().all()
    assert [c.action for c in result.changes] == ["warning"]


@pytest.mark.parametrize("ddd", [98.0, None])
def test_round_trip_is_exact(ddd):
    table = pd.DataFrame(
        {
            "pnr": ["a", "a", "b"],
            "dispense_date": pd.to_datetime(["2021-01-01", "2021-02-01", "2022-05-05"]),
            "atc_code": ["A10BA02", "C03CA01", "N06DA02"],
            "ddd": [ddd, 30.0, 14.0],
        }
    )
    back = convert(to_registers(table))[0].table
    pd.testing.assert_frame_equal(
        back.astype({"dispense_date": "datetime64[s]"}),
        table.astype({"dispense_date": "datetime64[s]", "pnr": object, "atc_code": object}),
    )
