"""End to end in the synthetic world: lists with a holdout, the teams' feedback, a year
played with and without a planted 20 % reduction of contacted persons' avoidable-admission
hazard, and the follow-up's estimate. 30,000 persons (about 7,000 aged 65+, all of them
randomised): the smallest world whose interval is narrow enough to tell 0.8 from 1 most of
the time (benchmarks/simulations/outreach_world.py repeats it over seeds)."""

from __future__ import annotations

import pytest

from tests.evaluation.world import build_world, follow_up, ratio

PLANTED = 0.2


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    return root, build_world(root, 30_000, seed=11)


def test_holdout_balances_baseline_covariates_within_strata(world) -> None:
    root, w = world
    shares = w.assignments["arm"].value_counts(normalize=True)
    assert shares["holdout"] == pytest.approx(0.2, abs=0.01)
    ev, _ = follow_up(w, root, 0.0, "none")
    assert (ev.balance["smd_within"].abs() < 0.1).all(), ev.balance
    # with no effect the interval covers no change, and the sentence says so
    r = ratio(ev)
    assert r["ci_low"] < 1 < r["ci_high"]
    assert ev.sentence.startswith("No evidence of an effect on avoidable admissions so far")


def test_a_planted_reduction_is_covered_by_the_interval(world) -> None:
    root, w = world
    ev, prevented = follow_up(w, root, PLANTED, "effect")
    assert prevented > 20
    r = ratio(ev)
    # every listed person is contacted: the intention-to-treat ratio is 1 - 0.2
    assert r["ci_low"] < 1 - PLANTED < r["ci_high"]
    assert r["ci_high"] / r["ci_low"] < 2.0  # an interval that could have missed it
    contacted = ev.complier[ev.complier["outcome"] == "avoidable_admission"].iloc[0]
    assert contacted["contact_listed"] == pytest.approx(1.0)
    assert contacted["contact_holdout"] == 0
