"""The pooled, sticky, stratified holdout: reproducible, sticky across months and teams,
blocked within team x risk band, the team's capacity kept; and the stepped wedge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.errors import InputError
from riskstrat.evaluation.assignment import assign_month, draw_key
from riskstrat.evaluation.settings import (
    EvaluationError,
    check_settings_fit,
    evaluation_settings,
)
from riskstrat.lists.teams import Catchment, Team, Teams

HOLDOUT = evaluation_settings({"design": "holdout", "holdout_share": 0.2, "seed": 2026})
CAPACITY = {"east": 30, "west": 20}


def candidates(month: int, n: int = 120) -> pd.DataFrame:
    """Each team's ranked candidates of month `month`: a pool that shifts by 25 persons a
    month (so persons recur), with the two teams sharing part of the pool."""
    rows = []
    for team, offset in (("east", 0), ("west", 60)):
        ids = [f"P{offset + 25 * month + i:05d}" for i in range(n)]
        rng = np.random.default_rng(month * 7 + offset)
        order = rng.permutation(n)
        for rank, k in enumerate(order, start=1):
            band = "very_high" if rank <= 20 else "high" if rank <= 60 else "elevated"
            rows.append((ids[k], team, rank, band))
    return pd.DataFrame(rows, columns=["person_id", "team", "rank", "risk_band"])


def run_months(months: list[str], settings=HOLDOUT):
    table, results = None, {}
    for k, month in enumerate(months):
        result = assign_month(candidates(k), table, settings, month, CAPACITY)
        table, results[month] = result.table, result
    return table, results


MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04"]


def test_rerunning_any_past_month_reproduces_every_assignment() -> None:
    final, results = run_months(MONTHS)
    for k, month in enumerate(MONTHS):
        again = assign_month(candidates(k), final, HOLDOUT, month, CAPACITY)
        pd.testing.assert_frame_equal(again.month_arms, results[month].month_arms)
        pd.testing.assert_frame_equal(again.table, results[month].table)
        mine = final[final["month"] <= month].reset_index(drop=True)
        pd.testing.assert_frame_equal(again.table, mine)


def test_row_order_does_not_matter() -> None:
    first = assign_month(candidates(0), None, HOLDOUT, "2025-01", CAPACITY)
    shuffled = candidates(0).sample(frac=1, random_state=3)
    again = assign_month(shuffled, None, HOLDOUT, "2025-01", CAPACITY)
    pd.testing.assert_frame_equal(first.table, again.table)


def test_arms_are_sticky_across_months_and_teams() -> None:
    final, results = run_months(MONTHS)
    arm = dict(zip(final["person_id"], final["arm"], strict=True))
    assert final["person_id"].is_unique
    for result in results.values():
        rows = result.month_arms
        assert (rows["arm"] == rows["person_id"].map(arm)).all()
        assert not rows.loc[rows["arm"] == "holdout", "on_list"].any()
    seen_twice = sum((r.month_arms["new_assignment"] == False).sum() for r in results.values())  # noqa: E712
    assert seen_twice > 50  # the test exercises stickiness, across months and across teams
    both = results["2025-02"].month_arms.groupby("person_id")["team"].nunique()
    assert (both > 1).any()


def test_teams_get_their_capacity_from_the_listed_arm_best_ranked_first() -> None:
    _, results = run_months(MONTHS)
    for result in results.values():
        rows = result.month_arms
        for team, cap in CAPACITY.items():
            mine = rows[rows["team"] == team]
            on = mine[mine["on_list"]]
            assert len(on) == cap
            listed_arm = mine[mine["arm"] == "listed"].sort_values("rank")
            assert on["rank"].max() <= listed_arm["rank"].iloc[cap - 1]
            assert result.listed(team) == listed_arm["person_id"].head(cap).tolist()


def test_blocks_hold_the_share_exactly_within_team_and_band() -> None:
    final, _ = run_months(MONTHS)
    blocks = final.groupby("block")
    sizes, holdouts = blocks.size(), blocks["arm"].apply(lambda a: (a == "holdout").sum())
    full = sizes == 5
    assert full.sum() > 20
    assert (holdouts[full] == 1).all()
    assert (holdouts[~full] <= 1).all()
    # every block lies inside one team x band stratum
    assert (blocks["stratum"].nunique() == 1).all()
    share = (final["arm"] == "holdout").mean()
    assert 0.17 <= share <= 0.23


def test_the_holdout_in_a_block_is_the_smallest_draw_key() -> None:
    final, _ = run_months(MONTHS[:1])
    for block, rows in final.groupby("block"):
        keys = {p: draw_key(2026, "2025-01", p) for p in rows["person_id"]}
        smallest = min(keys, key=keys.__getitem__)
        assert rows.set_index("person_id").at[smallest, "arm"] == "holdout", block


def test_another_seed_gives_other_assignments() -> None:
    other = evaluation_settings({"design": "holdout", "seed": 7})
    a, _ = run_months(MONTHS[:1])
    b, _ = run_months(MONTHS[:1], other)
    merged = a.merge(b, on="person_id")
    assert (merged["arm_x"] != merged["arm_y"]).any()


def test_stepped_wedge_lists_started_teams_and_records_the_comparison() -> None:
    settings = evaluation_settings(
        {
            "design": "stepped_wedge",
            "seed": 1,
            "start_months": {"east": "2025-01", "west": "2025-03"},
        }
    )
    final, results = run_months(MONTHS[:3], settings)
    first = results["2025-01"].month_arms
    assert (first.loc[first["team"] == "east", "on_list"]).all()
    west = first[first["team"] == "west"]
    assert len(west) == 20 and not west["on_list"].any()
    assert (west.loc[west["new_assignment"], "arm"] == "comparison").all()
    third = results["2025-03"].month_arms
    assert third.loc[third["team"] == "west", "on_list"].all()
    assert set(final["arm"]) == {"listed", "comparison"}
    assert final["stratum"].str.startswith("2025-0").all()


def test_settings_are_validated() -> None:
    assert evaluation_settings(None) is None
    assert HOLDOUT is not None and HOLDOUT.block == (1, 5)
    with pytest.raises(EvaluationError, match="holdout_shar: unknown key"):
        evaluation_settings({"design": "holdout", "seed": 1, "holdout_shar": 0.2})
    with pytest.raises(EvaluationError, match="denominator"):
        evaluation_settings({"design": "holdout", "seed": 1, "holdout_share": 0.123})
    with pytest.raises(EvaluationError, match="seed: required"):
        evaluation_settings({"design": "holdout"})
    with pytest.raises(EvaluationError, match="needs start_months"):
        evaluation_settings({"design": "stepped_wedge", "seed": 1})
    with pytest.raises(EvaluationError, match="YYYY-MM"):
        evaluation_settings({"design": "stepped_wedge", "seed": 1, "start_months": {"a": "2025-1"}})
    teams = Teams(
        teams=[
            Team(
                name="east",
                model="m@champion",
                catchment=Catchment(municipalities=[730]),
                capacity=5,
            ),
            Team(
                name="west",
                model="m@champion",
                catchment=Catchment(municipalities=[710, 707]),
                capacity=5,
            ),
        ]
    )
    wedge = evaluation_settings(
        {"design": "stepped_wedge", "seed": 1, "start_months": {"east": "2025-01", 710: "2025-02"}}
    )
    assert wedge is not None
    with pytest.raises(EvaluationError, match="team west has no start month"):
        check_settings_fit(wedge, teams)
    wedge = wedge.model_copy(update={"start_months": {**wedge.start_months, "707": "2025-03"}})
    check_settings_fit(wedge, teams)
    odd = wedge.model_copy(update={"start_months": {**wedge.start_months, "north": "2025-03"}})
    with pytest.raises(EvaluationError, match="'north' is neither"):
        check_settings_fit(odd, teams)


def test_bad_candidates_are_refused() -> None:
    rows = candidates(0)
    with pytest.raises(InputError, match="no capacity"):
        assign_month(rows, None, HOLDOUT, "2025-01", {"east": 3})
    with pytest.raises(InputError, match="same rank"):
        assign_month(
            pd.concat([rows, rows.assign(person_id="X" + rows["person_id"])]),
            None,
            HOLDOUT,
            "2025-01",
            CAPACITY,
        )
    with pytest.raises(InputError, match="YYYY-MM"):
        assign_month(rows, None, HOLDOUT, "2025-1", CAPACITY)
