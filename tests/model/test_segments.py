"""Segment schemes: tier cut-points from the validation population and needs rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskstrat.errors import InputError
from riskstrat.model import SegmentScheme, evaluate_rule
from tests.training.synthetic import small_spec


def _scheme(risk):
    return SegmentScheme.fit(small_spec().segments, risk)


def test_cut_points_split_a_population_into_1_4_15_80_percent():
    risk = np.random.default_rng(1).beta(1, 12, 5000)
    tiers = pd.Series(_scheme(risk).tier(risk)).value_counts()
    assert tiers.to_dict() == {"low": 4000, "elevated": 750, "high": 200, "very_high": 50}


def test_tiers_of_a_new_population_follow_the_fixed_cut_points():
    scheme = _scheme(np.random.default_rng(1).beta(1, 12, 5000))
    new = np.random.default_rng(2).beta(1, 6, 3000)  # a sicker population, scored later
    very_high, high, elevated = scheme.cut_points
    expected = np.where(
        new >= very_high,
        "very_high",
        np.where(new >= high, "high", np.where(new >= elevated, "elevated", "low")),
    )
    assert list(scheme.tier(new)) == list(expected)
    assert (scheme.tier(new) == "very_high").mean() > 0.02  # not re-ranked to 1 %


def test_scheme_round_trips_through_json():
    scheme = _scheme(np.random.default_rng(1).random(1000))
    assert SegmentScheme.from_dict(json.loads(json.dumps(scheme.to_dict()))) == scheme


def test_needs_rules_first_match_wins_and_missing_matches_nothing():
    frame = pd.DataFrame(
        {
            "nursing_home": [1, 0, 0, 0, 0, 1],
            "home_care_active": [1, 1, 0, 0, 0, 0],
            "n_chronic_conditions": pd.array([3, 3, 3, 1, 0, None], dtype="Int64"),
        }
    )
    segments = _scheme(np.linspace(0, 1, 100)).segment(frame)
    assert list(segments) == [
        "nursing_home",
        "frail_home_care",
        "multimorbid",
        "single_chronic",
        "largely_healthy",
        "nursing_home",
    ]
    no_home = frame.assign(nursing_home=0)
    assert _scheme(np.linspace(0, 1, 100)).segment(no_home)[-1] == "other"


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("a >= 2 and not b == 1", [False, False, True, False]),
        ("a < 1 or b == 1", [True, True, False, True]),
        ("1 <= a < 3", [False, True, True, False]),
        ("edu == 'basic'", [True, False, False, True]),
        ("a != 2", [True, True, False, False]),  # missing a is not "different from 2"
    ],
)
def test_rules_evaluate_like_python_on_each_row(rule, expected):
    frame = pd.DataFrame(
        {
            "a": [0.0, 1.0, 2.0, np.nan],
            "b": [0, 1, 0, 1],
            "edu": pd.Categorical(
                ["basic", "higher", None, "basic"], categories=["basic", "higher"]
            ),
        }
    )
    assert list(evaluate_rule(rule, frame)) == expected


def test_unsafe_or_unknown_rules_are_refused():
    frame = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(ValueError, match=r"may only compare features .*\(found Call\)"):
        evaluate_rule("__import__('os').system('true')", frame)
    data = _scheme(np.linspace(0, 1, 100)).to_dict()
    data["needs"][0]["when"] = "a + 1 > 2"
    with pytest.raises(ValueError, match=r"may only compare features .*\(found BinOp\)"):
        SegmentScheme.from_dict(data)
    with pytest.raises(InputError, match="nursing_home"):
        _scheme(np.linspace(0, 1, 100)).segment(frame)
