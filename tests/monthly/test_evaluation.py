"""The evaluation in the month on a small population: the holdout step beside the feedback
rules (compose_lists), the assignment table stored append-only in the runs folder, within-
strata balance of the stratifying risk, and reproducible months."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from riskstrat.errors import InputError
from riskstrat.evaluation.estimates import balance_table
from riskstrat.evaluation.settings import EvaluationError, evaluation_settings, teams_evaluation
from riskstrat.evaluation_store import assignments_path, read_assignments, store_month
from riskstrat.lists import Teams, compose_lists, load_teams
from riskstrat.monthly import HoldoutStep
from tests.lists.frames import NO_OPT_OUTS, SCORES_MANIFEST, people, team

SETTINGS = evaluation_settings({"design": "holdout", "holdout_share": 0.2, "seed": 11})
TEAMS = Teams(
    teams=[
        team(name="randers", capacity=30, catchment={"municipalities": [730]}, eligibility={}),
        team(name="djurs", capacity=30, catchment={"municipalities": [707, 706]}, eligibility={}),
    ]
)


def _month(month: str, persons, scores, root) -> tuple[dict, HoldoutStep]:
    """One month's lists with the holdout step, its assignments stored in `root`."""
    as_of = date.fromisoformat(f"{month}-01")
    capacity = {t.name: t.capacity for t in TEAMS.teams}
    step = HoldoutStep(SETTINGS, read_assignments(root), month, capacity)
    scorings = {
        "avoidable_admission": (scores.assign(index_date=pd.Timestamp(as_of)), SCORES_MANIFEST)
    }
    _, _, listed, _ = compose_lists(
        TEAMS, scorings, persons, NO_OPT_OUTS, month, as_of, {}, holdout=step
    )
    store_month(root, month, step.assignment)
    return listed, step


def test_held_out_persons_are_not_listed_and_teams_get_their_capacity(tmp_path) -> None:
    persons, scores = people(1500, seed=3)
    listed, step = _month("2025-01", persons, scores, tmp_path)
    table = read_assignments(tmp_path)
    held = set(table.loc[table["arm"] == "holdout", "person_id"])
    assert held and table["person_id"].is_unique
    for name, ids in listed.items():
        assert len(ids) == 30 and not held & set(ids), name
        # the list is the best-ranked listed-arm candidates, in rank order
        arms = step.assignment.month_arms
        mine = arms[(arms["team"] == name) & (arms["arm"] == "listed")].sort_values("rank")
        assert ids == mine["person_id"].head(30).tolist()
    # exactly one in five of every drawn block is held out
    per_block = table.groupby("block")["arm"].agg(lambda a: (a == "holdout").sum())
    assert (per_block == 1).all()


def test_rerunning_past_months_reproduces_every_assignment_and_stores_nothing(tmp_path) -> None:
    persons, scores = people(1500, seed=3)
    rng = np.random.default_rng(5)
    months = ["2025-01", "2025-02", "2025-03"]
    later_scores = {m: scores.assign(risk=np.round(rng.random(len(scores)), 3)) for m in months}
    first = {m: _month(m, persons, later_scores[m], tmp_path)[0] for m in months}
    table = read_assignments(tmp_path)
    stored = assignments_path(tmp_path).read_bytes()
    assert set(table["month"]) == set(months)
    for month in months:  # after later months, each month again: same lists, nothing new
        again, _ = _month(month, persons, later_scores[month], tmp_path)
        assert again == first[month]
        assert assignments_path(tmp_path).read_bytes() == stored
    # a month whose candidates changed cannot rewrite the stored assignments
    with pytest.raises(InputError, match="differ from those stored"):
        _month("2025-02", persons, later_scores["2025-01"], tmp_path)
    assert assignments_path(tmp_path).read_bytes() == stored


def test_the_stratifying_risk_is_balanced_within_strata(tmp_path) -> None:
    persons, scores = people(4000, seed=8)
    rng = np.random.default_rng(2)
    at_assignment = []
    for month in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"):
        risks = scores.assign(risk=rng.random(len(scores)))  # new risks: new persons on top
        _month(month, persons, risks, tmp_path)
        at_assignment.append(risks[["person_id", "risk"]].assign(month=month))
    risk = pd.concat(at_assignment)
    table = read_assignments(tmp_path).merge(risk, on=["person_id", "month"])
    balance = balance_table(table, ["risk"]).set_index("covariate")
    assert (table["arm"] == "holdout").sum() >= 60
    assert abs(balance.at["risk", "smd_within"]) < 0.1


def test_the_teams_file_block_is_read_validated_and_off_when_absent(tmp_path) -> None:
    shipped = load_teams("teams.yaml")
    assert shipped.evaluation is None and teams_evaluation(shipped) is None
    path = tmp_path / "teams.yaml"
    text = open("teams.yaml", encoding="utf-8").read()
    path.write_text(text + "evaluation: {design: holdout, holdout_share: 0.2, seed: 7}\n")
    settings = teams_evaluation(load_teams(path))
    assert settings is not None and settings.block == (1, 5) and settings.seed == 7
    path.write_text(text + "evaluation: {design: holdout, holdout_share: 0.23, sead: 7}\n")
    with pytest.raises(EvaluationError) as error:
        teams_evaluation(load_teams(path))
    said = str(error.value)
    assert "2 problem(s)" in said and "evaluation.sead: unknown key" in said
    assert "evaluation.seed: required but missing" in said


def test_a_stepped_wedge_lists_started_teams_and_records_the_others_as_comparison(
    tmp_path,
) -> None:
    persons, scores = people(1500, seed=4)
    wedge = evaluation_settings(
        {
            "design": "stepped_wedge",
            "seed": 3,
            "start_months": {"randers": "2025-01", "djurs": "2025-03"},
        }
    )
    capacity = {t.name: t.capacity for t in TEAMS.teams}
    as_of = date(2025, 1, 1)
    step = HoldoutStep(wedge, read_assignments(tmp_path), "2025-01", capacity)
    scorings = {"avoidable_admission": (scores, SCORES_MANIFEST)}
    _, _, listed, _ = compose_lists(
        TEAMS, scorings, persons, NO_OPT_OUTS, "2025-01", as_of, {}, holdout=step
    )
    store_month(tmp_path, "2025-01", step.assignment)
    table = read_assignments(tmp_path)
    assert len(listed["randers"]) == 30 and listed["djurs"] == []
    arms = table.groupby("team")["arm"].agg(set).to_dict()
    assert arms == {"randers": {"listed"}, "djurs": {"comparison"}}
    assert (table["stratum"].str.startswith("2025-01|")).all()


def _balance_features(scores: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Every scored person's baseline covariates (BALANCE_COLUMNS), skewed like registers."""
    rng = np.random.default_rng(seed)
    n = len(scores)
    frailty = rng.normal(size=n)
    acute = rng.poisson(np.exp(-0.3 + 0.6 * frailty))
    return pd.DataFrame(
        {
            "person_id": scores["person_id"].astype(str),
            "age": 78 + 2 * frailty + rng.normal(0, 7, n),
            "sex_male": rng.integers(0, 2, n),
            "acute_admissions_12m": acute,
            "bed_days_12m": acute * rng.gamma(2.0, 3.0, n),
            "gp_contacts_12m": rng.poisson(np.exp(2.0 + 0.3 * frailty)),
            "n_chronic_conditions": rng.poisson(np.exp(0.7 + 0.3 * frailty)),
            "charlson_index": rng.poisson(np.exp(0.5 + 0.4 * frailty)),
            "hfrs_score": rng.gamma(2.0, np.exp(1.0 + 0.4 * frailty)),
        }
    )


def test_a_balance_limit_rerandomises_the_month_on_the_scorings_covariates(tmp_path) -> None:
    from riskstrat.monthly.context import MonthContext
    from riskstrat.monthly.evaluation import BALANCE_COVARIATES
    from riskstrat.monthly.lists import month_lists
    from riskstrat.scoring.population import ModelScoring

    persons, scores = people(1500, seed=3)
    features = _balance_features(scores, 4)
    scoring = ModelScoring(
        "avoidable_admission", "3", "models:/avoidable_admission/3", scores,
        SCORES_MANIFEST, features,
    )  # fmt: skip
    limited = evaluation_settings(
        {"design": "holdout", "seed": 11, "balance_limit": 0.2, "max_draws": 5000}
    )
    assert limited is not None and SETTINGS is not None
    ctx = MonthContext("data", "2025-01", date(2025, 1, 1), date(2025, 1, 1))
    results = {}
    for name, settings in (("plain", SETTINGS), ("limited", limited)):
        files, _, listed, _, assignment = month_lists(
            ctx, TEAMS, {"avoidable_admission": scoring}, persons, NO_OPT_OUTS, {}, None,
            settings, None,
        )  # fmt: skip
        assert assignment is not None
        results[name] = (files, listed, assignment)
    plain, balanced = results["plain"][2], results["limited"][2]
    assert (plain.table["draw"] == 0).all() and plain.balance.met is None
    assert balanced.balance.met and balanced.balance.draw > 0
    assert (balanced.table["draw"] == balanced.balance.draw).all()

    # the balance table of the month's new persons, covariates as the report reads them
    def smd(table: pd.DataFrame) -> pd.Series:
        risk = scores[["person_id", "risk"]].astype({"person_id": str})
        rows = table.merge(risk, on="person_id").merge(features, on="person_id")
        return balance_table(rows, list(BALANCE_COVARIATES)).set_index("covariate")["smd_within"]

    # about 15 persons held out in 8 strata: the plain draw's SMDs are large by chance
    assert smd(plain.table).abs().max() > 0.2
    assert smd(balanced.table).abs().max() < 0.2
    assert smd(balanced.table).abs().max() == pytest.approx(balanced.balance.largest_smd)
    for name, ids in results["limited"][1].items():  # still the capacity, from the listed arm
        held = set(balanced.table.loc[balanced.table["arm"] == "holdout", "person_id"])
        assert len(ids) == 30 and not held & set(ids), name
    # stored and re-run: the same draw, nothing changes
    store_month(tmp_path, "2025-01", balanced)
    again = month_lists(
        ctx, TEAMS, {"avoidable_admission": scoring}, persons, NO_OPT_OUTS, {}, None, limited,
        read_assignments(tmp_path),
    )  # fmt: skip
    assert again[0] == results["limited"][0]
    assert store_month(tmp_path, "2025-01", again[4]).unchanged
