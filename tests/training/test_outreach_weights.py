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
