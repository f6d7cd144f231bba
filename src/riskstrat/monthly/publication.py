"""What the month publishes: the rule that withholds lists, the audit line, the summary and
the aggregates logged to MLflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskstrat.disclosure import min_cell_of, suppressed_counts
from riskstrat.errors import InputError
from riskstrat.monthly.context import MonthContext
from riskstrat.scoring.files import scores_files
from riskstrat.scoring.population import ModelScoring

MONTHLY_EXPERIMENT = "riskstrat-monthly"


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
    """The month's line in audit.jsonl (who/when/file hashes are added when published)."""
    withheld = lists_withheld(fairness, override_reason)
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


def month_aggregates(scorings: dict[str, ModelScoring]) -> dict[str, float]:
    """Persons scored per model, tier and municipality for MLflow, with the model spec's
    minimum cell and complementary suppression against the total (`riskstrat.disclosure`)."""
    metrics = {}
    for name, scoring in scorings.items():
        municipality = scoring.features.set_index("person_id")["municipality_code"]
        frame = pd.DataFrame(
            {
                "tier": scoring.scores["tier"].to_numpy(),
                "municipality_code": municipality.loc[scoring.scores["person_id"]].to_numpy(),
            }
        )
        counts = suppressed_counts(frame, ["tier", "municipality_code"], min_cell_of(scoring.spec))
        for (tier, code), n in counts.cells.items():
            metrics[f"{name}.{tier}.{code}"] = float(n)
        if counts.total is not None:
            metrics[f"{name}.scored"] = float(counts.total)
    return metrics
