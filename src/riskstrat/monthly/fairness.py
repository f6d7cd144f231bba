"""The month's fairness audit: each model's top tiers and each team's list against need."""

from __future__ import annotations

import pandas as pd

from riskstrat.fairness import GroupAudit, audit_selection, render_report
from riskstrat.lists import Teams, eligible_by_rules, in_catchment
from riskstrat.model import evaluate_rule
from riskstrat.monthly.context import MonthContext
from riskstrat.scoring.population import ModelScoring


def scored_persons(scoring: ModelScoring) -> pd.DataFrame:
    """The persons a model scored this month: their features with tier and segment (the
    population of its top-tier audit and of its MLflow counts)."""
    return scoring.features.merge(scoring.scores[["person_id", "tier", "segment"]], on="person_id")


def month_fairness(
    ctx: MonthContext,
    teams: Teams,
    scorings: dict[str, ModelScoring],
    listed: dict[str, list[str]],
    clinics: pd.DataFrame,
) -> tuple[dict[str, bytes], dict, dict[str, GroupAudit]]:
    """(files under `fairness/`, {passed, flags}, each model's top-tier audit): selection
    against need for each model's top tiers and each team's list (aggregates only).
    `clinics` maps person_id to gp_clinic_id (team catchments by clinic). The top-tier
    audits are what the month's MLflow counts are suppressed beside (`month_aggregates`)."""
    audits: dict[str, GroupAudit] = {}
    top_tiers: dict[str, GroupAudit] = {}
    for name, scoring in scorings.items():
        frame = scored_persons(scoring).merge(clinics, on="person_id", how="left")
        fairness = scoring.spec.fairness
        frame["selected"] = frame["tier"] != scoring.spec.segments.lowest_tier
        frame["need"] = evaluate_rule(fairness.need, frame).astype(bool)
        top_tiers[name] = audits[f"{name}: top tiers"] = audit_selection(
            frame, fairness, selected="selected", need="need"
        )
        for team in teams.teams:
            if team.model_name != name:
                continue
            # need among the persons the team may list (catchment, age, segments): a list of
            # citizens 75+ is not under-selecting the 65-74-year-olds it may not take
            inside = frame[in_catchment(team, frame) & eligible_by_rules(team, frame)]
            inside = inside.assign(
                selected=inside["person_id"].isin(set(listed.get(team.name, [])))
            )
            audits[f"team {team.name}"] = audit_selection(
                inside, fairness, selected="selected", need="need"
            )
    context = {
        "month": ctx.month,
        "as of": ctx.as_of.isoformat(),
        "data extract date": ctx.extract_date.isoformat(),
        "need (observed before the as-of date, never predicted)": "; ".join(
            f"{n}: {s.spec.fairness.need}" for n, s in scorings.items()
        ),
        "models": ", ".join(f"{n} v{s.model_version}" for n, s in scorings.items()),
    }
    files = render_report(audits, f"Fairness audit {ctx.month}", context)
    passed = all(a.passed for a in audits.values())
    flags = [{"scope": scope, **f} for scope, a in audits.items() for f in a.summary()["flags"]]
    summary = {"passed": passed, "flags": flags}
    return {f"fairness/{k}": v for k, v in files.items()}, summary, top_tiers
