"""Planted problems are flagged, on the right subset; clean populations raise no flag."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.fairness import audit_outcomes, audit_selection, follow_up, judge_jointly
from riskstrat.spec import Fairness
from tests.fairness.synthetic import FAIR, population, top


def _flagged(audit, attribute: str, group: str) -> pd.DataFrame:
    flags = audit.flags()
    return flags[(flags["attribute"] == attribute) & (flags["group"] == group)]


def test_doubled_odds_after_training_is_flagged_in_the_not_listed() -> None:
    frame = population(30_000, 2)
    odds = frame["risk"] / (1 - frame["risk"])
    odds = np.where(
        frame["education"] == "basic", 2 * odds, odds
    )  # the world changed for one group
    frame["y"] = (np.random.default_rng(3).random(len(frame)) < odds / (1 + odds)).astype(int)
    frame["listed"] = top(frame, 300)
    audit = follow_up(frame, FAIR, risk="risk", outcome="y", listed="listed")
    basic = _flagged(audit, "education", "basic")
    assert list(basic["subset"]) == ["not_listed"]
    assert "more events than predicted" in basic.iloc[0]["reason"]
    assert set(audit.flags()["subset"]) == {"not_listed"}  # listed and all are reported, not judged
    assert _flagged(audit, "education", "tertiary").empty
    assert not audit.passed
    assert {"not_listed", "listed", "all"} == set(audit.rows["subset"])


def test_clean_populations_with_many_groups_keep_false_flags_under_alpha() -> None:
    """~30 groups, O/E and AUROC tests on each, 20 seeds: with family-wise α = 0.05 about one
    run in 20 may flag anything; 4 or more would happen with probability < 2% if the rule held."""
    runs_with_flags = 0
    for seed in range(20):
        frame = population(4000, 100 + seed, municipalities=20)
        frame["listed"] = top(frame, 100)
        audit = follow_up(frame, FAIR, risk="risk", outcome="y", listed="listed")
        runs_with_flags += not audit.passed
        assert audit.rows["attribute"].nunique() == 5 and len(audit.tests) > 40
    assert runs_with_flags <= 3


def test_clean_selection_against_need_raises_no_flag_over_seeds() -> None:
    runs_with_flags = 0
    for seed in range(20):
        frame = population(4000, 200 + seed, municipalities=20)
        rng = np.random.default_rng(seed)
        frame["need"] = rng.random(len(frame)) < 0.15
        frame["selected"] = rng.random(len(frame)) < np.where(frame["need"], 0.5, 0.05)
        runs_with_flags += not audit_selection(frame, FAIR, selected="selected", need="need").passed
    assert runs_with_flags <= 3


def test_under_selection_against_need_is_flagged() -> None:
    rng = np.random.default_rng(5)
    frame = population(20_000, 5)
    frame["need"] = rng.random(len(frame)) < 0.2
    rural = frame["municipality_code"] == 700
    frame["selected"] = frame["need"] & (rng.random(len(frame)) < np.where(rural, 0.25, 0.6))
    audit = audit_selection(frame, FAIR, selected="selected", need="need")
    flag = _flagged(audit, "municipality_code", "700")
    assert len(flag) == 1 and "under-selected against need" in flag.iloc[0]["reason"]
    assert (
        audit.to_frame()
        .set_index(["attribute", "group"])
        .loc[("municipality_code", "700"), "selection_to_need"]
        < 0.8
    )


def test_a_group_with_need_but_nobody_selected_is_flagged() -> None:
    rng = np.random.default_rng(6)
    frame = population(6000, 6)
    frame["need"] = rng.random(len(frame)) < 0.2
    frame["selected"] = (
        frame["need"] & (frame["municipality_code"] != 703) & (rng.random(len(frame)) < 0.5)
    )
    audit = audit_selection(frame, FAIR, selected="selected", need="need")
    assert len(_flagged(audit, "municipality_code", "703")) == 1


def test_a_group_where_the_model_does_not_discriminate_is_flagged_on_auroc() -> None:
    frame = population(20_000, 7)
    noisy = (frame["age_band"] == "85+").to_numpy()
    shuffled = np.random.default_rng(8).permutation(frame.loc[noisy, "risk"].to_numpy())
    frame.loc[noisy, "risk"] = shuffled  # same risks, no longer related to the outcome
    audit = audit_outcomes(frame, FAIR, risk="risk", outcome="y")
    flag = _flagged(audit, "age_band", "85+")
    assert len(flag) == 1 and "auroc" in flag.iloc[0]["flag_on"]
    assert "expected for this group's case mix" in flag.iloc[0]["reason"]


def test_judging_a_report_jointly_is_holm_over_every_test() -> None:
    rng = np.random.default_rng(9)
    frame = population(20_000, 9)
    frame["need"] = rng.random(len(frame)) < 0.2
    frame["selected"] = frame["need"] & (
        rng.random(len(frame)) < np.where(frame["sex"] == "M", 0.5, 0.4)
    )
    one = audit_selection(frame, FAIR, selected="selected", need="need")
    audits = {
        "top tiers": one,
        "again": audit_selection(frame, FAIR, selected="selected", need="need"),
    }
    joint = judge_jointly(audits)
    m = 2 * len(one.tests)
    assert joint["again"].family == f"all {m} tests in this report"
    p = np.sort(one.tests["p"].to_numpy())
    # the smallest p-value is multiplied by the number of tests in the whole report
    assert joint["top tiers"].tests["p_holm"].min() == min(1.0, m * p[0])
    assert joint["top tiers"].rows["flagged"].sum() <= one.rows["flagged"].sum()


def test_flags_are_judged_only_on_the_flag_subsets() -> None:
    frame = population(8000, 10)
    frame["y"] = np.where(
        frame["sex"] == "F", 1 - frame["y"], frame["y"]
    )  # grossly wrong for women
    audit = audit_outcomes(
        frame,
        Fairness(attributes=["sex"]),
        risk="risk",
        outcome="y",
        subsets={"a": frame.index < 4000, "b": frame.index >= 4000},
        flag_subsets={"b"},
    )
    assert set(audit.flags()["subset"]) == {"b"}
    assert set(audit.tests["subset"]) == {"b"}
