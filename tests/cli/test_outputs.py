"""`riskstrat lists` (src/riskstrat/cli/outputs.py): a teams file is checked before any list
is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from riskstrat.scores_io import write_scores
from tests.cli.runner import invoke
from tests.lists.frames import SCORES_MANIFEST, people

TEAM = {
    "name": "randers",
    "model": "avoidable_admission@champion",
    "catchment": {"municipalities": [730]},
    "capacity": 10,
}


@pytest.fixture()
def scores(tmp_path: Path) -> Path:
    """A scoring of the avoidable-admission model (the only model the teams may use)."""
    _, frame = people(20)
    folder = tmp_path / "scores"
    write_scores(folder, frame, {**SCORES_MANIFEST, "model_name": "avoidable_admission"})
    return folder


@pytest.mark.parametrize(
    ("teams", "message"),
    [
        pytest.param(
            [{**TEAM, "catchment": {"municipalities": [999]}}],
            "team randers: catchment.municipalities: unknown municipality code(s) [999]",
            id="unknown-municipality",
        ),
        pytest.param(
            [{**TEAM, "model": "trilateral_need@champion"}],
            "team randers: model: unknown model 'trilateral_need'",
            id="unknown-model",
        ),
        pytest.param(
            [TEAM, {**TEAM, "capacity": 5}],
            "team randers: the name is used more than once",
            id="duplicate-name",
        ),
        pytest.param(
            [{**TEAM, "name": "../randers"}],
            "team ../randers: name: '../randers' is not a folder-safe name",
            id="unsafe-name",
        ),
    ],
)
def test_lists_refuses_an_invalid_teams_file(tiny_data, scores, tmp_path, teams, message) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text(yaml.safe_dump({"teams": teams}), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke(
        [
            "lists",
            "--scores",
            scores,
            "--data",
            tiny_data,
            "--teams",
            path,
            "--month",
            "2026-01",
            "--out",
            out,
        ]
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def _lists(scores: Path, data: Path, teams: Path, month: str, out: Path):
    return invoke(
        ["lists", "--scores", scores, "--data", data, "--teams", teams, "--month", month]
        + ["--out", out]
    )


def _teams_file(tmp_path: Path, teams: list[dict]) -> Path:
    path = tmp_path / "teams.yaml"
    path.write_text(yaml.safe_dump({"teams": teams}), encoding="utf-8")
    return path


@pytest.mark.parametrize("month", ["2025-13", "25-06", "2025-6"])
def test_lists_refuses_a_month_not_written_yyyy_mm(tiny_data, scores, tmp_path, month) -> None:
    out = tmp_path / "out"
    result = _lists(scores, tiny_data, _teams_file(tmp_path, [TEAM]), month, out)
    assert result.exit_code == 2
    assert "month must be YYYY-MM" in result.stderr
    assert not out.exists()


def test_a_team_name_that_looks_like_markup_is_printed_as_text(tiny_data, scores, tmp_path) -> None:
    teams = _teams_file(tmp_path, [{**TEAM, "name": "[/x]"}])
    result = _lists(scores, tiny_data, teams, "2026-01", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "team [/x]: name: '[/x]' is not a folder-safe name" in result.stderr
    assert "MarkupError" not in result.output


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"eligibility": {"exclude_segments": ["nursinghome"]}},
            "team randers: eligibility.exclude_segments: unknown segment(s) ['nursinghome']",
            id="unknown-segment",
        ),
        pytest.param(
            {"eligibility": {"include_tiers": ["very-high"]}},
            "team randers: eligibility.include_tiers: unknown tier(s) ['very-high']",
            id="unknown-tier",
        ),
        pytest.param(
            {"catchment": {"municipalities": [730], "gp_clinics": ["999999"]}},
            "team randers: catchment.gp_clinics: GP clinic(s) ['999999'] do not occur in the data",
            id="unknown-clinic",
        ),
    ],
)
def test_lists_checks_the_teams_against_the_model_and_data(
    tiny_data, scores, tmp_path, changes, message
) -> None:
    out = tmp_path / "out"
    result = _lists(scores, tiny_data, _teams_file(tmp_path, [{**TEAM, **changes}]), "2026-01", out)
    assert result.exit_code == 2, result.output
    assert "the teams file does not fit the models and data" in result.stderr
    assert message in result.stderr
    assert not out.exists()


def test_lists_refuses_a_model_alias_the_registry_does_not_have(
    tiny_data, scores, tmp_path, mlflow_store
) -> None:
    teams = _teams_file(tmp_path, [{**TEAM, "model": "avoidable_admission@nonexistent"}])
    out = tmp_path / "out"
    result = _lists(scores, tiny_data, teams, "2026-01", out)
    assert result.exit_code == 2, result.output
    assert "model 'avoidable_admission@nonexistent' not found" in result.stderr
    assert not out.exists()


def test_lists_refuses_scores_of_another_month(tiny_data, scores, tmp_path) -> None:
    out = tmp_path / "out"
    result = _lists(scores, tiny_data, _teams_file(tmp_path, [TEAM]), "2025-12", out)
    assert result.exit_code == 2, result.output
    assert "holds scores as of 2026-01-01, not of 2025-12" in result.stderr
    assert not out.exists()


def test_lists_refuses_scores_of_another_extract(tiny_data, tmp_path) -> None:
    _, frame = people(20)
    folder = tmp_path / "scores"
    manifest = {**SCORES_MANIFEST, "model_name": "avoidable_admission"}
    write_scores(folder, frame, {**manifest, "data_extract_date": "2025-06-01"})
    out = tmp_path / "out"
    result = _lists(folder, tiny_data, _teams_file(tmp_path, [TEAM]), "2026-01", out)
    assert result.exit_code == 2, result.output
    assert "was scored on an extract dated 2025-06-01, but --data is the extract of 2026-01-01" in (
        result.stderr
    )
    assert not out.exists()


@pytest.mark.parametrize("who", ["nobody", "only-the-dead"])
def test_report_on_an_empty_population_exits_2_with_a_message(tmp_path, who) -> None:
    from tests.contract.extracts import valid_tables, write_extract

    tables = valid_tables()
    persons = tables["persons"]
    if who == "nobody":
        tables = {name: frame.head(0) for name, frame in tables.items()}
        message = "persons: the table has no rows"
    else:
        persons["death_date"] = "2020-01-01"
        for name in ("hospital_contacts", "gp_contacts", "municipal_services", "prescriptions"):
            date_column = next(c for c in tables[name].columns if c.endswith("_date"))
            tables[name][date_column] = "2019-06-01"
            if "end_date" in tables[name]:
                tables[name]["end_date"] = None
        tables["opt_outs"]["opt_out_date"] = "2019-06-01"
        message = "nobody in the data was alive and resident on 2025-01-01"
    data = write_extract(tmp_path / "data", tables)
    out = tmp_path / "overview.html"
    result = invoke(["report", "--data", data, "--out", out])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not out.exists()
