"""Fairness audits across geography and social groups, with small-cell suppression.

`audit_selection` (before outcomes: selection against need), `audit_outcomes` and
`follow_up` (after outcomes: calibration and discrimination by group; listed and not-listed
apart) each return a `GroupAudit`; `judge_jointly` Holm-corrects several audits as one
report; `render_report` writes report.html, report.md and groups.json from the suppressed
figures only. The flag rule is in `riskstrat.fairness.audit`, suppression in
`riskstrat.fairness.suppression`.
"""

from riskstrat.fairness.audit import (
    FIELDS,
    GroupAudit,
    audit_need_met,
    audit_outcomes,
    audit_selection,
    follow_up,
    judge_jointly,
)
from riskstrat.fairness.report import render_report
from riskstrat.fairness.stats import holm

__all__ = [
    "FIELDS",
    "GroupAudit",
    "audit_need_met",
    "audit_outcomes",
    "audit_selection",
    "follow_up",
    "holm",
    "judge_jointly",
    "render_report",
]
