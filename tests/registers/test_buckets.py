"""The import in person buckets (`import_registers(..., buckets=N)`): the same data as the
whole import, written as person-aligned part folders; problems of every bucket reported
together and nothing written; the number of buckets chosen from the input's size."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskstrat.contract.validate import validate_data_dir
from riskstrat.errors import InputError
from riskstrat.registers import buckets as buckets_module
from riskstrat.registers.importer import catalogue, import_registers
from riskstrat.registers.sources import find_registers
from riskstrat.registers.synthetic import write_register_layout
from riskstrat.synth import generate
from tests.registers.files import PNR, contract_events, minimal_source, osdc_source, write
from tests.registers.test_importer import pnr_traces

EXTRACT = date(2026, 1, 1)


@pytest.fixture(scope="module")
def registers(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("registers")
    generate("tiny", seed=5, out_dir=root / "synth", persons=600, extract_date=EXTRACT, workers=1)
    write_register_layout(root / "synth", root / "registers")
    return root / "registers"


def table(out: Path, name: str) -> pd.DataFrame:
    """A contract table, whole file or part folder, rows sorted by every column."""
    frame = pq.read_table(out / name if (out / name).is_dir() else out / f"{name}.parquet")
    frame = frame.to_pandas()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def changes(result) -> dict:
    return {(c.register, c.table, c.action, c.reason): c.rows for c in result.changes}


def assert_same_data(whole, whole_out: Path, split, split_out: Path) -> None:
    assert split.rows_read == whole.rows_read
    assert split.rows_written == whole.rows_written
    assert changes(split) == changes(whole)
    assert (split.extract_date, split.history_start) == (whole.extract_date, whole.history_start)
    for name in whole.rows_written:
        pd.testing.assert_frame_equal(table(split_out, name), table(whole_out, name))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_buckets_give_the_data_of_the_whole_import(tmp_path: Path, registers: Path, fmt) -> None:
    key = tmp_path / "k.key"
    # the extract date derived, so it is taken over every bucket too
    whole = import_registers(registers / fmt, tmp_path / "whole", key_path=key, buckets=1)
    split = import_registers(registers / fmt, tmp_path / "split", key_path=key, buckets=3)
    assert_same_data(whole, tmp_path / "whole", split, tmp_path / "split")
    assert (tmp_path / "whole" / "persons.parquet").is_file()  # one bucket: today's layout
    parts = {
        name: sorted(p.name for p in (tmp_path / "split" / name).iterdir())
        for name in split.rows_written
    }
    assert all(found == [f"part-0000{k}.parquet" for k in range(3)] for found in parts.values())
    assert validate_data_dir(tmp_path / "split").ok
    assert not [p for p in (tmp_path / "split").iterdir() if p.name.startswith(".")]
    # each part holds its own persons: no person's events in another part
    persons = {k: set(pq.read_table(tmp_path / "split" / "persons" / f"part-0000{k}.parquet")
                      .column("person_id").to_pylist()) for k in range(3)}  # fmt: skip
    assert (
        all(persons.values()) and sum(map(len, persons.values())) == split.rows_written["persons"]
    )
    for k in range(3):
        path = tmp_path / "split" / "hospital_contacts" / f"part-0000{k}.parquet"
        assert set(pq.read_table(path).column("person_id").to_pylist()) <= persons[k]


def test_income_quintiles_are_ranked_over_every_bucket(tmp_path: Path, registers: Path) -> None:
    key = tmp_path / "k.key"
    source = registers / "parquet"
    import_registers(source, tmp_path / "whole", key_path=key, extract_date=EXTRACT, buckets=1)
    import_registers(source, tmp_path / "split", key_path=key, extract_date=EXTRACT, buckets=4)
    columns = ["person_id", "income_quintile"]
    whole, split = table(tmp_path / "whole", "persons"), table(tmp_path / "split", "persons")
    assert whole["income_quintile"].notna().sum() > 100
    pd.testing.assert_frame_equal(split[columns], whole[columns])


def test_osdc_edge_cases_in_buckets(tmp_path: Path) -> None:
    """LPR2's and LPR3's diagnoses carry no pnr: they follow their contact into its bucket."""
    src = osdc_source(tmp_path / "src")
    key = tmp_path / "k.key"
    whole = import_registers(src, tmp_path / "whole", key_path=key, extract_date=EXTRACT)
    split = import_registers(src, tmp_path / "split", key_path=key, extract_date=EXTRACT, buckets=3)
    assert whole.rows_written["hospital_contacts"] > 0
    assert_same_data(whole, tmp_path / "whole", split, tmp_path / "split")


def test_problems_of_every_bucket_reported_and_nothing_written(tmp_path: Path) -> None:
    src = contract_events(minimal_source(tmp_path / "src"), ".parquet")
    dod = pd.DataFrame({"pnr": PNR[:4], "doddato": ["2024-01-01", "31-02-2024", "soon", "x"]})
    write(dod, src / "dod.csv")
    (src / "dod.parquet").unlink()
    spread = buckets_module.bucket_of(pd.Series(PNR[1:4]), 3)
    assert spread.nunique() > 1  # the bad rows are in more than one bucket
    out, key = tmp_path / "data", tmp_path / "keys" / "k.key"
    out.mkdir()
    (out / "previous.txt").write_text("kept")
    with pytest.raises(InputError) as caught:
        import_registers(src, out, key_path=key, extract_date=EXTRACT, buckets=3)
    lines = [line for line in str(caught.value).splitlines() if line.startswith("- ")]
    assert len(lines) == 1 and lines[0].startswith(
        "- dod, column doddato: unparseable date: 3 row(s)"
    )
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt"]
    assert not key.exists()  # a refused import makes no key
    assert not any(p.name.startswith(".data.") for p in tmp_path.iterdir())


def test_no_pnr_in_a_bucketed_output(tmp_path: Path) -> None:
    src = contract_events(minimal_source(tmp_path / "src"), ".csv")
    out = tmp_path / "data"
    import_registers(src, out, key_path=tmp_path / "k.key", extract_date=EXTRACT, buckets=2)
    assert validate_data_dir(out).ok
    assert pnr_traces(out) == []


def test_bucket_count_follows_the_input_size(tmp_path: Path, monkeypatch) -> None:
    src = contract_events(minimal_source(tmp_path / "src"), ".csv")
    found = find_registers(src, catalogue(), "auto", [])
    assert buckets_module.bucket_count(found) == 1
    size = buckets_module.parquet_equivalent_bytes(found)
    monkeypatch.setattr(buckets_module, "BUCKET_BYTES", size / 4.5)
    assert buckets_module.bucket_count(found) == 5
    with pytest.raises(InputError, match="at least 1"):
        import_registers(src, tmp_path / "data", key_path=tmp_path / "k.key", buckets=0)


def test_a_person_keeps_the_bucket_of_their_normalised_pnr() -> None:
    pnr = pd.Series(["0101801234", "0202905678", "1111111118"] * 2)
    first = buckets_module.bucket_of(pnr, 7)
    assert first.tolist()[:3] == first.tolist()[3:]
    assert buckets_module.bucket_of(pnr, 7).tolist() == first.tolist()
    assert set(buckets_module.bucket_of(pd.Series([f"{i:010d}" for i in range(700)]), 7)) == set(
        range(7)
    )


def test_sas_files_read_in_chunks_give_the_data_of_the_whole_file(
    tmp_path: Path, monkeypatch
) -> None:
    # a bucketed import streams SAS files with pyreadstat's chunked reader; two rows a chunk
    # makes every register file several chunks, against the whole-file read of one bucket
    src = contract_events(minimal_source(tmp_path / "src", ".xpt"), ".xpt")
    assert sum(p.suffix == ".xpt" for p in src.iterdir()) >= 5  # the registers (a lookup aside)
    monkeypatch.setattr(buckets_module, "CHUNK_ROWS", 2)
    chunks = list(
        buckets_module._file_chunks(src / "bef.xpt", "bef", [])  # noqa: SLF001 (the reader)
    )
    assert len(chunks) >= 3 and all(len(c) <= 2 for c in chunks)
    key = tmp_path / "k.key"
    whole = import_registers(src, tmp_path / "whole", key_path=key, extract_date=EXTRACT, buckets=1)
    split = import_registers(src, tmp_path / "split", key_path=key, extract_date=EXTRACT, buckets=2)
    assert_same_data(whole, tmp_path / "whole", split, tmp_path / "split")
