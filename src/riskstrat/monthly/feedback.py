"""The month's feedback monitoring, per team: how much of last month's list came back and
with which statuses, and how many eligible persons this month's rules left out, by rule.

Counts only, suppressed by the one rule (`riskstrat.disclosure`): a count of 1 to
min_cell - 1 is hidden, and so is whatever would give it away by subtraction within a
team's row (listed = with a status + no feedback; with a status = the statuses; left out =
the rules). Written as `feedback/report.md` and `feedback/summary.json` and logged to the
month's MLflow run as `feedback.TEAM.*`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd

from riskstrat.dates import earlier_month
from riskstrat.disclosure import MIN_CELL, hidden_in_table
from riskstrat.lists import RULES, STATUSES, FeedbackHistory, Teams

ANSWERS = ["listed", "answered", "no_feedback", *STATUSES]
LEFT_OUT = ["left_out", *RULES]


def month_feedback(
    month: str,
    teams: Teams,
    histories: Mapping[str, FeedbackHistory],
    left_out: Mapping[str, pd.DataFrame],
    min_cell: int = MIN_CELL,
) -> tuple[dict[str, bytes], dict[str, float]]:
    """(files under `feedback/`, MLflow metrics) of `month`: each team's answers on its
    list of the month before (from `histories`) and the persons its rules left out of this
    month's list (`left_out`: person_id, rule per team). Hidden figures are null in the
    files and absent from the metrics."""
    last = earlier_month(month, 1)
    names = [t.name for t in teams.teams]
    answers = pd.DataFrame(
        [_answers(histories.get(n, FeedbackHistory()), last) for n in names],
        index=names,
        columns=ANSWERS,
    )
    rules = pd.DataFrame([_left_out(left_out.get(n)) for n in names], index=names, columns=LEFT_OUT)
    shown_answers = _suppressed(
        answers,
        {**{c: [c] for c in ANSWERS}, "answered_share": ["answered", "listed"]},
        [["listed", "answered", "no_feedback"], ["answered", *STATUSES]],
        min_cell,
    )
    shown_rules = _suppressed(rules, {c: [c] for c in LEFT_OUT}, [LEFT_OUT], min_cell)
    summary = {
        "month": month,
        "answers_on": last,
        "min_cell": min_cell,
        "teams": {n: {"answers": shown_answers[n], "left_out": shown_rules[n]} for n in names},
    }
    metrics: dict[str, float] = {}
    for n in names:
        for key, value in shown_answers[n].items():
            if value is not None:
                metrics[f"feedback.{n}.{key}"] = float(value)
        for key, value in shown_rules[n].items():
            if value is not None:
                suffix = "" if key == "left_out" else f".{key}"
                metrics[f"feedback.{n}.left_out{suffix}"] = float(value)
    files = {
        "feedback/summary.json": (
            json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        ).encode("utf-8"),
        "feedback/report.md": _markdown(summary).encode("utf-8"),
    }
    return files, metrics


def _answers(history: FeedbackHistory, month: str) -> list[int]:
    listed = int((history.listings["month"] == month).sum())
    statuses = history.statuses[history.statuses["month"] == month]["status"]
    counts = [int((statuses == s).sum()) for s in STATUSES]
    return [listed, sum(counts), listed - sum(counts), *counts]


def _left_out(frame: pd.DataFrame | None) -> list[int]:
    rules = frame["rule"] if frame is not None else pd.Series(dtype=object)
    return [len(rules), *(int((rules == r).sum()) for r in RULES)]


def _suppressed(
    cells: pd.DataFrame,
    figures: dict[str, list[str]],
    row_sums: list[list[str]],
    min_cell: int,
) -> dict[str, dict[str, float | None]]:
    """Each team's shown figures (None where hidden); shares as fractions."""
    if cells.empty:
        return {}
    # no total over the teams is published anywhere: an empty block, so no margin is taken
    # as known (the default block would treat the teams' sums as published elsewhere)
    hidden = hidden_in_table(cells, figures, row_sums=row_sums, blocks=[[]], min_cell=min_cell)
    shown: dict[str, dict[str, float | None]] = {}
    for team in cells.index:
        row: dict[str, float | None] = {}
        for figure, needs in figures.items():
            if hidden.at[team, figure]:
                row[figure] = None
            elif len(needs) == 2:
                base = cells.at[team, needs[1]]
                row[figure] = None if base == 0 else round(cells.at[team, needs[0]] / base, 4)
            else:
                row[figure] = int(cells.at[team, needs[0]])
        shown[team] = row
    return shown


def _markdown(summary: dict) -> str:
    def cell(value: float | None, share: bool = False) -> str:
        if value is None:
            return "–"
        return f"{value:.0%}" if share else f"{int(value)}"

    lines = [
        f"# Feedback, {summary['month']}",
        "",
        f"Answers on each team's list of {summary['answers_on']} (no feedback: the list came "
        "back without a status for the person, or not at all; never the same as not "
        f"contacted), and the eligible persons the feedback rules left out of the lists of "
        f"{summary['month']}. Counts of 1 to {summary['min_cell'] - 1} and those that would "
        "give them away are shown as –.",
        "",
        "| team | listed | with a status | share | no feedback | "
        + " | ".join(s.replace("_", " ") for s in STATUSES)
        + " |",
        "|---" * (5 + len(STATUSES)) + "|",
    ]
    for team, facts in summary["teams"].items():
        a = facts["answers"]
        lines.append(
            f"| {team} | {cell(a['listed'])} | {cell(a['answered'])} | "
            f"{cell(a['answered_share'], True)} | {cell(a['no_feedback'])} | "
            + " | ".join(cell(a[s]) for s in STATUSES)
            + " |"
        )
    lines += [
        "",
        "| team | left out | " + " | ".join(r.replace("_", " ") for r in RULES) + " |",
        "|---" * (2 + len(RULES)) + "|",
    ]
    for team, facts in summary["teams"].items():
        r = facts["left_out"]
        lines.append(
            f"| {team} | {cell(r['left_out'])} | " + " | ".join(cell(r[x]) for x in RULES) + " |"
        )
    return "\n".join(lines) + "\n"
