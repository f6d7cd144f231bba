"""The month's fairness audit, before the month's outcomes are known.

The gate, per model, is selection against need in the target's own currency: the model's
selection rule (its top tiers) applied to the population one horizon before the month,
whose outcomes over the window up to the month's first day are now observed, with need
measured by the model's own label (`audit_need_met`: O/E among the selected and the
not-selected by group). The month's top tiers and each team's list against the spec's
proxy rule for need (`fairness.need`, e.g. an acute admission in the past year) are reported
for information only: that proxy differs from the target by age and flagged sound models
in every month.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from riskstrat.dates import add_months
from riskstrat.fairness import (
    GroupAudit,
    audit_need_met,
    audit_selection,
    judge_jointly,
    render_report,
)
from riskstrat.lists import Teams, eligible_by_rules, in_catchment
from riskstrat.model import ModelBundle, evaluate_rule
from riskstrat.monthly.context import MonthContext
from riskstrat.scoring.population import ModelScoring

RECENT = "risk_now"  # the current model's risk for the recent window's population


def recent_window(as_of: date, horizon_months: int) -> date:
    """The index date of the most recent window fully observed by `as_of`: one horizon
    before it (its label window ends on `as_of`)."""
    return add_months(as_of, -horizon_months)


def recent_need(bundle: ModelBundle, labelled: pd.DataFrame) -> pd.DataFrame:
    """The population of the recent window (features with labels, from `features` with
    labels at `recent_window`) scored by the current model: its audit attributes, `risk`,
    `selected` (the model's rule: above the lowest tier) and `outcome` (the model's own
    label, null where not observed)."""
    frame = labelled.copy()
    frame["risk"] = bundle.predict_risk(frame)
    frame["selected"] = (
        bundle.segments.tier(frame["risk"].to_numpy()) != bundle.segments.lowest_tier
    )
    frame["outcome"] = frame[bundle.label_column].astype(float)
    return frame


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
    recent: dict[str, pd.DataFrame] | None = None,
) -> tuple[dict[str, bytes], dict, dict[str, GroupAudit]]:
    """(files under `fairness/`, {passed, flags}, each model's top-tier audit) (aggregates
    only). `recent` maps a model to its recent window's population (`recent_need`): the
    gate. The month's top tiers and each team's list against the proxy need rule are
    reported, not judged. `clinics` maps person_id to gp_clinic_id (team catchments by
    clinic). The top-tier audits are what the month's MLflow counts are suppressed beside
    (`month_aggregates`)."""
    audits: dict[str, GroupAudit] = {}
    top_tiers: dict[str, GroupAudit] = {}
    recent = recent or {}
    for name, scoring in scorings.items():
        frame = scored_persons(scoring).merge(clinics, on="person_id", how="left")
        fairness = scoring.spec.fairness
        if name in recent:
            since = recent_window(ctx.as_of, scoring.spec.horizon_months)
            audits[f"{name}: selection against its own label, {since} to {ctx.as_of}"] = (
                audit_need_met(
                    recent[name], fairness, risk="risk", outcome="outcome", selected="selected"
                )
            )
        frame["selected"] = frame["tier"] != scoring.spec.segments.lowest_tier
        frame["need"] = evaluate_rule(fairness.need, frame).astype(bool)
        top_tiers[name] = audits[f"{name}: top tiers"] = audit_selection(
            frame, fairness, selected="selected", need="need", judged=False
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
                inside, fairness, selected="selected", need="need", judged=False
            )
    context = {
        "month": ctx.month,
        "as of": ctx.as_of.isoformat(),
        "data extract date": ctx.extract_date.isoformat(),
        "need (the gate)": "each model's own label over its most recent fully observed "
        "window, on the population of that time, selected by the model's rule (top tiers)",
        "proxy need (information only)": "; ".join(
            f"{n}: {s.spec.fairness.need}" for n, s in scorings.items()
        ),
        "not audited against its own label (no recent window given)": ", ".join(
            n for n in scorings if n not in recent
        )
        or "none",
        "models": ", ".join(f"{n} v{s.model_version}" for n, s in scorings.items()),
    }
    # one Holm correction over every gated test of the month, so that the month as a whole
    # raises a false flag at most alpha of the time, however many models it scores
    gated = judge_jointly({k: a for k, a in audits.items() if len(a.tests)})
    audits = {k: gated.get(k, a) for k, a in audits.items()}
    files = render_report(audits, f"Fairness audit {ctx.month}", context)
    passed = all(a.passed for a in audits.values())
    flags = [{"scope": scope, **f} for scope, a in audits.items() for f in a.summary()["flags"]]
    summary = {"passed": passed, "flags": flags}
    return {f"fairness/{k}": v for k, v in files.items()}, summary, top_tiers
