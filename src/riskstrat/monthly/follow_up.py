"""The follow-up of earlier scorings whose horizon has passed: listed and not-listed apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from riskstrat.dates import add_months
from riskstrat.fairness import follow_up, render_report
from riskstrat.spec import ModelSpec


@dataclass(frozen=True)
class FollowUpInput:
    """An earlier scoring of one model with the outcomes now observed (person-level)."""

    model_name: str
    scored_month: str
    manifest: dict  # the earlier scoring's manifest.json
    spec: ModelSpec
    as_of: date
    labelled: pd.DataFrame  # the earlier scores' person_id and risk, with that date's labels
    listed: set[str]  # persons on that month's lists of teams using this model


def month_follow_up(inputs: list[FollowUpInput]) -> dict[str, bytes]:
    """Files under `follow-up/<model>/`: realised performance of each earlier scoring, by
    group, with flags judged on the persons who were not listed (they got no outreach)."""
    files: dict[str, bytes] = {}
    for item in inputs:
        spec = item.spec
        frame = item.labelled[item.labelled[spec.label_column].notna()].copy()
        frame["listed"] = frame["person_id"].isin(item.listed)
        frame["outcome"] = frame[spec.label_column].astype(float)
        audit = follow_up(frame, spec.fairness, risk="risk", outcome="outcome", listed="listed")
        context = {
            "model": f"{item.model_name} v{item.manifest['model_version']}",
            "scored as of": item.as_of.isoformat(),
            "outcomes observed until": add_months(item.as_of, spec.horizon_months).isoformat(),
            "persons listed that month": len(item.listed & set(frame["person_id"])),
        }
        title = f"Follow-up of {item.scored_month} ({item.model_name})"
        report = render_report({item.model_name: audit}, title, context)
        files.update({f"follow-up/{item.model_name}/{k}": v for k, v in report.items()})
    return files
