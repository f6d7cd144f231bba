"""What a month publishes: the audit line of a published and of a withheld month."""

from __future__ import annotations

from datetime import date

from riskstrat.monthly import MonthContext, audit_record, lists_withheld

CTX = MonthContext("data", "2026-01", date(2026, 1, 1), date(2026, 1, 1))
SUMMARY = {
    "t1": {
        "rows": 40,
        "new_this_month": 12,
        "capacity": 40,
        "model": "m@champion",
        "model_version": "3",
    }
}
FLAGGED = {"passed": False, "flags": [{"scope": "m: top tiers", "group": "85+"}]}


def test_a_withheld_months_audit_line_reports_no_rows_for_lists_never_published() -> None:
    record = audit_record(CTX, {}, SUMMARY, FLAGGED, override_reason=None)
    assert record["lists_withheld"] is True
    assert record["teams"] == {
        "t1": {"withheld": True, "capacity": 40, "model": "m@champion", "model_version": "3"}
    }


def test_a_published_months_audit_line_reports_each_teams_rows() -> None:
    record = audit_record(
        CTX, {}, SUMMARY, FLAGGED, override_reason="reviewed by the steering group"
    )
    assert record["lists_withheld"] is False and record["teams"] == SUMMARY
    assert record["override_reason"] == "reviewed by the steering group"


def test_lists_are_withheld_only_on_flags_without_an_override() -> None:
    assert lists_withheld(FLAGGED, None) and not lists_withheld(FLAGGED, "reason")
    assert not lists_withheld({"passed": True, "flags": []}, None)
