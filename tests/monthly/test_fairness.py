"""The month's fairness audit (src/riskstrat/monthly/fairness.py) judges each team's list on
the ids the lists were built from, whatever characters an id holds."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import yaml

from riskstrat.lists import Teams, list_files
from riskstrat.monthly import MonthContext
from riskstrat.monthly import fairness as month_audit
from riskstrat.scoring.population import ModelScoring
from riskstrat.spec import ModelSpec
from tests.lists.frames import AS_OF, NO_OPT_OUTS, SCORES_MANIFEST, people, team


def test_ids_with_a_comma_or_a_quote_are_counted_as_selected(monkeypatch) -> None:
    persons, scores = people(200)
    odd = {f"P{i:05d}": f'P,{i}"x' if i % 2 else f"=P'{i}" for i in range(200)}
    persons["person_id"] = persons["person_id"].map(odd)
    scores["person_id"] = scores["person_id"].map(odd)
    teams = Teams(teams=[team(capacity=40, eligibility={"min_age": 0})])
    by_model = {"avoidable_admission": (scores, SCORES_MANIFEST)}
    _, _, listed = list_files(teams, by_model, persons, NO_OPT_OUTS, "2026-01", AS_OF, {})
    assert len(listed["t1"]) == 40

    with open("models/avoidable_admission.yaml", encoding="utf-8") as fh:
        spec = ModelSpec.model_validate(yaml.safe_load(fh)).model_dump(mode="json")
    spec["fairness"]["attributes"] = ["sex"]
    spec["fairness"]["intersections"] = []
    features = persons[["person_id", "sex", "municipality_code"]].assign(
        acute_admissions_12m=1, age=80
    )
    scoring = ModelScoring(
        "avoidable_admission", "3", "models:/avoidable_admission/3", scores,
        {"spec": spec}, features,
    )  # fmt: skip
    seen: dict[str, int] = {}
    real = month_audit.audit_selection

    def counting(frame: pd.DataFrame, fairness, *, selected: str, need: str, **kw):
        seen[str(len(seen))] = int(frame[selected].sum())
        return real(frame, fairness, selected=selected, need=need, **kw)

    monkeypatch.setattr(month_audit, "audit_selection", counting)
    ctx = MonthContext("data", "2026-01", AS_OF, date(2026, 1, 1))
    month_audit.month_fairness(
        ctx, teams, {"avoidable_admission": scoring}, listed, persons[["person_id", "gp_clinic_id"]]
    )
    assert seen["1"] == 40  # the team's audit: every listed person is selected


@pytest.mark.parametrize("odd", ['P,1"x', "=1+1", "-3", "'quoted"])
def test_a_published_list_reads_back_with_the_ids_it_was_written_with(tmp_path, odd) -> None:
    from riskstrat.publishing import read_list

    persons, scores = people(50)
    persons.loc[0, "person_id"] = scores.loc[0, "person_id"] = odd
    scores.loc[0, "risk"] = 2.0  # first on the list
    teams = Teams(teams=[team(capacity=10, eligibility={"min_age": 0})])
    persons.loc[0, "municipality_code"] = 730
    by_model = {"avoidable_admission": (scores, SCORES_MANIFEST)}
    files, _, listed = list_files(teams, by_model, persons, NO_OPT_OUTS, "2026-01", AS_OF, {})
    (tmp_path / "t1").mkdir()
    (tmp_path / "t1" / "target_list.csv").write_bytes(files["t1/target_list.csv"])
    assert read_list(tmp_path / "t1")["person_id"].tolist() == listed["t1"]
    assert listed["t1"][0] == odd


def test_the_month_is_gated_on_the_models_own_label_and_the_proxy_only_informs() -> None:
    """The recent window's population, where one municipality had twice the odds the model
    gave it: the gate flags that municipality; the proxy audits of the same month (top tiers
    and a team against an acute admission in the past year) are never flagged, however
    far their ratios are from 1."""
    import numpy as np

    from tests.fairness.synthetic import population

    persons, scores = people(400)
    with open("models/avoidable_admission.yaml", encoding="utf-8") as fh:
        spec = ModelSpec.model_validate(yaml.safe_load(fh)).model_dump(mode="json")
    spec["fairness"]["attributes"] = ["municipality_code", "sex"]
    spec["fairness"]["intersections"] = []
    features = persons[["person_id", "sex", "municipality_code"]].assign(
        acute_admissions_12m=(scores["tier"] == "low").astype(int), age=80
    )  # the proxy need sits with the lowest tier: selection-to-need far below 1
    scoring = ModelScoring(
        "avoidable_admission", "3", "models:/avoidable_admission/3", scores,
        {"spec": spec}, features,
    )  # fmt: skip
    teams = Teams(teams=[team(capacity=40, eligibility={"min_age": 0})])
    ctx = MonthContext("data", "2026-01", AS_OF, date(2026, 1, 1))
    clinics = persons[["person_id", "gp_clinic_id"]]

    def month(recent: pd.DataFrame) -> dict:
        files, summary, _ = month_audit.month_fairness(
            ctx, teams, {"avoidable_admission": scoring}, {"t1": []}, clinics,
            {"avoidable_admission": recent},
        )  # fmt: skip
        return summary

    recent = population(20_000, seed=5)
    recent["selected"] = (recent["risk"] >= recent["risk"].quantile(0.8)).astype(int)
    recent["outcome"] = recent["y"].astype(float)
    assert month(recent) == {"passed": True, "flags": []}
    odds = (
        recent["risk"] / (1 - recent["risk"]) * np.where(recent["municipality_code"] == 701, 2, 1)
    )
    recent["outcome"] = (np.random.default_rng(2).random(len(recent)) < odds / (1 + odds)) * 1.0
    summary = month(recent)
    assert not summary["passed"]
    assert {(f["scope"], f["attribute"], f["group"]) for f in summary["flags"]} == {
        ("avoidable_admission: selection against its own label, 2025-01-01 to 2026-01-01",
         "municipality_code", "701"),
    }  # fmt: skip
