"""The month being scored: its as-of date and the extract it reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from riskstrat.dates import parse_month
from riskstrat.errors import InputError


@dataclass(frozen=True)
class MonthContext:
    """One month's scoring: data directory, month (`YYYY-MM`), as-of date, extract date."""

    data_dir: str
    month: str
    as_of: date
    extract_date: date

    @classmethod
    def of(cls, data_dir: str, month: str, extract_date: date) -> MonthContext:
        """The month's context; InputError unless the extract reaches its first day."""
        return cls(str(data_dir), month, month_as_of(month, extract_date), extract_date)


def month_as_of(month: str, extract_date: date) -> date:
    """The month's first day, the index date of its scoring; InputError unless the extract
    reaches it (every event before that day must be in the data)."""
    as_of = parse_month(month)
    if extract_date < as_of:
        raise InputError(
            f"the data's extract date is {extract_date}: it does not reach {as_of}, the first "
            f"day of {month}; bring an extract whose extract date is {as_of} or later"
        )
    return as_of
