"""The registered model is refitted on the most recent fully observed dates (issue 15), and
its team lists rank as well as the data allow on planted-truth data.

The planted truth is `tests.training.synthetic`'s "nonlinear" law: every person's event
probability is a known function of their inputs (`truth` below), the same at every index
date. Team lists are built by the real list builder from the registered model's risks on a
later population; each must hold at least 95 % of the expected events (Σ true probability)
of the best list of the same size from the same catchment.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from riskstrat.lists import Team
from riskstrat.lists.build import build_target_list
from riskstrat.training import train_model
from tests.training.synthetic import FEATURES, LABEL, design, feature_frame, small_spec

SCORED_ON = date(2024, 7, 1)
CAPACITIES = {730: 40, 710: 25, 707: 100, 706: 40}


def truth(frame: pd.DataFrame) -> np.ndarray:
    """The "nonlinear" law's event probability (tests.training.synthetic.feature_frame)."""
    hfrs = frame["hfrs_score"].to_numpy()
    home_care = frame["home_care_active"].to_numpy()
    alone = frame["living_alone"].to_numpy()
    band = ((hfrs > 6) & (hfrs < 14)).astype(float)
    logit = -3.2 + 2.4 * band + 2.4 * home_care * alone - 1.2 * home_care * (1 - alone)
    return expit(logit + 0.3 * np.minimum(frame["acute_admissions_12m"].to_numpy(), 3))


@lru_cache(maxsize=1)
def refitted():
    """Evaluated on 2021 dates (validation 2022-07, test 2023-07); refitted on the training
    dates moved forward by the validation-to-test gap (2022-01, 2022-07)."""
    n = 3000
    train, validation, test = design(n)
    refit = pd.concat(
        [feature_frame(n, "2022-01-01", seed=11), feature_frame(n, "2022-07-01", seed=12)],
        ignore_index=True,
    )
    spec = small_spec()
    features = FEATURES + ["education"]
    with_refit = train_model(spec, train, validation, test, features, n_boot=20, refit_train=refit)
    without = train_model(spec, train, validation, test, features, n_boot=20)
    return with_refit, without, test


def test_the_registered_model_is_the_refit_calibrated_on_the_test_date() -> None:
    result, evaluated, test = refitted()
    dates = result.bundle.index_dates
    assert dates["refit_train"] == ["2022-01-01", "2022-07-01"]
    assert dates["refit_calibration"] == "2023-07-01"
    assert result.metrics["refit_rounds"] == evaluated.metrics["best_iteration"]
    assert result.metrics["n_refit_train"] == 6000
    # the refit is another booster; the evaluated model's test figures are kept as they are
    assert result.bundle.booster.model_to_string() != evaluated.bundle.booster.model_to_string()
    assert result.metrics["test_auroc"] == evaluated.metrics["test_auroc"]
    # calibrated on the test date: its mean risk there matches the events there
    risk = result.bundle.predict_risk(test)
    assert abs(risk.mean() - test[LABEL].astype(float).mean()) < 0.01
    card = result.model_card
    assert "## Registered model and its backtest" in card
    assert "refitted on 2022-01-01, 2022-07-01" in card
    assert "## Calibration at the top (test date)" in card


def test_calibration_at_the_top_is_observed_against_expected_with_intervals() -> None:
    result, _, test = refitted()
    table = result.tables["calibration_top.csv"]
    assert list(table["band"]) == ["top 1 %", "1-5 %", "5-20 %"]
    risk = result.test_scores["risk"].to_numpy()
    y = result.test_scores["y"].to_numpy()
    order = np.lexsort((result.test_scores["person_id"].astype(str).to_numpy(), -risk))
    top = order[: round(0.01 * len(order))]
    assert table.loc[0, "persons"] == len(top)
    assert table.loc[0, "events"] == y[top].sum()
    assert table.loc[0, "expected"] == pytest.approx(risk[top].sum())
    assert table.loc[1, "oe_ci_low"] < table.loc[1, "oe_ratio"] < table.loc[1, "oe_ci_high"]
    assert result.metrics["test_top_5_20pct_oe_ratio"] == pytest.approx(table.loc[2, "oe_ratio"])


def _team(code: int, capacity: int) -> Team:
    return Team.model_validate(
        {
            "name": f"team-{code}",
            "model": "avoidable_admission@champion",
            "catchment": {"municipalities": [code]},
            "capacity": capacity,
            "eligibility": {"min_age": 65},
        }
    )


def _lists_against_the_best(bundle) -> dict[int, float]:
    """Per team: expected events of its list / expected events of the best list of its size
    from its catchment (true probabilities, on a population the model never saw)."""
    people = feature_frame(6000, SCORED_ON.isoformat(), seed=99)
    people["p_true"] = truth(people)
    risk = bundle.predict_risk(people)
    scores = pd.DataFrame(
        {
            "person_id": people["person_id"].astype(str),
            "risk": risk,
            "tier": bundle.segments.tier(risk),
            "segment": "largely_healthy",
            "reason_1": None,
            "reason_2": None,
            "reason_3": None,
        }
    )
    persons = pd.DataFrame(
        {
            "person_id": people["person_id"].astype(str),
            "birth_date": pd.Timestamp("1940-01-01"),
            "sex": people["sex"],
            "municipality_code": people["municipality_code"],
            "gp_clinic_id": "730001",
            "death_date": pd.Series([pd.NaT] * len(people), dtype="datetime64[s]"),
            "emigration_date": pd.Series([pd.NaT] * len(people), dtype="datetime64[s]"),
        }
    )
    p = people.set_index("person_id")["p_true"]
    ratios = {}
    for code, capacity in CAPACITIES.items():
        listed = build_target_list(_team(code, capacity), scores, persons, None, SCORED_ON)
        assert len(listed) == capacity
        best = p[people["municipality_code"].to_numpy() == code].nlargest(capacity).sum()
        ratios[code] = float(p[listed["person_id"]].sum() / best)
    return ratios


def test_every_team_list_holds_95_percent_of_the_best_lists_expected_events() -> None:
    result, evaluated, _ = refitted()
    ratios = _lists_against_the_best(result.bundle)
    print("registered (refit):", ratios, "evaluated:", _lists_against_the_best(evaluated.bundle))
    assert min(ratios.values()) >= 0.95, ratios


def test_a_champion_that_saw_the_test_outcomes_is_compared_beside_the_challengers_refit() -> None:
    from riskstrat.experiment import Champion, compare_with_champion

    result, evaluated, _ = refitted()
    # the registered refit was calibrated on the test date: as a champion it has seen it
    saw = compare_with_champion(result, Champion("1", result.bundle))
    assert saw.tags == {"champion_version_compared": "1", "champion_saw_test_outcomes": "true"}
    assert saw.metrics["registered_test_auroc"] == pytest.approx(saw.metrics["champion_test_auroc"])
    # the evaluated model was calibrated on the validation date: compared as before
    fair = compare_with_champion(result, Champion("1", evaluated.bundle))
    assert fair.tags == {"champion_version_compared": "1"}
    assert "registered_test_auroc" not in fair.metrics
    assert fair.metrics["champion_test_auroc"] == pytest.approx(result.metrics["test_auroc"])
