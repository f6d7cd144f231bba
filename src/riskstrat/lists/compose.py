"""Every team's list files for one month, in memory (published through `riskstrat.runs`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import pandas as pd

from riskstrat.errors import InputError
from riskstrat.lists.build import compose_target_list, list_candidates
from riskstrat.lists.exclusions import FeedbackHistory
from riskstrat.lists.files import list_manifest, target_list_csv
from riskstrat.lists.teams import Teams, check_teams_fit
from riskstrat.lists.workbook import target_list_xlsx


def list_files(
    teams: Teams,
    scorings: dict[str, tuple[pd.DataFrame, dict]],
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    month: str,
    as_of: date,
    previous: Mapping[str, pd.DataFrame | None],
    prefix: str = "",
    histories: Mapping[str, FeedbackHistory] | None = None,
) -> tuple[dict[str, bytes], dict, dict[str, list[str]]]:
    """(files, summary, listed) of a month's lists (`compose_lists` without who was left out)."""
    composed = compose_lists(
        teams, scorings, persons, opt_outs, month, as_of, previous, prefix, histories
    )
    return composed[0], composed[1], composed[2]


def compose_lists(
    teams: Teams,
    scorings: dict[str, tuple[pd.DataFrame, dict]],
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    month: str,
    as_of: date,
    previous: Mapping[str, pd.DataFrame | None],
    prefix: str = "",
    histories: Mapping[str, FeedbackHistory] | None = None,
    holdout: Callable[[pd.DataFrame], Mapping[str, list[str]]] | None = None,
) -> tuple[dict[str, bytes], dict, dict[str, list[str]], dict[str, pd.DataFrame]]:
    """(files, summary, listed, left out) of a month's lists.

    `scorings` maps a model name to (scores, scores manifest); each team takes the scoring
    of its model. `previous` maps a team to last month's list (for `new_this_month`; absent
    or None if there was none). Files are `<prefix><team>/target_list.xlsx`,
    `target_list.csv` and `manifest.json`; the summary gives each team's rows, new persons
    and model version (counts only, for the audit line and the console); `listed` gives
    each team's listed person ids in rank order (person-level: never logged); `left out`
    each team's eligible persons its feedback rules kept off the list (`person_id`, `rule`;
    person-level). `histories` maps a team to its earlier lists and answers (absent: none).
    `holdout` (None: none) is a randomised evaluation's step beside the feedback rules: it
    gets every team's candidates after opt-outs and feedback rules (`team`, `person_id`,
    `rank`, `risk_band`, and `risk` on the team's model, for a balance check) and returns the person ids each team lists (the rest of the top
    are held out; the team still gets its capacity).
    TeamsError first if the teams do not fit the scorings and persons (`check_teams_fit`).
    """
    check_teams_fit(teams, scorings, persons)
    chosen = _held_out(teams, scorings, persons, opt_outs, as_of, histories, holdout)
    files: dict[str, bytes] = {}
    summary: dict = {}
    listed: dict[str, list[str]] = {}
    left_out: dict[str, pd.DataFrame] = {}
    for team in teams.teams:
        if team.model_name not in scorings:
            raise InputError(
                f"team {team.name} needs a scoring of model {team.model_name!r}; "
                f"given: {', '.join(sorted(scorings)) or 'none'}"
            )
        scores, manifest = scorings[team.model_name]
        earlier = previous.get(team.name)
        frame, left_out[team.name] = compose_target_list(
            team,
            scores,
            persons,
            opt_outs,
            as_of,
            earlier,
            (histories or {}).get(team.name),
            None if chosen is None else chosen.get(team.name, []),
        )
        model = {
            "model_uri": manifest.get("model_uri"),
            "model_version": manifest.get("model_version"),
            "data_extract_date": manifest.get("data_extract_date"),
        }
        csv = target_list_csv(frame)
        xlsx = target_list_xlsx(
            frame,
            team,
            str(model["model_version"]),
            month,
            team.language,
            model_uri=model["model_uri"],
            as_of=as_of,
            data_extract_date=model["data_extract_date"],
        )
        base = f"{prefix}{team.name}/"
        files[base + "target_list.xlsx"] = xlsx
        files[base + "target_list.csv"] = csv
        files[base + "manifest.json"] = list_manifest(team, month, as_of, frame, csv, xlsx, **model)
        summary[team.name] = {
            "rows": len(frame),
            "new_this_month": int(frame["new_this_month"].sum()),
            "capacity": team.capacity,
            "model": team.model,
            "model_version": model["model_version"],
        }
        listed[team.name] = frame["person_id"].astype(str).tolist()
    return files, summary, listed, left_out


def _held_out(
    teams: Teams,
    scorings: dict[str, tuple[pd.DataFrame, dict]],
    persons: pd.DataFrame,
    opt_outs: pd.DataFrame | None,
    as_of: date,
    histories: Mapping[str, FeedbackHistory] | None,
    holdout: Callable[[pd.DataFrame], Mapping[str, list[str]]] | None,
) -> Mapping[str, list[str]] | None:
    """Each team's list as the holdout step chose it (None without a holdout step)."""
    if holdout is None:
        return None
    frames = []
    risks: dict[str, pd.Series] = {}  # model -> risk by person id, built once per model
    for team in teams.teams:
        if team.model_name not in scorings:
            continue  # compose_lists names the missing scoring
        history = (histories or {}).get(team.name)
        scores = scorings[team.model_name][0]
        found = list_candidates(team, scores, persons, opt_outs, as_of, history)
        if team.model_name not in risks:
            risks[team.model_name] = pd.Series(
                scores["risk"].to_numpy(), index=scores["person_id"].astype(str)
            )
        risk = risks[team.model_name]
        frames.append(found.assign(team=team.name, risk=found["person_id"].map(risk)))
    columns = ["team", "person_id", "rank", "risk_band", "risk"]
    candidates = (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )
    return holdout(candidates)
