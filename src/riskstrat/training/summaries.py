"""Aggregate tables of a training run: tiers, needs segments and subgroups on the test date.

Counts from 1 to 4 are suppressed, together with every rate that would reveal them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.model.segments import SegmentScheme
from riskstrat.spec import AUDIT_ATTRIBUTES
from riskstrat.training.evaluation import ranking_metrics
from riskstrat.training.plots import is_small


def tier_table(
    scheme: SegmentScheme, validation_risk: np.ndarray, test_risk: np.ndarray, test_y: np.ndarray
) -> pd.DataFrame:
    """Per tier: its cut-point, the share it holds on the validation and test dates, and the
    test date's observed event rate."""
    names = [*scheme.tier_names, scheme.lowest_tier]
    cuts = [*scheme.cut_points, np.nan]
    validation_tier, test_tier = scheme.tier(validation_risk), scheme.tier(test_risk)
    table = pd.DataFrame(
        {
            "tier": names,
            "cut_point": cuts,
            "validation_share": [np.mean(validation_tier == t) for t in names],
            "test_share": [np.mean(test_tier == t) for t in names],
            "test_n": [np.sum(test_tier == t) for t in names],
            "test_events": [np.sum(test_y[test_tier == t]) for t in names],
        }
    )
    return _complement(
        _suppress(table, "test_n", "test_events", "test_event_rate"),
        ["test_events", "test_event_rate"],
        size="test_n",
    )


def segment_table(segment: np.ndarray, tier: np.ndarray, lowest_tier: str, y, risk) -> pd.DataFrame:
    """Per needs segment on the test date: size, events, mean risk, share above the lowest tier."""
    frame = pd.DataFrame(
        {"segment": segment, "raised": tier != lowest_tier, "y": np.asarray(y), "risk": risk}
    )
    table = (
        frame.groupby("segment", sort=True)
        .agg(
            n=("y", "size"),
            events=("y", "sum"),
            mean_risk=("risk", "mean"),
            raised=("raised", "sum"),
        )
        .reset_index()
    )
    table["share_above_lowest_tier"] = table["raised"] / table["n"]
    table.loc[
        is_small(table["raised"]) | is_small(table["n"] - table["raised"]),
        "share_above_lowest_tier",
    ] = np.nan
    table = _suppress(table.drop(columns="raised"), "n", "events", "event_rate")
    return _complement(table, ["events", "event_rate"])


def subgroup_table(frame: pd.DataFrame, y: np.ndarray, risk: np.ndarray) -> pd.DataFrame:
    """Per audit attribute and group on the test date: n, events, mean risk, O/E and AUROC."""
    rows = [_subgroup_row("overall", "all", y, risk)]
    for attribute in AUDIT_ATTRIBUTES:
        if attribute not in frame.columns:
            continue
        groups = frame[attribute].astype(object).where(frame[attribute].notna(), "missing")
        codes, levels = pd.factorize(groups.astype(str), sort=True)
        for code, level in enumerate(levels):
            inside = codes == code
            rows.append(_subgroup_row(attribute, level, y[inside], risk[inside]))
    table = _suppress(
        pd.DataFrame(rows), "n", "events", "event_rate", also=["oe_ratio", "auroc", "mean_risk"]
    )
    parts = [
        _complement(part, ["events", "event_rate", "oe_ratio", "auroc", "mean_risk"])
        for _, part in table.groupby("attribute", sort=False)
    ]
    return pd.concat(parts, ignore_index=True)


def _subgroup_row(attribute: str, group: str, y: np.ndarray, risk: np.ndarray) -> dict:
    order = np.argsort(-risk, kind="stable")
    auroc = ranking_metrics(y[order].astype(float), risk[order], np.ones((1, len(y))))["auroc"][0]
    events = float(np.sum(y))
    return {
        "attribute": attribute,
        "group": group,
        "n": len(y),
        "events": events,
        "mean_risk": float(np.mean(risk)) if len(y) else np.nan,
        "oe_ratio": events / float(np.sum(risk)) if len(y) else np.nan,
        "auroc": float(auroc),
    }


def _suppress(table: pd.DataFrame, n: str, events: str, rate: str, also=()) -> pd.DataFrame:
    """Add the event rate; blank counts 1-4 and what would reveal them."""
    table = table.copy()
    table[[n, events]] = table[[n, events]].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table[rate] = table[events] / table[n]
    hidden = is_small(table[events]) | is_small(table[n] - table[events])
    table.loc[hidden, [events, rate, *also]] = np.nan
    table.loc[is_small(table[n]), [n, events, rate, *also]] = np.nan
    table["suppressed"] = hidden | is_small(table[n])
    return table


def _complement(table: pd.DataFrame, columns: list[str], size: str = "n") -> pd.DataFrame:
    """If one row alone is suppressed, also blank the smallest other row: else the total,
    shown elsewhere, would give the suppressed count back by subtraction."""
    if table["suppressed"].sum() != 1 or len(table) < 2:
        return table
    table = table.copy()
    candidates = table.loc[~table["suppressed"]]
    if len(candidates):
        smallest = candidates[size].astype(float).fillna(np.inf).idxmin()
        table.loc[smallest, columns] = np.nan
        table.loc[smallest, "suppressed"] = True
    return table
