"""Typed, normalised frames from every layout."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from riskstrat.contract import ContractError, load_extract, open_data_dir, read_extract
from tests.contract.extracts import valid_tables, write_extract


@pytest.mark.parametrize("layout", ["csv", "parquet", "parts"])
def test_same_typed_frames_from_every_layout(tmp_path, layout):
    reference = load_extract(write_extract(tmp_path / "csv", valid_tables(), "csv"))
    other = load_extract(write_extract(tmp_path / layout, valid_tables(), layout))
    for name, frame in reference.tables.items():
        pd.testing.assert_frame_equal(frame, other.tables[name], check_like=False)
    assert other.extract_date == date(2026, 1, 1) and other.history_start == date(2021, 1, 1)


def test_codes_and_categories_are_normalised(tmp_path):
    extract = load_extract(write_extract(tmp_path / "d", valid_tables()))
    h = extract.hospital_contacts
    assert h["action_diagnosis"].tolist() == ["DJ189", "DI500", "DN390"]  # J18.9, DI500, dn390
    assert h["secondary_diagnoses"].iloc[0] == "DJ441;DE119"
    assert h["contact_type"].tolist() == ["inpatient", "outpatient", "inpatient"]
    assert extract.prescriptions["atc_code"].tolist() == ["A10BA02", "C03CA01"]
    p = extract.persons
    assert p["sex"].tolist() == ["F", "M", "M", "F"]
    assert p["education"].iloc[1] == "tertiary"


def test_frame_conventions(tmp_path):
    extract = load_extract(write_extract(tmp_path / "d", valid_tables(), "parquet"))
    p = extract.persons
    assert str(p["birth_date"].dtype) == "datetime64[s]"
    assert str(p["income_quintile"].dtype) == "Int8"
    assert str(p["living_alone"].dtype) == "boolean"
    assert p["municipality_code"].dtype == "int64"
    assert extract.hospital_contacts["acute"].dtype == bool


def test_end_dates_after_extract_read_as_ongoing(tmp_path):
    tables = valid_tables()
    tables["municipal_services"].loc[1, "end_date"] = "2027-01-01"
    data = write_extract(tmp_path / "d", tables)
    extract = load_extract(data)
    assert extract.municipal_services["end_date"].isna().all()


def test_person_aligned_partitions(tmp_path):
    data = write_extract(tmp_path / "d", valid_tables(), "parts")
    parts = open_data_dir(data).partitions
    assert parts == ["part-00000.parquet", "part-00001.parquet"]
    first = read_extract(data, date(2026, 1, 1), parts[0])
    assert first.persons["person_id"].tolist() == ["P1", "P2"]
    assert open_data_dir(write_extract(tmp_path / "c", valid_tables(), "csv")).partitions is None


def test_load_extract_refuses_invalid_data(tmp_path):
    tables = valid_tables()
    tables["persons"].loc[0, "sex"] = "X"
    with pytest.raises(ContractError, match="persons.sex: unknown category"):
        load_extract(write_extract(tmp_path / "d", tables))


def test_hash_partitions_cover_every_person_once(tmp_path):
    from riskstrat.contract.reader import hash_partitions

    data = write_extract(tmp_path / "d", valid_tables(), "csv")
    whole = read_extract(data, date(2026, 1, 1))
    parts = [read_extract(data, date(2026, 1, 1), p) for p in hash_partitions(3)]
    for name, frame in whole.tables.items():
        ids = sorted(i for part in parts for i in part.tables[name]["person_id"])
        assert ids == sorted(frame["person_id"]), name
    # a person's events land in the same bucket as the person
    for part in parts:
        assert set(part.hospital_contacts["person_id"]) <= set(part.persons["person_id"])


def test_person_selection_reads_only_the_selected_persons_and_their_rows(tiny_data):
    from riskstrat.contract.reader import PersonSelection

    selection = PersonSelection(born_by=date(1950, 6, 30), present_on=date(2024, 1, 1))
    whole = read_extract(tiny_data, date(2026, 1, 1))
    chosen = read_extract(tiny_data, date(2026, 1, 1), persons=selection)
    p = whole.persons
    expected = p[
        (p["birth_date"] <= "1950-06-30")
        & (p["death_date"].isna() | (p["death_date"] >= "2024-01-01"))
        & (p["emigration_date"].isna() | (p["emigration_date"] >= "2024-01-01"))
    ]
    assert 0 < len(chosen.persons) == len(expected) < len(p)
    pd.testing.assert_frame_equal(chosen.persons, expected.reset_index(drop=True))
    ids = set(expected["person_id"])
    for name, frame in whole.tables.items():
        if name == "persons":
            continue
        mine = frame[frame["person_id"].isin(ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(chosen.tables[name], mine, obj=name)
    assert len(chosen.gp_contacts) < len(whole.gp_contacts)


def test_person_selection_with_only_some_columns(tiny_data):
    from riskstrat.contract.reader import PersonSelection

    selection = PersonSelection(born_by=date(1950, 6, 30))
    chosen = read_extract(
        tiny_data,
        date(2026, 1, 1),
        columns={"persons": ["person_id", "sex"], "gp_contacts": ["person_id"]},
        persons=selection,
    )
    assert list(chosen.persons.columns) == ["person_id", "sex"]
    assert list(chosen.gp_contacts.columns) == ["person_id"]
    assert set(chosen.gp_contacts["person_id"]) <= set(chosen.persons["person_id"])
