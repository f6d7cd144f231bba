"""`riskstrat lists` (src/riskstrat/cli/outputs.py): a teams file is checked before any list
is written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from riskstrat.scores_io import write_scores
from tests.cli.runner import invoke
from tests.lists.frames import SCORES_MANIFEST, people

TEAM = {
    "name": "randers",
    "model": "avoidable_admission/3",  # the scores' version: no registry needed
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


# --- a command replaces only what it owns (issue 14, "Data loss") -----------------------


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture()
def runs_root(tmp_path: Path, tiny_data: Path) -> Path:
    """A monthly output root as `monthly` leaves it: 2026-01 with a scoring of persons of
    the tiny extract, lists, fairness and follow-up reports (and a hidden file someone put
    there); 2025-12 beside it."""
    from riskstrat.runs import RunsLayout
    from riskstrat.scoring.files import scores_files

    ids = pd.read_parquet(tiny_data / "persons")["person_id"].head(20).tolist()
    _, frame = people(20)
    frame["person_id"] = ids
    scoring = scores_files(frame, {**SCORES_MANIFEST, "model_name": "avoidable_admission"})
    files = {f"scores/avoidable_admission/{name}": data for name, data in scoring.items()}
    files |= {
        "fairness/report.html": b"<!doctype html>",
        "fairness/report.md": b"# Fairness",
        "fairness/groups.json": b"[]",
        "follow-up/avoidable_admission/report.md": b"# Follow-up",
        "lists/gone-team/target_list.csv": b"rank,person_id\n",
    }
    runs = RunsLayout(tmp_path / "runs")
    runs.publish("2026-01", files, {"by": "monthly"})
    runs.publish("2025-12", {"lists/x/target_list.csv": b"rank,person_id\n"}, {"by": "monthly"})
    (runs.root / "2026-01" / ".notes").write_text("kept")
    return runs.root


def _teams(tmp_path: Path) -> Path:
    path = tmp_path / "teams.yaml"
    path.write_text(yaml.safe_dump({"teams": [TEAM]}), encoding="utf-8")
    return path


def test_lists_into_the_runs_root_replaces_only_the_months_lists(
    runs_root: Path, tiny_data: Path, tmp_path: Path
) -> None:
    before = _snapshot(runs_root)
    scores = runs_root / "2026-01" / "scores" / "avoidable_admission"  # read from the month
    args = ["lists", "--scores", scores, "--data", tiny_data, "--teams", _teams(tmp_path)]
    result = invoke([*args, "--month", "2026-01", "--out", runs_root])
    assert result.exit_code == 0, result.output
    after = _snapshot(runs_root)
    kept = {
        k: v
        for k, v in before.items()
        if not k.startswith("2026-01/lists") and k != "2026-01/audit.jsonl"
    }
    assert {k: after.get(k, "missing") for k in kept} == kept  # scores, reports, 2025-12, .notes
    assert "2026-01/lists/randers/target_list.csv" in after
    assert not any(k.startswith("2026-01/lists/gone-team") for k in after)  # lists/ is its own
    assert len((runs_root / "2026-01" / "audit.jsonl").read_text().splitlines()) == 2
    assert sorted(p.name for p in runs_root.iterdir()) == ["2025-12", "2026-01"]


def test_lists_into_a_month_folder_is_refused(runs_root: Path, tiny_data: Path, tmp_path) -> None:
    before = _snapshot(runs_root)
    scores = runs_root / "2026-01" / "scores" / "avoidable_admission"
    args = ["lists", "--scores", scores, "--data", tiny_data, "--teams", _teams(tmp_path)]
    result = invoke([*args, "--month", "2026-01", "--out", runs_root / "2026-01"])
    assert result.exit_code == 2 and "is inside the published month" in result.stderr
    assert _snapshot(runs_root) == before


@pytest.mark.parametrize(
    ("command", "out", "message"),
    [
        ("fairness", ".", "already holds other files or folders (2025-12, 2026-01)"),
        ("follow-up", ".", "already holds other files or folders (2025-12, 2026-01)"),
        ("score", ".", "already holds other files or folders (2025-12, 2026-01)"),
        ("report", ".", "is a folder; report writes the files"),
        ("fairness", "2026-01/fairness", "is inside the published month"),
        ("follow-up", "2026-01/follow-up/avoidable_admission", "is inside the published month"),
        ("score", "2026-01/scores/avoidable_admission", "is inside the published month"),
        ("report", "2026-01/overview.html", "is inside the published month"),
        ("report", "overview.md", "cannot end in .md or .json"),
    ],
)
def test_report_commands_never_replace_what_they_did_not_write(
    runs_root: Path, tiny_data: Path, command: str, out: str, message: str
) -> None:
    before = _snapshot(runs_root)
    scores = runs_root / "2026-01" / "scores" / "avoidable_admission"
    args = {
        "fairness": ["fairness", "--scores", scores, "--data", tiny_data],
        "follow-up": ["follow-up", "--scores", scores, "--data", tiny_data],
        "score": ["score", "--data", tiny_data, "--as-of", "2025-06-01", "--model", "m@champion"],
        "report": ["report", "--data", tiny_data],
    }[command]
    result = invoke([*args, "--out", runs_root / out])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Nothing was written" in " ".join(result.stderr.split())
    assert _snapshot(runs_root) == before


def test_report_replaces_an_earlier_overview_but_no_other_file(
    tiny_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "overview.html"
    args = ["report", "--data", tiny_data, "--workers", "1", "--out", out]
    assert invoke(args).exit_code == 0
    assert invoke(args).exit_code == 0  # its own earlier files: replaced
    (tmp_path / "overview.md").write_text("# My notes\n")
    before = _snapshot(tmp_path)
    result = invoke(args)
    assert result.exit_code == 2
    assert "overview.md exists and is not an earlier population overview" in result.stderr
    assert _snapshot(tmp_path) == before


def test_lists_while_another_process_publishes_the_month_exits_2_naming_the_lock(
    runs_root: Path, tiny_data: Path, tmp_path: Path, monkeypatch
) -> None:
    from riskstrat import publishing

    monkeypatch.setattr(publishing, "LOCK_TIMEOUT_SECONDS", 0.2)
    before = _snapshot(runs_root)
    scores = runs_root / "2026-01" / "scores" / "avoidable_admission"
    args = ["lists", "--scores", scores, "--data", tiny_data, "--teams", _teams(tmp_path)]
    with publishing.month_lock(runs_root / "2026-01") as lock:
        result = invoke([*args, "--month", "2026-01", "--out", runs_root])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert f"its lock {lock} did not come free within 0.2 s; nothing was published" in message
    assert _snapshot(runs_root) == before


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


@pytest.mark.usefixtures("mlflow_store")
def test_fairness_gates_on_the_models_own_label_and_reports_the_proxy_for_information(
    tiny_data: Path, tmp_path: Path
) -> None:
    spec = Path(__file__).resolve().parents[2] / "models" / "avoidable_admission.yaml"
    trained = invoke(["train", "--spec", spec, "--data", tiny_data, "--json"])
    assert trained.exit_code == 0, trained.stderr
    scored = invoke(
        ["score", "--data", tiny_data, "--as-of", "2025-12-01"]
        + ["--model", "avoidable_admission/1", "--out", tmp_path / "scores", "--workers", "1"]
    )
    assert scored.exit_code == 0, scored.stderr
    out = tmp_path / "fairness"
    result = invoke(
        ["fairness", "--scores", tmp_path / "scores", "--data", tiny_data, "--out", out]
        + ["--workers", "1"]
    )
    assert result.exit_code == 0, result.stderr
    groups = json.loads((out / "groups.json").read_text(encoding="utf-8"))
    scopes = {g["scope"] for g in groups}
    assert "avoidable_admission: selection against its own label, 2024-12-01 to 2025-12-01" in (
        scopes
    )
    proxy = [g for g in groups if g["scope"] == "avoidable_admission: top tiers"]
    assert proxy and not any(g.get("flagged") for g in proxy)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "information only" in report


def test_lists_refuses_a_teams_file_that_runs_an_evaluation(tiny_data, scores, tmp_path) -> None:
    path = tmp_path / "teams.yaml"
    block = {"design": "holdout", "holdout_share": 0.2, "seed": 1}
    path.write_text(yaml.safe_dump({"teams": [TEAM], "evaluation": block}), encoding="utf-8")
    out = tmp_path / "out"
    args = ["lists", "--scores", scores, "--data", tiny_data, "--teams", path]
    result = invoke([*args, "--month", "2026-01", "--out", out])
    assert result.exit_code == 2
    assert "its lists are composed by `riskstrat monthly`" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output and not out.exists()
