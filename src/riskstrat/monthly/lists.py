"""The month's target lists: every team's files from the scorings of its model, with the
randomised evaluation's holdout step when the teams file configures one."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from riskstrat.evaluation.assignment import MonthAssignment
from riskstrat.evaluation.settings import EvaluationSettings
from riskstrat.lists import FeedbackHistory, Teams, compose_lists
from riskstrat.monthly.context import MonthContext
from riskstrat.monthly.evaluation import HoldoutStep
from riskstrat.scoring.population import ModelScoring


def month_lists(
    ctx: MonthContext,
    teams: Teams,
    scorings: dict[str, ModelScoring],
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    previous: dict[str, pd.DataFrame | None],
    histories: Mapping[str, FeedbackHistory] | None = None,
    evaluation: EvaluationSettings | None = None,
    assignments: pd.DataFrame | None = None,
) -> tuple[
    dict[str, bytes], dict, dict[str, list[str]], dict[str, pd.DataFrame], MonthAssignment | None
]:
    """(files under `lists/`, summary per team, listed person ids per team, persons each
    team's feedback rules left out, the evaluation's assignment of the month or None) of
    the month.

    `persons` and `opt_outs` are the extract's tables, `previous` last month's list of each
    team (for `new_this_month`), `histories` each team's earlier lists and answers (for the
    feedback rules; None: none). With `evaluation` (the teams file's block; None: no
    evaluation), the candidates left after opt-outs and feedback rules are assigned
    (`riskstrat.evaluation.assign_month`, given the stored `assignments` of earlier months)
    and the held-out persons are not listed; each team still gets its capacity (with a
    balance limit, the draw is chosen on the scorings' baseline covariates). The teams
    are checked against the scorings and persons as `riskstrat lists` checks them
    (`riskstrat.lists.check_teams_fit`)."""
    by_model = {name: (s.scores, s.manifest) for name, s in scorings.items()}
    step = None
    if evaluation is not None:
        codes = {}
        if evaluation.design == "stepped_wedge":  # scheduled by municipality, perhaps
            known = persons[persons["municipality_code"].notna()]
            codes = dict(
                zip(
                    known["person_id"].astype(str),
                    known["municipality_code"].astype(int),
                    strict=True,
                )
            )
        capacity = {t.name: t.capacity for t in teams.teams}
        features = None
        if evaluation.balance_limit is not None:  # the candidates' baseline covariates
            features = pd.concat([s.features for s in scorings.values()], ignore_index=True)
        step = HoldoutStep(evaluation, assignments, ctx.month, capacity, codes, features)
    files, summary, listed, left_out = compose_lists(
        teams,
        by_model,
        persons,
        opt_outs,
        ctx.month,
        ctx.as_of,
        previous,
        prefix="lists/",
        histories=histories,
        holdout=step,
    )
    return files, summary, listed, left_out, None if step is None else step.assignment
