"""Calendar rules shared by labels, features, lists and reports (interfaces.md, Labels v1).

Age is in completed years; a 29 February birthday counts as 1 March in other years, which
comparing (month, day) as month*100 + day gives for free. D + H months is calendar
arithmetic clipped to the month's end.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from riskstrat.errors import InputError

MONTH = re.compile(r"^(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])$")


def add_months(d: date, months: int) -> date:
    """`d` plus `months` calendar months, clipped to the end of the target month."""
    return (pd.Timestamp(d) + pd.DateOffset(months=months)).date()


def age_on(birth_date: pd.Series, on: date | pd.Series) -> pd.Series:
    """Completed years between `birth_date` and `on` (a date or a Series aligned with it)."""
    born = pd.to_datetime(birth_date)
    when = (
        pd.to_datetime(pd.Series(on, index=born.index))
        if not isinstance(on, pd.Series)
        else pd.to_datetime(on)
    )
    before_birthday = (when.dt.month * 100 + when.dt.day) < (born.dt.month * 100 + born.dt.day)
    age = when.dt.year - born.dt.year - before_birthday.astype("int64")
    return age.astype("Int64") if age.isna().any() else age.astype(np.int64)


def age_sql(birth: str, on: str) -> str:
    """DuckDB expression for the completed years between two DATE expressions."""
    return (
        f"(year({on}) - year({birth}) - CASE WHEN month({on}) * 100 + day({on}) "
        f"< month({birth}) * 100 + day({birth}) THEN 1 ELSE 0 END)"
    )


def parse_month(month: str) -> date:
    """'YYYY-MM' (four-digit year, two-digit month 01-12) -> the first day of that month;
    InputError saying the expected form otherwise ('2025-6', '25-06' and '2025-13' are
    refused: a month names a folder, so it has one spelling)."""
    found = MONTH.match(month) if isinstance(month, str) else None
    if found is None or int(found["year"]) < 1:
        shown = repr(month)[:40]
        raise InputError(
            f"month must be YYYY-MM (four-digit year, two-digit month 01-12, e.g. 2026-01), "
            f"got {shown}"
        )
    return date(int(found["year"]), int(found["month"]), 1)


def earlier_month(month: str, months_back: int) -> str:
    """'YYYY-MM' of the month `months_back` months before `month`."""
    return add_months(parse_month(month), -months_back).strftime("%Y-%m")
