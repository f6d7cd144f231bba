"""Window outcomes counted by the labels' rules, and the follow-up frame."""

from __future__ import annotations

from datetime import date

import pandas as pd

from riskstrat.evaluation.outcomes import entries_of, follow_up_frame, window_outcomes


def test_acute_admissions_and_days_inside_the_window() -> None:
    d = pd.Timestamp
    hospital = pd.DataFrame(
        [
            # A: a stay across the window's start (only its days inside count, not acute in W)
            ("A", d("2024-12-25"), d("2025-01-05"), "inpatient", True),
            # A: a planned stay inside: days count, no acute admission
            ("A", d("2025-03-01"), d("2025-03-11"), "inpatient", False),
            # B: an acute stay still open at the extract: runs to the window's end
            ("B", d("2025-12-21"), pd.NaT, "inpatient", True),
            # C: an acute emergency visit is not an admission; a stay after the window is out
            ("C", d("2025-02-01"), d("2025-02-01"), "emergency", True),
            ("C", d("2026-01-01"), d("2026-01-09"), "inpatient", True),
        ],
        columns=["person_id", "start_date", "end_date", "contact_type", "acute"],
    )
    entries = pd.DataFrame(
        {"person_id": ["A", "B", "C", "D"], "index_date": [date(2025, 1, 1)] * 4}
    )
    out = window_outcomes(entries, hospital, 12).set_index("person_id")
    assert out["acute_admission"].to_dict() == {"A": 0, "B": 1, "C": 0, "D": 0}
    assert out["hospital_days"].to_dict() == {"A": 4 + 10, "B": 11, "C": 0, "D": 0}


def test_follow_up_frame_one_row_per_person_with_contact() -> None:
    assignments = pd.DataFrame(
        {
            "person_id": ["A", "B", "C"],
            "arm": ["listed", "holdout", "listed"],
            "stratum": "t|high",
            "team": "t",
            "risk_band": "high",
            "month": ["2025-01", "2025-01", "2025-02"],
        }
    )
    labels = pd.DataFrame(
        {
            "person_id": ["A", "B", "C", "A"],
            "index_date": [date(2025, 1, 1), date(2025, 1, 1), date(2025, 2, 1), date(2025, 2, 1)],
            "y_avoidable_admission": pd.array([1, 0, pd.NA, 0], dtype="Int8"),
            "died_in_window": pd.array([0, 1, pd.NA, 0], dtype="Int8"),
            "age": [80, 81, 82, 80],
        }
    )
    window = window_outcomes(
        entries_of(assignments),
        labels.iloc[:0].assign(start_date=[], end_date=[], contact_type=[], acute=[]),
        12,
    )
    feedback = pd.DataFrame({"person_id": ["A", "B"], "contacted": [True, True]})
    frame = follow_up_frame(assignments, labels, window, feedback, ("age",))
    # C's horizon has not passed (labels unknown): left out; A counted at its first month
    assert frame["person_id"].tolist() == ["A", "B"]
    assert frame["avoidable_admission"].tolist() == [1.0, 0.0]
    assert frame["death"].tolist() == [0.0, 1.0]
    # held-out persons are never counted as contacted
    assert frame["contacted"].tolist() == [1.0, 0.0]
