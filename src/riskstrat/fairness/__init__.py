"""Fairness audits across geography and social groups (see `audit` for the flag rule)."""

from riskstrat.fairness.audit import (
    FIELDS,
    GroupAudit,
    audit_outcomes,
    audit_selection,
    follow_up,
    holm,
)
from riskstrat.fairness.report import render_report

__all__ = ["FIELDS", "GroupAudit", "audit_outcomes", "audit_selection", "follow_up", "holm", "render_report"]
