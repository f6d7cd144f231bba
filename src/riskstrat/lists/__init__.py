"""Target lists for outreach and geriatric teams (interfaces.md, "Teams and target lists").

`load_teams` reads teams.yaml; `build_target_list` ranks one team's catchment;
`target_list_xlsx` / `target_list_csv` / `list_manifest` make the files' bytes;
`list_files` does all three for every team (published through `riskstrat.runs`).
`read_feedback` / `check_feedback` read a team's answers on its list; `feedback_exclusions`
is the step that leaves persons out of the next lists by those answers.
"""

from riskstrat.lists.build import (
    LIST_COLUMNS,
    build_target_list,
    compose_target_list,
    eligible_by_rules,
    in_catchment,
    list_candidates,
)
from riskstrat.lists.compose import compose_lists, list_files
from riskstrat.lists.exclusions import RULES, FeedbackHistory, feedback_exclusions, last_status
from riskstrat.lists.feedback import (
    FEEDBACK_COLUMNS,
    NO_FEEDBACK,
    STATUSES,
    FeedbackFile,
    check_feedback,
    read_feedback,
)
from riskstrat.lists.files import list_manifest, target_list_csv
from riskstrat.lists.phrases import phrase, reasons_text
from riskstrat.lists.teams import (
    FeedbackRules,
    Team,
    Teams,
    TeamsError,
    check_teams_fit,
    load_teams,
)
from riskstrat.lists.workbook import target_list_xlsx

__all__ = [
    "FEEDBACK_COLUMNS",
    "LIST_COLUMNS",
    "NO_FEEDBACK",
    "RULES",
    "STATUSES",
    "FeedbackFile",
    "FeedbackHistory",
    "FeedbackRules",
    "check_feedback",
    "compose_lists",
    "compose_target_list",
    "list_candidates",
    "feedback_exclusions",
    "last_status",
    "read_feedback",
    "Team",
    "Teams",
    "TeamsError",
    "build_target_list",
    "check_teams_fit",
    "eligible_by_rules",
    "in_catchment",
    "list_files",
    "list_manifest",
    "load_teams",
    "phrase",
    "reasons_text",
    "target_list_csv",
    "target_list_xlsx",
]
