"""Finding and reading register files: names, periods, part folders, formats, casing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskstrat.registers.common import Problem
from riskstrat.registers.importer import catalogue
from riskstrat.registers.sources import canonical_name, find_registers, read_register
from tests.registers.files import PNR, bef, write


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("LPR_ADM2018", ("lpr_adm", "2018")),
        ("bef202312", ("bef", "202312")),
        ("ind_2023", ("ind", "2023")),
        ("VNDS_UD", ("vnds_ud", None)),
        ("cpr3_t_person", ("cpr3_t_person", None)),
        ("lpr3_sb_kontakt", ("lpr3_sb_kontakt", None)),
    ],
)
def test_canonical_names(stem: str, expected: tuple) -> None:
    assert canonical_name(stem) == expected


def read_all(folder: Path, layout: str = "auto") -> tuple[dict, list[Problem]]:
    problems: list[Problem] = []
    found = find_registers(folder, catalogue(), layout, problems)
    return {n: read_register(f, problems) for n, f in found.items()}, problems


def test_yearly_files_folders_and_formats(tmp_path: Path) -> None:
    write(bef().iloc[:2], tmp_path / "BEF2023.csv")
    write(bef().iloc[2:].rename(columns=str.upper), tmp_path / "bef2024.parquet")
    dod = pd.DataFrame({"PNR": [PNR[0]], "DODDATO": pd.to_datetime(["2024-06-30"])})
    write(dod, tmp_path / "dod.xpt")
    ind = pd.DataFrame({"pnr": PNR[:2], "aekvivadisp_13": [1.0, 2.0]})
    write(ind, tmp_path / "ind" / "year=2022" / "part-0.parquet")
    write(ind, tmp_path / "ind" / "year=2023" / "part-0.parquet")
    write(ind, tmp_path / "udda" / "UDDA2021.parquet")
    write(ind, tmp_path / "udda" / "udda2022.csv")
    frames, problems = read_all(tmp_path)
    assert problems == []
    assert sorted(frames["udda"]["year"]) == [2021, 2021, 2022, 2022]  # yearly parts
    assert len(frames["bef"]) == 5
    assert set(frames["bef"].columns) >= {"pnr", "koen", "kom", "source_period", "year"}
    assert sorted(frames["bef"]["year"].unique()) == [2023, 2024]
    assert frames["dod"]["doddato"].iloc[0] == pd.Timestamp("2024-06-30")  # SAS date -> date
    assert sorted(frames["ind"]["year"].unique()) == ["2022", "2023"]  # from the folder names


def test_sds_person_keys_become_pnr(tmp_path: Path) -> None:
    cpr = pd.DataFrame({"V_PNR_ENCRYPTED": ["abc"], "C_KON": ["M"], "D_FODDATO": ["1950-01-01"]})
    write(cpr, tmp_path / "cpr3_t_person.csv")
    frames, problems = read_all(tmp_path)
    assert problems == [] and list(frames["cpr3_t_person"].columns)[0] == "pnr"


def test_pnr_spelled_one_way(tmp_path: Path) -> None:
    dod = pd.DataFrame({"pnr": [" 010140-1234", "0101401234 ", "abc ", None]})
    write(dod.assign(doddato="2024-01-01"), tmp_path / "dod.parquet")
    frames, _ = read_all(tmp_path)
    assert frames["dod"]["pnr"].tolist()[:3] == ["0101401234", "0101401234", "abc"]
    assert pd.isna(frames["dod"]["pnr"].iloc[3])


def test_semicolon_csv(tmp_path: Path) -> None:
    (tmp_path / "dod.csv").write_text("PNR;DODDATO\n0101401234;01JAN2024\n", encoding="utf-8")
    frames, _ = read_all(tmp_path)
    assert frames["dod"].to_dict("records") == [{"pnr": "0101401234", "doddato": "01JAN2024"}]


def test_unknown_files_are_one_problem(tmp_path: Path) -> None:
    write(bef(), tmp_path / "bef.parquet")
    (tmp_path / "notes.txt").write_text("x")
    write(bef(), tmp_path / "mystery2020.csv")
    _, problems = read_all(tmp_path)
    assert len(problems) == 1
    assert "2 file(s)" in problems[0].rule and "notes.txt" in problems[0].rule


def test_layout_refuses_the_other_layouts_registers(tmp_path: Path) -> None:
    write(pd.DataFrame({"pnr": ["a"]}), tmp_path / "cpr3_t_person.parquet")
    write(bef(), tmp_path / "bef.parquet")
    _, problems = read_all(tmp_path, "dst")
    assert [p.register for p in problems] == ["cpr3_t_person.parquet"]
    _, problems = read_all(tmp_path, "sds")
    assert [p.register for p in problems] == ["bef.parquet"]
    _, problems = read_all(tmp_path, "auto")
    assert problems == []


def test_columns_named_twice_case_blind(tmp_path: Path) -> None:
    (tmp_path / "dod.csv").write_text("pnr,DODDATO,doddato\n1,2024-01-01,2024-01-01\n")
    _, problems = read_all(tmp_path)
    assert [(p.column, p.rule) for p in problems] == [
        ("doddato", "column named twice (names are case-blind)")
    ]


def test_a_sas7bdat_written_by_sas(tmp_path: Path) -> None:
    """pyreadstat's own sample (fixtures/pyreadstat/README.md), under a yearly register name
    with an upper-case extension: read with its dates as dates."""
    import shutil

    sample = Path(__file__).parent / "fixtures" / "pyreadstat" / "sample.sas7bdat"
    shutil.copy(sample, tmp_path / "DOD2019.SAS7BDAT")
    frames, problems = read_all(tmp_path)
    assert problems == []
    dod = frames["dod"]
    assert list(dod.columns[:3]) == ["mychar", "mynum", "mydate"]
    assert dod["mydate"].iloc[0] == pd.Timestamp("2018-05-06")
    assert set(dod["year"]) == {2019} and set(dod["source_period"]) == {"2019"}
