"""`riskstrat validate` (src/riskstrat/cli/data.py) through the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cli.runner import invoke


@pytest.fixture()
def broken_data(tiny_data: Path, tmp_path: Path) -> Path:
    """The tiny extract with one person's sex recorded as 'X' (not a contract category)."""
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    [part] = (data / "persons").glob("*.parquet")
    table = pq.read_table(part)
    sex = table.column("sex").to_pylist()
    sex[0] = "X"
    at = table.schema.get_field_index("sex")
    pq.write_table(table.set_column(at, "sex", pa.array(sex, pa.string())), part)
    return data


def test_validate_accepts_a_valid_extract(tiny_data: Path) -> None:
    result = invoke(["validate", tiny_data])
    assert result.exit_code == 0, result.output
    assert "valid: the data directory meets input contract v1" in result.stdout


def test_validate_names_the_table_column_and_rule_a_broken_extract_breaks(broken_data) -> None:
    result = invoke(["validate", broken_data])
    assert result.exit_code == 2
    assert "persons.sex: unknown category (allowed: F, M): 1 row" in result.stderr
    assert "Traceback" not in result.output


def test_validate_json_prints_the_report_as_json(tiny_data: Path) -> None:
    result = invoke(["validate", tiny_data, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["rows"]["persons"] == 2000


def test_validate_json_of_a_broken_extract_lists_the_problem(broken_data: Path) -> None:
    result = invoke(["validate", broken_data, "--json"])
    assert result.exit_code == 2
    [error] = json.loads(result.stdout)["errors"]
    assert (error["table"], error["column"], error["count"]) == ("persons", "sex", 1)


def test_a_missing_data_directory_is_bad_input(tmp_path: Path) -> None:
    result = invoke(["validate", tmp_path / "nowhere"])
    assert result.exit_code == 2
    assert f"data directory {tmp_path / 'nowhere'} does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_values_and_paths_that_look_like_markup_are_printed_as_text(tiny_data, tmp_path) -> None:
    data = tmp_path / "a[" / "x]"  # the path reads ".../a[/x]"
    shutil.copytree(tiny_data, data)
    [part] = (data / "persons").glob("*.parquet")
    table = pq.read_table(part)
    sex = table.column("sex").to_pylist()
    sex[0] = "[/x]"
    at = table.schema.get_field_index("sex")
    pq.write_table(table.set_column(at, "sex", pa.array(sex, pa.string())), part)
    result = invoke(["validate", data])
    assert result.exit_code == 2, result.output
    assert "a[/x]" in result.stdout
    assert "persons.sex: unknown category" in result.stderr
    assert "MarkupError" not in result.output and "internal error" not in result.output
