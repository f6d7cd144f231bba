"""Target lists for outreach and geriatric teams (interfaces.md, "Teams and target lists").

`load_teams` reads teams.yaml; `build_target_list` ranks one team's catchment;
`target_list_xlsx` / `target_list_csv` / `list_manifest` make the files' bytes;
`list_files` does all three for every team; `publish_lists` publishes a month atomically.
"""

from riskstrat.lists.build import LIST_COLUMNS, build_target_list, eligible_by_rules, in_catchment
from riskstrat.lists.compose import list_files
from riskstrat.lists.files import list_manifest, target_list_csv
from riskstrat.lists.phrases import phrase, reasons_text
from riskstrat.lists.publish import (
    PublishResult,
    listed_for_model,
    previous_list,
    publish_lists,
    publish_month,
    read_list,
)
from riskstrat.lists.teams import Team, Teams, TeamsError, load_teams
from riskstrat.lists.workbook import target_list_xlsx

__all__ = [
    "LIST_COLUMNS", "PublishResult", "Team", "Teams", "TeamsError", "build_target_list",
    "eligible_by_rules", "in_catchment", "list_files", "list_manifest", "listed_for_model", "load_teams", "phrase",
    "previous_list", "publish_lists", "publish_month", "read_list", "reasons_text",
    "target_list_csv", "target_list_xlsx",
]  # fmt: skip
