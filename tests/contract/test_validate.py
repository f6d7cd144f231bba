"""Every rule of input contract v1, proven with a broken file: exit 2, one clear message per
problem class, no traceback, nothing written anywhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskstrat.cli import main
from riskstrat.contract import validate_data_dir
from tests.contract.extracts import MANIFEST, valid_tables, write_extract


def _snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def _run_validate(data: Path, capsys) -> tuple[int, str]:
    before, cwd_before = _snapshot(data.parent), sorted(os.listdir("."))
    code = main(["validate", str(data)])
    out = capsys.readouterr()
    assert _snapshot(data.parent) == before, "validate wrote something"
    assert sorted(os.listdir(".")) == cwd_before
    text = out.out + out.err
    assert "Traceback" not in text
    return code, text


@pytest.mark.parametrize("layout", ["csv", "parquet", "parts"])
def test_valid_extract_passes_in_every_layout(tmp_path, capsys, layout):
    data = write_extract(tmp_path / "data", valid_tables(), layout)
    code, text = _run_validate(data, capsys)
    assert code == 0, text
    report = validate_data_dir(data)
    assert report.ok and report.rows["persons"] == 4 and report.rows["hospital_contacts"] == 3
    assert "valid" in text


def _broken(tmp_path, capsys, mutate, layout="csv", manifest=MANIFEST):
    tables = valid_tables()
    mutate(tables)
    data = write_extract(tmp_path / "data", tables, layout, manifest)
    code, text = _run_validate(data, capsys)
    assert code == 2, text
    return validate_data_dir(data), text


def _only(report, table, column, rule_part):
    hits = [
        f for f in report.errors if f.table == table and f.column == column and rule_part in f.rule
    ]
    assert len(hits) == 1, [f.message() for f in report.errors]
    return hits[0]


def test_missing_table(tmp_path, capsys):
    report, text = _broken(tmp_path, capsys, lambda t: t.pop("gp_contacts"))
    f = _only(report, "gp_contacts", None, "missing required table")
    assert "gp_contacts" in text and f.count == 1


def test_missing_column(tmp_path, capsys):
    report, text = _broken(tmp_path, capsys, lambda t: t["hospital_contacts"].pop("contact_type"))
    _only(report, "hospital_contacts", "contact_type", "missing required column")
    assert "hospital_contacts.contact_type: missing required column" in text


def test_wrong_type_csv(tmp_path, capsys):
    def mutate(t):
        t["persons"].loc[1, "birth_date"] = "05/01/1950"
        t["municipal_services"].loc[0, "hours_per_week"] = "lots"

    report, text = _broken(tmp_path, capsys, mutate)
    f = _only(report, "persons", "birth_date", "wrong type")
    assert f.count == 1 and f.examples == ["row 2 = '05/01/1950'"]
    g = _only(report, "municipal_services", "hours_per_week", "wrong type")
    assert g.count == 1 and g.examples == ["row 1 = 'lots'"]


def test_wrong_type_parquet(tmp_path, capsys):
    """In Parquet a wrong type is a column of the wrong physical type (here float dates)."""
    data = write_extract(tmp_path / "data", valid_tables(), "parquet")
    persons = pq.read_table(data / "persons.parquet")
    i = persons.schema.get_field_index("birth_date")
    persons = persons.set_column(i, "birth_date", pa.array([1.5, 2.5, 3.5, 4.5]))
    pq.write_table(persons, data / "persons.parquet")
    code, _ = _run_validate(data, capsys)
    assert code == 2
    f = _only(validate_data_dir(data), "persons", "birth_date", "wrong type")
    assert f.count == 4


def test_unknown_category(tmp_path, capsys):
    def mutate(t):
        t["hospital_contacts"].loc[2, "contact_type"] = "daycase"
        t["gp_contacts"].loc[0, "contact_kind"] = "video"

    report, text = _broken(tmp_path, capsys, mutate)
    f = _only(report, "hospital_contacts", "contact_type", "unknown category")
    assert f.count == 1 and "row 3 = 'daycase'" in f.examples[0]
    _only(report, "gp_contacts", "contact_kind", "unknown category")


def test_upper_and_lower_case_categories_and_codes_are_accepted(tmp_path):
    data = write_extract(tmp_path / "data", valid_tables(), "csv")
    assert validate_data_dir(
        data
    ).ok  # "Inpatient", "m", "Tertiary", "dn390", "a10ba02" in the data


def test_duplicate_person(tmp_path, capsys):
    def mutate(t):
        t["persons"] = pd.concat([t["persons"], t["persons"].iloc[[0]]], ignore_index=True)

    report, text = _broken(tmp_path, capsys, mutate, "parts")
    f = _only(report, "persons", "person_id", "duplicate person_id")
    assert f.count == 2 and all("part-" in e for e in f.examples)
    assert "P1" not in text  # identifiers are never echoed


def test_orphan_person(tmp_path, capsys):
    def mutate(t):
        t["gp_contacts"].loc[1, "person_id"] = "P99"

    report, text = _broken(tmp_path, capsys, mutate)
    f = _only(report, "gp_contacts", "person_id", "orphan")
    assert f.count == 1 and f.examples == ["row 2"]
    assert "P99" not in text


def test_end_before_start(tmp_path, capsys):
    def mutate(t):
        t["hospital_contacts"].loc[0, "end_date"] = "2024-01-01"
        t["municipal_services"].loc[1, "end_date"] = "2023-12-31"

    report, _ = _broken(tmp_path, capsys, mutate)
    _only(report, "hospital_contacts", "end_date", "end_date before start_date")
    _only(report, "municipal_services", "end_date", "end_date before start_date")


def test_event_on_or_after_extract_date(tmp_path, capsys):
    def mutate(t):
        t["gp_contacts"].loc[1, "contact_date"] = "2026-01-01"
        t["opt_outs"].loc[0, "opt_out_date"] = "2026-02-01"

    report, _ = _broken(tmp_path, capsys, mutate)
    f = _only(report, "gp_contacts", "contact_date", "on or after the extract date")
    assert f.count == 1
    _only(report, "opt_outs", "opt_out_date", "on or after the extract date")


def test_bad_codes(tmp_path, capsys):
    def mutate(t):
        t["hospital_contacts"].loc[0, "action_diagnosis"] = "J1"
        t["hospital_contacts"].loc[1, "secondary_diagnoses"] = "DI500;XYZ"
        t["prescriptions"].loc[0, "atc_code"] = "A1"

    report, _ = _broken(tmp_path, capsys, mutate)
    _only(report, "hospital_contacts", "action_diagnosis", "malformed diagnosis code")
    _only(report, "hospital_contacts", "secondary_diagnoses", "malformed diagnosis code")
    _only(report, "prescriptions", "atc_code", "malformed ATC code")


def test_cpr_shaped_person_id_and_unknown_municipality(tmp_path, capsys):
    def mutate(t):
        for name in t:
            t[name]["person_id"] = t[name]["person_id"].replace({"P3": "010203-1234"})
        t["persons"].loc[0, "municipality_code"] = "999"

    report, text = _broken(tmp_path, capsys, mutate)
    _only(report, "persons", "person_id", "CPR")
    _only(report, "persons", "municipality_code", "unknown municipality")
    assert "010203-1234" not in text


def test_all_problem_classes_are_reported_at_once(tmp_path, capsys):
    def mutate(t):
        t["hospital_contacts"].loc[2, "contact_type"] = "daycase"
        t["gp_contacts"].loc[1, "person_id"] = "P99"
        t["prescriptions"].loc[0, "atc_code"] = "A1"
        t["persons"].loc[2, "sex"] = "X"

    report, text = _broken(tmp_path, capsys, mutate)
    assert len(report.errors) == 4
    assert sum(line.startswith("error ") for line in text.splitlines()) == 4  # one line each


def test_warnings_are_counted_not_errors(tmp_path, capsys):
    def mutate(t):
        t["hospital_contacts"].loc[2, "action_diagnosis"] = "DU999"  # well-formed, unknown category
        t["gp_contacts"].loc[0, "person_id"] = "P4"
        t["gp_contacts"].loc[0, "contact_date"] = "2025-07-01"  # after P4's death

    data = write_extract(tmp_path / "data", (lambda t: (mutate(t), t)[1])(valid_tables()))
    report = validate_data_dir(data)
    assert report.ok, [f.message() for f in report.errors]
    rules = {(w.table, w.rule.split(" (")[0]) for w in report.warnings}
    assert (
        "hospital_contacts",
        "well-formed code of an ICD-10 category not in WHO ICD-10 2019",
    ) in rules
    assert ("gp_contacts", "after the person's death_date") in rules


def test_extract_date_derived_without_manifest(tmp_path):
    data = write_extract(tmp_path / "data", valid_tables(), manifest=None)
    report = validate_data_dir(data)
    # the latest event date is P3's GP contact on 2025-12-31
    assert report.ok and str(report.extract_date) == "2026-01-01"
    assert report.extract_date_source == "derived"


def test_json_output(tmp_path, capsys):
    tables = valid_tables()
    tables["persons"].loc[2, "sex"] = "X"
    data = write_extract(tmp_path / "data", tables)
    assert main(["validate", str(data), "--json"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False
    assert payload["errors"][0]["table"] == "persons" and payload["errors"][0]["column"] == "sex"
    assert payload["extract_date"] == MANIFEST["extract_date"]


def test_missing_data_dir_is_a_clear_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


# --- bad input that must be an error or a counted warning, never a crash or silence ---------


@pytest.mark.parametrize("layout", ["csv", "parquet"])
def test_an_infinite_income_quintile_is_a_wrong_type_not_a_crash(tmp_path, capsys, layout):
    def mutate(t):
        t["persons"].loc[0, "income_quintile"] = "inf"

    if layout == "parquet":  # a stored float column holding infinity
        data = write_extract(tmp_path / "data", valid_tables(), "parquet")
        persons = pq.read_table(data / "persons.parquet")
        i = persons.schema.get_field_index("income_quintile")
        column = pa.array([float("inf"), 5.0, None, 1e30])
        pq.write_table(persons.set_column(i, "income_quintile", column), data / "persons.parquet")
        code, _ = _run_validate(data, capsys)
        assert code == 2
        f = _only(validate_data_dir(data), "persons", "income_quintile", "wrong type")
        assert f.count == 2
        return
    report, _ = _broken(tmp_path, capsys, mutate)
    assert _only(report, "persons", "income_quintile", "wrong type").count == 1


@pytest.mark.parametrize(
    ("table", "column"), [("municipal_services", "hours_per_week"), ("prescriptions", "ddd")]
)
@pytest.mark.parametrize("layout", ["csv", "parquet"])
def test_nan_and_infinity_in_a_number_column_are_errors(tmp_path, capsys, table, column, layout):
    # in CSV, "NaN" is one of the spellings of a missing value (pyarrow's and pandas'
    # convention) but infinity is not; in Parquet a stored NaN is a NaN
    def mutate(t):
        t[table].loc[0, column] = "-Infinity"
        t[table].loc[1, column] = "inf"

    if layout == "csv":
        report, text = _broken(tmp_path, capsys, mutate)
    else:
        data = write_extract(tmp_path / "data", valid_tables(), "parquet")
        frame = pq.read_table(data / f"{table}.parquet")
        values = pa.array([float("nan"), float("inf")], pa.float64(), from_pandas=False)
        frame = frame.set_column(frame.schema.get_field_index(column), column, values)
        pq.write_table(frame, data / f"{table}.parquet")
        code, text = _run_validate(data, capsys)
        assert code == 2, text
        report = validate_data_dir(data)
    f = _only(report, table, column, "not a finite number (NaN or infinity)")
    assert f.count == 2
    assert f"{table}.{column}: not a finite number" in text


@pytest.mark.parametrize("column", ["death_date", "emigration_date"])
def test_a_death_or_emigration_after_the_extract_date_is_an_error(tmp_path, capsys, column):
    def mutate(t):
        t["persons"].loc[0, column] = "2026-03-01"

    report, _ = _broken(tmp_path, capsys, mutate)
    f = _only(report, "persons", column, "after the extract date 2026-01-01")
    assert f.count == 1


def test_a_manifest_of_another_contract_version_is_refused(tmp_path, capsys):
    data = write_extract(
        tmp_path / "data", valid_tables(), manifest={**MANIFEST, "contract_version": 99}
    )
    code, text = _run_validate(data, capsys)
    assert code == 2
    assert "says contract_version 99, but riskstrat reads input contract v1" in text


def test_an_extract_date_far_past_the_last_event_is_a_counted_warning(tmp_path):
    data = write_extract(
        tmp_path / "data", valid_tables(), manifest={**MANIFEST, "extract_date": "2026-09-01"}
    )
    report = validate_data_dir(data)
    assert report.ok, [f.message() for f in report.errors]
    [warning] = [w for w in report.warnings if w.column == "extract_date"]
    assert "the latest event of any table is on 2025-12-31, 244 days before the extract date" in (
        warning.message()
    )


@pytest.mark.parametrize("layout", ["csv", "parquet"])
def test_a_column_named_twice_is_refused_not_the_first_one_kept(tmp_path, capsys, layout):
    data = write_extract(tmp_path / "data", valid_tables(), layout)
    if layout == "csv":
        text = (data / "persons.csv").read_text(encoding="utf-8").splitlines()
        text = [line + (",X" if i else ",sex") for i, line in enumerate(text)]
        (data / "persons.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    else:
        persons = pq.read_table(data / "persons.parquet")
        persons = persons.append_column("sex", pa.array(["X"] * persons.num_rows))
        pq.write_table(persons, data / "persons.parquet")
    code, text = _run_validate(data, capsys)
    assert code == 2, text
    assert "names the column(s) sex more than once" in text


def test_a_latin1_csv_says_not_utf8_with_the_file_and_a_hint(tmp_path, capsys):
    tables = valid_tables()
    tables["persons"].loc[0, "gp_clinic_id"] = "Lægehuset Ærø"
    data = write_extract(tmp_path / "data", tables)
    payload = (data / "persons.csv").read_text(encoding="utf-8")
    (data / "persons.csv").write_bytes(payload.encode("latin-1"))
    code, text = _run_validate(data, capsys)
    assert code == 2
    assert "table persons: cannot read persons.csv: not UTF-8 text" in text
    assert "iconv -f latin1 -t utf-8" in text


@pytest.mark.parametrize("size", [500_000, 5_000_000])
def test_a_huge_value_gives_a_short_message(tmp_path, capsys, size):
    tables = valid_tables()
    tables["persons"].loc[1, "sex"] = "X" * size
    data = write_extract(tmp_path / "data", tables)
    code, text = _run_validate(data, capsys)
    assert code == 2
    assert len(text) < 3_000, text[:500]
