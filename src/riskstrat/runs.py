"""The monthly output root (interfaces.md, "Monthly output root"): the one place that knows
where a month's files are.

    RUNS/YYYY-MM/scores/<model>/      scores.parquet, manifest.json
    RUNS/YYYY-MM/lists/<team>/        target_list.xlsx, target_list.csv, manifest.json
    RUNS/YYYY-MM/fairness/            report.html, report.md, groups.json
    RUNS/YYYY-MM/follow-up/<model>/   report.html, report.md, groups.json
    RUNS/YYYY-MM/audit.jsonl          one line per publication
    RUNS/feedback/                    teams' answers on their lists (`riskstrat.feedback_store`)

A team saves its filled-in list as `lists/<team>/feedback.xlsx` (or `.csv`) in the month's
folder; a new publication of the month carries that file over (it is the team's, not ours).

The CLI and the Prefect flows both go through `RunsLayout`; library steps return files as
`{relative path: bytes}` (paths relative to the month folder) and never see this layout.
Publishing a month takes its lock (`RUNS/.YYYY-MM.lock` while it lasts), recovers what an
interrupted publish left and keeps the audit history (`riskstrat.publishing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from riskstrat.dates import earlier_month, parse_month
from riskstrat.monthly import FollowUpInput, MonthContext
from riskstrat.publishing import (
    PublishResult,
    listed_for_model,
    publish_month,
    read_list,
    recover_month,
    refuse_inside_month,
)
from riskstrat.scores_io import read_scores
from riskstrat.scoring.population import ModelScoring

SCORES, LISTS, FAIRNESS, FOLLOW_UP, AUDIT = (
    "scores",
    "lists",
    "fairness",
    "follow-up",
    "audit.jsonl",
)
FEEDBACK_FILES = ("feedback.xlsx", "feedback.csv")  # what a team saves beside its list


@dataclass(frozen=True)
class RunsLayout:
    """A monthly output root and the folders of its months; `lock_timeout`: how long a
    publish waits for another publisher of the same month (None: the default, 60 s)."""

    root: Path
    lock_timeout: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def month(self, month: str) -> Path:
        """The folder of one month (`YYYY-MM`)."""
        parse_month(month)
        return self.root / month

    def scores(self, month: str, model: str) -> Path:
        return self.month(month) / SCORES / model

    def lists(self, month: str) -> Path:
        return self.month(month) / LISTS

    def team_list(self, month: str, team: str) -> Path:
        return self.lists(month) / team

    def fairness(self, month: str) -> Path:
        return self.month(month) / FAIRNESS

    def follow_up(self, month: str, model: str) -> Path:
        return self.month(month) / FOLLOW_UP / model

    def audit(self, month: str) -> Path:
        return self.month(month) / AUDIT

    def recover(self, month: str) -> list[str]:
        """What an interrupted publish of `month` left, recovered before the month is read
        (`riskstrat.publishing.recover_month`); one note per finding."""
        return recover_month(self.month(month), self.lock_timeout)

    def previous_lists(self, month: str) -> dict[str, pd.DataFrame | None]:
        """Last month's list of each team that had one (person-level, for `new_this_month`)."""
        self.recover(earlier_month(month, 1))
        folder = self.lists(earlier_month(month, 1))
        if not folder.is_dir():
            return {}
        return {team.name: read_list(team) for team in sorted(folder.iterdir()) if team.is_dir()}

    def earlier_scoring(
        self, month: str, model: str, months_back: int
    ) -> tuple[pd.DataFrame, dict] | None:
        """The scoring of `model` published `months_back` months before `month`, if any."""
        self.recover(earlier_month(month, months_back))
        folder = self.scores(earlier_month(month, months_back), model)
        return read_scores(folder) if folder.is_dir() else None

    def listed(self, month: str, model: str) -> set[str]:
        """Person ids on the lists published in `month` by teams that use `model`."""
        self.recover(month)
        return listed_for_model(self.lists(month), model)

    def publish(
        self,
        month: str,
        files: dict[str, bytes],
        record: dict,
        owned: tuple[str, ...] | None = None,
    ) -> PublishResult:
        """Publish `files` (paths relative to the month folder) as the month, atomically.

        `owned` = None: the files are the whole month (the monthly flow). Otherwise only
        paths under the `owned` prefixes are replaced (e.g. `("lists/",)` for the `lists`
        command) and the month's other files are carried over unchanged. A root inside a
        published month is refused (InputError): months do not nest.
        """
        folder = self.month(month)
        refuse_inside_month(self.root)
        return publish_month(
            folder,
            files,
            {**record, "month": month},
            owned=owned,
            lock_timeout=self.lock_timeout,
            keep=tuple(f"{LISTS}/*/{name}" for name in FEEDBACK_FILES),
        )


def follow_up_inputs(
    layout: RunsLayout,
    ctx: MonthContext,
    scorings: dict[str, ModelScoring],
    workers: int | None = 1,
) -> list[FollowUpInput]:
    """Each model's scoring published one horizon before `ctx.month`, if its horizon has
    passed by the extract date, with the outcomes the extract now shows and the persons
    listed that month. Features with labels are built once per feature setting and date."""
    from riskstrat.dates import add_months
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.scoring.population import feature_key
    from riskstrat.spec import ModelSpec

    inputs = []
    built: dict[tuple, pd.DataFrame] = {}
    for name, scoring in scorings.items():
        horizon = scoring.spec.horizon_months
        back = earlier_month(ctx.month, horizon)
        earlier = layout.earlier_scoring(ctx.month, name, horizon)
        if earlier is None:
            continue
        old, manifest = earlier
        as_of = date.fromisoformat(manifest["as_of"])
        spec = ModelSpec.model_validate(manifest["spec"]) if manifest.get("spec") else scoring.spec
        if add_months(as_of, spec.horizon_months) > ctx.extract_date:
            continue
        key = (feature_key(spec), spec.horizon_months, spec.code_list, as_of)
        if key not in built:
            built[key] = features_for_data_dir(
                ctx.data_dir, ctx.extract_date, spec, [as_of], with_labels=True, workers=workers
            )
        labelled = old[["person_id", "risk"]].merge(built[key], on="person_id")
        inputs.append(
            FollowUpInput(name, back, manifest, spec, as_of, labelled, layout.listed(back, name))
        )
    return inputs
