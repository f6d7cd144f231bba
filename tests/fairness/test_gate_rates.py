"""The fairness gates' false-flag and detection rates, a small version of
`benchmarks/gate_rates.py` (issue 15): the training audit, the monthly gate and the
follow-up together, on the project's synthetic population with outcomes from a known law.
The benchmark runs 20 seeds per scenario on a larger population; this runs a few."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from benchmarks import gate_rates


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return gate_rates.population(tmp_path_factory.mktemp("gates") / "data", 30_000)


def test_a_sound_model_raises_no_flag_in_any_gate(base: pd.DataFrame) -> None:
    assert gate_rates.rates(base, range(3), "sound")["any"] == 0


def test_odds_that_double_after_training_are_flagged_in_the_planted_group(
    base: pd.DataFrame,
) -> None:
    # 7,000 persons 65+ here, against 54,000 in the benchmark: the planted group is found
    # in about 6 runs of 10 at this size (8 seeds measured on 2026-12-05: 0.625), so half
    # of four runs is asked; the 90 % detection and "only it" are the benchmark's (README)
    found = gate_rates.rates(base, range(4), "odds_double")
    assert found["planted"] >= 0.5, found


def test_the_planted_group_is_the_municipality_and_what_holds_only_it(base: pd.DataFrame) -> None:
    spec = gate_rates.load_spec(Path("models/avoidable_admission.yaml"))
    related = gate_rates.planted_related(base, spec.fairness)
    assert ("municipality_code", gate_rates.PLANTED) in related
    assert ("overall", "all") not in related  # a flag on everyone is a wrong flag
    assert ("sex", "F") not in related
