"""The feedback rules: cool-down, known and declined, and what they do to the next lists."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from riskstrat.dates import earlier_month, parse_month
from riskstrat.lists import (
    NO_FEEDBACK,
    STATUSES,
    FeedbackHistory,
    FeedbackRules,
    compose_target_list,
    feedback_exclusions,
)
from tests.lists.frames import NO_OPT_OUTS, people, team

TIERS = ["very_high", "high", "elevated", "low"]


def history(listings: list[tuple], statuses: list[tuple] = ()) -> FeedbackHistory:
    return FeedbackHistory(
        pd.DataFrame(listings, columns=["month", "person_id", "tier"]),
        pd.DataFrame(list(statuses), columns=["month", "person_id", "status"]),
        frozenset(m for m, *_ in statuses),
    )


def excluded(candidates: list[tuple], past: FeedbackHistory, **rules) -> dict[str, str]:
    frame = pd.DataFrame(candidates, columns=["person_id", "tier"])
    out = feedback_exclusions(frame, past, "2026-01", FeedbackRules(**rules), TIERS)
    return dict(zip(out["person_id"], out["rule"], strict=True))


def test_cooldown_keeps_a_listed_person_off_for_n_months_unless_they_move_up_a_tier() -> None:
    past = history(
        [
            ("2025-12", "a", "high"),
            ("2025-10", "b", "high"),  # 3 months ago: the last month of a 3-month cool-down
            ("2025-09", "c", "high"),  # 4 months ago: free again
            ("2025-12", "d", "high"),  # now very high: moved up
            ("2025-12", "e", "very_high"),  # now high: moved down
            ("2025-11", "f", "elevated"),
            ("2025-12", "f", "high"),  # its latest listing's tier counts
        ]
    )
    now = [("a", "high"), ("b", "high"), ("c", "high"), ("d", "very_high"), ("e", "high")]
    now += [("f", "high"), ("g", "high")]
    assert excluded(now, past, cooldown_months=3) == {
        "a": "cooldown",
        "b": "cooldown",
        "e": "cooldown",
        "f": "cooldown",
    }
    assert excluded(now, past, cooldown_months=1) == {
        "a": "cooldown",
        "e": "cooldown",
        "f": "cooldown",
    }
    assert excluded(now, past, cooldown_months=0) == {}


def test_known_and_enrolled_are_left_out_for_known_months() -> None:
    listed = [(m, p, "high") for m, p in [("2025-01", "k"), ("2025-02", "e"), ("2025-12", "n")]]
    past = history(
        listed,
        [
            ("2025-01", "k", "already_known"),
            ("2025-02", "e", "enrolled"),
            ("2025-12", "n", "contacted"),
        ],
    )
    now = [("k", "high"), ("e", "very_high"), ("n", "very_high")]
    # k: 12 months ago, e: 11 months ago; n moved up, and "contacted" sets no rule of its own
    assert excluded(now, past, cooldown_months=0, known_months=12) == {"k": "known", "e": "known"}
    assert excluded(now, past, cooldown_months=0, known_months=11) == {"e": "known"}
    assert excluded(now, past, cooldown_months=0, known_months=0) == {}


def test_declined_is_like_an_opt_out_for_declined_months_and_wins_over_other_rules() -> None:
    past = history(
        [("2025-06", "x", "high"), ("2025-12", "y", "high"), ("2025-12", "z", "high")],
        [
            ("2025-06", "x", "declined"),
            ("2025-12", "y", "declined"),
            ("2025-12", "z", "died_or_moved"),
        ],
    )
    now = [("x", "very_high"), ("y", "very_high"), ("z", "high")]
    assert excluded(now, past, declined_months=7, known_months=1) == {
        "x": "declined",  # moving up a tier does not lift a refusal
        "y": "declined",
        "z": "died_or_moved",
    }
    assert excluded(now, past, declined_months=6, known_months=0, cooldown_months=0) == {
        "y": "declined"
    }


# --- the next month's list, recomputed from the rules' definitions ---------------------


def expected_list(scores, persons, t, month, past_lists, past_statuses) -> list[str]:
    """Who the list of `month` should hold, from the rules as teams.yaml documents them."""
    rules = t.feedback
    as_of = parse_month(month)
    merged = scores.merge(persons, on="person_id")
    age = merged["birth_date"].map(
        lambda b: as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))
    )
    ok = merged["municipality_code"].isin(t.catchment.municipalities) & (
        age >= t.eligibility.min_age
    )
    ranked = merged[ok].sort_values(["risk", "person_id"], ascending=[False, True])
    rank = {tier: i for i, tier in enumerate(TIERS)}
    keep = []
    for pid, tier in zip(ranked["person_id"], ranked["tier"], strict=True):
        left_out = False
        for back in range(1, 25):
            m = earlier_month(month, back)
            status = past_statuses.get((m, pid))
            if status == "declined" and back <= rules.declined_months:
                left_out = True
            if (
                status in ("already_known", "enrolled", "died_or_moved")
                and back <= rules.known_months
            ):
                left_out = True
        last = next(
            (
                past_lists[earlier_month(month, b)].get(pid)
                for b in range(1, rules.cooldown_months + 1)
                if pid in past_lists.get(earlier_month(month, b), {})
            ),
            None,
        )
        if last is not None and not rank[tier] < rank[last]:
            left_out = True
        if not left_out:
            keep.append(pid)
    return keep[: t.capacity]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_next_lists_change_exactly_as_the_rules_say_and_never_exceed_capacity(seed) -> None:
    rng = np.random.default_rng(seed)
    persons, scores = people(600, seed=seed)
    t = team(
        capacity=int(rng.integers(10, 40)),
        feedback={
            "cooldown_months": int(rng.integers(0, 4)),
            "known_months": int(rng.integers(1, 6)),
            "declined_months": int(rng.integers(1, 6)),
        },
    )
    months = ["2025-09", "2025-10", "2025-11", "2025-12", "2026-01"]
    past_lists: dict[str, dict[str, str]] = {}
    past_statuses: dict[tuple[str, str], str] = {}
    listings, statuses = [], []
    for i, month in enumerate(months):
        month_scores = scores.assign(  # risks move a little from month to month
            risk=np.clip(scores["risk"] + rng.normal(0, 0.05, len(scores)), 0, 1)
        )
        month_scores["tier"] = pd.cut(
            month_scores["risk"], [-1, 0.5, 0.8, 0.95, 2], labels=TIERS[::-1]
        ).astype(str)
        past = history(listings, statuses)
        frame, left_out = compose_target_list(
            t, month_scores, persons, NO_OPT_OUTS, parse_month(month), None, past
        )
        want = expected_list(month_scores, persons, t, month, past_lists, past_statuses)
        assert frame["person_id"].tolist() == want, month
        assert len(frame) <= t.capacity
        assert set(left_out["person_id"]).isdisjoint(frame["person_id"])
        for pid, status, when in zip(
            frame["person_id"], frame["last_status"], frame["last_status_month"], strict=True
        ):
            earlier = [m for m in months[:i] if pid in past_lists.get(m, {})]
            if not earlier:
                assert pd.isna(status) and pd.isna(when)
            else:
                assert when == earlier[-1]
                assert status == past_statuses.get((when, pid), NO_FEEDBACK)
        past_lists[month] = dict(zip(frame["person_id"], frame["tier"], strict=True))
        listings += [(month, p, tr) for p, tr in past_lists[month].items()]
        if i % 2 == 0:  # every other list comes back; the others are "no feedback"
            for pid in frame["person_id"]:
                if rng.random() < 0.7:
                    past_statuses[(month, pid)] = str(rng.choice(STATUSES))
                    statuses.append((month, pid, past_statuses[(month, pid)]))


def test_without_history_the_list_is_as_before() -> None:
    persons, scores = people()
    t = team()
    frame, left_out = compose_target_list(t, scores, persons, NO_OPT_OUTS, date(2026, 1, 1))
    assert left_out.empty and len(frame) == t.capacity
    assert frame["last_status"].isna().all()


def test_the_teams_file_takes_feedback_rules_and_refuses_typos(tmp_path) -> None:
    from riskstrat.lists import TeamsError, load_teams

    shipped = {t.name: t.feedback for t in load_teams("teams.yaml").teams}
    assert shipped["randers-trilateral-outreach"] == FeedbackRules(cooldown_months=2)
    assert shipped["randers-geriatric-team"] == FeedbackRules()
    path = tmp_path / "teams.yaml"
    path.write_text(
        "teams:\n  - {name: a, model: m@champion, catchment: {municipalities: [730]}, "
        "capacity: 5, feedback: {cooldown_month: 2, declined_months: -1}}\n"
    )
    with pytest.raises(TeamsError) as caught:
        load_teams(path)
    assert "feedback.cooldown_month: unknown key" in str(caught.value)
    assert "feedback.declined_months" in str(caught.value)
