"""Every team's list files for one month, in memory (published by `publish_month`)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pandas as pd

from riskstrat.errors import InputError
from riskstrat.lists.build import build_target_list
from riskstrat.lists.publish import previous_list
from riskstrat.lists.teams import Teams
from riskstrat.lists.workbook import target_list_csv, target_list_xlsx


def list_files(teams: Teams, scorings: dict[str, tuple[pd.DataFrame, dict]], persons: pd.DataFrame,
               opt_outs: pd.DataFrame, month: str, as_of: date, previous_root: Path | None,
               prefix: str = "") -> tuple[dict[str, bytes], dict]:  # fmt: skip
    """(files, summary): `<prefix><team>/target_list.{xlsx,csv}` and `manifest.json` per team.

    `scorings` maps a model name to (scores, scores manifest); each team takes the scoring of
    its model. `previous_root/<team>/` holds last month's list, for `new_this_month`."""
    files: dict[str, bytes] = {}
    summary: dict = {}
    for team in teams.teams:
        if team.model_name not in scorings:
            raise InputError(f"team {team.name} needs a scoring of model {team.model_name!r}; "
                             f"given: {', '.join(sorted(scorings)) or 'none'}")  # fmt: skip
        scores, manifest = scorings[team.model_name]
        earlier = previous_list(previous_root / team.name) if previous_root else set()
        frame = build_target_list(team, scores, persons, opt_outs, as_of, earlier)
        about = {"month": month, "team": team.name, "model": manifest.get("model_uri"),
                 "model version": manifest.get("model_version"), "as of": as_of.isoformat(),
                 "data extract date": manifest.get("data_extract_date"),
                 "persons listed": len(frame), "capacity": team.capacity}  # fmt: skip
        csv = target_list_csv(frame)
        xlsx = target_list_xlsx(frame, team.name, month, team.language, about)
        team_manifest = {
            "team": team.name, "month": month, "as_of": as_of.isoformat(), "model": team.model,
            "model_uri": manifest.get("model_uri"), "model_version": manifest.get("model_version"),
            "data_extract_date": manifest.get("data_extract_date"), "rows": len(frame),
            "new_this_month": int(frame["new_this_month"].sum()), "capacity": team.capacity,
            "language": team.language,
            "sha256": {"target_list.csv": hashlib.sha256(csv).hexdigest(),
                       "target_list.xlsx": hashlib.sha256(xlsx).hexdigest()},
        }  # fmt: skip
        base = f"{prefix}{team.name}/"
        files[base + "target_list.xlsx"] = xlsx
        files[base + "target_list.csv"] = csv
        files[base + "manifest.json"] = (json.dumps(team_manifest, indent=2, sort_keys=True) + "\n").encode()
        summary[team.name] = {"rows": len(frame), "new_this_month": team_manifest["new_this_month"],
                              "model_version": manifest.get("model_version")}  # fmt: skip
    return files, summary
