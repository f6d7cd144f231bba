"""`riskstrat monthly` on invalid extracts with planted person ids and CPR-shaped values: the
command fails with a clear message (exit 2), and none of the planted values reaches any
place the run writes: the terminal with every log line (DEBUG), the output and cache
folders, the MLflow store (SQLite and artifacts), Prefect's database (state messages, logs)
and home. The command runs in its own process, as a user runs it, against the tests'
Prefect server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.planted import CPRS, IDS, leaks, planted_tables, write
from tests.pipelines.test_monthly_flow import champions  # noqa: F401 (the module's fixture)

ROOT = Path(__file__).resolve().parents[2]


def _findings_extract(root: Path, layout: str) -> Path:
    """Contract findings that would show values: a swapped header, CPR numbers in a date, a
    category and a code column, CPR-shaped ids (en dash, space) in event tables, and an id
    that slid into another column."""
    tables = planted_tables()
    tables["gp_contacts"] = tables["gp_contacts"].rename(
        columns={"person_id": "contact_date", "contact_date": "person_id"}
    )
    tables["persons"].loc[1, "birth_date"] = CPRS[0]
    tables["persons"].loc[2, "sex"] = CPRS[3]
    tables["hospital_contacts"].loc[0, "action_diagnosis"] = CPRS[4]
    tables["hospital_contacts"].loc[1, "person_id"] = CPRS[1]
    tables["opt_outs"].loc[0, "person_id"] = CPRS[2]
    tables["prescriptions"].loc[0, "atc_code"] = IDS["P3"]
    return write(root, tables, layout)


def _unparsable_extract(root: Path, layout: str) -> Path:
    """A CSV whose last row has a field too many: pyarrow's own message quotes that row."""
    data = write(root, planted_tables(), layout)
    with (data / "gp_contacts.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{IDS['P2']},2024-02-01,consultation,{CPRS[1]},{CPRS[0]}\n")
    return data


def _read_everything(*folders: Path) -> dict[str, str]:
    """Every file under `folders` (SQLite databases, WAL files, artifacts, logs) as text."""
    return {
        str(p): p.read_bytes().decode("utf-8", errors="replace")
        for folder in folders
        if folder.exists()
        for p in folder.rglob("*")
        if p.is_file()
    }


def _prefect_database() -> Path:
    """The folder of the Prefect server's SQLite database (the test harness's own)."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    return Path(url.split(":///", 1)[1]).parent


def _run_monthly(data: Path, out: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`riskstrat monthly` as a user runs it, in its own process, against the test's Prefect
    server, with every log line of Prefect and riskstrat on the terminal (DEBUG) and an
    MLflow store of its own."""
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_LOGGING_LEVEL": "DEBUG",
        "PREFECT_LOGGING_TO_API_LEVEL": "DEBUG",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}",
        "COLUMNS": "200",
    }
    (tmp_path / "mlflow").mkdir()
    command = [sys.executable, "-m", "pipelines.cli", "monthly", "--data", str(data)]
    command += ["--month", "2025-01", "--out", str(out)]
    return subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize(
    ("extract", "layout", "said"),
    [
        (_findings_extract, "csv", "breaks input contract v1"),
        (_findings_extract, "parquet", "breaks input contract v1"),
        (_unparsable_extract, "csv", "row 3 (line 4) has 5 fields where the header has 4"),
    ],
)
def test_monthly_on_an_invalid_extract_leaks_no_planted_value_anywhere(
    prefect_server, tmp_path, extract, layout, said
) -> None:
    data = extract(tmp_path / "data", layout)
    out = tmp_path / "runs"
    run = _run_monthly(data, out, tmp_path)
    terminal = run.stdout + run.stderr

    assert run.returncode == 2, terminal
    assert said in run.stderr.split("error:")[-1]
    stores = _read_everything(
        out,
        tmp_path / "mlflow",
        Path(os.environ["RISKSTRAT_CACHE"]),
        Path(os.environ["PREFECT_HOME"]),
        _prefect_database(),
    )
    prefect_db = "".join(text for path, text in stores.items() if "prefect-test.db" in path)
    assert said.split(" (")[0] in prefect_db.replace("\n", " ")  # the failure was stored
    assert not out.exists()
    assert not leaks(terminal), "terminal and log lines"
    for path, text in stores.items():
        assert not leaks(text), path


# --- two months with the teams' feedback: person ids stay in the lists and RUNS/feedback ---

FEEDBACK_TYPED = ["takket nej", "allerede kendt", "kontaktet", "indskrevet", "ikke truffet"]
PERSON_LEVEL_FILES = ("target_list.xlsx", "target_list.csv", "feedback.xlsx", "scores.parquet")


def _aggregate_stores(out: Path, person_level_folder: str) -> dict[str, str]:
    """Everything that must hold no person id: the MLflow store, Prefect's home and database,
    and every file of the runs folder `out` except the person-level ones (the lists, the
    scores and `out/person_level_folder/`)."""
    stores = _read_everything(
        Path(os.environ["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")).parent,
        Path(os.environ["PREFECT_HOME"]),
        _prefect_database(),
    )
    stores |= {
        str(p): p.read_bytes().decode("utf-8", errors="replace")
        for p in out.rglob("*")
        if p.is_file()
        and p.name not in PERSON_LEVEL_FILES
        and p.relative_to(out).parts[0] != person_level_folder
    }
    return stores


def _answer(folder: Path, typed: list[str]) -> dict[str, str]:
    """The team fills in its list as a person in Excel would (Danish statuses, a date, a note
    with a name) and saves it as feedback.xlsx beside it; returns person id -> status typed."""
    import datetime

    import openpyxl

    wb = openpyxl.load_workbook(folder / "target_list.xlsx")
    sheet = wb.worksheets[0]
    where = {c.value: c.column for c in sheet[1]}
    day, note = where.get("Dato", where.get("Date")), where.get("Note (læses ikke)")
    person = where.get("Person-id", where.get("Person id"))
    answers = {}
    for row in range(2, min(sheet.max_row, len(typed) * 3) + 1):
        status = typed[(row - 2) % len(typed)]
        sheet.cell(row, where["Status"]).value = status
        sheet.cell(row, day).value = datetime.datetime(2025, 1, 15)
        sheet.cell(row, note or where["Note (never read)"]).value = "Ole Olsen, ring til datteren"
        answers[str(sheet.cell(row, person).value)] = status
    wb.save(folder / "feedback.xlsx")
    return answers


@pytest.mark.usefixtures("champions")
def test_feedback_months_keep_person_ids_in_the_lists_and_the_feedback_store(
    prefect_server, cluster_data: Path, tmp_path: Path
) -> None:
    import pandas as pd

    from riskstrat.tracking import finished_runs, run_metrics

    out = tmp_path / "runs"
    env = {"MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"]}
    january = _run_valid_month(cluster_data, out, "2025-01", env)
    assert january.returncode == 0, january.stderr
    lists = sorted(p for p in (out / "2025-01" / "lists").iterdir())
    _answer(lists[0], ["kontakted"])  # a misspelt status: the month is refused
    refused = _run_valid_month(cluster_data, out, "2025-02", env)
    assert refused.returncode == 2, refused.stderr
    said = " ".join(refused.stderr.split())
    assert f"{lists[0].name}/feedback.xlsx" in said and "have an unknown status" in said
    assert not (out / "2025-02").exists() and not (out / "feedback").exists()
    answered = {f.name: _answer(f, FEEDBACK_TYPED) for f in lists[:-1]}  # the last: no answer
    february = _run_valid_month(cluster_data, out, "2025-02", env)
    assert february.returncode == 0, february.stderr

    for folder in lists:
        before = pd.read_csv(folder / "target_list.csv", dtype=str)
        after = pd.read_csv(out / "2025-02" / "lists" / folder.name / "target_list.csv", dtype=str)
        again = after[after["person_id"].isin(before["person_id"])]
        typed = answered.get(folder.name, {})
        # declined and known persons are not listed again; the others only in a higher tier
        assert not set(again["person_id"]) & {
            p for p, s in typed.items() if s in ("takket nej", "allerede kendt", "indskrevet")
        }
        tiers = ["very_high", "high", "elevated", "low"]
        was = before.set_index("person_id")["tier"]
        for pid, tier in zip(again["person_id"], again["tier"], strict=True):
            assert tiers.index(tier) < tiers.index(was[pid]), folder.name
        shown = again.set_index("person_id")["last_status"]
        assert (shown == "no_feedback").all() if not typed else shown.notna().all()
    report = (out / "2025-02" / "feedback" / "report.md").read_text()
    assert "| team | listed | with a status |" in report
    (run_id,) = finished_runs("riskstrat-monthly", {"month": "2025-02"})
    metrics = run_metrics(run_id)
    answered_team = next(iter(answered))
    assert metrics[f"feedback.{answered_team}.listed"] > 0
    assert any(k.startswith(f"feedback.{answered_team}.left_out") for k in metrics)

    ids = set()
    for csv in out.glob("*/lists/*/target_list.csv"):
        ids |= set(pd.read_csv(csv, dtype=str)["person_id"])
    assert len(ids) > 100
    stores = _aggregate_stores(out, "feedback")  # RUNS/feedback/: person-level
    assert any(p.endswith("report.md") for p in stores) and any("mlflow.db" in p for p in stores)
    terminal = "".join(r.stdout + r.stderr for r in (january, refused, february))
    for where, text in {"terminal": terminal, **stores}.items():
        found = [pid for pid in ids if pid in text]
        assert not found, (where, found[:3])
        assert "Ole Olsen" not in text and "datteren" not in text, where


def _run_valid_month(
    data: Path, out: Path, month: str, env: dict[str, str], teams: Path | None = None
) -> subprocess.CompletedProcess:
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        **env,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_LOGGING_LEVEL": "DEBUG",
        "PREFECT_LOGGING_TO_API_LEVEL": "DEBUG",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "pipelines.cli", "monthly", "--data", str(data)]
    command += ["--month", month, "--out", str(out), "--override-reason", "test"]
    command += ["--teams", str(teams)] if teams else []
    return subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )


# --- the randomised evaluation: assignments stay in RUNS/evaluation/, aggregates leave ---

# rerandomised to balance, as the demo runs it: the served path of `balance_limit` end to end
EVALUATION_BLOCK = (
    "evaluation:\n  design: holdout\n  holdout_share: 0.2\n  seed: 20250101\n"
    "  balance_limit: 0.1\n  max_draws: 20000\n"
)


def test_evaluation_months_hold_out_reproducibly_and_keep_assignments_in_the_runs_folder(
    prefect_server,
    champions,  # noqa: F811 (the module's fixture)
    cluster_data: Path,
    tmp_path: Path,
) -> None:
    import json

    import pandas as pd

    from riskstrat.lists import load_teams
    from riskstrat.tracking import finished_runs, run_metrics

    teams = tmp_path / "teams.yaml"
    teams.write_text((ROOT / "teams.yaml").read_text() + EVALUATION_BLOCK)
    out = tmp_path / "runs"
    env = {"MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"]}
    table = out / "evaluation" / "assignments.parquet"
    runs = [_run_valid_month(cluster_data, out, "2025-01", env, teams)]
    assert runs[-1].returncode == 0, runs[-1].stderr
    january = pd.read_parquet(table)
    held = set(january.loc[january["arm"] == "holdout", "person_id"])
    assert len(held) > 0 and (january["month"] == "2025-01").all()
    for team in load_teams(teams).teams:
        listed = pd.read_csv(out / "2025-01" / "lists" / team.name / "target_list.csv", dtype=str)
        assert not held & set(listed["person_id"]), team.name
        assert len(listed) == team.capacity, team.name  # full capacity from the listed arm
        drawn = january[(january["team"] == team.name) & january["block"].notna()]
        assert (drawn.groupby("block")["arm"].apply(lambda a: (a == "holdout").sum()) == 1).all()
    runs.append(_run_valid_month(cluster_data, out, "2025-02", env, teams))
    assert runs[-1].returncode == 0, runs[-1].stderr
    february = pd.read_parquet(table)
    assert len(february) > len(january)
    # re-running a past month after a later one reproduces every assignment, stores nothing
    runs.append(_run_valid_month(cluster_data, out, "2025-01", env, teams))
    assert runs[-1].returncode == 0, runs[-1].stderr
    assert pd.read_parquet(table).equals(february)
    assert february[february["month"] == "2025-01"].reset_index(drop=True).equals(january)
    runs.append(_run_valid_month(cluster_data, out, "2026-01", env, teams))
    assert runs[-1].returncode == 0, runs[-1].stderr

    report = json.loads((out / "2026-01" / "evaluation" / "report.json").read_text())
    assert report["context"]["randomised months followed up"] == "2025-01"  # 2025-02: not yet
    assert "contacted or enrolled count as contacted" in report["context"]["contact status"]
    assert report["sentence"] and report["minimum_detectable_effect"]["avoidable_admission"]
    ratio = next(
        r
        for r in report["effects"]
        if r["outcome"] == "avoidable_admission" and r["scale"] == "ratio"
    )
    # the synthetic world plants no effect of outreach: the interval covers no effect
    assert ratio["ci_low"] < 1 < ratio["ci_high"]
    balance = {b["covariate"]: b for b in report["balance"]}
    # the month's lots were redrawn until every baseline covariate balanced within strata;
    # the follow-up's persons are that month's, so its balance table shows the same
    assert "rerandomised" in report["context"]["randomisation"]
    assert (january["draw"] == january["draw"].iloc[0]).all()
    assert len(balance) == 9 and all(abs(b["smd_within"]) < 0.1 for b in balance.values())
    assert (out / "2026-01" / "evaluation" / "report.html").is_file()
    (run_id,) = finished_runs("riskstrat-monthly", {"month": "2026-01"})
    metrics = run_metrics(run_id)
    assert metrics["evaluation.rr"] == ratio["estimate"]
    assert metrics["evaluation.rr_low"] < metrics["evaluation.rr"] < metrics["evaluation.rr_high"]
    assert 0 < metrics["evaluation.mde"] < 1

    ids = set(pd.read_parquet(table)["person_id"])
    stores = _aggregate_stores(out, "evaluation")  # RUNS/evaluation/: person-level
    assert any(p.endswith("evaluation/report.md") for p in stores)
    terminal = "".join(r.stdout + r.stderr for r in runs)
    for where, text in {"terminal": terminal, **stores}.items():
        found = [pid for pid in ids if pid in text]
        assert not found, (where, found[:3])
