"""teams.yaml: the shipped example is valid; every problem of a bad file is listed, by team."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskstrat.errors import InputError
from riskstrat.lists import TeamsError, load_teams

GOOD = "{name: %s, model: avoidable_admission@champion, catchment: {municipalities: [730]}, capacity: 5}"


def write(tmp_path: Path, *teams: str, extra: str = "") -> Path:
    path = tmp_path / "teams.yaml"
    path.write_text(extra + "teams:\n" + "".join(f"  - {t}\n" for t in teams), encoding="utf-8")
    return path


def problems(path: Path, **known) -> list[str]:
    with pytest.raises(TeamsError) as error:
        load_teams(path, **known)
    assert isinstance(error.value, InputError)  # exit code 2 at the command line
    return [line.removeprefix("  - ") for line in str(error.value).splitlines()[1:]]


def test_the_shipped_example_is_valid_and_covers_the_randers_cluster() -> None:
    teams = load_teams(
        "teams.yaml",
        known_models={"avoidable_admission", "trilateral_need"},
        known_segments={
            "nursing_home",
            "frail_home_care",
            "multimorbid",
            "single_chronic",
            "largely_healthy",
        },
        known_tiers={"very_high", "high", "elevated", "low"},
    )
    covered = {m for t in teams.teams for m in t.catchment.municipalities}
    assert covered == {730, 710, 707, 706}
    assert {t.model for t in teams.teams} == {
        "avoidable_admission@champion",
        "trilateral_need@champion",
    }
    assert {t.language for t in teams.teams} == {"da", "en"}
    geriatric = [t for t in teams.teams if t.model_name == "avoidable_admission"]
    assert len(geriatric) == 4 and all(t.eligibility.min_age == 75 for t in geriatric)
    assert all("nursing_home" in t.eligibility.exclude_segments for t in geriatric)


def test_every_problem_is_listed_with_its_team(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "{name: a, model: avoidable_admission@champion, catchment: {municipalities: [999, 730]}, capacity: 5}",
        "{name: b, model: 'not a model', catchment: {municipalities: [730]}, capacity: 5}",
        "{name: c, model: avoidable_admission@champion, catchment: {}, capacity: 5, colour: red}",
        "{name: d, model: avoidable_admission@champion, catchment: {municipalities: [730]}, capacity: 0,"
        " eligibility: {min_age: 80, max_age: 70, exclude_segment: [x]}, language: de}",
        "{name: 'Team E/1', model: avoidable_admission@champion, catchment: {municipalities: [730]}, capacity: 5}",
        GOOD % "f",
        "{name: g, model: avoidable_admission@champion, catchment: {municipalities: [730]}, capacity: 5,"
        " eligibility: {min_age: 80, max_age: 70}}",
    )
    lines = problems(path)
    text = "\n".join(lines)
    assert any(
        line.startswith("team a:") and "unknown municipality" in line and "999" in line
        for line in lines
    )
    assert any(line.startswith("team b:") and "model_name@alias" in line for line in lines)
    assert any(
        line.startswith("team c:") and "colour" in line and "unknown key" in line for line in lines
    )
    assert any(
        line.startswith("team c:") and "municipalities and/or gp_clinics" in line for line in lines
    )
    for what in ("capacity", "exclude_segment", "language"):
        assert any(line.startswith("team d:") and what in line for line in lines), what
    assert "team Team E/1: name" in text and "folder-safe" in text
    assert "team f" not in text
    assert any(
        line.startswith("team g:") and "max_age 70 is below min_age 80" in line for line in lines
    )


def test_unknown_top_level_keys_duplicates_and_empty_files(tmp_path: Path) -> None:
    assert any("colour" in p for p in problems(write(tmp_path, GOOD % "a", extra="colour: red\n")))
    assert any("more than once" in p for p in problems(write(tmp_path, GOOD % "a", GOOD % "a")))
    (tmp_path / "empty.yaml").write_text("")
    assert problems(tmp_path / "empty.yaml")
    with pytest.raises(TeamsError, match="does not exist"):
        load_teams(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("teams: [\n")
    with pytest.raises(TeamsError, match="not valid YAML"):
        load_teams(tmp_path / "broken.yaml")


def test_models_segments_tiers_and_clinics_are_checked_when_known(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "{name: a, model: frailty@champion, catchment: {municipalities: [730], gp_clinics: [730001, '999']},"
        " capacity: 5, eligibility: {exclude_segments: [care_home], include_tiers: [top]}}",
    )
    lines = problems(
        path,
        known_models={"avoidable_admission"},
        known_segments={"nursing_home"},
        known_clinics={"730001"},
        known_tiers={"high", "low"},
    )
    assert len(lines) == 4 and all(line.startswith("team a:") for line in lines)
    assert any("unknown model 'frailty'" in line for line in lines)
    assert any("care_home" in line for line in lines) and any("'top'" in line for line in lines)
    assert any("'999'" in line and "730001" not in line for line in lines)
    teams = load_teams(path)  # nothing known: only the municipality is checked
    assert teams.teams[0].catchment.gp_clinics == ["730001", "999"]  # numbers read as clinic ids


def test_a_teams_file_not_in_utf8_says_which_encoding_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_bytes(
        ("# Randers Kommune – ældreteam\n" + "teams:\n  - " + GOOD % "t1").encode("cp1252")
    )
    with pytest.raises(TeamsError, match=r"is not UTF-8 text .*it must be saved as UTF-8"):
        load_teams(path)


def test_a_key_given_twice_is_an_error_not_the_last_one_winning(tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text(
        "teams:\n  - name: t1\n    model: avoidable_admission@champion\n"
        "    catchment: {municipalities: [730]}\n    capacity: 5\n    capacity: 500\n",
        encoding="utf-8",
    )
    with pytest.raises(TeamsError, match="the key 'capacity' is given twice"):
        load_teams(path)


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_bytes(("teams:\n  - " + GOOD % "t1" + "\n").encode("utf-8-sig"))
    assert load_teams(path).teams[0].name == "t1"
