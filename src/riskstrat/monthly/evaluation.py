"""The randomised evaluation in the month: the holdout step of composing the lists, and the
follow-up of the months whose horizon has passed (`evaluation/report.*` and aggregates).

Person-level frames in, file bytes and aggregates out; where the assignment table is kept
is `riskstrat.evaluation_store`'s business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from riskstrat.evaluation.assignment import MonthAssignment, assign_month
from riskstrat.evaluation.estimates import Evaluation
from riskstrat.evaluation.outcomes import follow_up_frame
from riskstrat.evaluation.report import randomisation_note, render_content, report_content
from riskstrat.evaluation.settings import EvaluationSettings
from riskstrat.features.columns import BALANCE_COLUMNS

# what counts as contacted in the teams' feedback; no status (or no feedback) does not
CONTACTED = ("contacted", "enrolled")
# baseline covariates of the balance table (feature columns at the randomisation month)
# (the team's model's risk that month, the stratifying score, and the scorings' features)
BALANCE_COVARIATES = ("risk", *BALANCE_COLUMNS)
CONTACT_NOTE = (
    "contact status from the teams' feedback: contacted or enrolled count as contacted; "
    "any other status, and a listed person without feedback, count as not contacted"
)


@dataclass
class HoldoutStep:
    """The evaluation's step beside the feedback rules (`riskstrat.lists.compose_lists`'s
    `holdout`): assigns the month's candidates (`assign_month`, with the assignments of
    earlier months in `previous`) and returns each team's list; `assignment` keeps the
    result for the runs folder. `municipality`: person id → code (stepped wedge by
    municipality); `features`: person_id and the scored population's BALANCE_COLUMNS
    (the baseline covariates a balance limit rerandomises on, with the candidates' `risk`
    on their team's model)."""

    settings: EvaluationSettings
    previous: pd.DataFrame | None
    month: str
    capacity: Mapping[str, int]
    municipality: Mapping[str, int] = field(default_factory=dict)
    features: pd.DataFrame | None = None
    assignment: MonthAssignment | None = None

    def __call__(self, candidates: pd.DataFrame) -> dict[str, list[str]]:
        """Each team's listed person ids, in rank order (`candidates`: team, person_id,
        rank, risk_band and, for a balance limit, `risk`)."""
        self.assignment = assign_month(
            candidates,
            self.previous,
            self.settings,
            self.month,
            self.capacity,
            self.municipality,
            self._covariates(candidates),
        )
        return {team: self.assignment.listed(team) for team in self.capacity}

    def _covariates(self, candidates: pd.DataFrame) -> pd.DataFrame | None:
        """team, person_id and BALANCE_COVARIATES of the candidates (None without a limit)."""
        if self.settings.balance_limit is None:
            return None
        frame = candidates[["team", "person_id"]].astype(str)
        if "risk" in candidates.columns:
            frame["risk"] = candidates["risk"].astype(float).to_numpy()
        if self.features is not None:
            found = [c for c in BALANCE_COLUMNS if c in self.features.columns]
            persons = self.features[["person_id", *found]].astype({"person_id": str})
            frame = frame.merge(persons.drop_duplicates("person_id"), on="person_id", how="left")
        return frame


def contacted_persons(statuses: pd.DataFrame, assignments: pd.DataFrame, horizon: int) -> set[str]:
    """Persons with a `contacted` or `enrolled` status on a list of the horizon that followed
    their randomisation month (`statuses`: month, person_id, status of every team)."""
    from riskstrat.lists.exclusions import months_between

    if not len(statuses):
        return set()
    first = dict(zip(assignments["person_id"].astype(str), assignments["month"], strict=True))
    hit = statuses[statuses["status"].isin(CONTACTED)]
    return {
        str(p)
        for p, m in zip(hit["person_id"], hit["month"], strict=True)
        if str(p) in first and 0 <= months_between(str(first[str(p)]), str(m)) < horizon
    }


def month_evaluation(
    settings: EvaluationSettings,
    month: str,
    months: list[str],
    horizon: int,
    follow_up: pd.DataFrame,
    min_cell: int,
) -> tuple[dict[str, bytes], dict[str, float]]:
    """(files under `evaluation/`, MLflow aggregates `evaluation.*`) of the follow-up in
    `month` of the randomised `months` (`follow_up_frame`'s rows; `horizon` in months).
    Every count is suppressed under `min_cell`; a figure that would reveal a hidden count is
    left out of the aggregates too. A stepped wedge's errors are clustered by team."""
    context = {
        "month": month,
        "design": settings.design,
        "holdout share": settings.holdout_share,
        "seed": settings.seed,
        "randomisation": randomisation_note(settings),
        "randomised months followed up": ", ".join(months),
        "horizon (months)": horizon,
        "contact status": CONTACT_NOTE,
    }
    cluster = "team" if settings.design == "stepped_wedge" else None
    covariates = [c for c in BALANCE_COVARIATES if c in follow_up.columns]
    evaluation = Evaluation(follow_up, covariates, cluster)
    content = report_content(evaluation, context, min_cell)
    files = {f"evaluation/{k}": v for k, v in render_content(content).items()}
    return files, evaluation_metrics(content)


def evaluation_metrics(content: dict) -> dict[str, float]:
    """The report's pooled primary-outcome figures as MLflow metrics (already suppressed)."""
    primary = "avoidable_admission"
    metrics: dict[str, float] = {}
    for row in content["effects"]:
        if row["outcome"] != primary:
            continue
        short = {"ratio": "rr", "difference": "rd"}[row["scale"]]
        for key, suffix in (("estimate", ""), ("ci_low", "_low"), ("ci_high", "_high")):
            if row.get(key) is not None:
                metrics[f"evaluation.{short}{suffix}"] = float(row[key])
    mde = content["minimum_detectable_effect"].get(primary)
    if mde is not None:
        metrics["evaluation.mde"] = float(mde)
    for arm, n in content["persons"].items():
        if n is not None:  # None: under the minimum cell
            metrics[f"evaluation.persons_{arm}"] = float(n)
    within = [abs(b["smd_within"]) for b in content["balance"] if b.get("smd_within") is not None]
    if within:
        metrics["evaluation.smd_within_max"] = max(within)
    for row in content["complier"]:
        if row["outcome"] == primary and row.get("estimate") is not None:
            metrics["evaluation.contacted_rd"] = float(row["estimate"])
    return metrics


def evaluation_follow_up(
    assignments: pd.DataFrame,
    labels: pd.DataFrame,
    window: pd.DataFrame,
    contacted: set[str],
) -> pd.DataFrame:
    """The follow-up frame (`riskstrat.evaluation.outcomes.follow_up_frame`) with contact
    status: listed persons with a contacted/enrolled status count as contacted."""
    feedback = pd.DataFrame(
        {
            "person_id": assignments["person_id"].astype(str),
            "contacted": assignments["person_id"].astype(str).isin(contacted),
        }
    )
    covariates = tuple(c for c in BALANCE_COVARIATES if c in labels.columns)
    return follow_up_frame(assignments, labels, window, feedback, covariates)
