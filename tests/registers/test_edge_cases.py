"""osdc's hand-written edge-case persons (MIT; tests/registers/fixtures/README.md) convert
without an error, and every ICD-10 diagnosis lands where the input contract says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from riskstrat.registers.common import Problem
from riskstrat.registers.gp import gp_contacts
from riskstrat.registers.hospital import hospital_contacts
from riskstrat.registers.prescriptions import prescriptions

FIXTURES = Path(__file__).parent / "fixtures" / "osdc_edge_cases"
EXTRACT = date(2026, 1, 1)


def read(name: str) -> pd.DataFrame:
    """As the CSV reader hands a register over: every value text."""
    return pd.read_csv(FIXTURES / f"{name}.csv", dtype=str, keep_default_na=False)


def expected_diagnoses(
    contacts: pd.DataFrame,
    diagnoses: pd.DataFrame,
    key: str,
    date_column: str,
    code: str,
    kind: str,
) -> dict:
    """(pnr, start date) -> (action, set of secondary) straight from the fixture rows:
    ICD-10 codes only (a D and a letter), disproved rows left out; contacts without an
    ICD-10 action diagnosis are absent."""
    d = diagnoses.copy()
    if "senere_afkraeftet" in d:
        d = d[d["senere_afkraeftet"] != "Ja"]
    d = d[d[code].str.match(r"^D[A-Z]")]
    out = {}
    for row in contacts.itertuples(index=False):
        mine = d[d[key] == getattr(row, key)]
        actions = mine.loc[mine[kind] == "A", code].tolist()
        if not actions:
            continue
        when = pd.Timestamp(getattr(row, date_column))
        out[(row.pnr, when)] = (
            actions[0],
            set(mine.loc[mine[kind] == "B", code]) | set(actions[1:]),
        )
    return out


def converted_diagnoses(table: pd.DataFrame) -> dict:
    return {
        (r.pnr, r.start_date): (
            r.action_diagnosis,
            set(r.secondary_diagnoses.split(";")) if r.secondary_diagnoses else set(),
        )
        for r in table.itertuples(index=False)
    }


@pytest.mark.parametrize("lpr3", ["lpr_f", "lpr_a"])
def test_edge_case_diagnoses_land_as_the_contract_says(lpr3):
    if lpr3 == "lpr_f":
        names, key_args = (
            ("kontakter", "diagnoser"),
            ("dw_ek_kontakt", "dato_start", "diagnosekode", "diagnosetype"),
        )
    else:
        names, key_args = (
            ("lpr_a_kontakt", "lpr_a_diagnose"),
            ("dw_ek_kontakt", "kont_starttidspunkt", "diag_kode", "diag_type"),
        )
    registers = {name: read(name) for name in ("lpr_adm", "lpr_diag", *names)}
    problems: list[Problem] = []
    result = hospital_contacts(registers, EXTRACT, problems)
    assert result is not None and problems == []
    expected = expected_diagnoses(
        registers["lpr_adm"], registers["lpr_diag"], "recnum", "d_inddto", "c_diag", "c_diagtype"
    )
    expected |= expected_diagnoses(registers[names[0]], registers[names[1]], *key_args)
    assert converted_diagnoses(result.table) == expected
    # what osdc's persons exercise, counted in the report
    reasons = {c.reason.split(" (")[0].split(":")[0]: c.rows for c in result.changes}
    assert reasons["ICD-8 code"] == 5  # 24901 (three times) and 250 (twice), A and B rows
    assert reasons["diagnosis later disproved"] == 1
    assert reasons["contact of ICD-8"] == 5  # 1992 contacts, and 2013/2014 ones coded 250
    assert reasons["contact without an action diagnosis"] == 1  # pnr08_rec02: B rows only
    assert reasons["stay without an action diagnosis"] == 1  # pnr11_dw02: B rows only
    assert "no d_uddto column" in reasons and "no c_pattype column" in reasons
    assert result.rows_read["lpr_adm"] == 21


def test_edge_case_gp_and_prescriptions_convert():
    problems: list[Problem] = []
    gp = gp_contacts({"sysi": read("sysi"), "sssy": read("sssy")}, EXTRACT, problems)
    assert gp is not None and problems == []
    # osdc's services are podiatry and other specialties: none is general practice
    assert gp.table.empty
    dropped = [c for c in gp.changes if c.action == "dropped"]
    assert sum(c.rows for c in dropped if "child" in c.reason) == 2
    assert sum(c.rows for c in dropped) == 38  # every row, each for one reason
    lmdb = read("lmdb")
    drugs = prescriptions({"lmdb": lmdb}, EXTRACT, problems)
    assert drugs is not None and problems == []
    assert len(drugs.table) == len(lmdb)
    assert (
        drugs.table["ddd"].sum() == (lmdb["volume"].astype(float) * lmdb["apk"].astype(float)).sum()
    )


def test_both_dst_lpr3_formats_are_read_once():
    """osdc: LPR_F and LPR_A hold the same contacts; given both, LPR_F is read."""
    names = ("kontakter", "diagnoser", "lpr_a_kontakt", "lpr_a_diagnose")
    problems: list[Problem] = []
    both = hospital_contacts({name: read(name) for name in names}, EXTRACT, problems)
    only_f = hospital_contacts({name: read(name) for name in names[:2]}, EXTRACT, [])
    assert both is not None and only_f is not None and problems == []
    pd.testing.assert_frame_equal(both.table, only_f.table)
    dropped = {c.register: c.rows for c in both.changes if "same LPR3 contacts" in c.reason}
    assert dropped == {"lpr_a_kontakt": 22, "lpr_a_diagnose": 31}
    orphan: list[Problem] = []
    hospital_contacts({"lpr_a_diagnose": read("lpr_a_diagnose")}, EXTRACT, orphan)
    assert [(p.register, p.rule) for p in orphan] == [
        ("lpr_a_diagnose", "diagnoses without their contacts (lpr_a_kontakt)")
    ]
