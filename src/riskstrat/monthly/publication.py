"""What the month publishes: the rule that withholds lists, the audit line, the summary and
the aggregates logged to MLflow."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd

from riskstrat.disclosure import Beside, min_cell_of, suppressed_counts
from riskstrat.errors import InputError
from riskstrat.fairness import GroupAudit
from riskstrat.fairness.groups import group_labels
from riskstrat.monthly.context import MonthContext
from riskstrat.monthly.fairness import scored_persons
from riskstrat.scoring.files import scores_files
from riskstrat.scoring.population import ModelScoring

MONTHLY_EXPERIMENT = "riskstrat-monthly"
MUNICIPALITY = "municipality_code"  # the attribute the MLflow counts share with the audit


class ListsWithheld(InputError):
    """The month's fairness audit raised flags and no override was given: lists not published."""


def lists_withheld(fairness: dict, override_reason: str | None) -> bool:
    """Lists are withheld when the fairness audit raised flags and nobody gave a reason to
    publish them anyway."""
    return not fairness["passed"] and not override_reason


def withheld_message(month: str, fairness: dict, folder: str | Path) -> str:
    """What the schedule and the command say when a month's lists are withheld."""
    return (
        f"{month}: the fairness audit raised {len(fairness['flags'])} flag(s); scores and the "
        f"audit are published in {folder}, the lists are not. Review fairness/report.html and "
        "re-run with --override-reason TEXT to publish them."
    )


def month_files(
    scorings: dict[str, ModelScoring],
    fairness_files: dict[str, bytes],
    follow_up_files: dict[str, bytes],
    list_files: dict[str, bytes],
    withheld: bool,
) -> dict[str, bytes]:
    """Every file of the month, relative to its folder (lists left out when withheld)."""
    files: dict[str, bytes] = {}
    for name, scoring in scorings.items():
        for file, payload in scores_files(scoring.scores, scoring.manifest).items():
            files[f"scores/{name}/{file}"] = payload
    return {**files, **fairness_files, **follow_up_files, **({} if withheld else list_files)}


def audit_record(
    ctx: MonthContext,
    scorings: dict[str, ModelScoring],
    list_summary: dict,
    fairness: dict,
    override_reason: str | None,
) -> dict:
    """The month's line in audit.jsonl (who/when/file hashes are added when published).

    A withheld month's line names its teams without rows: their lists were not published."""
    withheld = lists_withheld(fairness, override_reason)
    if withheld:
        list_summary = {
            team: {
                "withheld": True,
                **{k: v for k, v in facts.items() if k != "rows" and k != "new_this_month"},
            }
            for team, facts in list_summary.items()
        }
    return {
        "month": ctx.month,
        "as_of": ctx.as_of.isoformat(),
        "data_extract_date": ctx.extract_date.isoformat(),
        "models": {
            n: {"uri": s.model_uri, "version": s.model_version} for n, s in scorings.items()
        },
        "teams": list_summary,
        "fairness_passed": fairness["passed"],
        "fairness_flags": len(fairness["flags"]),
        "override_reason": override_reason if not fairness["passed"] else None,
        "lists_withheld": withheld,
    }


def month_summary(
    ctx: MonthContext,
    folder: str | Path,
    unchanged: bool,
    list_summary: dict,
    fairness: dict,
    follow_up_files: dict[str, bytes],
    withheld: bool,
) -> dict:
    """What the flow returns and the command prints (aggregates only)."""
    return {
        "month": ctx.month,
        "folder": str(folder),
        "unchanged": unchanged,
        "teams": list_summary,
        "fairness_passed": fairness["passed"],
        "follow_up": sorted({f.split("/")[1] for f in follow_up_files}),
        "lists_withheld": withheld,
    }


def month_aggregates(
    scorings: dict[str, ModelScoring], top_tiers: Mapping[str, GroupAudit]
) -> dict[str, float]:
    """Persons scored per model, tier and municipality for MLflow (`MODEL.TIER.CODE`, and
    `MODEL.scored`), with the model spec's minimum cell and complementary suppression
    against the total and against the month's fairness audit (`top_tiers`: each model's
    top-tier audit, as `month_fairness` returns it).

    **The attack.** The same month publishes `fairness/groups.json`, whose top-tier audit of
    each model shows, for everyone and for each municipality, the persons scored (`n`) and
    those above the lowest tier (`selected`): sums of these very counts. Each suppressed on
    its own, one gives away what the other hides, by subtraction. Randers with 20 persons
    in the high tier and 4 in the low: the counts hide low = 4, but groups.json shows
    n = 24, so low = 24 - 20. The other way round: groups.json hides a `selected` of 3
    (and a complement), but the upper tiers shown here add up to it.

    **The defence.** The counts are suppressed beside the audit (`riskstrat.disclosure.
    Beside`), which is published as it is: every cell its shown figures reveal is taken as
    known to anyone; every cell it hides because it is small (1 to min_cell - 1) is
    protected as if it were one of these; the audit's own sums (groups adding up to
    "overall", intersections to their parents) count too. Counts here are hidden until no
    chain of subtractions over both outputs recovers a small cell of either. The lists'
    audits (catchment and age of a team, selection by capacity) and the follow-up (an
    earlier month's persons) are not sums of these counts."""
    metrics = {}
    for name, scoring in scorings.items():
        persons = scored_persons(scoring)
        frame = pd.DataFrame(
            {
                "tier": persons["tier"].to_numpy(),
                MUNICIPALITY: group_labels(persons[MUNICIPALITY]).to_numpy(),
            }
        )
        tiers = sorted(set(frame["tier"]))
        beside = _beside(top_tiers[name], tiers, scoring.spec.segments.lowest_tier)
        min_cell = min_cell_of(scoring.spec)
        counts = suppressed_counts(frame, ["tier", MUNICIPALITY], min_cell, beside=beside)
        for (tier, code), n in counts.cells.items():
            metrics[f"{name}.{tier}.{code}"] = float(n)
        if counts.total is not None:
            metrics[f"{name}.scored"] = float(counts.total)
    return metrics


def _beside(audit: GroupAudit, tiers: Collection[str], lowest: str) -> Beside:
    """A top-tier audit as the output beside the counts: its rows of everyone and of each
    municipality are sums of them (n: every tier; selected: the tiers above the lowest;
    unselected: the lowest)."""
    cells, shown = audit.published_cells()
    of_tiers = {"n": None, "selected": [t for t in tiers if t != lowest], "unselected": [lowest]}
    rows = audit.rows
    ties: dict[int, dict[str, list]] = {}
    for k, (i, name) in enumerate(cells.keys):
        attribute = rows.at[i, "attribute"]
        if name not in of_tiers or rows.at[i, "subset"] != "all":
            continue
        if attribute not in ("overall", MUNICIPALITY):
            continue
        where = {} if attribute == "overall" else {MUNICIPALITY: [rows.at[i, "group"]]}
        tier = of_tiers[name]
        ties[k] = where if tier is None else {**where, "tier": tier}
    return Beside(cells.values, cells.sums, shown, ties)
