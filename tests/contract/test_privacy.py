"""What a message may show of the data (`riskstrat.redact`): findings and read errors name
the table, column, rule, count and rows, never a person id, nothing shaped like a CPR
number, and only the shape of a value that may be a misplaced id. Each case plants ids and
CPR-shaped values in a CSV or Parquet extract and reads everything `validate` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskstrat.cli import main
from riskstrat.contract import ContractError, DataDirError, validate_data_dir, validated
from riskstrat.errors import InputError
from riskstrat.redact import CPR_MASK, is_cpr_shaped, mask_cpr, shape
from tests.contract.planted import CPRS, DASHES, IDS, leaks, planted_tables, write


def validate_output(data: Path, capsys) -> str:
    """Everything `riskstrat validate` and `validate --json` print (both exit 2)."""
    assert main(["validate", str(data)]) == 2
    assert main(["validate", str(data), "--json"]) == 2
    out = capsys.readouterr()
    return out.out + out.err


def finding(report, table: str, column: str, rule_part: str):
    [hit] = [
        f for f in report.errors if f.table == table and f.column == column and rule_part in f.rule
    ]
    return hit


# -- the one masking rule ----------------------------------------------------------------------


@pytest.mark.parametrize("dash", list(DASHES))
def test_every_dash_between_six_and_four_digits_is_cpr_shaped(dash) -> None:
    assert is_cpr_shaped(f"010203{dash}1234") and is_cpr_shaped(f"010203 {dash} 1234")
    assert mask_cpr(f"id 010203{dash}1234, next") == f"id {CPR_MASK}, next"


def test_spaces_or_no_separator_are_cpr_shaped_dates_and_longer_numbers_are_not() -> None:
    for value in ("010203 1234", "010203\u00a01234", "0102031234", " 0102031234 "):
        assert is_cpr_shaped(value) and CPR_MASK in mask_cpr(f"x{value}y")
    for value in ("2024-01-01", "01020-31234", "01020312345", "12345678901", "P0102"):
        assert not is_cpr_shaped(value) and mask_cpr(value) == value
    assert shape("QZPseudo-0001") == "AAAaaaaa-9999"


def test_an_input_error_never_carries_a_cpr_shaped_value() -> None:
    error = InputError("GP clinic(s) ['150382–4417'] do not occur in the data")
    assert str(error) == f"GP clinic(s) ['{CPR_MASK}'] do not occur in the data"


# -- findings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["csv", "parquet"])
@pytest.mark.parametrize("table", ["persons", "hospital_contacts", "gp_contacts", "opt_outs"])
def test_cpr_shaped_ids_with_any_separator_are_refused_in_every_table(
    tmp_path, capsys, layout, table
) -> None:
    tables = planted_tables()
    ids = tables[table]["person_id"]
    tables[table]["person_id"] = [CPRS[i % len(CPRS)] for i in range(len(ids))]
    data = write(tmp_path / "data", tables, layout)
    text = validate_output(data, capsys)
    f = finding(validate_data_dir(data), table, "person_id", "shaped like a CPR number")
    assert f.count == len(ids) and f.examples[0] == "row 1"
    assert f"{table}.person_id: shaped like a CPR number" in text
    assert not leaks(text)


@pytest.mark.parametrize("layout", ["csv", "parquet"])
def test_cpr_numbers_in_a_date_column_are_masked(tmp_path, capsys, layout) -> None:
    tables = planted_tables()
    tables["persons"].loc[1, "birth_date"] = CPRS[1]  # en dash
    tables["gp_contacts"].loc[0, "contact_date"] = CPRS[2]  # space
    data = write(tmp_path / "data", tables, layout)
    text = validate_output(data, capsys)
    report = validate_data_dir(data)
    f = finding(report, "persons", "birth_date", "wrong type")
    assert f.count == 1 and f.examples == [f"row 2 = '{CPR_MASK}'"]
    g = finding(report, "gp_contacts", "contact_date", "wrong type")
    assert g.count == 1 and g.examples == [f"row 1 = '{CPR_MASK}'"]
    assert "persons.birth_date: wrong type (expected an ISO date): 1 row (e.g. row 2" in text
    assert not leaks(text)


@pytest.mark.parametrize("layout", ["csv", "parquet"])
def test_cpr_numbers_in_any_other_column_are_masked(tmp_path, capsys, layout) -> None:
    tables = planted_tables()
    tables["persons"].loc[0, "sex"] = CPRS[3]  # unknown category
    tables["hospital_contacts"].loc[1, "action_diagnosis"] = CPRS[4]  # malformed code
    tables["persons"].loc[2, "income_quintile"] = CPRS[3].replace("-", "")  # above maximum
    data = write(tmp_path / "data", tables, layout)
    text = validate_output(data, capsys)
    report = validate_data_dir(data)
    assert finding(report, "persons", "sex", "unknown category").examples == [
        f"row 1 = '{CPR_MASK}'"
    ]
    assert finding(report, "persons", "income_quintile", "above maximum").examples == [
        f"row 3 = '{CPR_MASK}'"
    ]
    assert finding(report, "hospital_contacts", "action_diagnosis", "malformed").examples == [
        f"row 2 = 'D{CPR_MASK}'"
    ]
    assert not leaks(text)


@pytest.mark.parametrize("layout", ["csv", "parquet"])
def test_a_swapped_header_shows_the_shape_of_the_ids_not_the_ids(tmp_path, capsys, layout):
    tables = planted_tables()
    tables["persons"] = tables["persons"].rename(
        columns={"person_id": "birth_date", "birth_date": "person_id"}
    )
    tables["gp_contacts"] = tables["gp_contacts"].rename(
        columns={"person_id": "contact_date", "contact_date": "person_id"}
    )
    data = write(tmp_path / "data", tables, layout)
    text = validate_output(data, capsys)
    report = validate_data_dir(data)
    f = finding(report, "persons", "birth_date", "wrong type")
    assert f.count == 4 and f.examples[0] == "row 1 = shaped 'AAAAAAAA9999'"
    g = finding(report, "gp_contacts", "contact_date", "wrong type")
    assert g.count == 2 and g.examples == [
        "row 1 = shaped 'AAAAAAAA9999'",
        "row 2 = shaped 'AAAAAAAA9999'",
    ]
    assert "persons.birth_date: wrong type (expected an ISO date): 4 rows (e.g. row 1" in text
    assert not leaks(text)


@pytest.mark.parametrize("layout", ["csv", "parquet"])
def test_an_id_that_slid_into_another_column_shows_only_its_shape(tmp_path, capsys, layout):
    """One row's id in another column (not most of the column): it equals a person id."""
    tables = planted_tables()
    tables["hospital_contacts"].loc[2, "contact_type"] = IDS["P2"]
    tables["persons"].loc[3, "sex"] = IDS["P1"]
    data = write(tmp_path / "data", tables, layout)
    text = validate_output(data, capsys)
    report = validate_data_dir(data)
    f = finding(report, "hospital_contacts", "contact_type", "unknown category")
    assert f.examples == ["row 3 = shaped 'AAAAAAAA9999'"]
    assert finding(report, "persons", "sex", "unknown category").examples == [
        "row 4 = shaped 'AAAAAAAA9999'"
    ]
    assert not leaks(text)


def test_a_value_that_is_no_id_is_still_shown(tmp_path) -> None:
    tables = planted_tables()
    tables["hospital_contacts"].loc[2, "contact_type"] = "daycase"
    report = validate_data_dir(write(tmp_path / "data", tables, "csv"))
    f = finding(report, "hospital_contacts", "contact_type", "unknown category")
    assert f.examples == ["row 3 = 'daycase'"]


def test_a_long_value_is_cut(tmp_path) -> None:
    tables = planted_tables()
    tables["hospital_contacts"].loc[2, "contact_type"] = "x" * 100_000
    report = validate_data_dir(write(tmp_path / "data", tables, "csv"))
    [example] = finding(report, "hospital_contacts", "contact_type", "unknown").examples
    assert example == "row 3 = '" + "x" * 40 + "… (100,000 characters)'"


# -- files that cannot be read -------------------------------------------------------------------


def _csv_with_row(tmp_path, row: str) -> Path:
    """The planted extract as CSV, with `row` appended to gp_contacts.csv."""
    data = write(tmp_path / "data", planted_tables(), "csv")
    with (data / "gp_contacts.csv").open("a", encoding="utf-8") as fh:
        fh.write(row + "\n")
    return data


@pytest.mark.parametrize(
    ("row", "got"),
    [
        (f"{IDS['P1']},2024-02-01,consultation,C1,{CPRS[0]}", 5),  # a field too many
        (f"{IDS['P1']},{CPRS[1]}", 2),  # too few
        (f'"{IDS["P2"]},{CPRS[2]},phone', 1),  # an unclosed quote
    ],
)
def test_a_csv_parse_error_names_the_row_and_line_never_the_row(tmp_path, capsys, row, got):
    data = _csv_with_row(tmp_path, row)
    with pytest.raises(DataDirError) as caught:
        validate_data_dir(data)
    message = str(caught.value)
    assert message == (
        f"table gp_contacts: cannot read gp_contacts.csv: row 3 (line 4) has {got} fields where "
        "the header has 4 (the row is not shown: it may hold identifiers)"
    )
    # nothing keeps pyarrow's message (which quotes the row) as context or cause
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert main(["validate", str(data)]) == 2
    out = capsys.readouterr()
    assert "row 3 (line 4)" in out.err and not leaks(out.out + out.err)


def test_a_csv_that_is_not_utf8_names_the_line_never_the_text(tmp_path, capsys) -> None:
    data = write(tmp_path / "data", planted_tables(), "csv")
    with (data / "persons.csv").open("ab") as fh:  # after the header and 4 rows
        fh.write(f"{CPRS[0]},1950-01-01,F,730,Bjørn {IDS['P4']},,,,,,\n".encode("latin-1"))
    with pytest.raises(DataDirError, match=r"persons.csv: not UTF-8 text \(first at line 6\)"):
        validate_data_dir(data)
    assert main(["validate", str(data)]) == 2
    out = capsys.readouterr()
    assert "save it as UTF-8" in out.err and not leaks(out.out + out.err)


def test_a_contract_error_through_validated_carries_no_planted_value(tmp_path) -> None:
    tables = planted_tables()
    tables["persons"].loc[1, "birth_date"] = CPRS[0]
    tables["gp_contacts"].loc[0, "person_id"] = CPRS[4]
    with pytest.raises(ContractError) as caught:
        validated(write(tmp_path / "data", tables, "parquet"), revalidate=True)
    text = str(caught.value) + "".join(str(f.examples) for f in caught.value.report.errors)
    assert "persons.birth_date: wrong type (expected an ISO date): 1 row (e.g. row 2 = " in text
    assert not leaks(text)


def test_a_teams_file_naming_a_cpr_shaped_clinic_is_refused_without_echoing_it(tmp_path):
    from riskstrat.lists import TeamsError, load_teams

    teams = tmp_path / "teams.yaml"
    teams.write_text(
        "teams:\n  - name: t\n    model: avoidable_admission@champion\n    capacity: 5\n"
        f"    catchment: {{gp_clinics: ['{CPRS[1]}']}}\n",
        encoding="utf-8",
    )
    with pytest.raises(TeamsError) as caught:
        load_teams(teams, known_clinics={"C1"})
    assert f"team t: catchment.gp_clinics: GP clinic(s) ['{CPR_MASK}'] do not occur" in str(
        caught.value
    )
    assert not leaks(str(caught.value))
