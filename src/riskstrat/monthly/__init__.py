"""One month of unattended scoring, as steps that the Prefect flow and the CLI wire together.

validate → check the delivery (`delivery`: a month whose recent rows collapsed is held)
→ score each champion as of the month's first day (`partitions.score_data_dir`)
→ target lists (with the teams' feedback rules) → feedback monitoring → fairness audit
→ follow-up of the scoring one horizon back → publish
(`runs.RunsLayout`). Every step here takes frames and returns files (`{relative path:
bytes}`) or aggregates; none knows where the runs folder is or talks to MLflow.
"""

from riskstrat.monthly.context import MonthContext, month_as_of
from riskstrat.monthly.delivery import (
    DeliveryFinding,
    MonthHeld,
    delivery_aggregates,
    delivery_findings,
    hold_if_incomplete,
)
from riskstrat.monthly.drift import drift_metrics
from riskstrat.monthly.evaluation import HoldoutStep, month_evaluation
from riskstrat.monthly.fairness import month_fairness, recent_need, recent_window
from riskstrat.monthly.feedback import month_feedback
from riskstrat.monthly.follow_up import FollowUpInput, month_follow_up
from riskstrat.monthly.lists import month_lists
from riskstrat.monthly.publication import (
    MONTHLY_EXPERIMENT,
    ListsWithheld,
    audit_record,
    lists_withheld,
    month_aggregates,
    month_files,
    month_summary,
    withheld_message,
)

__all__ = [
    "HoldoutStep",
    "month_evaluation",
    "MONTHLY_EXPERIMENT",
    "DeliveryFinding",
    "FollowUpInput",
    "ListsWithheld",
    "MonthContext",
    "MonthHeld",
    "audit_record",
    "delivery_aggregates",
    "delivery_findings",
    "drift_metrics",
    "hold_if_incomplete",
    "lists_withheld",
    "month_aggregates",
    "month_as_of",
    "month_fairness",
    "month_feedback",
    "month_files",
    "month_follow_up",
    "month_lists",
    "month_summary",
    "recent_need",
    "recent_window",
    "withheld_message",
]
