"""The feature tables a training run accepts: labelled rows, and an out-of-time design."""

from __future__ import annotations

import pandas as pd

from riskstrat.dates import add_months
from riskstrat.errors import InputError


def labelled_rows(
    frame: pd.DataFrame, label: str, feature_names: list[str], part: str
) -> tuple[pd.DataFrame, int]:
    """The rows whose label is known, and how many were dropped for an unknown label.

    A null label means the person's window was not fully observed: such rows are never used
    to train or evaluate. InputError if a needed column is missing or a label is not 0/1.
    """
    needed = ["person_id", "index_date", label, *feature_names]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"the {part} feature table lacks the columns {', '.join(missing)}")
    known = frame[label].notna().to_numpy()
    rows = frame if known.all() else frame.loc[known].reset_index(drop=True)  # no copy if all known
    values = set(pd.unique(rows[label].astype("int64")))
    if not values <= {0, 1}:
        raise InputError(
            f"the {part} label {label} holds values other than 0 and 1: {sorted(values)}"
        )
    if len(values) < 2:
        raise InputError(
            f"the {part} rows need both outcomes; {label} is always {values or 'null'}"
        )
    return rows, int((~known).sum())


def check_out_of_time(parts: dict[str, pd.DataFrame], horizon_months: int) -> dict:
    """The index dates of an out-of-time design, or InputError saying how it is broken.

    Every training label window must end on or before the validation index date, and the
    validation window on or before the test index date; validation and test hold one date.
    """
    dates = {
        name: sorted(set(pd.to_datetime(part["index_date"]).dt.date))
        for name, part in parts.items()
    }
    for name in ("validation", "test"):
        if len(dates[name]) != 1:
            raise InputError(f"the {name} rows must share one index date, not {len(dates[name])}")
    validation, test = dates["validation"][0], dates["test"][0]
    problems = []
    if add_months(dates["train"][-1], horizon_months) > validation:
        problems.append(
            f"the last training label window ({dates['train'][-1]} + {horizon_months} months) "
            f"ends after the validation index date {validation}"
        )
    if add_months(validation, horizon_months) > test:
        problems.append(
            f"the validation label window ({validation} + {horizon_months} months) "
            f"ends after the test index date {test}"
        )
    if problems:
        raise InputError("the design is not out-of-time:\n  - " + "\n  - ".join(problems))
    return {
        "train": [d.isoformat() for d in dates["train"]],
        "validation": validation.isoformat(),
        "test": test.isoformat(),
    }
