"""`import_registers`: formats and casing end to end, the output valid and free of any
pnr, bad input refused with one message per problem class and nothing written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskstrat.contract.validate import validate_data_dir
from riskstrat.errors import InputError
from riskstrat.registers.importer import import_registers
from riskstrat.registers.pseudonym import load_or_create_key, pseudonym
from tests.registers.files import PNR, bef, contract_events, minimal_source, osdc_source, write

EXTRACT = date(2026, 1, 1)


def source(tmp_path: Path, suffix: str = ".parquet", upper: bool = False) -> Path:
    folder = minimal_source(tmp_path / "src", suffix, upper)
    return contract_events(folder, ".csv" if suffix != ".parquet" else ".parquet")


def run(src: Path, out: Path, key: Path, **options):
    return import_registers(src, out, extract_date=EXTRACT, key_path=key, **options)


def pnr_traces(folder: Path) -> list[str]:
    """Every place a test pnr (plain or with a dash) shows in `folder`: the raw bytes of
    every file, and every decoded value and the metadata of every Parquet file (its pages
    are compressed, so raw bytes alone would miss a pnr)."""
    forms = [p for n in PNR for p in (n, f"{n[:6]}-{n[6:]}")]
    found = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        raw = file.read_bytes()
        found += [f"{file.name}: bytes" for f in forms if f.encode() in raw]
        if file.suffix == ".parquet":
            table = pq.read_table(file)
            text = " ".join(str(v) for c in table.columns for v in c.to_pylist())
            text += str(table.schema.metadata) + str(table.schema)
            found += [f"{file.name}: values" for f in forms if f in text]
    return found


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xpt"])
@pytest.mark.parametrize("upper", [False, True])
def test_formats_and_casing_give_the_same_valid_data(tmp_path: Path, suffix, upper) -> None:
    out, key = tmp_path / "data", tmp_path / "keys" / "k.key"
    result = run(source(tmp_path, suffix, upper), out, key)
    assert validate_data_dir(out).ok
    persons = pq.read_table(out / "persons.parquet").to_pandas().set_index("person_id")
    k, _ = load_or_create_key(key, out)
    first = persons.loc[pseudonym(PNR[0], k)]
    assert (first["sex"], first["municipality_code"], first["education"]) == ("M", 730, "basic")
    assert first["death_date"] == date(2024, 6, 30)
    assert pd.isna(persons.loc[pseudonym(PNR[2], k), "emigration_date"])  # came back
    assert persons.loc[pseudonym(PNR[1], k), "emigration_date"] == date(2023, 3, 1)
    assert persons.loc[pseudonym(PNR[0], k), "gp_clinic_id"] == "730001"
    assert result.rows_written["persons"] == 5
    assert result.rows_read["bef"] == 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["extract_date"] == "2026-01-01"
    # the latest first month of the three required tables (hospital: 2024-01-05)
    assert manifest["history_start"] == "2024-01-01"


def test_no_pnr_anywhere_in_the_output(tmp_path: Path) -> None:
    out = tmp_path / "data"
    run(source(tmp_path, ".csv"), out, tmp_path / "k.key")
    files = sorted(p.name for p in out.iterdir())
    assert "import_report.json" in files and "persons.parquet" in files
    assert pnr_traces(out) == []
    # the scan finds a pnr where there is one (so an empty result means something)
    write(bef(), out / "planted.parquet")
    assert pnr_traces(out)


def test_report_counts_and_never_an_id(tmp_path: Path) -> None:
    src = source(tmp_path)
    write(bef(kom=[730, 730, 707, 955, 751]), src / "bef.parquet")  # 955: Greenland
    out = tmp_path / "data"
    result = run(src, out, tmp_path / "k.key")
    report = json.loads((out / "import_report.json").read_text())
    reasons = {(c["table"], c["action"]): c for c in report["changes"]}
    assert reasons[("persons", "dropped")]["rows"] == "<5"  # one person: shown as <5
    exact = {c.reason: c.rows for c in result.changes}
    assert exact["municipality (kom) missing or not one of the 98 municipalities"] == 1
    # PNR[3]'s GP contact is dropped with them: an event of a person not in persons
    assert any(c.table == "gp_contacts" and c.action == "dropped" for c in result.changes)
    ids = pq.read_table(out / "persons.parquet").column("person_id").to_pylist()
    text = (out / "import_report.md").read_text() + (out / "import_report.json").read_text()
    assert not any(i in text for i in ids)


def test_bad_input_one_message_per_class_and_nothing_written(tmp_path: Path) -> None:
    src = source(tmp_path)
    write(bef().drop(columns=["kom"]), src / "bef.parquet")
    dod = pd.DataFrame({"pnr": PNR[:3], "doddato": ["2024-01-01", "31-02-2024", "soon"]})
    write(dod, src / "dod.csv")
    (src / "dod.parquet").unlink()
    (src / "extra_register.csv").write_text("a\n1\n")
    out = tmp_path / "data"
    out.mkdir()
    (out / "previous.txt").write_text("kept")
    with pytest.raises(InputError) as caught:
        run(src, out, tmp_path / "k.key")
    message = str(caught.value)
    assert message.count("\n- ") == 1  # the unknown file stops the run before reading
    assert "extra_register.csv" in message
    (src / "extra_register.csv").unlink()
    with pytest.raises(InputError) as caught:
        run(src, out, tmp_path / "k.key")
    lines = [line for line in str(caught.value).splitlines() if line.startswith("- ")]
    assert lines == [
        "- bef, column kom: required column is missing",
        "- dod, column doddato: unparseable date: 2 row(s) (e.g. rows 2, 3)",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt"]
    assert not any(p.name.startswith(".data.") for p in tmp_path.iterdir())


def test_unparseable_date_names_register_column_and_rows(tmp_path: Path) -> None:
    src = source(tmp_path)
    dod = pd.DataFrame({"pnr": PNR[:3], "doddato": ["2024-01-01", "31-02-2024", "soon"]})
    write(dod, src / "dod.csv")
    (src / "dod.parquet").unlink()
    with pytest.raises(InputError, match=r"dod, column doddato: unparseable date: 2 row\(s\)"):
        run(src, tmp_path / "data", tmp_path / "k.key")
    assert not (tmp_path / "data").exists()


def test_a_missing_required_table_is_a_problem(tmp_path: Path) -> None:
    src = source(tmp_path)
    (src / "municipal_services.parquet").unlink()
    with pytest.raises(InputError, match="municipal_services: required contract table"):
        run(src, tmp_path / "data", tmp_path / "k.key")


def test_a_contract_table_keyed_by_person_id_is_a_problem(tmp_path: Path) -> None:
    src = source(tmp_path)
    table = pd.read_parquet(src / "gp_contacts.parquet").rename(columns={"pnr": "person_id"})
    table.to_parquet(src / "gp_contacts.parquet", index=False)
    with pytest.raises(InputError, match="gp_contacts, column pnr: a contract table in SOURCE_DIR"):
        run(src, tmp_path / "data", tmp_path / "k.key")


def test_persons_given_twice_is_a_problem(tmp_path: Path) -> None:
    src = source(tmp_path)
    contract = pd.DataFrame({"pnr": PNR, "birth_date": "1950-01-01", "sex": "F"})
    contract.assign(municipality_code=730).to_csv(src / "persons.csv", index=False)
    with pytest.raises(InputError, match="persons: given both as registers and as a contract"):
        run(src, tmp_path / "data", tmp_path / "k.key")


def test_same_key_same_ids_on_a_second_import(tmp_path: Path) -> None:
    src, key = source(tmp_path), tmp_path / "k.key"
    run(src, tmp_path / "a", key)
    run(src, tmp_path / "b", key)
    ids = [pq.read_table(tmp_path / d / "persons.parquet").column("person_id") for d in "ab"]
    assert ids[0].equals(ids[1])


def test_key_inside_the_output_is_refused_before_anything(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="inside the data directory"):
        run(source(tmp_path), tmp_path / "data", tmp_path / "data" / "k.key")
    assert not (tmp_path / "data").exists()


def test_osdc_edge_cases_import_whole(tmp_path: Path) -> None:
    """osdc's edge-case registers (tests/registers/fixtures/README.md) through the whole
    import: BEF gets a `kom` (osdc's has none) and a one-row municipal_services table is
    added, as the contract requires both; everything else is osdc's as written."""
    from riskstrat.registers.common import Problem
    from riskstrat.registers.hospital import hospital_contacts

    src = osdc_source(tmp_path / "src")
    people = pd.read_csv(src / "bef.csv", dtype=str)
    out = tmp_path / "data"
    result = run(src, out, tmp_path / "k.key")
    assert validate_data_dir(out).ok
    registers = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in src.iterdir()}
    problems: list[Problem] = []
    direct = hospital_contacts(registers, EXTRACT, problems)
    assert problems == [] and direct is not None
    assert result.rows_written["hospital_contacts"] == len(direct.table) > 0
    assert result.rows_written["persons"] == len(people)
    ids = set(pq.read_table(out / "persons.parquet").column("person_id").to_pylist())
    text = " ".join(
        str(v)
        for f in out.glob("*.parquet")
        for c in pq.read_table(f).columns
        for v in c.to_pylist()
    )
    assert not any(p in text for p in people["pnr"]) and len(ids) == len(people)


def test_events_keyed_by_a_cpr_number_with_a_dash_join_their_person(tmp_path: Path) -> None:
    src = source(tmp_path, ".csv")
    gp = pd.read_csv(src / "gp_contacts.csv", dtype=str)
    gp["pnr"] = gp["pnr"].str.slice(0, 6) + "-" + gp["pnr"].str.slice(6)
    gp.to_csv(src / "gp_contacts.csv", index=False)
    result = run(src, tmp_path / "data", tmp_path / "k.key")
    assert result.rows_written["gp_contacts"] == len(gp)
    assert not [c for c in result.changes if c.table == "gp_contacts"]
