"""`riskstrat.dates`: a month has one spelling, YYYY-MM, and anything else is bad input."""

from __future__ import annotations

from datetime import date

import pytest

from riskstrat.dates import parse_month
from riskstrat.errors import InputError


def test_a_month_is_its_first_day() -> None:
    assert parse_month("2025-06") == date(2025, 6, 1)
    assert parse_month("2026-12") == date(2026, 12, 1)


@pytest.mark.parametrize(
    "month", ["2025-13", "2025-00", "25-06", "2025-6", "2025-06-01", "2025/06", " 2025-06", ""]
)
def test_a_month_not_written_yyyy_mm_is_bad_input_naming_the_form(month: str) -> None:
    with pytest.raises(InputError, match=r"month must be YYYY-MM \(four-digit year, two-digit"):
        parse_month(month)
