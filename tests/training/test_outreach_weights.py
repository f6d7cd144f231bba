"""Training weights for rows exposed to outreach: the safe default leaves out the listed
arm's rows whose label window overlaps their listing and weights the holdout to stand in."""

from __future__ import annotations

import typing
from datetime import date

import numpy as np
import pandas as pd

from riskstrat.spec import ModelSpec
from riskstrat.training.outreach import (
    SAFE_DEFAULT,
    OutreachPolicy,
    model_card_line,
    outreach_weights,
)

EXPOSURES = pd.DataFrame(
    {
        "person_id": ["L1", "L2", "L3", "L4", "H1"],
        "arm": ["listed", "listed", "listed", "listed", "holdout"],
        "month": ["2025-01"] * 5,
        "stratum": ["t|high"] * 5,
    }
)
ROWS = pd.DataFrame(
    {
        "person_id": ["L1", "L1", "H1", "H1", "N1"],
        # L1 at 2023-06 (window ends 2024-06, before the listing) and 2024-06 (overlaps)
        "index_date": [
            date(2023, 6, 1),
            date(2024, 6, 1),
            date(2023, 6, 1),
            date(2024, 6, 1),
            date(2024, 6, 1),
        ],
    }
)


def test_policies() -> None:
    assert outreach_weights(ROWS, EXPOSURES, "ignore", 12).tolist() == [1, 1, 1, 1, 1]
    assert outreach_weights(ROWS, EXPOSURES, "exclude_exposed", 12).tolist() == [1, 0, 1, 1, 1]
    # 5 candidates, 1 held out: the holdout's overlapping row stands in for 5
    assert outreach_weights(ROWS, EXPOSURES, "reweight_holdout", 12).tolist() == [1, 0, 1, 5, 1]
    # a window that ends exactly when the listing starts is not exposed
    edge = pd.DataFrame({"person_id": ["L1"], "index_date": [date(2024, 1, 1)]})
    assert outreach_weights(edge, EXPOSURES, "exclude_exposed", 12).tolist() == [1]
    assert np.all(outreach_weights(ROWS, None, SAFE_DEFAULT, 12) == 1)


def test_the_spec_chooses_the_safe_default_and_the_card_says_so() -> None:
    field = ModelSpec.model_fields["outreach"]
    assert field.default == SAFE_DEFAULT == "reweight_holdout"
    assert typing.get_args(field.annotation) == typing.get_args(OutreachPolicy)
    assert "without outreach" in model_card_line(SAFE_DEFAULT)
    assert "too low" in model_card_line("ignore")


def _runs_with_assignments(root, listed: list[str], held: list[str]):
    from riskstrat.evaluation.assignment import ASSIGNMENT_COLUMNS
    from riskstrat.evaluation_store import assignments_path
    from riskstrat.io import write_parquet_atomic

    ids = listed + held
    table = pd.DataFrame(
        {
            "person_id": ids,
            "arm": ["listed"] * len(listed) + ["holdout"] * len(held),
            "month": "2021-06",
            "team": "t",
            "risk_band": "high",
            "stratum": "t|high",
            "block": None,
            "design": "holdout",
            "seed": 1,
            "draw": 0,
        }
    )
    write_parquet_atomic(table[ASSIGNMENT_COLUMNS], assignments_path(root))
    return root


def test_training_with_a_runs_folder_applies_the_spec_choice_and_the_card_says_so(tmp_path):
    from riskstrat.experiment import ExperimentData, with_outreach, with_outreach_card
    from riskstrat.training import train_model
    from riskstrat.training.outreach import WEIGHT_COLUMN
    from tests.training.synthetic import FEATURES, design, small_spec

    train, validation, test = design(1500)
    spec = small_spec()
    january = train[train["index_date"] == pd.Timestamp("2021-01-01")]["person_id"].tolist()
    listed, held = january[:200], january[200:250]  # 250 candidates, 50 held out: weight 5
    runs = _runs_with_assignments(tmp_path / "runs", listed, held)
    data = ExperimentData(None, None, train, validation, test)  # type: ignore[arg-type]

    assert with_outreach(spec, data, None) is data  # no runs folder: nothing changes
    assert with_outreach(spec, data, tmp_path / "empty") is data  # no assignments either
    safe = with_outreach(spec, data, runs)
    assert safe.outreach == {"outreach_rows_left_out": 200, "outreach_rows_reweighted": 50}
    assert len(safe.train) == len(train) - 200 and not set(listed) & set(safe.train["person_id"])
    weights = safe.train.set_index("person_id")[WEIGHT_COLUMN]
    assert (weights.loc[held] == 5.0).all() and weights.drop(held).eq(1.0).all()
    excluded = with_outreach(small_spec(outreach="exclude_exposed"), data, runs)
    assert excluded.outreach == {"outreach_rows_left_out": 200, "outreach_rows_reweighted": 0}
    assert WEIGHT_COLUMN not in excluded.train.columns

    features = FEATURES + ["education"]
    result = train_model(spec, safe.train, validation, test, features, n_boot=10)
    assert result.metrics["n_train"] == len(train) - 200
    card = with_outreach_card(spec, result, safe.outreach).model_card
    assert "`outreach: reweight_holdout`" in card and "without outreach" in card
    assert "Training rows left out: 200; reweighted (the holdout standing in): 50." in card
    plain = with_outreach_card(spec, result, None)
    assert "No outreach recorded" in plain.model_card
    assert "outreach_rows_left_out" not in plain.metrics
