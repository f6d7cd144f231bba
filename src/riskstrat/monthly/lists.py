"""The month's target lists: every team's files from the scorings of its model."""

from __future__ import annotations

import pandas as pd

from riskstrat.lists import Teams, TeamsError, list_files
from riskstrat.monthly.context import MonthContext
from riskstrat.scoring.population import ModelScoring


def month_lists(
    ctx: MonthContext,
    teams: Teams,
    scorings: dict[str, ModelScoring],
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    previous: dict[str, pd.DataFrame | None],
) -> tuple[dict[str, bytes], dict, dict[str, list[str]]]:
    """(files under `lists/`, summary per team, listed person ids per team) of the month.

    `persons` and `opt_outs` are the extract's tables, `previous` last month's list of each
    team (for `new_this_month`)."""
    check_teams_fit(teams, scorings, persons)
    by_model = {name: (s.scores, s.manifest) for name, s in scorings.items()}
    return list_files(
        teams, by_model, persons, opt_outs, ctx.month, ctx.as_of, previous, prefix="lists/"
    )


def check_teams_fit(teams: Teams, scorings: dict[str, ModelScoring], persons: pd.DataFrame) -> None:
    """TeamsError naming every team whose model, segments or GP clinics do not fit the
    month's scorings and data."""
    problems = []
    clinics = set(persons["gp_clinic_id"].dropna().unique())
    for team in teams.teams:
        scoring = scorings.get(team.model_name)
        if scoring is None:
            problems.append(f"team {team.name}: no scoring of model {team.model_name}")
            continue
        segments = set(scoring.scores["segment"].dropna().unique()) | {
            s.name for s in scoring.spec.segments.needs
        }
        bad = [s for s in team.eligibility.exclude_segments if s not in segments]
        if bad:
            problems.append(
                f"team {team.name}: unknown segment(s) {bad}; the model has {sorted(segments)}"
            )
        unknown = [c for c in team.catchment.gp_clinics if c not in clinics]
        if unknown:
            problems.append(f"team {team.name}: GP clinic(s) {unknown} do not occur in the data")
    if problems:
        raise TeamsError(
            "the teams file does not fit the models and data:\n  - " + "\n  - ".join(problems)
        )
