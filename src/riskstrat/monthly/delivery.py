"""Is the extract complete? Rows per event table, municipality and month, before scoring.

A register delivery that stopped arriving (a municipality's GP contacts missing for the
last months, a truncated table) would silently lower everyone's risk there, so such a
month is held, not published. The rule, per event table × municipality, and per event
table as a whole (all municipalities together):

- the *checked* months are the last `CHECKED_MONTHS` (3) complete calendar months before
  the as-of date; the *baseline* is the median of the `BASELINE_MONTHS` (12) months before
  those (so a failure does not lower its own yardstick);
- a series is checked only if its baseline is at least `MIN_EXPECTED` (30) rows a month:
  a tiny municipality's noise never holds a month (at 30 a month, a month below the cut-off
  has a Poisson probability of about 2 in 100,000);
- it is a *delivery failure* when its most recent month, and possibly the one or two before
  it, each have fewer than `COLLAPSE_RATIO` (30 %) of the baseline. The finding names the
  table, the municipality and those months.

Only counts of rows leave this module (no person-level data); a count from 1 to 4 is
shown as "<5" (`riskstrat.disclosure`). The counts are made per partition
(`delivery_counts`, a pure function of an `Extract`) and added up (`add_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from riskstrat.contract import Extract
from riskstrat.dates import add_months
from riskstrat.disclosure import log_count
from riskstrat.errors import InputError
from riskstrat.features import person_positions

# event table -> the date that places a row in a month
EVENT_DATES = {
    "hospital_contacts": "start_date",
    "gp_contacts": "contact_date",
    "municipal_services": "start_date",
    "prescriptions": "dispense_date",
}
# what the edge reads for the counts (nothing else leaves the files)
DELIVERY_COLUMNS: dict[str, list[str]] = {
    "persons": ["person_id", "municipality_code"],
    **{table: ["person_id", column] for table, column in EVENT_DATES.items()},
    "opt_outs": [],
}
HISTORY_MONTHS = 24
CHECKED_MONTHS = 3
BASELINE_MONTHS = 12
COLLAPSE_RATIO = 0.30
MIN_EXPECTED = 30
ALL = -1  # municipality_code of a table's total
COUNT_COLUMNS = ["table", "municipality_code", "month", "rows"]


class MonthHeld(InputError):
    """The extract looks incomplete (a delivery failure): the month is not published."""


@dataclass(frozen=True)
class DeliveryFinding:
    """One table (and municipality, or all of them) whose latest months collapsed."""

    table: str
    municipality: int | None  # None: the table as a whole
    months: tuple[str, ...]
    rows: tuple[int, ...]
    baseline: float

    @property
    def message(self) -> str:
        """What the operator reads: table, municipality, months, counts and the baseline."""
        where = (
            "all municipalities together have"
            if self.municipality is None
            else f"municipality {self.municipality} has"
        )
        shown = [log_count(n) for n in self.rows]
        counts = shown[0] if len(set(shown)) == 1 else ", ".join(shown)
        return (
            f"{self.table}: {where} {counts} rows in {', '.join(self.months)} "
            f"(median {self.baseline:,.0f} a month before): the delivery looks incomplete; "
            "the month is held"
        )


def _month_range(as_of: date, months: int) -> list[str]:
    return [add_months(as_of, -k).strftime("%Y-%m") for k in range(months, 0, -1)]


def delivery_counts(extract: Extract, as_of: date) -> pd.DataFrame:
    """Rows per event table, municipality (the person's) and calendar month over the
    `HISTORY_MONTHS` months before `as_of`: columns `COUNT_COLUMNS`, zeros left out."""
    start = np.datetime64(add_months(as_of, -HISTORY_MONTHS))
    end = np.datetime64(as_of)
    # a person's municipality by position (Arrow hashing), and months formatted once per
    # distinct month rather than once per row: a merge and a per-row strftime cost 2x more
    people = extract.persons["person_id"]
    homes = extract.persons["municipality_code"].to_numpy()
    parts = []
    for table, column in EVENT_DATES.items():
        rows = getattr(extract, table)
        if rows.empty or column not in rows:
            continue
        stamps = rows[column].to_numpy(dtype="datetime64[s]")
        inside = (stamps >= start) & (stamps < end)
        where = person_positions(rows["person_id"][inside], people)
        known = where >= 0
        dated = pd.DataFrame(
            {
                "municipality_code": homes[where[known]],
                "month": stamps[inside][known].astype("datetime64[M]"),
            }
        )
        counted = dated.groupby(["municipality_code", "month"]).size().rename("rows").reset_index()
        counted["month"] = pd.to_datetime(counted["month"]).dt.strftime("%Y-%m")
        counted.insert(0, "table", table)
        parts.append(counted)
    if not parts:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[COUNT_COLUMNS]


def add_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The counts of several partitions added up."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    both = pd.concat(frames, ignore_index=True)
    summed = both.groupby(["table", "municipality_code", "month"], as_index=False)["rows"].sum()
    return summed[COUNT_COLUMNS]


def delivery_findings(counts: pd.DataFrame, as_of: date) -> list[DeliveryFinding]:
    """The delivery failures in `counts` (see the module's rule): tables as a whole first,
    then table × municipality, each in order."""
    months = _month_range(as_of, BASELINE_MONTHS + CHECKED_MONTHS)
    findings: list[DeliveryFinding] = []
    if counts.empty:
        return findings
    counts = counts.astype({"municipality_code": "int64", "rows": "int64"})
    whole = counts.groupby(["table", "month"], as_index=False)["rows"].sum()
    whole.insert(1, "municipality_code", ALL)
    table = pd.concat([whole, counts], ignore_index=True)
    grid = table.pivot_table(
        index=["table", "municipality_code"], columns="month", values="rows", aggfunc="sum"
    ).reindex(columns=months, fill_value=0)
    grid = grid.fillna(0).astype("int64")
    order = sorted(grid.index, key=lambda key: (key[1] != ALL, key[0], key[1]))
    for name, code in order:
        found = _collapse(grid.loc[(name, code)].to_numpy(), months)
        if found is not None:
            municipality = None if code == ALL else int(code)
            findings.append(DeliveryFinding(name, municipality, *found))
    return findings


def _collapse(series: np.ndarray, months: list[str]):
    """(months, rows, baseline) of the collapsed most recent months of one series, or None."""
    baseline = float(np.median(series[:BASELINE_MONTHS]))
    if baseline < MIN_EXPECTED:
        return None
    recent = series[BASELINE_MONTHS:]
    low = recent < COLLAPSE_RATIO * baseline
    k = 0
    while k < len(recent) and low[len(recent) - 1 - k]:
        k += 1
    if k == 0:
        return None
    chosen = slice(len(recent) - k, len(recent))
    checked = months[BASELINE_MONTHS:]
    return tuple(checked[chosen]), tuple(int(n) for n in recent[chosen]), baseline


def hold_if_incomplete(
    findings: list[DeliveryFinding], month: str, override_reason: str | None = None
) -> None:
    """Raise `MonthHeld` naming every delivery failure, unless there is none or the month is
    published anyway with an override reason."""
    if not findings or override_reason:
        return
    lines = "\n".join(f"- {f.message}" for f in findings)
    raise MonthHeld(
        f"month {month} held: the extract looks incomplete, nothing is published\n{lines}\n"
        "bring a complete extract, or publish anyway with --override-reason"
    )


def delivery_aggregates(findings: list[DeliveryFinding]) -> dict[str, float]:
    """The month's MLflow metrics of the delivery check (how many failures were found)."""
    return {
        "delivery_failures": float(len(findings)),
        "delivery_failures_table_level": float(sum(f.municipality is None for f in findings)),
    }
