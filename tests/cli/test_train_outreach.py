"""`riskstrat train --runs` end to end: the evaluation's assignments in a runs folder reach the
registered run's model card and metrics (src/riskstrat/cli/models.py,
riskstrat.training.outreach; interfaces.md, the model card's "Outreach in the training data").

Every run trains small on the tiny synthetic data into one MLflow store of the module (a new
store costs seconds of migrations); each registers its own version, read back by its number.
The expected counts are recomputed here from the persons table and the stored assignments:
the population at each training date and the exposure rule written out again.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from riskstrat.dates import add_months, parse_month
from riskstrat.evaluation.assignment import assign_month
from riskstrat.evaluation.settings import EvaluationSettings
from riskstrat.evaluation_store import assignments_path, read_assignments, store_month
from riskstrat.spec import load_spec
from riskstrat.tracking import load_run_text, model_version, run_metrics
from riskstrat.training.outreach import CARD_LINES, NO_OUTREACH
from tests.cli.runner import invoke

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "models" / "avoidable_admission.yaml"
# small and fast: the outreach section does not depend on the fit's quality
SMALL = ["learner.params.n_estimators=20", "features.groups=[demographics,hospital]"]
MONTH = "2023-03"  # inside the training window: rows of 2022-07 onwards overlap it
CAPACITY = 40


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """One real MLflow store (SQLite + local artifacts) in a temp dir for the module's runs."""
    folder = tmp_path_factory.mktemp("mlflow_outreach")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
        yield


def _in_population(persons: pd.DataFrame, on: date, min_age: int) -> pd.Series:
    """The population rule at an index date (interfaces.md "Population at D")."""
    day = pd.Timestamp(on)
    birth, death, left = (
        pd.to_datetime(persons[c]) for c in ("birth_date", "death_date", "emigration_date")
    )
    present = (birth < day) & ~(death < day) & ~(left < day)
    had_birthday = (birth.dt.month < on.month) | (
        (birth.dt.month == on.month) & (birth.dt.day <= on.day)
    )
    age = on.year - birth.dt.year - (~had_birthday).astype(int)  # completed years on D
    return present & (age >= min_age)


@pytest.fixture(scope="module")
def runs(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder whose evaluation randomised, in MONTH, persons of the training data: the
    youngest of the population then, so some turned 65 after the first training dates."""
    persons = pd.read_parquet(tiny_data / "persons")
    inside = persons[_in_population(persons, parse_month(MONTH), 65)]
    chosen = inside.sort_values(["birth_date", "person_id"], ascending=False).head(60)
    candidates = pd.DataFrame(
        {
            "person_id": chosen["person_id"].astype(str).to_numpy(),
            "team": "east",
            "rank": range(1, 61),
            "risk_band": ["high"] * 30 + ["elevated"] * 30,
        }
    )
    settings = EvaluationSettings(design="holdout", holdout_share=0.2, seed=11)
    root = tmp_path_factory.mktemp("runs")
    month = assign_month(candidates, None, settings, MONTH, {"east": CAPACITY})
    store_month(root, MONTH, month)
    assert assignments_path(root).is_file()
    return root


def _train(data: Path, *extra: str) -> dict:
    sets = [a for s in SMALL for a in ("--set", s)]
    result = invoke(
        ["train", "--spec", SPEC, "--data", data, *sets, "--workers", "1", "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _card_and_metrics(trained: dict) -> tuple[str, dict[str, float]]:
    """The registered version's training run: its model card and metrics, from the store."""
    info = model_version(f"{trained['model_name']}/{trained['version']}")
    assert info.run_id == trained["run_id"]
    card = load_run_text(info.run_id, "model_card.md")
    assert card is not None
    return card, run_metrics(info.run_id)


def _expected_counts(data: Path, runs: Path) -> dict[str, int]:
    """Training rows (training and refit dates) exposed to outreach: a listed person whose
    first month is before the row's label window ends is left out; a holdout person's such
    row stands in for the listed of their stratum (weight above 1)."""
    spec = load_spec(SPEC, SMALL)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    dates = spec.resolve_dates(
        date.fromisoformat(manifest["extract_date"]), date.fromisoformat(manifest["history_start"])
    )
    persons = pd.read_parquet(data / "persons")
    table = read_assignments(runs)
    with_listed = set(table.loc[table["arm"] == "listed", "stratum"])
    counts = {"outreach_rows_left_out": 0, "outreach_rows_reweighted": 0}
    for on in [*dates.train, *dates.refit_train]:  # a date in both tables is a row in each
        present = set(persons.loc[_in_population(persons, on, 65), "person_id"].astype(str))
        window_end = add_months(on, spec.horizon_months)
        for row in table.itertuples():
            if row.person_id not in present or parse_month(row.month) >= window_end:
                continue
            if row.arm == "listed":
                counts["outreach_rows_left_out"] += 1
            elif row.arm == "holdout" and row.stratum in with_listed:
                counts["outreach_rows_reweighted"] += 1
    return counts


@pytest.fixture(scope="module")
def safe(store, tiny_data: Path, runs: Path) -> dict:
    return _train(tiny_data, "--runs", runs)


@pytest.fixture(scope="module")
def plain(store, tiny_data: Path) -> dict:
    return _train(tiny_data)


def test_the_card_states_the_safe_default_and_the_rows_the_assignments_imply(
    safe: dict, plain: dict, tiny_data: Path, runs: Path
) -> None:
    expected = _expected_counts(tiny_data, runs)
    left_out, reweighted = expected.values()
    assert left_out >= 5 and reweighted >= 5  # above the minimum cell: shown, not "<5"
    card, metrics = _card_and_metrics(safe)
    assert "Spec choice `outreach: reweight_holdout`." in card
    assert CARD_LINES["reweight_holdout"] in card
    assert (
        f"Training rows left out: {left_out}; reweighted (the holdout standing in): "
        f"{reweighted}." in card
    )
    assert metrics["outreach_rows_left_out"] == left_out
    assert metrics["outreach_rows_reweighted"] == reweighted
    # the same data without the runs folder trained on exactly these rows more
    without = run_metrics(plain["run_id"])
    dropped = sum(without[k] - metrics[k] for k in ("n_train", "n_refit_train"))
    assert dropped == left_out


def test_the_spec_choice_exclude_exposed_is_stated(tiny_data: Path, runs: Path, store) -> None:
    card, metrics = _card_and_metrics(
        _train(tiny_data, "--runs", runs, "--set", "outreach=exclude_exposed")
    )
    left_out = _expected_counts(tiny_data, runs)["outreach_rows_left_out"]
    assert "Spec choice `outreach: exclude_exposed`." in card
    assert CARD_LINES["exclude_exposed"] in card
    assert f"Training rows left out: {left_out}; reweighted (the holdout standing in): 0." in card
    assert metrics["outreach_rows_left_out"] == left_out
    assert metrics["outreach_rows_reweighted"] == 0


def test_without_runs_the_card_says_no_outreach_was_recorded(plain: dict) -> None:
    card, metrics = _card_and_metrics(plain)
    assert "## Outreach in the training data" in card
    assert "Spec choice `outreach: reweight_holdout`." in card and NO_OUTREACH in card
    assert not {"outreach_rows_left_out", "outreach_rows_reweighted"} & set(metrics)


def test_the_training_flow_passes_the_runs_folder_through(
    prefect_server, store, tiny_data: Path, runs: Path
) -> None:
    from pipelines.train import train_flow

    out = train_flow(str(SPEC), str(tiny_data), SMALL, n_boot=10, runs=str(runs))
    card, metrics = _card_and_metrics(out)
    expected = _expected_counts(tiny_data, runs)
    assert "Spec choice `outreach: reweight_holdout`." in card
    assert {k: metrics[k] for k in expected} == expected
