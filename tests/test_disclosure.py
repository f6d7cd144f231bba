"""The one disclosure-control rule (riskstrat.disclosure), recomputed by hand, and its consumers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from riskstrat.disclosure import (
    MIN_CELL,
    hidden_in_table,
    is_small,
    log_count,
    min_cell_of,
    suppressed_counts,
)
from riskstrat.fairness import audit_outcomes, render_report
from riskstrat.population import overview_tables
from riskstrat.spec import Fairness, Tolerances
from riskstrat.training.summaries import segment_table


def _persons(cells: dict[tuple, int]) -> pd.DataFrame:
    """One row per person, `count` persons for each (tier, municipality_code)."""
    rows = [key for key, count in cells.items() for _ in range(count)]
    return pd.DataFrame(rows, columns=["tier", "municipality_code"])


def test_the_default_is_defined_once_and_a_spec_overrides_it() -> None:
    assert MIN_CELL == 5
    assert Tolerances().min_cell == MIN_CELL
    assert min_cell_of() == MIN_CELL

    class Spec:  # anything with fairness.tolerances.min_cell
        fairness = Fairness(tolerances=Tolerances(min_cell=10))

    assert min_cell_of(Spec()) == 10


def test_counts_below_min_cell_are_hidden() -> None:
    # 20 + 3 + 4 + 30 = 57 published: 57 - 20 - 30 = 7 = 3 + 4, which of the two is which
    # cannot be told, so no complement is needed
    frame = _persons({("high", 730): 20, ("high", 707): 3, ("low", 730): 4, ("low", 707): 30})
    counts = suppressed_counts(frame, ["tier", "municipality_code"])
    assert counts.cells == {("high", 730): 20, ("low", 707): 30}
    assert counts.total == 57
    assert is_small([0, 1, 4, 5, 9], 5).tolist() == [False, True, True, False, False]
    assert is_small([4, 5, 9, 10], 10).tolist() == [True, True, True, False]


def test_zeros_are_shown() -> None:
    cells = pd.DataFrame({"n": [0, 12, 0, 9]})
    hidden = hidden_in_table(cells, {"n": ("n",)})
    assert not hidden["n"].any()
    # nor is a zero taken as the complement of a small cell: 3 hides with 9, not with a 0
    hidden = hidden_in_table(pd.DataFrame({"n": [0, 12, 3, 9]}), {"n": ("n",)})
    assert hidden["n"].tolist() == [False, False, True, True]


def test_a_single_hidden_cell_in_a_row_with_a_published_total_hides_the_smallest_other() -> None:
    # row "high": 3, 20, 8, 40 with its total 71 published; 3 alone hidden would be
    # 71 - 20 - 8 - 40, so the smallest other cell (8) is hidden too: 71 - 20 - 40 = 11 = 3 + 8
    frame = _persons(
        {
            ("high", 701): 3,
            ("high", 702): 20,
            ("high", 703): 8,
            ("high", 704): 40,
            ("low", 701): 50,
            ("low", 702): 60,
        }
    )
    counts = suppressed_counts(frame, ["tier", "municipality_code"], margins=[("tier",)])
    assert counts.cells == {
        ("high", 702): 20,
        ("high", 704): 40,
        ("low", 701): 50,
        ("low", 702): 60,
    }
    assert counts.margins == {("tier",): {("high",): 71, ("low",): 110}}
    assert 71 - 20 - 40 == 3 + 8  # what is left is two hidden cells, not one


def test_row_and_column_margins_protect_each_other() -> None:
    # a 2 x 2 table with all its margins published: hiding 3 forces its row partner (20),
    # then its column partner (30), then the last cell (40), which 60 - 40 would otherwise
    # give back as 20 and 23 - 20 as 3 again
    frame = _persons({("a", 1): 3, ("a", 2): 20, ("b", 1): 30, ("b", 2): 40})
    margins = [("tier",), ("municipality_code",), ()]
    counts = suppressed_counts(frame, ["tier", "municipality_code"], margins=margins)
    assert counts.cells == {}
    assert counts.margins == {
        ("tier",): {("a",): 23, ("b",): 70},
        ("municipality_code",): {(1,): 33, (2,): 60},
        (): {(): 93},
    }


def test_small_counts_in_log_lines() -> None:
    assert [log_count(n) for n in (0, 1, 4, 5, 120)] == ["0", "<5", "<5", "5", "120"]
    assert [log_count(n, min_cell=10) for n in (0, 7, 9, 10)] == ["0", "<10", "<10", "10"]


def test_list_building_logs_small_counts_through_the_module() -> None:
    from riskstrat.lists import build

    assert build.log_count is log_count  # tests/lists/test_build.py checks the "<5 listed" line


# ------------------------------------------------------------------ min_cell = 10, per consumer
def test_raising_min_cell_changes_the_fairness_report() -> None:
    # three municipalities of 150, 43 and 7 persons (30, 12 and 0 events): at 5 everything
    # shows; at 10 the 7 is hidden, and with it the smallest other n (43), else 200 - 150 - 43
    frame = pd.DataFrame(
        {
            "municipality_code": [701] * 150 + [702] * 43 + [703] * 7,
            "y": [1] * 30 + [0] * 120 + [1] * 12 + [0] * 31 + [0] * 7,
            "risk": [0.2] * 150 + [12 / 43] * 43 + [0.01] * 7,
        }
    )

    def report(min_cell: int) -> tuple[list, bytes]:
        fair = Fairness(attributes=["municipality_code"], tolerances=Tolerances(min_cell=min_cell))
        audit = audit_outcomes(frame, fair, risk="risk", outcome="y")
        files = render_report({"outcomes": audit}, "t", {})
        return [(r["group"], r["n"], r["events"]) for r in audit.records()], files["groups.json"]

    at_5, json_5 = report(5)
    at_10, json_10 = report(10)
    assert at_5 == [("all", 200, 42), ("701", 150, 30), ("702", 43, 12), ("703", 7, 0)]
    assert at_10 == [("all", 200, 42), ("701", 150, 30), ("702", None, 12), ("703", None, 0)]
    assert json_5 != json_10


def test_raising_min_cell_changes_the_training_summaries() -> None:
    # segments of 100, 40 and 7 persons with 20, 8 and 0 events: at 10 the 7 (n) and the 8
    # (events) are hidden, and the smallest other n (40) as the complement of the 7
    segment = np.array(["a"] * 100 + ["b"] * 40 + ["c"] * 7)
    y = np.array([1] * 20 + [0] * 80 + [1] * 8 + [0] * 32 + [0] * 7)
    tier = np.array(["low"] * 147, dtype=object)
    risk = np.full(147, 0.1)
    at_5 = segment_table(segment, tier, "low", y, risk)
    at_10 = segment_table(segment, tier, "low", y, risk, min_cell=10)
    assert at_5["n"].tolist() == [100, 40, 7] and at_5["events"].tolist() == [20, 8, 0]
    assert not at_5["suppressed"].any()
    assert at_10["n"].fillna(-1).tolist() == [100, -1, -1]
    assert at_10["events"].fillna(-1).tolist() == [20, -1, -1]
    assert at_10["suppressed"].tolist() == [False, True, True]


def test_raising_min_cell_changes_the_population_overview() -> None:
    # 7 and 40 inhabitants: at 10 the 7 is hidden, and the 40 with it (else total - 40 = 7)
    n = 47
    flags = pd.DataFrame(
        {
            "municipality": [707] * 7 + [730] * 40,
            "age_band": ["80+"] * n,
            "sex": ["F"] * n,
            "education": ["basic"] * n,
            "income_quintile": ["1"] * n,
            "origin": ["danish"] * n,
            "living_alone": ["yes"] * n,
            "rurality": ["Provinsbykommune"] * n,
            "hospital": [False] * n,
            "gp": [False] * n,
            "municipal": [False] * n,
            "acute_admissions": [0] * n,
            "avoidable_admissions": [0] * n,
        }
    )
    window = (date(2025, 1, 1), date(2026, 1, 1))
    at_5 = overview_tables(flags, window).tables["by municipality"].set_index("municipality")
    at_10 = (
        overview_tables(flags, window, min_cell=10)
        .tables["by municipality"]
        .set_index("municipality")
    )
    assert at_5["inhabitants"].tolist() == [7, 40]
    assert at_10["inhabitants"].isna().tolist() == [True, True]
    assert at_10["hospital"].tolist() == [0, 0]  # zeros still show


def test_raising_min_cell_changes_the_month_counts() -> None:
    # per tier and municipality, with persons scored (147) published: at 10 the 7 is hidden
    # and the smallest other cell (30) with it: 147 - 50 - 60 = 37 = 7 + 30
    frame = _persons({("high", 730): 7, ("high", 707): 30, ("low", 730): 50, ("low", 707): 60})
    at_5 = suppressed_counts(frame, ["tier", "municipality_code"], min_cell=5)
    at_10 = suppressed_counts(frame, ["tier", "municipality_code"], min_cell=10)
    assert at_5.cells == {("high", 707): 30, ("high", 730): 7, ("low", 707): 60, ("low", 730): 50}
    assert at_10.cells == {("low", 707): 60, ("low", 730): 50}
    assert at_5.total == at_10.total == 147
