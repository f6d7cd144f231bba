"""The month's target lists: every team's files from the scorings of its model."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from riskstrat.lists import FeedbackHistory, Teams, compose_lists
from riskstrat.monthly.context import MonthContext
from riskstrat.scoring.population import ModelScoring


def month_lists(
    ctx: MonthContext,
    teams: Teams,
    scorings: dict[str, ModelScoring],
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    previous: dict[str, pd.DataFrame | None],
    histories: Mapping[str, FeedbackHistory] | None = None,
) -> tuple[dict[str, bytes], dict, dict[str, list[str]], dict[str, pd.DataFrame]]:
    """(files under `lists/`, summary per team, listed person ids per team, persons each
    team's feedback rules left out) of the month.

    `persons` and `opt_outs` are the extract's tables, `previous` last month's list of each
    team (for `new_this_month`), `histories` each team's earlier lists and answers (for the
    feedback rules; None: none). The teams are checked against the scorings and persons as
    `riskstrat lists` checks them (`riskstrat.lists.check_teams_fit`)."""
    by_model = {name: (s.scores, s.manifest) for name, s in scorings.items()}
    return compose_lists(
        teams,
        by_model,
        persons,
        opt_outs,
        ctx.month,
        ctx.as_of,
        previous,
        prefix="lists/",
        histories=histories,
    )
