"""The validation record: unchanged files that passed are not checked again; any change to a
file the contract reads, a failure or an unreadable record means the rules run."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskstrat.cli import main
from riskstrat.contract import TABLES, ContractError, PassingReport, validated
from riskstrat.contract.record import records_dir
from tests.contract.extracts import valid_tables, write_extract


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RISKSTRAT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _settled(root: Path) -> Path:
    """Date every file an hour back: files modified just before a validation are not
    recorded (a coarse file-system clock could hide a second change)."""
    past = time.time_ns() - 3600 * 10**9
    for p in root.rglob("*"):
        os.utime(p, ns=(past, past))
    return root


@pytest.fixture()
def data(tmp_path) -> Path:
    return _settled(write_extract(tmp_path / "data", valid_tables(), "csv"))


def _records() -> list[Path]:
    return sorted(records_dir().glob("*.json")) if records_dir().exists() else []


def _rewrite_same_size_and_mtime(file: Path, old: str, new: str) -> None:
    """Change bytes in place, then restore the modification time: what the fingerprint
    cannot see. Only used to prove that the rules are (or are not) run."""
    assert len(old) == len(new)
    st = file.stat()
    text = file.read_text()
    assert old in text
    with file.open("r+") as fh:
        fh.write(text.replace(old, new, 1))
    os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = file.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )


def test_first_call_runs_the_rules_and_records_the_report(data):
    report = validated(data)
    assert report.from_record is None and report.record_note is None
    assert len(_records()) == 1


def test_second_call_on_unchanged_files_returns_the_record(data):
    first = validated(data)
    second = validated(data)
    assert second.from_record is not None
    assert second.record_note.startswith("validated earlier (")
    assert second.record_note.endswith("files unchanged: rules skipped")
    assert second.ok and second.path == first.path
    for field in (
        "extract_date",
        "extract_date_source",
        "rows",
        "date_ranges",
        "persons_by_age_band",
    ):
        assert getattr(second, field) == getattr(first, field), field


def test_recorded_warnings_keep_their_counts_but_no_example_rows(tmp_path):
    tables = valid_tables()
    tables["hospital_contacts"].loc[0, "end_date"] = "2026-03-01"  # ongoing: a warning
    data = _settled(write_extract(tmp_path / "data", tables, "csv"))
    first = validated(data)
    second = validated(data)
    assert second.from_record is not None
    assert [(w.table, w.column, w.rule, w.count) for w in second.warnings] == [
        (w.table, w.column, w.rule, w.count) for w in first.warnings
    ]
    assert first.warnings and first.warnings[0].examples
    assert all(not w.examples for w in second.warnings)


def test_second_call_skips_the_rules(data):
    validated(data)
    # break the file behind the record's back, invisibly to the fingerprint
    _rewrite_same_size_and_mtime(data / "persons.csv", "P1,1940-02-29,F,730", "P1,1940-02-29,X,730")
    assert validated(data).from_record is not None


def test_revalidate_runs_the_rules(data):
    validated(data)
    _rewrite_same_size_and_mtime(data / "persons.csv", "P1,1940-02-29,F,730", "P1,1940-02-29,X,730")
    with pytest.raises(ContractError, match="unknown category"):
        validated(data, revalidate=True)


def test_validate_command_always_runs_the_rules(data, capsys):
    validated(data)
    _rewrite_same_size_and_mtime(data / "persons.csv", "P1,1940-02-29,F,730", "P1,1940-02-29,X,730")
    assert main(["validate", str(data)]) == 2
    assert "unknown category" in capsys.readouterr().err


def test_validate_command_records_a_passing_report(data, capsys):
    assert main(["validate", str(data)]) == 0
    capsys.readouterr()
    assert len(_records()) == 1
    assert validated(data).from_record is not None


def test_changed_file_invalidates_the_record(data):
    validated(data)
    persons = data / "persons.csv"
    persons.write_text(persons.read_text().replace("P1,1940-02-29,F,730", "P1,1940-02-29,X,7300"))
    with pytest.raises(ContractError, match="unknown category"):
        validated(data)


def test_touched_file_invalidates_the_record(data):
    validated(data)
    gp = data / "gp_contacts.csv"
    st = gp.stat()
    os.utime(gp, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert validated(data).from_record is None


def test_touched_manifest_invalidates_the_record(data):
    validated(data)
    manifest = data / "manifest.json"
    st = manifest.stat()
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert validated(data).from_record is None


def test_added_table_invalidates_the_record(tmp_path):
    tables = valid_tables()
    prescriptions = tables.pop("prescriptions")
    data = _settled(write_extract(tmp_path / "data", tables, "csv"))
    assert "prescriptions" not in validated(data).rows
    prescriptions.to_csv(data / "prescriptions.csv", index=False)
    report = validated(data)
    assert report.from_record is None and report.rows["prescriptions"] == 2


def test_removed_optional_table_invalidates_the_record(data):
    assert "opt_outs" in validated(data).rows
    (data / "opt_outs.csv").unlink()
    report = validated(data)
    assert report.from_record is None and "opt_outs" not in report.rows


def test_added_part_invalidates_the_record(tmp_path):
    data = _settled(write_extract(tmp_path / "data", valid_tables(), "parts"))
    validated(data)
    part = data / "gp_contacts" / "part-00000.parquet"
    pq.write_table(pq.read_table(part), data / "gp_contacts" / "part-00002.parquet")
    report = validated(data)
    assert report.from_record is None and report.rows["gp_contacts"] == 3


def test_files_modified_just_before_are_not_recorded(tmp_path):
    data = write_extract(tmp_path / "data", valid_tables(), "csv")
    assert validated(data).ok
    assert _records() == []
    assert validated(_settled(data)).from_record is None
    assert validated(data).from_record is not None


def test_failure_is_not_recorded(tmp_path):
    tables = valid_tables()
    tables["persons"].loc[0, "sex"] = "X"
    data = _settled(write_extract(tmp_path / "data", tables, "csv"))
    for _ in range(2):  # checked again every time
        with pytest.raises(ContractError):
            validated(data)
    assert _records() == []


def test_corrupt_record_is_ignored_and_replaced(data):
    validated(data)
    (record,) = _records()
    record.write_text('{"format": 1, "key": "')
    assert validated(data).from_record is None
    json.loads(record.read_text())
    assert validated(data).from_record is not None


def test_validated_reports_pass_with_an_extract_date(data):
    for report in (validated(data), validated(data)):  # the rules, then the record
        assert isinstance(report, PassingReport) and report.ok
        assert report.extract_date == date(2026, 1, 1)


def test_record_without_an_extract_date_is_ignored(data):
    validated(data)
    (record,) = _records()
    broken = json.loads(record.read_text())
    broken["report"]["extract_date"] = None
    record.write_text(json.dumps(broken))
    report = validated(data)
    assert report.from_record is None and report.extract_date == date(2026, 1, 1)


def test_record_of_other_files_is_not_used(data):
    validated(data)
    (record,) = _records()
    other = json.loads(record.read_text())
    other["key"] = "0" * 64
    record.write_text(json.dumps(other))
    assert validated(data).from_record is None


def test_record_holds_no_person_id(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    part = data / "hospital_contacts" / "part-00000.parquet"
    contacts = pq.read_table(part)
    ends = contacts["end_date"].to_pylist()
    ends[0] = date(2026, 6, 1)  # ongoing at the extract date: a warning with an example row
    contacts = contacts.set_column(
        contacts.schema.get_field_index("end_date"), "end_date", pa.array(ends, pa.date32())
    )
    pq.write_table(contacts, part)
    report = validated(_settled(data))
    assert report.warnings and report.warnings[0].examples
    (record,) = _records()
    text = record.read_text()
    ids = set()
    for table in TABLES:
        for part in sorted((data / table).glob("*.parquet")):
            ids |= set(pq.read_table(part, columns=["person_id"])["person_id"].to_pylist())
    assert len(ids) > 1000
    assert [i for i in ids if i in text] == []
    assert "row " not in text


def test_nothing_is_written_into_the_data_directory(data):
    before = {
        str(p): p.stat().st_mtime_ns for p in data.parent.rglob("*") if "cache" not in p.parts
    }
    validated(data)
    validated(data)
    after = {str(p): p.stat().st_mtime_ns for p in data.parent.rglob("*") if "cache" not in p.parts}
    assert after == before


def test_cache_folder_follows_xdg_cache_home(data, tmp_path, monkeypatch):
    monkeypatch.delenv("RISKSTRAT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    validated(data)
    assert len(list((tmp_path / "xdg" / "riskstrat" / "validation").glob("*.json"))) == 1


def test_unwritable_cache_does_not_stop_validation(data, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("RISKSTRAT_CACHE", str(blocker))
    assert validated(data).ok
    assert validated(data).from_record is None


def test_other_rules_invalidate_the_record(data, monkeypatch):
    from riskstrat.contract import record

    validated(data)
    monkeypatch.setattr(record, "rules_version", lambda: "rules of another release")
    assert validated(data).from_record is None
