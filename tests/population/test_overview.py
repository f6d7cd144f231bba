"""The population overview: figures recomputed from person flags, suppression, CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd

from riskstrat.cli import main
from riskstrat.contract import read_extract
from riskstrat.population import overview_tables, person_flags, render, suppress


def test_sector_patterns_add_up_and_match_the_flags(tiny_data: Path) -> None:
    extract = read_extract(tiny_data, date(2026, 1, 1))
    flags = person_flags(extract, date(2025, 1, 1), date(2026, 1, 1))
    overview = overview_tables(flags, (date(2025, 1, 1), date(2026, 1, 1)))
    sectors = overview.tables["sectors (everyone)"].set_index("sectors")["persons"]
    trilateral = int((flags["hospital"] & flags["gp"] & flags["municipal"]).sum())
    assert trilateral >= 5  # enough persons to be shown rather than suppressed
    assert sectors["all three (trilateral)"] == trilateral
    gp_only = int((flags["gp"] & ~flags["hospital"] & ~flags["municipal"]).sum())
    assert sectors["GP only"] == gp_only
    by_sex = overview.tables["by sex"].set_index("sex")
    assert by_sex["inhabitants"].sum() == len(flags)
    expected = (
        1000
        * flags.loc[flags["sex"] == "F", "acute_admissions"].sum()
        / (flags["sex"] == "F").sum()
    )
    assert abs(by_sex.loc["F", "acute_per_1000"] - round(expected, 1)) < 0.051


def test_small_counts_are_suppressed_with_a_complement() -> None:
    table = pd.DataFrame(
        {"group": ["a", "b", "c", "d"], "n": [100, 3, 40, 0], "rate": [1.0, 2.0, 3.0, 0.0]}
    )
    out = suppress(table, ["n"], {"rate": "n"})
    assert out["n"].isna().tolist() == [False, True, True, False]  # 3 hidden, 40 hides with it
    assert out["rate"].isna().tolist() == [False, True, True, False]
    assert out.loc[3, "n"] == 0  # zeros may show


def test_rendered_outputs_hold_no_small_count() -> None:
    flags = pd.DataFrame(
        {
            "municipality": [730] * 40 + [707] * 3,
            "age_band": ["80+"] * 43,
            "sex": ["F"] * 43,
            "education": ["basic"] * 43,
            "income_quintile": ["1"] * 43,
            "origin": ["danish"] * 43,
            "living_alone": ["yes"] * 43,
            "rurality": ["Provinsbykommune"] * 43,
            "hospital": [True] * 43,
            "gp": [True] * 43,
            "municipal": [False] * 43,
            "acute_admissions": [1] * 43,
            "avoidable_admissions": [0] * 43,
        }
    )
    overview = overview_tables(flags, (date(2025, 1, 1), date(2026, 1, 1)))
    by_municipality = overview.tables["by municipality"].set_index("municipality")
    assert pd.isna(by_municipality.loc["707", "inhabitants"])
    assert pd.isna(by_municipality.loc["730", "inhabitants"])  # complementary
    files = render(overview, "t", "test")
    groups = json.loads(files["tables.json"])["tables"]["by municipality"]
    assert all(row["inhabitants"] is None for row in groups)
    assert b">3<" not in files["report.html"]


def test_report_command_writes_three_files(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "overview.html"
    assert main(["report", "--data", str(tiny_data), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!doctype html>")
    assert (tmp_path / "overview.md").exists() and (tmp_path / "overview.json").exists()


def test_report_on_invalid_data_is_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "persons.csv").write_text("person_id,birth_date\nP1,1950-01-01\n")
    out = tmp_path / "overview.html"
    assert main(["report", "--data", str(data), "--out", str(out)]) == 2
    assert not out.exists()
