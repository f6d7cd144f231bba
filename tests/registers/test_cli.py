"""`riskstrat import`, `riskstrat reidentify` and `riskstrat synth --layout dst` as a user
runs them (exit codes, messages, files)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from openpyxl import Workbook, load_workbook

from riskstrat.registers.pseudonym import pseudonym, read_key
from tests.cli.runner import invoke
from tests.registers.files import PNR, bef, contract_events, minimal_source, write


def source(tmp_path: Path) -> Path:
    return contract_events(minimal_source(tmp_path / "src", ".csv"), ".csv")


def test_import_makes_a_key_prints_it_and_validates(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    out = tmp_path / "data"
    result = invoke(["import", source(tmp_path), "--out", out, "--extract-date", "2026-01-01"], env)
    assert result.exit_code == 0, result.output
    key = tmp_path / "cfg" / "riskstrat" / "pseudonym.key"
    assert str(key) in result.stdout and key.is_file()
    assert invoke(["validate", out]).exit_code == 0
    again = invoke(["import", source(tmp_path / "2"), "--out", out], env)
    assert again.exit_code == 0 and "new pseudonym key" not in again.stdout


def test_bad_input_exits_2_without_traceback_or_output(tmp_path: Path) -> None:
    src = source(tmp_path)
    write(bef().drop(columns=["koen"]), src / "bef.csv")
    out = tmp_path / "data"
    result = invoke(["import", src, "--out", out, "--pseudonym-key", tmp_path / "k.key"])
    assert result.exit_code == 2
    assert "bef, column koen: required column is missing" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not (tmp_path / "k.key").exists()  # a refused import makes no key either
    (src / "dod.csv").write_text("pnr,doddato\n0101401234,2024-13-45\n")
    result = invoke(["import", src, "--out", out, "--pseudonym-key", tmp_path / "k.key"])
    lines = [line for line in result.stderr.splitlines() if line.startswith("- ")]
    assert result.exit_code == 2 and lines == [
        "- bef, column koen: required column is missing",
        "- dod, column doddato: unparseable date: 1 row(s) (e.g. rows 1)",
    ]
    (src / "lpr_adm2019.txt").write_text("x")
    result = invoke(["import", src, "--out", out, "--pseudonym-key", tmp_path / "k.key"])
    assert result.exit_code == 2 and "lpr_adm2019.txt" in result.stderr
    assert not out.exists() and not (tmp_path / "k.key").exists()
    for args in (["--layout", "oracle"], ["--extract-date", "1/1/2026"]):
        bad = invoke(["import", source(tmp_path / "b"), "--out", out, *args])
        assert bad.exit_code == 2 and not out.exists(), bad.output


def list_of(data: Path) -> pd.DataFrame:
    ids = pq.read_table(data / "persons.parquet").column("person_id").to_pylist()
    return pd.DataFrame({"rank": [1, 2, 3], "person_id": ids[:2] + ["unknown-id"], "risk": 0.5})


def test_reidentify_a_csv_and_an_xlsx_list(tmp_path: Path) -> None:
    src, key, data = source(tmp_path), tmp_path / "k.key", tmp_path / "data"
    assert invoke(["import", src, "--out", data, "--pseudonym-key", key]).exit_code == 0
    wanted = {pseudonym(p, read_key(key)): p for p in PNR}
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "manifest.json").write_text('{"team": "x", "rows": 3}')  # a list's own manifest
    frame = list_of(data)
    frame.to_csv(lists / "target_list.csv", index=False)
    wb = Workbook()
    wb.active.append(["Rang", "Person-id", "Risiko"])
    for row in frame.itertuples():
        wb.active.append([row.rank, row.person_id, row.risk])
    wb.save(lists / "target_list.xlsx")
    for name in ("target_list.csv", "target_list.xlsx"):
        args = ["reidentify", lists / name, "--pseudonym-key", key, "--persons", src / "bef.csv"]
        result = invoke(args)
        assert result.exit_code == 0, result.output
        assert "2 person(s) with pnr" in result.stdout and "1 person(s) not" in result.stdout
    csv = pd.read_csv(lists / "target_list.pnr.csv", dtype=str)
    assert list(csv.columns) == ["rank", "person_id", "pnr", "risk"]
    assert csv["pnr"].iloc[:2].tolist() == [wanted[i] for i in frame["person_id"][:2]]
    sheet = load_workbook(lists / "target_list.pnr.xlsx").active
    assert [c.value for c in sheet[1]] == ["Rang", "Person-id", "pnr", "Risiko"]
    assert [sheet.cell(r, 3).value for r in (2, 3, 4)] == [
        *[wanted[i] for i in frame["person_id"][:2]],
        None,
    ]
    # the register folder works as --persons too; a list inside a data directory is refused
    assert invoke(["reidentify", lists / "target_list.csv", "--pseudonym-key", key,
                   "--persons", src]).exit_code == 0  # fmt: skip
    frame.to_csv(data / "target_list.csv", index=False)
    refused = invoke(["reidentify", data / "target_list.csv", "--pseudonym-key", key,
                      "--persons", src])  # fmt: skip
    assert refused.exit_code == 2 and "data directory" in refused.stderr
    assert not (data / "target_list.pnr.csv").exists()


def test_reidentify_with_another_key_writes_nothing(tmp_path: Path) -> None:
    src, data = source(tmp_path), tmp_path / "data"
    assert (
        invoke(["import", src, "--out", data, "--pseudonym-key", tmp_path / "a.key"]).exit_code == 0
    )
    invoke(["import", src, "--out", tmp_path / "other", "--pseudonym-key", tmp_path / "b.key"])
    list_of(data).iloc[:2].to_csv(tmp_path / "list.csv", index=False)
    args = ["reidentify", tmp_path / "list.csv", "--pseudonym-key", tmp_path / "b.key"]
    result = invoke([*args, "--persons", src / "bef.csv"])
    assert result.exit_code == 2 and not (tmp_path / "list.pnr.csv").exists()


def test_synth_layout_dst_writes_registers_that_import(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    args = ["synth", "--profile", "tiny", "--seed", "3", "--persons", "150", "--out", out]
    result = invoke([*args, "--layout", "dst"])
    assert result.exit_code == 0, result.output
    for fmt in ("csv", "parquet"):
        files = {p.stem for p in (out / "registers" / fmt).iterdir()}
        assert {"bef", "dod", "vnds", "udda", "ind"} <= files
    assert invoke(["validate", out]).exit_code == 0  # the registers folder does not disturb it
    data = tmp_path / "data"
    imported = invoke(["import", out / "registers" / "csv", "--out", data, "--pseudonym-key",
                       tmp_path / "k.key"])  # fmt: skip
    assert imported.exit_code == 0, imported.output
    assert invoke(["synth", *args[1:-2], "--out", tmp_path / "x", "--layout", "sas"]).exit_code == 2


def test_import_in_buckets_from_the_command_line_gives_the_same_tables(tmp_path: Path) -> None:
    from datetime import date

    from riskstrat.contract.reader import read_table

    key = tmp_path / "keys" / "k.key"
    src = source(tmp_path)
    runs = {}
    for n in ("1", "2"):
        out = tmp_path / f"data-{n}"
        args = ["import", src, "--out", out, "--extract-date", "2026-01-01"]
        result = invoke([*args, "--pseudonym-key", key, "--buckets", n, "--json"])
        assert result.exit_code == 0, result.output
        runs[n] = out
    # two buckets are written as person-aligned part folders, one as a single file each
    assert (runs["1"] / "persons.parquet").is_file()
    assert sorted(p.name for p in (runs["2"] / "persons").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    for table in ("persons", "hospital_contacts", "gp_contacts"):
        whole = read_table(runs["1"], table, date(2026, 1, 1))
        split = read_table(runs["2"], table, date(2026, 1, 1))
        columns = list(whole.columns)
        pd.testing.assert_frame_equal(
            whole.sort_values(columns).reset_index(drop=True),
            split[columns].sort_values(columns).reset_index(drop=True),
        )


def test_import_refuses_zero_buckets_with_a_message(tmp_path: Path) -> None:
    result = invoke(
        ["import", source(tmp_path), "--out", tmp_path / "data", "--buckets", "0"],
        {"XDG_CONFIG_HOME": str(tmp_path / "cfg")},
    )
    assert result.exit_code == 2
    assert "--buckets must be at least 1" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "data").exists()
