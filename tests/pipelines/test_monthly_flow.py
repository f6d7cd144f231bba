"""The monthly flow as real Prefect flow runs on a synthetic cluster with real champions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from riskstrat.lists import load_teams


@pytest.fixture(scope="module")
def champions(tmp_path_factory, cluster_data: Path):
    """Both models trained (small) on the cluster data and promoted, in a module's own store."""
    from riskstrat.experiment import run_experiment
    from riskstrat.promotion import promote
    from riskstrat.spec import load_spec

    store = tmp_path_factory.mktemp("mlflow")
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    try:
        for spec_file in ("models/avoidable_admission.yaml", "models/trilateral_need.yaml"):
            spec = load_spec(spec_file, ["learner.params.n_estimators=60"])
            outcome = run_experiment(spec, cluster_data, n_boot=20)
            promote(spec.name, outcome.version, override_reason="test fixture")
        yield store
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_month_publishes_isolated_idempotent_lists(
    prefect_server, champions, cluster_data: Path, tmp_path: Path
) -> None:
    from pipelines.monthly import run_month

    out = tmp_path / "runs"
    summary = run_month(
        str(cluster_data), "2025-01", "teams.yaml", str(out), override_reason="test"
    )
    month = out / "2025-01"
    assert not summary["unchanged"]
    for part in (
        "scores/avoidable_admission/scores.parquet",
        "scores/trilateral_need/manifest.json",
        "fairness/report.html",
        "fairness/groups.json",
        "audit.jsonl",
    ):
        assert (month / part).exists(), part
    persons = pd.read_parquet(cluster_data / "persons")
    teams = load_teams("teams.yaml")
    for team in teams.teams:
        listed = pd.read_csv(
            month / "lists" / team.name / "target_list.csv", dtype={"person_id": str}
        )
        assert 0 < len(listed) <= team.capacity
        where = persons.set_index("person_id").loc[listed["person_id"]]
        assert where["municipality_code"].isin(team.catchment.municipalities).all(), team.name
        # alive and resident on the month's first day; a later death does not undo the list
        for gone in ("death_date", "emigration_date"):
            assert not (pd.to_datetime(where[gone]) < pd.Timestamp("2025-01-01")).any(), gone
    opted = set(pd.read_parquet(cluster_data / "opt_outs")["person_id"])
    for csv in month.glob("lists/*/target_list.csv"):
        assert not opted & set(pd.read_csv(csv, dtype={"person_id": str})["person_id"])
    groups = json.loads((month / "fairness" / "groups.json").read_text())
    assert all(r["n"] is None or r["n"] == 0 or r["n"] >= 5 for r in groups)
    # a team's list is audited against need among the persons it may list (75+ here)
    for team in teams.teams:
        bands = {
            r["group"]: r["n"]
            for r in groups
            if r["scope"] == f"team {team.name}" and r["attribute"] == "age_band"
        }
        youngest = {band: 0 if band.startswith("<") else int(band[:2]) for band in bands}
        assert bands and all(
            n in (None, 0) for band, n in bands.items() if youngest[band] < team.eligibility.min_age
        )

    before = _snapshot(month)
    again = run_month(str(cluster_data), "2025-01", "teams.yaml", str(out), override_reason="test")
    assert again["unchanged"] and _snapshot(month) == before
    assert len((month / "audit.jsonl").read_text().splitlines()) == 1


def test_an_interrupted_month_leaves_the_previous_state(
    prefect_server, champions, cluster_data: Path, tmp_path: Path, monkeypatch
) -> None:
    from pipelines.monthly import run_month

    from riskstrat import publishing as publish_module

    out = tmp_path / "runs"
    run_month(str(cluster_data), "2025-01", "teams.yaml", str(out), override_reason="test")
    before = _snapshot(out)
    original = publish_module.write_files

    def crash_midway(folder, files):
        original(folder, dict(list(files.items())[:3]))
        raise RuntimeError("power cut while writing")

    monkeypatch.setattr(publish_module, "write_files", crash_midway)
    teams = tmp_path / "teams.yaml"
    teams.write_text(Path("teams.yaml").read_text().replace("capacity: 40", "capacity: 39"))
    with pytest.raises(RuntimeError, match="power cut"):
        run_month(str(cluster_data), "2025-01", str(teams), str(out), override_reason="test")
    assert _snapshot(out) == before
    assert not [p for p in (out).rglob(".*")]


def test_a_month_stopped_before_its_mlflow_log_is_logged_by_the_next_run(
    prefect_server, champions, cluster_data: Path, tmp_path: Path, monkeypatch
) -> None:
    """The flow stops after publishing, before the month's MLflow run (as `kill -9` there
    would); the re-run finds the files unchanged and still logs the month, once."""
    import hashlib

    from prefect import task

    from pipelines import monthly
    from riskstrat.monthly import MONTHLY_EXPERIMENT
    from riskstrat.tracking import finished_runs

    @task
    def stopped(*args, **kwargs):
        raise RuntimeError("stopped before the MLflow log")

    out = tmp_path / "runs"
    with monkeypatch.context() as patch:
        patch.setattr(monthly, "log_month", stopped)
        with pytest.raises(RuntimeError, match="before the MLflow log"):
            monthly.run_month(str(cluster_data), "2025-01", "teams.yaml", str(out), "test")
    audit = (out / "2025-01" / "audit.jsonl").read_bytes().splitlines()
    key = {"month": "2025-01", "audit_sha256": hashlib.sha256(audit[-1]).hexdigest()}
    assert len(audit) == 1 and finished_runs(MONTHLY_EXPERIMENT, key) == []
    again = monthly.run_month(str(cluster_data), "2025-01", "teams.yaml", str(out), "test")
    assert again["unchanged"] and again["logged"] and again["recovered"] == []
    assert len(finished_runs(MONTHLY_EXPERIMENT, key)) == 1
    # the month's run carries the delivery check and per-input drift (aggregates)
    from mlflow.tracking import MlflowClient

    metrics = MlflowClient().get_run(finished_runs(MONTHLY_EXPERIMENT, key)[0]).data.metrics
    assert metrics["delivery_failures"] == 0
    for model in ("avoidable_admission", "trilateral_need"):
        psis = {k: v for k, v in metrics.items() if k.startswith(f"{model}.psi.")}
        assert len(psis) >= 5 and all(v >= 0 for v in psis.values()), model
        assert metrics[f"{model}.no_distribution"] == 0
        assert 0 < metrics[f"{model}.risk_p50"] <= metrics[f"{model}.risk_p99"] < 1


def test_a_month_with_invalid_data_publishes_nothing(
    prefect_server, champions, tmp_path: Path
) -> None:
    from pipelines.monthly import run_month

    from riskstrat.contract import ContractError

    data = tmp_path / "data"
    data.mkdir()
    (data / "persons.csv").write_text(
        "person_id,birth_date,sex,municipality_code\nP1,1940-01-01,X,730\n"
    )
    with pytest.raises(ContractError):
        run_month(str(data), "2025-01", "teams.yaml", str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


def test_the_deployment_runs_monthly_in_copenhagen_time() -> None:
    from pipelines.deployments import MONTHLY_CRON, TIMEZONE, monthly_deployment

    deployment = monthly_deployment("/data/extract", "teams.yaml", "runs")
    schedule = deployment.schedules[0].schedule
    assert schedule.cron == MONTHLY_CRON == "0 6 1 * *"
    assert schedule.timezone == TIMEZONE == "Europe/Copenhagen"
    assert deployment.name == "monthly" and deployment.parameters["month"] is None


def test_follow_up_of_the_month_one_horizon_back_and_the_commands(
    prefect_server, champions, cluster_data: Path, tmp_path: Path
) -> None:
    from pipelines.cli import main
    from pipelines.monthly import run_month

    out = tmp_path / "runs"
    run_month(str(cluster_data), "2024-01", "teams.yaml", str(out), override_reason="test")
    summary = run_month(
        str(cluster_data), "2025-01", "teams.yaml", str(out), override_reason="test"
    )
    assert summary["follow_up"] == ["avoidable_admission", "trilateral_need"]
    groups = json.loads(
        (out / "2025-01" / "follow-up" / "avoidable_admission" / "groups.json").read_text()
    )
    assert {r["subset"] for r in groups} == {"listed", "not_listed", "all"}
    assert all(not r["flagged"] for r in groups if r["subset"] != "not_listed")

    scores = out / "2024-01" / "scores"
    lists_out = tmp_path / "lists"
    args = [
        "lists",
        "--scores",
        str(scores / "avoidable_admission"),
        "--scores",
        str(scores / "trilateral_need"),
        "--data",
        str(cluster_data),
        "--teams",
        "teams.yaml",
        "--month",
        "2024-01",
        "--out",
        str(lists_out),
    ]
    assert main(args) == 0
    assert (
        lists_out / "2024-01" / "lists" / "randers-geriatric-team" / "target_list.xlsx"
    ).exists()
    published = out / "2024-01" / "lists" / "randers-geriatric-team" / "target_list.csv"
    command = lists_out / "2024-01" / "lists" / "randers-geriatric-team" / "target_list.csv"
    assert command.read_bytes() == published.read_bytes()
    assert main(args) == 0  # unchanged month: no new audit line
    assert len((lists_out / "2024-01" / "audit.jsonl").read_text().splitlines()) == 1
    assert (
        main(
            [
                "fairness",
                "--scores",
                str(scores / "avoidable_admission"),
                "--data",
                str(cluster_data),
                "--lists",
                str(lists_out / "2024-01" / "lists"),
                "--out",
                str(tmp_path / "fair"),
            ]
        )
        == 0
    )
    assert (tmp_path / "fair" / "groups.json").exists()
    assert (
        main(
            [
                "follow-up",
                "--scores",
                str(scores / "avoidable_admission"),
                "--data",
                str(cluster_data),
                "--lists",
                str(lists_out / "2024-01" / "lists"),
                "--out",
                str(tmp_path / "follow"),
            ]
        )
        == 0
    )
    assert (tmp_path / "follow" / "report.html").read_text().startswith("<!doctype html>")
    recent = out / "2025-01" / "scores" / "avoidable_admission"
    assert (
        main(
            [
                "follow-up",
                "--scores",
                str(recent),
                "--data",
                str(cluster_data),
                "--out",
                str(tmp_path / "too-early"),
            ]
        )
        == 0
    )  # 2025-01 + 12 months = extract date: known


def test_score_command_writes_scores_and_manifest(
    champions, cluster_data: Path, tmp_path: Path, capsys
) -> None:
    from riskstrat.cli import main
    from riskstrat.scores_io import read_scores

    out = tmp_path / "scores"
    args = [
        "score",
        "--data",
        str(cluster_data),
        "--as-of",
        "2025-06-01",
        "--model",
        "avoidable_admission@champion",
        "--out",
        str(out),
        "--json",
    ]
    assert main(args) == 0
    manifest = json.loads(capsys.readouterr().out)
    scores, stored = read_scores(out)
    assert stored["rows"] == len(scores) == manifest["rows"] > 0
    assert scores["risk"].is_monotonic_decreasing and scores["person_id"].is_unique
    shown = scores["tier"] != "low"
    assert (
        scores.loc[shown, "reason_1"].notna().mean() > 0.95
        and scores.loc[~shown, "reason_1"].isna().all()
    )
    assert (
        main(
            [
                "score",
                "--data",
                str(cluster_data),
                "--as-of",
                "2027-01-01",
                "--model",
                "avoidable_admission@champion",
                "--out",
                str(tmp_path / "late"),
            ]
        )
        == 2
    )


def test_a_month_whose_gp_contacts_stopped_arriving_is_held(
    prefect_server, cluster_data: Path, tmp_path: Path
) -> None:
    """The last three months of GP contacts missing for one municipality: the month is held
    before scoring with a message naming table, municipality and months; nothing is published.
    The same extract complete passes the check."""
    import shutil
    from datetime import date

    from pipelines.monthly import run_month

    from riskstrat.monthly import MonthHeld, delivery_findings
    from riskstrat.partitions import delivery_counts_for_data_dir

    as_of = date(2025, 1, 1)
    clean = delivery_counts_for_data_dir(cluster_data, date(2026, 1, 1), as_of)
    assert delivery_findings(clean, as_of) == []

    data = tmp_path / "data"
    shutil.copytree(cluster_data, data)
    persons = pd.read_parquet(data / "persons", columns=["person_id", "municipality_code"])
    in_707 = set(persons.loc[persons["municipality_code"] == 707, "person_id"])
    for part in sorted((data / "gp_contacts").glob("*.parquet")):
        gp = pd.read_parquet(part)
        when = pd.to_datetime(gp["contact_date"])
        late = (when >= "2024-10-01") & (when < "2025-01-01") & gp["person_id"].isin(in_707)
        gp[~late].to_parquet(part, index=False)
    out = tmp_path / "runs"
    with pytest.raises(
        MonthHeld,
        match=r"gp_contacts: municipality 707 has 0 rows in 2024-10, 2024-11, 2024-12 \(median ",
    ):
        run_month(str(data), "2025-01", "teams.yaml", str(out))
    assert not out.exists()
