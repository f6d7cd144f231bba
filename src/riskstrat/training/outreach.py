"""Retraining that is not fooled by the outreach it caused.

Once teams act on the lists, listed persons' outcomes change: a model retrained on them
learns that the persons it ranked highest are at lower risk than they are, and the next
lists miss them (Liley et al., arXiv 2010.11530 and 2202.06374). The spec's `outreach`
key chooses what training does with rows whose label window overlaps outreach:

- `reweight_holdout` (the default, the safe choice): rows of persons exposed to outreach
  (in the listed arm from a month before their label window ends) are left out, and the
  holdout's rows from the month they entered the evaluation stand in for them, each
  weighted by its stratum's candidates over its holdouts (5 at a 20 % holdout), so the
  candidates keep their weight in the training population;
- `exclude_exposed`: exposed rows are left out, nothing reweighted;
- `ignore`: every row counts as observed (naive; only for comparison).

Rows of persons never listed count as they are. Without a holdout (no evaluation running)
the safe choices train on the persons never listed; the top of the risk range is then
learned from persons like them before they were listed (earlier index dates).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from riskstrat.dates import add_months, parse_month
from riskstrat.disclosure import MIN_CELL, log_count
from riskstrat.errors import InputError

OutreachPolicy = Literal["reweight_holdout", "exclude_exposed", "ignore"]
SAFE_DEFAULT: OutreachPolicy = "reweight_holdout"
CARD_LINES = {
    "reweight_holdout": (
        "Training left out persons exposed to outreach during their label window and "
        "weighted the randomised holdout to stand in for them, so the risks are those "
        "without outreach."
    ),
    "exclude_exposed": (
        "Training left out persons exposed to outreach during their label window (no "
        "reweighting): the risks are those without outreach."
    ),
    "ignore": (
        "Training counted persons exposed to outreach as observed: where outreach worked, "
        "these risks are too low for the persons the lists reach."
    ),
}


def outreach_weights(
    rows: pd.DataFrame,
    exposures: pd.DataFrame | None,
    policy: OutreachPolicy,
    horizon_months: int,
) -> np.ndarray:
    """A training weight per row of `rows` (person_id, index_date): 0 leaves the row out.

    `exposures` is the evaluation's assignment table (person_id, arm, month of first
    assignment, stratum), or any table of listed persons with arm `listed` and the month
    they were first listed; None: nobody was ever listed (every weight 1). A row is exposed
    when its person is in the listed arm from a month before its label window
    [index_date, index_date + horizon) ends."""
    weights = np.ones(len(rows))
    if policy == "ignore" or exposures is None or not len(exposures):
        return weights
    missing = [c for c in ("person_id", "arm", "month") if c not in exposures.columns]
    if missing:
        raise InputError(f"the exposures lack the column(s) {', '.join(missing)}")
    table = exposures.drop_duplicates("person_id").set_index("person_id")
    first = pd.Series(
        [parse_month(str(m)) for m in table["month"]], index=table.index, dtype="object"
    )
    person = rows["person_id"].astype(str)
    window_end = [add_months(pd.Timestamp(d).date(), horizon_months) for d in rows["index_date"]]
    since = person.map(first)
    arm = person.map(table["arm"])
    during = np.array(
        [
            s is not None and not pd.isna(s) and s < end
            for s, end in zip(since, window_end, strict=True)
        ]
    )
    weights[(arm == "listed").to_numpy() & during] = 0.0
    if policy == "reweight_holdout" and "stratum" in table.columns:
        per_stratum = table.groupby("stratum")["arm"].agg(
            lambda a: len(a) / max(1, int((a == "holdout").sum()))
        )
        stand_in = (arm == "holdout").to_numpy() & during
        factor = person.map(table["stratum"]).map(per_stratum).to_numpy(dtype=float)
        weights[stand_in] = factor[stand_in]
    return weights


def model_card_line(policy: OutreachPolicy) -> str:
    """The model card's sentence on how training treated persons exposed to outreach."""
    return CARD_LINES[policy]


WEIGHT_COLUMN = "outreach_weight"
NO_OUTREACH = "No outreach recorded: every training row counts as observed."


def training_weights(rows: pd.DataFrame) -> np.ndarray | None:
    """The rows' outreach weights (`WEIGHT_COLUMN`, set by `apply_outreach`; None: all 1)."""
    if WEIGHT_COLUMN not in rows.columns:
        return None
    return rows[WEIGHT_COLUMN].to_numpy(dtype=float)


def apply_outreach(
    rows: pd.DataFrame,
    exposures: pd.DataFrame | None,
    policy: OutreachPolicy,
    horizon_months: int,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the training rows without those left out, with `WEIGHT_COLUMN` when any row is
    reweighted; counts `outreach_rows_left_out`, `outreach_rows_reweighted`). Aggregates
    only in the counts."""
    weights = outreach_weights(rows[["person_id", "index_date"]], exposures, policy, horizon_months)
    counts = {
        "outreach_rows_left_out": int((weights == 0).sum()),
        "outreach_rows_reweighted": int((weights > 1).sum()),
    }
    kept = rows.loc[weights > 0].reset_index(drop=True)
    if counts["outreach_rows_reweighted"]:
        kept[WEIGHT_COLUMN] = weights[weights > 0]
    return kept, counts


def outreach_section(
    policy: OutreachPolicy, counts: dict[str, int] | None, min_cell: int = MIN_CELL
) -> str:
    """The model card's section on outreach: the spec's choice and how many training rows it
    left out or reweighted (aggregates; 1 to `min_cell - 1` shown as "<min_cell"), or that
    no outreach was recorded (`counts` None: no runs folder or no assignments)."""
    lines = ["## Outreach in the training data", "", f"Spec choice `outreach: {policy}`."]
    if counts is None:
        lines.append(NO_OUTREACH)
    else:
        lines.append(model_card_line(policy))
        lines.append(
            f"Training rows left out: {log_count(counts['outreach_rows_left_out'], min_cell)}; "
            "reweighted (the holdout standing in): "
            f"{log_count(counts['outreach_rows_reweighted'], min_cell)}."
        )
    return "\n".join(lines) + "\n"
