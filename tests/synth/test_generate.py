"""The synthetic generator: contract, determinism, calibration report, history dependence."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from riskstrat.cli import app, main
from riskstrat.contract import validate_data_dir
from riskstrat.errors import InputError
from riskstrat.synth import generate
from riskstrat.synth.generate import _context
from riskstrat.synth.population import draw_persons
from riskstrat.synth.simulate import SHORT_CONTACTS_PER_DAY, Simulation


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_tiny_profile_meets_the_contract(tiny_data: Path) -> None:
    report = validate_data_dir(tiny_data)
    assert report.ok, [f.message for f in report.errors]
    assert report.rows["persons"] == 2_000
    for table in (
        "hospital_contacts",
        "gp_contacts",
        "municipal_services",
        "prescriptions",
        "opt_outs",
    ):
        assert report.rows[table] > 0, table
    manifest = json.loads((tiny_data / "manifest.json").read_text())
    assert manifest["extract_date"] == "2026-01-01"
    assert manifest["history_start"] == "2021-01-01"


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate("tiny", seed=3, out_dir=tmp_path / "a", persons=600)
    b = generate("tiny", seed=3, out_dir=tmp_path / "b", persons=600)
    generate("tiny", seed=4, out_dir=tmp_path / "c", persons=600)
    assert a.rows == b.rows
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_calibration_report_is_written_and_consistent(tiny_data: Path) -> None:
    report = json.loads((tiny_data / "calibration.json").read_text())
    assert report["reference_year"] == 2021
    assert report["total"] == len(report["figures"]) == 21
    assert report["passed"] == sum(f["pass"] for f in report["figures"])
    values = {f["figure"]: f["value"] for f in report["figures"]}
    # recompute two figures from the files with the targets' counting rules
    con = duckdb.connect()
    inhabitants = con.execute(
        f"SELECT count(*) FROM read_parquet('{tiny_data}/persons/*.parquet') "
        "WHERE birth_date < DATE '2021-01-01' AND (death_date IS NULL OR death_date >= DATE '2021-01-01') "
        "AND (emigration_date IS NULL OR emigration_date >= DATE '2021-01-01')"
    ).fetchall()[0][0]
    gp = con.execute(
        f"SELECT count(DISTINCT person_id) FROM read_parquet('{tiny_data}/gp_contacts/*.parquet') "
        "WHERE year(contact_date) = 2021"
    ).fetchall()[0][0]
    assert values["inhabitants"] == inhabitants
    assert values["gp_any"] == gp
    markdown = (tiny_data / "calibration.md").read_text()
    assert "figures within tolerance" in markdown and "avoidable admissions" in markdown.lower()


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    generate("randers", seed=11, out_dir=out, persons=30_000)
    return out


def test_randers_sample_meets_most_calibration_targets(larger: Path) -> None:
    report = json.loads((larger / "calibration.json").read_text())
    assert report["passed"] >= 17, [f for f in report["figures"] if not f["pass"]]


def test_an_acute_admission_raises_the_chance_of_an_avoidable_admission(larger: Path) -> None:
    """History dependence: among persons 65+, an acute admission in one year is followed by
    more avoidable admissions in the next year than no acute admission."""
    con = duckdb.connect()
    prefixes = " OR ".join(
        f"action_diagnosis LIKE '{p}%'" for p in ("DJ1", "DJ2", "DN39", "DN30", "DE86", "DS72")
    )
    rows = con.execute(f"""
        WITH p AS (SELECT person_id, birth_date FROM read_parquet('{larger}/persons/*.parquet')),
        years AS (SELECT unnest([2021, 2022, 2023, 2024]) AS y),
        alive AS (
            SELECT p.person_id, y FROM p, years, read_parquet('{larger}/persons/*.parquet') q
            WHERE q.person_id = p.person_id AND y - year(p.birth_date) > 66
              AND (q.death_date IS NULL OR year(q.death_date) > y + 1)
              AND (q.emigration_date IS NULL OR year(q.emigration_date) > y + 1)),
        h AS (SELECT * FROM read_parquet('{larger}/hospital_contacts/*.parquet')),
        prior AS (SELECT DISTINCT person_id, year(start_date) AS y FROM h
                  WHERE contact_type = 'inpatient' AND acute),
        later AS (SELECT DISTINCT person_id, year(start_date) - 1 AS y FROM h
                  WHERE contact_type = 'inpatient' AND acute AND ({prefixes}))
        SELECT (prior.person_id IS NOT NULL) AS admitted, count(*) AS n,
               avg((later.person_id IS NOT NULL)::INT) AS rate
        FROM alive LEFT JOIN prior USING (person_id, y) LEFT JOIN later USING (person_id, y)
        GROUP BY 1 ORDER BY 1
    """).fetchall()
    (_, n0, without), (_, n1, with_) = rows
    assert n1 > 300 and n0 > 3_000
    assert with_ > 2 * without


def test_refuses_a_non_empty_folder_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        generate("tiny", seed=1, out_dir=out, persons=50)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    with pytest.raises(InputError, match="unknown profile"):
        generate("atlantis", seed=1, out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_synth_writes_and_validates(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(
        app,
        [
            "synth",
            "--profile",
            "tiny",
            "--seed",
            "5",
            "--out",
            str(out),
            "--persons",
            "300",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["persons"] == 300 and payload["calibration"]["total"] == 21
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_cli_synth_into_a_used_folder_is_bad_input(tmp_path: Path, capsys) -> None:
    (tmp_path / "used.txt").write_text("x")
    assert main(["synth", "--profile", "tiny", "--seed", "5", "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "not empty" in captured.err + captured.out
    assert "Traceback" not in captured.err + captured.out


def test_one_hospital_stay_at_a_time(larger: Path) -> None:
    """What LPR3's stay rule would link into one stay (docs/registers-events.md) is never
    written as several rows: no admission starts before the person's previous discharge, no
    short contact falls on a day of an admission, at most four short contacts a day."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE h AS SELECT row_number() OVER () AS id, person_id, start_date, "
        "coalesce(end_date, DATE '9999-12-31') AS until, contact_type = 'inpatient' AS admitted "
        f"FROM read_parquet('{larger}/hospital_contacts/*.parquet')"
    )
    admissions, short = con.execute(
        "SELECT count(*) FILTER (admitted), count(*) FILTER (NOT admitted) FROM h"
    ).fetchone()
    assert admissions > 5_000 and short > 20_000
    overlapping = con.execute(
        "SELECT count(*) FROM h a JOIN h b USING (person_id) WHERE a.admitted AND b.admitted "
        "AND a.id <> b.id AND b.start_date >= a.start_date AND b.start_date <= a.until"
    ).fetchone()[0]
    inside = con.execute(
        "SELECT count(*) FROM h a JOIN h s USING (person_id) WHERE a.admitted AND NOT s.admitted "
        "AND s.start_date BETWEEN a.start_date AND a.until"
    ).fetchone()[0]
    busiest = con.execute(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM h WHERE NOT admitted "
        "GROUP BY person_id, start_date)"
    ).fetchone()[0]
    assert (overlapping, inside) == (0, 0)
    assert busiest <= SHORT_CONTACTS_PER_DAY


def test_an_admission_drawn_during_a_stay_begins_the_day_after_discharge() -> None:
    p, weights, clinics, cuts, codes = _context("tiny", 5)
    rng = np.random.default_rng(1)
    persons = draw_persons(p, weights, clinics, cuts, 0, 5, rng, id_width=8)
    sim = Simulation(p, codes, persons, date(2021, 1, 1), date(2022, 1, 1), rng)
    sim.month_stop = 130  # this month's last day is 129
    sim.discharge[:] = [105, 90, 129, 90, 105]
    sim.death[1] = 104
    exit_day = np.array([10**9, 104, 10**9, 10**9, 105])
    # person 3's two admissions out of date order: they are taken in date order
    rows = np.array([0, 1, 2, 3, 3, 4])
    days = np.array([103, 103, 110, 120, 101, 103])
    los = np.array([2, 2, 5, 1, 4, 2])
    start, end, happens = sim._admit(rows, days, los, exit_day)
    assert happens.tolist() == [True, True, False, True, True, False]
    assert start[happens].tolist() == [106, 103, 120, 101]
    # a stay ends by the person's death at the latest
    assert end[happens].tolist() == [108, 104, 121, 105]
    assert sim.discharge.tolist() == [108, 104, 129, 121, 105]
