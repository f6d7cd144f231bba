"""The month's feedback monitoring: answers and persons left out per team, small counts
suppressed so that no row sum gives one away."""

from __future__ import annotations

import json

import pandas as pd

from riskstrat.lists import RULES, STATUSES, FeedbackHistory, Teams
from riskstrat.monthly import month_feedback
from tests.lists.frames import team


def _history(n_listed: int, statuses: dict[str, int]) -> FeedbackHistory:
    ids = [f"P{i:05d}" for i in range(n_listed)]
    given = [s for s, n in statuses.items() for _ in range(n)]
    return FeedbackHistory(
        pd.DataFrame({"month": "2025-12", "person_id": ids, "tier": "high"}),
        pd.DataFrame({"month": "2025-12", "person_id": ids[: len(given)], "status": given}),
        frozenset({"2025-12"} if given else set()),
    )


def test_answers_and_left_out_per_team_with_small_counts_suppressed() -> None:
    teams = Teams(teams=[team(), team(name="t2"), team(name="t3")])
    histories = {
        "t1": _history(30, {"contacted": 10, "declined": 3, "enrolled": 7}),
        "t2": _history(25, {}),  # the list did not come back
        "t3": _history(40, {"contacted": 20, "not_relevant": 10}),
    }
    left_out = {
        "t1": pd.DataFrame(
            {
                "person_id": list("abcdefghijklmnopq"),
                "rule": ["cooldown"] * 12 + ["declined"] * 3 + ["known"] * 2,
            }
        ),
        "t3": pd.DataFrame({"person_id": list("abcdefghij"), "rule": ["cooldown"] * 10}),
    }
    files, metrics = month_feedback("2026-01", teams, histories, left_out)
    summary = json.loads(files["feedback/summary.json"])
    assert summary["answers_on"] == "2025-12"
    truth = {
        "t1": {"listed": 30, "answered": 20, "no_feedback": 10, "contacted": 10, "enrolled": 7},
        "t2": {"listed": 25, "answered": 0, "no_feedback": 25},
        "t3": {"listed": 40, "answered": 30, "no_feedback": 10, "contacted": 20},
    }
    truth["t1"]["declined"], truth["t3"]["not_relevant"] = 3, 10
    rules = {"t1": {"cooldown": 12, "declined": 3, "known": 2}, "t3": {"cooldown": 10}}
    for name, facts in summary["teams"].items():
        answers = {
            k: truth[name].get(k, 0) for k in ("listed", "answered", "no_feedback", *STATUSES)
        }
        left = {r: rules.get(name, {}).get(r, 0) for r in RULES}
        left["left_out"] = sum(left.values())
        for part, true in (("answers", answers), ("left_out", left)):
            for key, value in true.items():
                shown = facts[part][key]
                assert shown in (None, value), (name, key)  # shown figures are the counts
                assert not 0 < (shown or 0) < 5, (name, key)
        # no sum with exactly one hidden part: it would give that part away
        for total, parts in (("answered", STATUSES), ("listed", ("answered", "no_feedback"))):
            hidden = [p for p in parts if facts["answers"][p] is None]
            assert len(hidden) != 1 or facts["answers"][total] is None, (name, total)
        hidden = [r for r in RULES if facts["left_out"][r] is None]
        assert len(hidden) != 1 or facts["left_out"]["left_out"] is None, name
    t1, t2 = summary["teams"]["t1"], summary["teams"]["t2"]
    assert t1["answers"]["declined"] is None and t1["left_out"]["known"] is None
    assert t1["left_out"]["declined"] is None
    assert t1["answers"]["answered_share"] == round(20 / 30, 4)
    assert t2["answers"]["answered_share"] == 0.0 and t2["answers"]["no_feedback"] == 25
    assert metrics["feedback.t1.listed"] == 30.0
    assert metrics["feedback.t3.left_out.cooldown"] == 10.0
    assert "feedback.t1.declined" not in metrics and "feedback.t1.left_out.known" not in metrics
    for name, facts in summary["teams"].items():
        for key, value in facts["answers"].items():
            assert metrics.get(f"feedback.{name}.{key}") == (None if value is None else value)
    assert not any(0 < v < 5 for k, v in metrics.items() if not k.endswith("share"))
    report = files["feedback/report.md"].decode()
    assert "| t2 | 25 | 0 | 0% | 25 |" in report and "–" in report
    assert "P000" not in report and "P000" not in json.dumps(metrics)
