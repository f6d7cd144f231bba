"""The randomised evaluation's assignments, kept in the runs folder (interfaces.md,
"Evaluation"), and what its follow-up reads.

    RUNS/evaluation/assignments.parquet   one row per person ever assigned (ASSIGNMENT_COLUMNS)

The table only grows, one month at a time, under its lock, written atomically. Storing a
month that is stored already changes nothing when the month's assignments are the same
(re-running a month reproduces them: `assign_month` sees only earlier months' rows), and is
refused (InputError, nothing stored) when they differ: the data or the settings changed
under a running trial. Person-level: the table stays in the runs folder beside the lists;
only aggregates leave it (the report, MLflow).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from riskstrat.dates import add_months, parse_month
from riskstrat.disclosure import log_count
from riskstrat.errors import InputError
from riskstrat.evaluation.assignment import (
    ASSIGNMENT_COLUMNS,
    MonthAssignment,
    empty_assignments,
    with_draw,
)
from riskstrat.io import write_parquet_atomic
from riskstrat.monthly.context import MonthContext
from riskstrat.publishing import month_lock
from riskstrat.runs import RunsLayout

log = logging.getLogger(__name__)
FOLDER, TABLE = "evaluation", "assignments.parquet"
# a month's assignment is the same when every column agrees for every person
SAME = ASSIGNMENT_COLUMNS


@dataclass(frozen=True)
class StoredMonth:
    """What storing a month did: persons assigned that month, whether nothing changed."""

    month: str
    persons: int
    unchanged: bool


def assignments_path(root: str | Path) -> Path:
    """`RUNS/evaluation/assignments.parquet`."""
    return Path(root) / FOLDER / TABLE


def read_assignments(root: str | Path) -> pd.DataFrame:
    """Every stored assignment (an empty table when the evaluation has not started); a
    table written before the `draw` column existed reads as draw 0 throughout."""
    path = assignments_path(root)
    if not path.is_file():
        return empty_assignments()
    frame = with_draw(pd.read_parquet(path))
    return frame[ASSIGNMENT_COLUMNS].astype({"seed": "int64", "draw": "int64"})


def store_month(root: str | Path, month: str, assignment: MonthAssignment) -> StoredMonth:
    """Append `month`'s new assignments to the table under its lock, unless they are there."""
    folder = Path(root) / FOLDER
    new = _month_rows(assignment.table, month)
    with month_lock(folder):
        stored = read_assignments(root)
        before = _month_rows(stored, month)
        if len(before):
            if not _same(before, new):
                raise InputError(
                    f"the evaluation's assignments of {month} differ from those stored in "
                    f"{assignments_path(root)} ({log_count(_differing(before, new))} persons): the data or "
                    "the evaluation settings changed since the month was first run; nothing "
                    "was stored or published"
                )
            return StoredMonth(month, len(new), True)
        later = sorted(set(stored["month"].astype(str)) - {month})
        later = [m for m in later if m > month]
        if later:
            raise InputError(
                f"the evaluation has assignments of later months ({', '.join(later)}) but none "
                f"of {month}: months are assigned in calendar order; nothing was stored"
            )
        table = pd.concat([stored, new], ignore_index=True) if len(stored) else new
        write_parquet_atomic(table[ASSIGNMENT_COLUMNS].reset_index(drop=True), folder / TABLE)
    log.info("evaluation: assignments of %s stored", month)
    return StoredMonth(month, len(new), False)


def due_assignments(
    root: str | Path, as_of: date, extract_date: date, horizon: int
) -> pd.DataFrame:
    """The stored assignments whose follow-up horizon has passed by `as_of` and whose
    outcomes the extract covers (first month + `horizon` months on or before both)."""
    table = read_assignments(root)
    ends = [add_months(parse_month(str(m)), horizon) for m in table["month"]]
    due = [end <= as_of and end <= extract_date for end in ends]
    return table[pd.Series(due, index=table.index, dtype=bool)].reset_index(drop=True)


def feedback_statuses(layout: RunsLayout, teams: list[str], months: list[str]) -> pd.DataFrame:
    """Every team's current statuses (month, person_id, status) on its lists of `months`."""
    from riskstrat.feedback_store import current_statuses

    frames = [current_statuses(layout.root, team, months)[0] for team in teams]
    frames = [f[["month", "person_id", "status"]] for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in ("month", "person_id", "status")})
    return pd.concat(frames, ignore_index=True)


def _risk_at_assignment(
    layout: RunsLayout, due: pd.DataFrame, teams: dict[str, str]
) -> pd.DataFrame:
    """person_id, risk: each person's risk on their team's model in their first month (the
    stratifying score: blocks are consecutive in its order, so it balances closely)."""
    from riskstrat.scores_io import read_scores

    found = []
    for (month, team), rows in due.groupby(["month", "team"]):
        folder = layout.scores(str(month), teams.get(str(team), ""))
        if not teams.get(str(team)) or not folder.is_dir():
            continue
        scores = read_scores(folder)[0][["person_id", "risk"]]
        scores = scores.assign(person_id=scores["person_id"].astype(str))
        found.append(scores[scores["person_id"].isin(set(rows["person_id"].astype(str)))])
    if not found:
        return pd.DataFrame({"person_id": pd.Series(dtype=str), "risk": pd.Series(dtype=float)})
    return pd.concat(found, ignore_index=True).drop_duplicates("person_id")


def _month_rows(table: pd.DataFrame, month: str) -> pd.DataFrame:
    rows = with_draw(table[table["month"].astype(str) == month])
    return (
        rows[ASSIGNMENT_COLUMNS].astype({"seed": "int64", "draw": "int64"}).reset_index(drop=True)
    )


def _keys(frame: pd.DataFrame) -> set[tuple]:
    return set(frame[SAME].astype(str).itertuples(index=False, name=None))


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return _keys(a) == _keys(b)


def _differing(a: pd.DataFrame, b: pd.DataFrame) -> int:
    return len({k[0] for k in _keys(a) ^ _keys(b)})


@dataclass(frozen=True)
class EvaluationInput:
    """A follow-up of the evaluation (person-level): one row per randomised person whose
    horizon has passed (`riskstrat.evaluation.outcomes.follow_up_frame`), the months it
    covers and the horizon."""

    follow_up: pd.DataFrame
    months: list[str]
    horizon: int


def evaluation_input(
    layout: RunsLayout,
    ctx: MonthContext,
    scorings: Mapping[str, Any],
    teams: dict[str, str],
    workers: int | None = 1,
) -> EvaluationInput | None:
    """The follow-up of every stored assignment whose horizon has passed by `ctx.as_of`
    and the extract date (None if there is none). `scorings`: model name → its scoring
    (anything with the model's `spec`). Labels and baseline features at each
    randomisation month (built with the spec of the avoidable-admission model, else the
    first scoring's), the risk each person had on their team's model that month (the
    published scores), acute admissions and days in hospital from the hospital contacts,
    contact status from the teams' feedback. `teams`: team name → model name."""
    from riskstrat.contract.reader import read_table
    from riskstrat.evaluation.outcomes import entries_of, window_outcomes
    from riskstrat.monthly.evaluation import contacted_persons, evaluation_follow_up
    from riskstrat.partitions import features_for_data_dir

    if not scorings:
        return None
    specs = [s.spec for s in scorings.values()]
    spec = next((s for s in specs if s.label_column == "y_avoidable_admission"), specs[0])
    horizon = spec.horizon_months
    due = due_assignments(layout.root, ctx.as_of, ctx.extract_date, horizon)
    if not len(due):
        return None
    months = sorted(set(due["month"].astype(str)))
    labels = features_for_data_dir(
        ctx.data_dir,
        ctx.extract_date,
        spec,
        [parse_month(m) for m in months],
        with_labels=True,
        workers=workers,
    )
    labels = labels.assign(person_id=labels["person_id"].astype(str))
    labels = labels[labels["person_id"].isin(set(due["person_id"].astype(str)))]
    hospital = read_table(ctx.data_dir, "hospital_contacts", ctx.extract_date)
    window = window_outcomes(entries_of(due), hospital, horizon)
    span = sorted(
        {add_months(parse_month(m), k).strftime("%Y-%m") for m in months for k in range(horizon)}
    )
    statuses = feedback_statuses(layout, list(teams), span)
    contacted = contacted_persons(statuses, due, horizon)
    labels = labels.merge(_risk_at_assignment(layout, due, teams), on="person_id", how="left")
    frame = evaluation_follow_up(due, labels, window, contacted)
    return EvaluationInput(frame, months, horizon) if len(frame) else None
