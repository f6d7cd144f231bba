"""The round trip: a synthetic population -> its register files (`synth --layout dst`) ->
`import` -> the generator's own contract tables again, row for row except the documented
transformations (docs/registers.md, "Round trip"), and every label of `features` equal."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskstrat.contract.reader import read_table
from riskstrat.partitions import features_for_data_dir
from riskstrat.registers.importer import import_registers
from riskstrat.registers.pseudonym import pseudonym, read_key
from riskstrat.registers.social import INCOME_AGE_BANDS
from riskstrat.registers.synthetic import (
    read_contract_table,
    synthetic_pnr,
    write_register_layout,
)
from riskstrat.spec import load_spec
from riskstrat.synth import generate
from tests.registers.test_importer import pnr_traces

EXTRACT = date(2026, 1, 1)
INDEX_DATES = [date(2022, 1, 1), date(2023, 1, 1), date(2024, 6, 1), date(2024, 12, 1)]
LABELS = ["y_avoidable_admission", "y_trilateral", "y_new_trilateral"]


@pytest.fixture(scope="module")
def trip(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("trip")
    synth = root / "synth"
    generate("tiny", seed=11, out_dir=synth, extract_date=EXTRACT, workers=1)
    write_register_layout(synth, root / "registers")
    key = root / "keys" / "k.key"
    out = {}
    for fmt in ("parquet", "csv"):
        import_registers(root / "registers" / fmt, root / f"data-{fmt}", key_path=key)
        out[fmt] = root / f"data-{fmt}"
    persons = read_contract_table(synth, "persons")
    k = read_key(key)
    original_id = {
        pseudonym(p, k): i
        for p, i in zip(synthetic_pnr(persons), persons["person_id"], strict=True)
    }
    return {"synth": synth, "out": out, "ids": original_id, "registers": root / "registers"}


def original(trip: dict, table: str) -> pd.DataFrame:
    """A table of the generator's own output, typed by the contract reader."""
    return read_table(trip["synth"], table, EXTRACT)


def test_synthetic_pnr_are_unique_and_cpr_shaped(trip: dict) -> None:
    persons = original(trip, "persons")
    pnr = synthetic_pnr(persons)
    assert pnr.is_unique and pnr.str.fullmatch(r"\d{10}").all()
    # a century apart, same ddmmyy: still two numbers
    two = pd.DataFrame(
        {"person_id": ["a", "b"], "birth_date": pd.to_datetime(["1920-03-01", "2020-03-01"])}
    )
    assert synthetic_pnr(two).tolist() == ["0103200000", "0103200001"]


def imported(trip: dict, table: str, fmt: str = "parquet") -> pd.DataFrame:
    """A table of the import, typed by the contract reader, with the generator's ids."""
    frame = read_table(trip["out"][fmt], table, EXTRACT)
    frame["person_id"] = frame["person_id"].map(trip["ids"])
    assert frame["person_id"].notna().all()
    return frame


def as_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows as comparable text, sorted (a null is one token whatever its type)."""
    text = frame[columns].astype(object).where(frame[columns].notna(), None).astype(str)
    return text.sort_values(columns).reset_index(drop=True)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_csv_and_parquet_registers_give_the_same_data(trip: dict, fmt: str) -> None:
    for table in ("persons", "hospital_contacts", "gp_contacts", "prescriptions"):
        a, b = imported(trip, table, "parquet"), imported(trip, table, fmt)
        pd.testing.assert_frame_equal(as_rows(a, list(a.columns)), as_rows(b, list(a.columns)))


def test_persons_row_for_row(trip: dict) -> None:
    want = original(trip, "persons").set_index("person_id").sort_index()
    got = imported(trip, "persons").set_index("person_id").sort_index()
    assert list(got.index) == list(want.index)
    exact = [
        "birth_date",
        "sex",
        "municipality_code",
        "education",
        "origin",
        "living_alone",
        "death_date",
        "emigration_date",
    ]
    pd.testing.assert_frame_equal(
        as_rows(got.reset_index(), ["person_id", *exact]),
        as_rows(want.reset_index(), ["person_id", *exact]),
    )
    # gp_clinic_id: from the latest GP contact with a clinic; persons without one have none
    has = got["gp_clinic_id"].notna()
    assert (got.loc[has, "gp_clinic_id"] == want.loc[has, "gp_clinic_id"]).all()
    gp = original(trip, "gp_contacts")
    with_clinic = set(gp.loc[gp["clinic_id"].notna(), "person_id"])
    assert set(got.index[has]) == with_clinic


def test_income_quintiles_keep_the_order_within_age_band(trip: dict) -> None:
    want = original(trip, "persons").set_index("person_id")
    got = imported(trip, "persons").set_index("person_id")["income_quintile"]
    assert got.notna().sum() == want["income_quintile"].notna().sum() > 0
    year_end = pd.Timestamp(EXTRACT.year - 1, 12, 31)
    age = (year_end - pd.to_datetime(want["birth_date"])).dt.days / 365.25
    band = pd.cut(age, [*INCOME_AGE_BANDS, 200], right=False)
    both = pd.DataFrame({"want": want["income_quintile"], "got": got, "band": band}).dropna()
    for _, group in both.groupby("band", observed=True):
        ordered = group.sort_values(["want", "got"])["got"].to_numpy()
        assert (np.diff(ordered) >= 0).all()


def test_gp_contacts_row_for_row(trip: dict) -> None:
    # the registers keep a GP contact's fee week, read back as its Monday: the generator
    # writes that Monday, so the contacts come back as they were
    want = original(trip, "gp_contacts")
    assert (pd.to_datetime(want["contact_date"]).dt.day_of_week == 0).all()
    got = imported(trip, "gp_contacts")
    pd.testing.assert_frame_equal(
        as_rows(got, list(want.columns)), as_rows(want, list(want.columns))
    )


def test_hospital_contacts_row_for_row(trip: dict) -> None:
    # the generator writes one stay at a time and no short contact inside one, so LPR3's
    # stay rule links nothing: every contact comes back as the row it was
    want = original(trip, "hospital_contacts")
    got = imported(trip, "hospital_contacts")
    columns = list(want.columns)
    assert (want["contact_type"] == "inpatient").sum() > 100
    pd.testing.assert_frame_equal(as_rows(got, columns), as_rows(want, columns))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_import_report_merges_no_stay(trip: dict, fmt: str) -> None:
    report = json.loads((trip["out"][fmt] / "import_report.json").read_text())
    hospital = [c for c in report["changes"] if c["table"] == "hospital_contacts"]
    assert hospital == []
    assert report["rows_read"]["kontakter"] == len(original(trip, "hospital_contacts"))


@pytest.mark.parametrize("table", ["prescriptions", "municipal_services", "opt_outs"])
def test_other_tables_row_for_row(trip: dict, table: str) -> None:
    want = original(trip, table)
    got = imported(trip, table)
    columns = list(want.columns)
    pd.testing.assert_frame_equal(as_rows(got, columns), as_rows(want, columns))


@pytest.mark.parametrize("model", ["avoidable_admission", "trilateral_need"])
def test_every_label_and_feature_is_identical(trip: dict, model: str) -> None:
    spec = load_spec(f"models/{model}.yaml")
    want = features_for_data_dir(trip["synth"], EXTRACT, spec, INDEX_DATES)
    got = features_for_data_dir(trip["out"]["parquet"], EXTRACT, spec, INDEX_DATES)
    got["person_id"] = got["person_id"].map(trip["ids"])
    key = ["index_date", "person_id"]
    want, got = want.set_index(key).sort_index(), got.set_index(key).sort_index()
    assert list(got.index) == list(want.index)
    labels = [c for c in LABELS if c in want.columns]
    assert labels
    # every index date has persons with each outcome, so equal labels say something
    for label in labels:
        assert (want[label].groupby(level="index_date").sum() > 0).all(), label
    pd.testing.assert_frame_equal(got[labels], want[labels])
    # and every feature but the income quintile, which the import ranks anew from IND
    # within age band (docs/registers.md)
    features = [c for c in want.columns if c != "income_quintile"]
    pd.testing.assert_frame_equal(got[features], want[features])


def test_no_synthetic_pnr_in_the_data_directories(trip: dict) -> None:
    pnr = set(synthetic_pnr(original(trip, "persons")))
    sample = sorted(pnr)[:50]
    for folder in trip["out"].values():
        for file in folder.iterdir():
            raw = file.read_bytes()
            assert not any(p.encode() in raw for p in sample), file
        ids = pq.read_table(folder / "persons.parquet").column("person_id").to_pylist()
        assert not pnr & set(ids)
    # the registers hold them (so the checks above look for something that exists)
    assert any(p.encode() in (trip["registers"] / "csv" / "bef.csv").read_bytes() for p in sample)
    assert pnr_traces(trip["out"]["csv"]) == []
