"""LPR2 and LPR3 → hospital_contacts: one test per hard case, on hand-written register rows."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd
import pytest

from riskstrat.registers.common import Change, Problem
from riskstrat.registers.hospital import hospital_contacts, to_registers

EXTRACT = date(2026, 1, 1)


def convert(registers, extract=EXTRACT):
    problems: list[Problem] = []
    result = hospital_contacts(registers, extract, problems)
    assert result is not None
    return result, problems


def count(changes: list[Change], words: str) -> int:
    return sum(c.rows for c in changes if words in c.reason)


def lpr3(contacts: list[tuple], diagnoses: list[tuple]) -> dict[str, pd.DataFrame]:
    """kontakter rows: (pnr, id, start date, start time, end date, end time, type, priority);
    diagnoser rows: (id, code, type, disproved)."""
    k = pd.DataFrame(
        contacts,
        columns=["pnr", "dw_ek_kontakt", "dato_start", "tidspunkt_start", "dato_slut",
                 "tidspunkt_slut", "kontakttype", "prioritet"],
    )  # fmt: skip
    d = pd.DataFrame(
        diagnoses, columns=["dw_ek_kontakt", "diagnosekode", "diagnosetype", "senere_afkraeftet"]
    )
    return {"kontakter": k, "diagnoser": d}


def lpr2(adm: list[tuple], diag: list[tuple]) -> dict[str, pd.DataFrame]:
    """lpr_adm rows: (pnr, recnum, d_inddto, d_uddto, c_pattype, c_indm);
    lpr_diag rows: (recnum, c_diag, c_diagtype)."""
    a = pd.DataFrame(adm, columns=["pnr", "recnum", "d_inddto", "d_uddto", "c_pattype", "c_indm"])
    d = pd.DataFrame(diag, columns=["recnum", "c_diag", "c_diagtype"])
    return {"lpr_adm": a, "lpr_diag": d}


def test_lpr3_stay_of_12_hours_or_more_is_an_admission():
    registers = lpr3(
        [
            # ED 10:00-13:00, ward from 14:00 (1 h later) to next day 09:00: one stay of 23 h
            ("p1", "e1", "2023-03-01", "10:00", "2023-03-01", "13:00", "ALCA00", "ATA1"),
            ("p1", "w1", "2023-03-01", "14:00", "2023-03-02", "09:00", "ALCA00", "ATA3"),
            # 11 h 59 min of attendance: not an admission
            ("p2", "o1", "2023-03-01", "08:00", "2023-03-01", "19:59", "ALCA00", "ATA3"),
            # exactly 12 h
            ("p3", "o2", "2023-03-01", "08:00", "2023-03-01", "20:00", "ALCA00", "ATA3"),
            # two visits 4 h 1 min apart: two stays
            ("p4", "a", "2023-03-01", "08:00", "2023-03-01", "09:00", "ALCA00", "ATA3"),
            ("p4", "b", "2023-03-01", "13:01", "2023-03-01", "14:00", "ALCA00", "ATA3"),
            # two visits exactly 4 h apart: one stay of 8 h, not an admission
            ("p5", "c", "2023-03-01", "08:00", "2023-03-01", "09:00", "ALCA00", "ATA3"),
            ("p5", "d", "2023-03-01", "13:00", "2023-03-01", "16:00", "ALCA00", "ATA3"),
        ],
        [
            ("e1", "DR069", "A", "Nej"),
            ("w1", "DJ189", "A", "Nej"),
            ("w1", "DI500", "B", "Nej"),
            ("o1", "DZ031", "A", "Nej"),
            ("o2", "DZ031", "A", "Nej"),
            ("a", "DE119", "A", "Nej"),
            ("b", "DE119", "A", "Nej"),
            ("c", "DI10", "A", "Nej"),
            ("d", "DI109", "A", "Nej"),
        ],
    )
    result, problems = convert(registers)
    t = result.table.set_index("pnr")
    assert not problems
    stay = t.loc["p1"]
    assert stay["contact_type"] == "inpatient" and bool(stay["acute"])  # began in the ED
    assert stay["start_date"] == pd.Timestamp("2023-03-01")
    assert stay["end_date"] == pd.Timestamp("2023-03-02")
    # the longest contact's action diagnosis; the ED's becomes a secondary diagnosis
    assert stay["action_diagnosis"] == "DJ189"
    assert stay["secondary_diagnoses"] == "DR069;DI500"
    assert t.loc["p2", "contact_type"] == "outpatient"
    assert t.loc["p3", "contact_type"] == "inpatient"
    assert len(t.loc[["p4"]]) == 2
    assert len(t.loc[["p5"]]) == 1 and t.loc["p5", "contact_type"] == "outpatient"
    assert t.loc["p5", "action_diagnosis"] == "DI109"  # 3 h beats 1 h
    assert count(result.changes, "linked into the stay") == 2
    assert result.rows_read == {"kontakter": 8, "diagnoser": 9}


def test_acute_from_ata1_and_short_acute_stay_is_an_ed_visit():
    registers = lpr3(
        [
            ("p1", "k1", "2022-05-01", "22:00", "2022-05-02", "01:30", "ALCA00", "ATA1"),
            ("p2", "k2", "2022-05-01", "09:00", "2022-05-01", "09:20", "ALCA00", "ATA3"),
        ],
        [("k1", "DS525", "A", "Nej"), ("k2", "DH251", "A", "Nej")],
    )
    t = convert(registers)[0].table.set_index("pnr")
    assert t.loc["p1", "contact_type"] == "emergency" and bool(t.loc["p1", "acute"])
    assert t.loc["p1", "end_date"] == pd.Timestamp("2022-05-02")
    assert t.loc["p2", "contact_type"] == "outpatient" and not bool(t.loc["p2", "acute"])


def test_lpr2_patient_types_acute_and_ed_visits_before_and_from_2014():
    registers = lpr2(
        [
            ("p1", "r1", "2010-02-01", "2010-02-05", "0", "1"),  # acute admission
            ("p1", "r2", "2010-06-01", "2010-06-01", "3", "1"),  # ED visit (pattype 3)
            ("p1", "r3", "2012-06-01", "2012-06-01", "2", "1"),  # acute outpatient, before 2014
            ("p1", "r4", "2015-06-01", "2015-06-01", "2", "1"),  # from 2014: an ED visit
            ("p1", "r5", "2015-07-01", "2015-07-01", "2", "2"),  # planned outpatient
            ("p1", "r6", "2016-01-01", "2016-01-03", "0", "2"),  # planned admission
        ],
        [(f"r{i}", "DJ189", "A") for i in range(1, 7)],
    )
    result, problems = convert(registers)
    t = result.table
    assert not problems
    assert t["contact_type"].tolist() == [
        "inpatient", "emergency", "outpatient", "emergency", "outpatient", "inpatient",
    ]  # fmt: skip
    assert t["acute"].tolist() == [True, True, True, True, False, False]
    assert t["end_date"].iloc[0] == pd.Timestamp("2010-02-05")


def test_disproved_and_add_on_diagnoses_are_dropped_and_counted():
    registers = lpr3(
        [("p1", "k1", "2021-01-05", "08:00", "2021-01-05", "09:00", "ALCA00", "ATA3")],
        [
            ("k1", "DE110", "A", "Ja"),  # disproved action diagnosis
            ("k1", "DI25", "A", "Nej"),
            ("k1", "DE119", "B", "Ja"),  # disproved secondary
            ("k1", "DJ441", "B", "Nej"),
            ("k1", "DUA01", "+", "Nej"),  # add-on code
        ],
    )
    registers["diagnoser"]["senere_afkraeftet"] = ["JA", "Nej", "ja", "nej", "Nej"]
    result, _ = convert(registers)
    row = result.table.iloc[0]
    assert row["action_diagnosis"] == "DI25" and row["secondary_diagnoses"] == "DJ441"
    assert count(result.changes, "later disproved") == 2
    assert count(result.changes, "add-on") == 1
    adm = lpr2([("p1", "r1", "2015-01-01", "2015-01-01", "2", "2")], [])
    adm["lpr_diag"] = pd.DataFrame(
        {
            "recnum": ["r1", "r1", "r1"],
            "c_diag": ["DJ189", "DI10", "DUP01"],
            "c_diagtype": ["A", "B", "+"],
        }
    )
    result, _ = convert(adm)
    assert result.table["secondary_diagnoses"].tolist() == ["DI10"]
    assert count(result.changes, "add-on") == 1


def test_icd8_codes_are_kept_out_and_counted():
    registers = lpr2(
        [
            ("p1", "r1", "1992-01-20", "1992-01-25", "0", "1"),  # ICD-8 era admission
            ("p1", "r2", "2013-01-20", "2013-01-21", "0", "1"),
        ],
        [("r1", "24901", "A"), ("r2", "DE105", "A"), ("r2", "250", "B"), ("r2", "DE114", "B")],
    )
    result, problems = convert(registers)
    assert not problems
    assert result.table["action_diagnosis"].tolist() == ["DE105"]
    assert result.table["secondary_diagnoses"].tolist() == ["DE114"]
    assert count(result.changes, "ICD-8 code") == 2
    assert count(result.changes, "contact of ICD-8") == 1


def test_the_2019_switch_counts_a_stay_once():
    registers = lpr2(
        [
            # closed in LPR2 at the switch and reported again in LPR3 from 3 February
            ("p1", "r1", "2019-01-30", "2019-02-02", "0", "1"),
            ("p1", "r2", "2018-06-01", "2018-06-01", "2", "2"),  # long before: kept
            ("p2", "r3", "2019-01-10", "2019-01-12", "0", "1"),  # no LPR3 stay near it: kept
        ],
        [("r1", "DJ189", "A"), ("r2", "DZ031", "A"), ("r3", "DN390", "A")],
    )
    registers |= lpr3(
        [
            ("p1", "k1", "2019-02-03", "00:00", "2019-02-06", "10:00", "ALCA00", "ATA1"),
            ("p2", "k2", "2019-02-20", "10:00", "2019-02-20", "11:00", "ALCA00", "ATA3"),
        ],
        [("k1", "DJ189", "A", "Nej"), ("k2", "DZ031", "A", "Nej")],
    )
    result, problems = convert(registers)
    t = result.table
    assert not problems
    assert len(t) == 4
    p1 = t[t["pnr"] == "p1"]
    assert p1["start_date"].tolist() == [pd.Timestamp("2018-06-01"), pd.Timestamp("2019-02-03")]
    assert count(result.changes, "after the 2019 switch") == 1


def test_virtual_contacts_and_contacts_without_diagnosis_are_counted():
    registers = lpr3(
        [
            ("p1", "v", "2021-01-05", "08:00", "2021-01-05", "08:10", "ALCA03", "ATA3"),
            ("p1", "n", "2021-02-05", "08:00", "2021-02-05", "09:00", "ALCA00", "ATA3"),
        ],
        [("v", "DZ031", "A", "Nej"), ("n", "DE109", "B", "Nej")],
    )
    result, _ = convert(registers)
    assert result.table.empty
    assert count(result.changes, "not a physical attendance") == 1
    assert count(result.changes, "without an action diagnosis") == 1


def test_an_ongoing_stay_is_an_admission_without_end_date():
    registers = lpr3(
        [("p1", "k", "2025-12-30", "10:00", None, None, "ALCA00", "ATA1")],
        [("k", "DJ189", "A", "Nej")],
    )
    row = convert(registers)[0].table.iloc[0]
    assert row["contact_type"] == "inpatient" and pd.isna(row["end_date"])


@pytest.mark.parametrize("layout", ["lpr_a", "sds"])
def test_lpr_a_and_sds_layouts_read_the_same(layout):
    if layout == "lpr_a":
        registers = {
            "lpr_a_kontakt": pd.DataFrame(
                {
                    "pnr": ["p1"],
                    "dw_ek_kontakt": ["k"],
                    "kont_starttidspunkt": ["2022-03-01 10:00:00"],
                    "kont_sluttidspunkt": ["2022-03-02 11:00:00"],
                    "kont_type": ["ALCA00"],
                    "prioritet": ["ATA1"],
                    "adiag": ["DJ189"],
                }
            ),  # fmt: skip
            "lpr_a_diagnose": pd.DataFrame(
                {
                    "dw_ek_kontakt": ["k", "k"],
                    "diag_kode": ["DJ189", "DI500"],
                    "diag_kode_type": ["A", "B"],
                    "senere_afkraeftet": ["Nej", "Nej"],
                }
            ),  # fmt: skip
        }
    else:
        registers = {
            "lpr3_sb_kontakt": pd.DataFrame(
                {
                    "pnr": ["p1"],
                    "kontakt_id": ["k"],
                    "starttidspunkt": pd.to_datetime(["2022-03-01 10:00:00"]),
                    "sluttidspunkt": pd.to_datetime(["2022-03-02 11:00:00"]),
                    "kontakttype": ["ALCA00"],
                    "prioritet": ["ATA1"],
                    "aktionsdiagnose": ["DJ189"],
                }
            ),  # fmt: skip
            "lpr3_sb_diagnose": pd.DataFrame(
                {"kontakt_id": ["k", "k"], "kode": ["DJ189", "DI500"], "art": ["A", "B"]}
            ),
        }
    row = convert(registers)[0].table.iloc[0]
    assert (row["contact_type"], bool(row["acute"])) == ("inpatient", True)
    assert (row["action_diagnosis"], row["secondary_diagnoses"]) == ("DJ189", "DI500")


def test_bad_values_are_problems_not_exceptions():
    registers = lpr3(
        [
            ("p1", "k1", "2021-13-45", "08:00", "2021-01-05", "09:00", "ALCA00", "ATA3"),
            ("p1", "k2", "2021-01-06", "25:61", "2021-01-06", "09:00", "ALCA00", "ATA3"),
        ],
        [("k1", "DZ031", "A", "Nej"), ("k2", "DZ031", "A", "Nej")],
    )
    registers |= lpr2([("p1", "r1", "2010-01-01", "2010-01-01", "7", "1")], [("r1", "DZ031", "A")])
    registers["lpr_diag"] = registers["lpr_diag"].drop(columns="c_diagtype")
    problems: list[Problem] = []
    hospital_contacts(registers, EXTRACT, problems)
    found = {(p.register, p.column, p.rule): p for p in problems}
    assert found[("kontakter", "dato_start", "unparseable date")].examples == (1,)
    assert found[("kontakter", "tidspunkt_start", "unparseable time of day")].examples == (2,)
    assert found[("lpr_adm", "c_pattype", "patient type must be 0-5")].rows == 1
    assert ("lpr_diag", "c_diagtype", "required column is missing") in found


def test_no_lpr_register_gives_none():
    assert hospital_contacts({"lmdb": pd.DataFrame()}, EXTRACT, []) is None


def contract_rows() -> pd.DataFrame:
    d = pd.Timestamp
    return pd.DataFrame(
        {
            "pnr": ["a", "a", "a", "b", "b", "c", "c", "d"],
            "start_date": [d("2021-03-01"), d("2021-03-01"), d("2021-03-10"), d("2022-01-01"),
                           d("2022-01-01"), d("2018-05-01"), d("2015-05-01"), d("2025-12-20")],
            "end_date": [d("2021-03-01"), d("2021-03-01"), d("2021-03-14"), d("2022-01-01"),
                         d("2022-01-01"), d("2018-05-04"), d("2015-05-01"), pd.NaT],
            "contact_type": ["outpatient", "emergency", "inpatient", "outpatient", "outpatient",
                             "inpatient", "emergency", "inpatient"],
            "acute": [False, True, False, False, False, True, True, True],
            "action_diagnosis": ["DZ031", "DS525", "DJ189", "DI10", "DE119", "DJ441", "DS720",
                                 "DN390"],
            "secondary_diagnoses": [None, None, "DI500;DE119", None, None, "DJ449", None, None],
            "hospital_code": ["108101", "108101", "108101", "108401", "108401", None, "1301",
                              "108101"],
        }
    )  # fmt: skip


def test_round_trip_gives_the_contract_rows_back():
    table = contract_rows()
    registers = to_registers(table)
    assert set(registers) == {"lpr_adm", "lpr_diag", "kontakter", "diagnoser"}
    result, problems = convert(registers)
    assert not problems
    back = result.table.sort_values(["pnr", "start_date", "action_diagnosis"]).reset_index(
        drop=True
    )
    expected = table.sort_values(["pnr", "start_date", "action_diagnosis"]).reset_index(drop=True)
    for column in expected.columns:
        want = [None if pd.isna(v) else v for v in expected[column]]
        assert [None if pd.isna(v) else v for v in back[column]] == want, column
    assert not [c for c in result.changes if c.action in ("dropped", "merged")]


def test_round_trip_merges_a_visit_on_a_day_of_an_admission_as_documented():
    d = pd.Timestamp
    table = pd.DataFrame(
        {
            "pnr": ["a", "a"],
            "start_date": [d("2021-03-10"), d("2021-03-12")],
            "end_date": [d("2021-03-14"), d("2021-03-12")],
            "contact_type": ["inpatient", "outpatient"],
            "acute": [False, False],
            "action_diagnosis": ["DJ189", "DZ031"],
            "secondary_diagnoses": [None, None],
            "hospital_code": ["108101", "108101"],
        }
    )
    result, _ = convert(to_registers(table))
    assert len(result.table) == 1
    row = result.table.iloc[0]
    assert (row["contact_type"], row["action_diagnosis"], row["secondary_diagnoses"]) == (
        "inpatient", "DJ189", "DZ031",
    )  # fmt: skip
    assert count(result.changes, "linked into the stay") == 1


def test_synthetic_round_trip_is_row_for_row(tiny_data):
    """The generator's contacts come back row for row: it writes one stay at a time, no
    contact on a day of an admission and at most four a day, so the stay rule links none."""
    table = pd.read_parquet(tiny_data / "hospital_contacts").rename(columns={"person_id": "pnr"})
    result, problems = convert(to_registers(table))
    assert not problems

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        for column in ("start_date", "end_date"):
            out[column] = pd.to_datetime(out[column]).fillna(pd.Timestamp("2262-01-01"))
        for column in (
            "pnr",
            "contact_type",
            "action_diagnosis",
            "secondary_diagnoses",
            "hospital_code",
        ):
            out[column] = out[column].astype(object).where(out[column].notna(), "")
        return out.assign(acute=out["acute"].astype(bool))

    before = Counter(rows(table).itertuples(index=False, name=None))
    after = Counter(rows(result.table).itertuples(index=False, name=None))
    assert (table["contact_type"] == "inpatient").sum() > 100
    assert before == after
    assert count(result.changes, "linked into the stay") == 0


def test_typed_values_as_parquet_and_sas_readers_give_them():
    """Floats for codes, datetime64 or date objects for dates, `datetime.time` for times."""
    import datetime as dt

    registers = {
        "lpr_adm": pd.DataFrame(
            {
                "pnr": ["p1", "p1"],
                "recnum": [1.0, 2.0],
                "d_inddto": pd.to_datetime(["2015-03-01", "2016-04-01"]),
                "d_uddto": [dt.date(2015, 3, 4), None],
                "c_pattype": [0.0, 2.0],
                "c_indm": [1.0, 1.0],
                "c_sgh": [1301.0, float("nan")],
            }
        ),
        "lpr_diag": pd.DataFrame(
            {"recnum": [1.0, 2.0], "c_diag": ["DJ189", "DS525"], "c_diagtype": ["A", "A"]}
        ),
        "kontakter": pd.DataFrame(
            {
                "pnr": ["p1"],
                "dw_ek_kontakt": [123456789012.0],
                "dato_start": [dt.date(2021, 5, 1)],
                "tidspunkt_start": [dt.time(22, 15)],
                "dato_slut": pd.to_datetime(["2021-05-02"]),
                "tidspunkt_slut": [dt.time(11, 0)],
                "kontakttype": ["ALCA00"],
                "prioritet": ["ATA1"],
            }
        ),
        "diagnoser": pd.DataFrame(
            {
                "dw_ek_kontakt": [123456789012.0],
                "diagnosekode": ["DJ441"],
                "diagnosetype": ["A"],
                "senere_afkraeftet": ["Nej"],
            }
        ),
    }
    result, problems = convert(registers)
    assert not problems
    t = result.table
    assert t["contact_type"].tolist() == ["inpatient", "emergency", "inpatient"]
    assert t["hospital_code"].tolist() == ["1301", None, None]
    assert t["action_diagnosis"].tolist() == ["DJ189", "DS525", "DJ441"]
    assert t["end_date"].iloc[0] == pd.Timestamp("2015-03-04") and pd.isna(t["end_date"].iloc[1])


def test_a_fractional_code_is_a_problem_not_an_exception():
    registers = lpr2([("p1", "r1", "2015-01-01", "2015-01-01", "2", "1")], [("r1", "DJ189", "A")])
    registers["lpr_adm"]["c_pattype"] = [2.5]
    problems: list[Problem] = []
    hospital_contacts(registers, EXTRACT, problems)
    assert [(p.column, p.rule) for p in problems] == [("c_pattype", "patient type must be 0-5")]


def test_contacts_around_the_2019_switch_come_back_as_written():
    """An admission running into 2019 and a contact the day after its discharge, when LPR3
    holds it: neither is taken for a contact reported twice (the switch rule)."""
    table = pd.DataFrame(
        {
            "pnr": ["p1", "p1", "p2", "p2"],
            "start_date": pd.to_datetime(["2018-12-28", "2019-02-06", "2018-12-30", "2019-02-03"]),
            "end_date": pd.to_datetime(["2019-02-05", "2019-02-06", "2018-12-31", "2019-02-03"]),
            "contact_type": ["inpatient", "outpatient", "inpatient", "emergency"],
            "acute": [True, False, False, True],
            "action_diagnosis": ["DJ441", "DI109", "DK802", "DS525"],
            "secondary_diagnoses": [None, None, None, None],
            "hospital_code": ["108101", "108101", "108101", "108101"],
        }
    )
    registers = to_registers(table)
    assert len(registers["lpr_adm"]) == 1 and len(registers["kontakter"]) == 3
    result, problems = convert(registers)
    assert not problems and not result.changes
    got = result.table.sort_values(["pnr", "start_date"]).reset_index(drop=True)
    assert got["start_date"].tolist() == table["start_date"].tolist()
    assert got["end_date"].tolist() == table["end_date"].tolist()
    assert got["contact_type"].tolist() == table["contact_type"].tolist()
    assert got["action_diagnosis"].tolist() == table["action_diagnosis"].tolist()
