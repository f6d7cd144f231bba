"""The delivery check: a month whose recent rows collapsed is held, a clean one passes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from riskstrat.dates import add_months
from riskstrat.monthly.delivery import (
    COUNT_COLUMNS,
    MonthHeld,
    add_counts,
    delivery_counts,
    delivery_findings,
    hold_if_incomplete,
)

AS_OF = date(2026, 1, 1)
# per municipality: rows a month per table (707 tiny: below the minimum expected)
SIZES = {
    "hospital_contacts": {706: 120, 710: 300, 730: 400, 707: 6},
    "gp_contacts": {706: 2_140, 710: 3_000, 730: 5_000, 707: 20},
    "municipal_services": {706: 40, 710: 60, 730: 90, 707: 2},
    "prescriptions": {706: 2_500, 710: 3_500, 730: 6_000, 707: 25},
}


def _months(n: int = 24) -> list[str]:
    return [add_months(AS_OF, -k).strftime("%Y-%m") for k in range(n, 0, -1)]


def _clean(seed: int = 0) -> pd.DataFrame:
    """Poisson counts around each series' size, with a July dip of 30 %."""
    rng = np.random.default_rng(seed)
    rows = []
    for table, sizes in SIZES.items():
        for code, size in sizes.items():
            for month in _months():
                mean = size * (0.7 if month.endswith("-07") else 1.0)
                rows.append((table, code, month, int(rng.poisson(mean))))
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def _drop(counts: pd.DataFrame, table: str, months: list[str], code: int | None = None, keep=0.0):
    hit = (counts["table"] == table) & counts["month"].isin(months)
    if code is not None:
        hit &= counts["municipality_code"] == code
    out = counts.copy()
    out.loc[hit, "rows"] = (out.loc[hit, "rows"] * keep).astype("int64")
    return out


def test_a_clean_history_passes_over_seeds() -> None:
    for seed in range(20):
        assert delivery_findings(_clean(seed), AS_OF) == [], seed
    hold_if_incomplete([], "2026-01")


def test_gp_contacts_missing_three_months_for_one_municipality_hold_the_month() -> None:
    counts = _drop(_clean(), "gp_contacts", ["2025-10", "2025-11", "2025-12"], code=706)
    counts = counts[counts["rows"] > 0]  # zeros are left out, as `delivery_counts` does
    findings = delivery_findings(counts, AS_OF)
    assert len(findings) == 1
    found = findings[0]
    assert (found.table, found.municipality) == ("gp_contacts", 706)
    assert found.months == ("2025-10", "2025-11", "2025-12")
    assert found.message.startswith(
        "gp_contacts: municipality 706 has 0 rows in 2025-10, 2025-11, 2025-12 (median 2,1"
    )
    assert found.message.endswith("the delivery looks incomplete; the month is held")
    with pytest.raises(MonthHeld, match="gp_contacts: municipality 706 has 0 rows in 2025-10"):
        hold_if_incomplete(findings, "2026-01")
    hold_if_incomplete(findings, "2026-01", override_reason="known late delivery")


def test_a_truncated_table_holds_the_month_as_a_whole() -> None:
    counts = _drop(_clean(), "municipal_services", ["2025-12"], keep=0.1)
    findings = delivery_findings(counts, AS_OF)
    assert [(f.table, f.municipality, f.months) for f in findings][0] == (
        "municipal_services",
        None,
        ("2025-12",),
    )
    assert findings[0].message.startswith("municipal_services: all municipalities together")
    # only the last month: a collapse two months ago followed by a normal month is not held
    earlier = _drop(_clean(), "municipal_services", ["2025-11"], keep=0.1)
    assert delivery_findings(earlier, AS_OF) == []


def test_a_tiny_municipality_never_holds_a_month() -> None:
    counts = _drop(_clean(), "gp_contacts", ["2025-10", "2025-11", "2025-12"], code=707)
    counts = _drop(counts, "hospital_contacts", ["2025-12"], code=707)
    assert delivery_findings(counts, AS_OF) == []


def test_a_partly_delivered_month_above_the_cut_off_passes() -> None:
    assert delivery_findings(_drop(_clean(), "prescriptions", ["2025-12"], keep=0.4), AS_OF) == []
    found = delivery_findings(_drop(_clean(), "prescriptions", ["2025-12"], keep=0.2), AS_OF)
    assert found and all(f.months == ("2025-12",) for f in found)


def test_small_counts_are_shown_as_fewer_than_five() -> None:
    counts = _drop(_clean(), "municipal_services", ["2025-12"], code=730, keep=0.03)
    (found,) = delivery_findings(counts, AS_OF)
    assert "has <5 rows in 2025-12" in found.message


def test_counts_from_frames_and_partitions_add_up() -> None:
    from riskstrat.contract import Extract

    persons = pd.DataFrame({"person_id": ["a", "b", "c"], "municipality_code": [706, 706, 730]})
    day = pd.to_datetime

    def extract(ids: list[str]) -> Extract:
        gp = pd.DataFrame(
            {
                "person_id": ["a", "a", "b", "c", "c"],
                "contact_date": day(
                    ["2025-12-03", "2025-12-30", "2025-11-01", "2023-01-01", "2026-01-01"]
                ),
            }
        )
        empty = pd.DataFrame()
        return Extract(
            persons=persons[persons["person_id"].isin(ids)],
            hospital_contacts=empty,
            gp_contacts=gp[gp["person_id"].isin(ids)],
            municipal_services=empty,
            prescriptions=empty,
            opt_outs=empty,
            extract_date=AS_OF,
        )

    parts = [delivery_counts(extract(ids), AS_OF) for ids in (["a"], ["b", "c"])]
    counts = add_counts(parts)
    assert counts.to_dict("records") == [
        {"table": "gp_contacts", "municipality_code": 706, "month": "2025-11", "rows": 1},
        {"table": "gp_contacts", "municipality_code": 706, "month": "2025-12", "rows": 2},
    ]  # 2023-01 is before the 24 months, 2026-01-01 on the as-of date: neither counted
