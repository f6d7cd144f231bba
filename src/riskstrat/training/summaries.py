"""Aggregate tables of a training run: tiers, needs segments and subgroups on the test date.

Counts from 1 to min_cell - 1 (1–4 by default) are suppressed, together with every rate that
would reveal them, and complementary cells wherever a hidden count could be recovered from a
published total (`riskstrat.disclosure`). Totals of the test and validation dates (persons,
events) are published with the run's metrics; complements are the smallest other rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskstrat.disclosure import MIN_CELL, hidden_in_table
from riskstrat.model.segments import SegmentScheme
from riskstrat.spec import AUDIT_ATTRIBUTES
from riskstrat.training.evaluation import ranking_metrics


def tier_table(
    scheme: SegmentScheme,
    validation_risk: np.ndarray,
    test_risk: np.ndarray,
    test_y: np.ndarray,
    min_cell: int = MIN_CELL,
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
    validation_n = [np.sum(validation_tier == t) for t in names]
    shares = {"test_share": ("n",), "validation_share": ("validation_n",)}
    other = {"validation_n": validation_n}
    return _suppress(
        table, "test_n", "test_events", "test_event_rate", min_cell, shares, other=other
    )


def segment_table(
    segment: np.ndarray, tier: np.ndarray, lowest_tier: str, y, risk, min_cell: int = MIN_CELL
) -> pd.DataFrame:
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
    raised = table.pop("raised")
    share = {"share_above_lowest_tier": ("raised", "n")}
    return _suppress(table, "n", "events", "event_rate", min_cell, share, parts={"raised": raised})


def subgroup_table(
    frame: pd.DataFrame, y: np.ndarray, risk: np.ndarray, min_cell: int = MIN_CELL
) -> pd.DataFrame:
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
    table = pd.DataFrame(rows)
    # each attribute's groups add up to everyone (the "overall" row, published in the metrics)
    blocks = [list(part.index) for _, part in table.groupby("attribute", sort=False)]
    also = {column: ("events", "n") for column in ("oe_ratio", "auroc", "mean_risk")}
    return _suppress(table, "n", "events", "event_rate", min_cell, also, blocks=blocks)


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


def _suppress(
    table: pd.DataFrame,
    n: str,
    events: str,
    rate: str,
    min_cell: int,
    also: Mapping[str, Sequence[str]],
    blocks: list[list] | None = None,
    parts: dict | None = None,
    other: dict | None = None,
) -> pd.DataFrame:
    """Add the event rate; blank counts 1 to min_cell - 1, what would reveal them, and the
    complements (`riskstrat.disclosure.hidden_in_table`, smallest rows first); `suppressed`
    marks rows whose n or events are hidden. `also` maps further columns to the cells they
    reveal: "n", "events", one of `parts` (persons per row out of its n, e.g. those above the
    lowest tier) or of `other` (persons per row counted apart, e.g. on another date)."""
    table = table.copy()
    table[[n, events]] = table[[n, events]].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table[rate] = table[events] / table[n]
    cells = pd.DataFrame({"n": table[n], "events": table[events]}, index=table.index)
    cells["nonevents"] = cells["n"] - cells["events"]
    row_sums = [("n", "events", "nonevents")]
    for name, values in (parts or {}).items():
        cells[name] = np.asarray(values, dtype=float)
        cells[f"not_{name}"] = cells["n"] - cells[name]
        row_sums.append(("n", name, f"not_{name}"))
    for name, values in (other or {}).items():
        cells[name] = np.asarray(values, dtype=float)
    # a row whose n is hidden shows no events either (not even a zero: all of a few persons)
    figures: dict[str, Sequence[str]] = {
        n: ("n",),
        events: ("events", "n"),
        rate: ("events", "n"),
        **also,
    }
    hidden = hidden_in_table(
        cells, figures, row_sums=row_sums, blocks=blocks, min_cell=min_cell, rank_by="n"
    )
    for column in figures:
        table.loc[hidden[column].to_numpy(), column] = np.nan
    table["suppressed"] = (hidden[n] | hidden[events]).to_numpy()
    return table


TOP_BANDS = ((0.0, 0.01, "top 1 %"), (0.01, 0.05, "1-5 %"), (0.05, 0.20, "5-20 %"))


def calibration_at_top(
    y: np.ndarray, risk: np.ndarray, person_id: np.ndarray, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """Observed against expected events where lists are drawn: the persons ranked in the top
    1 %, 1-5 % and 5-20 % by risk (ties by person id), each with persons, events, expected
    events (Σ risk), the observed and mean predicted risk, O/E and its exact (Garwood) 95 %
    interval, and the observed risk's exact (Clopper-Pearson) 95 % interval. A band with 1 to
    min_cell - 1 persons or events has its counts and rates suppressed (the bands do not add
    up to a published total)."""
    from scipy import stats

    order = np.lexsort((np.asarray(person_id).astype(str), -np.asarray(risk, dtype=float)))
    n = len(order)
    rows = []
    for start, end, name in TOP_BANDS:
        members = order[int(round(start * n)) : int(round(end * n))]
        persons, events = len(members), int(np.sum(y[members]))
        expected = float(np.sum(risk[members]))
        low = stats.chi2.ppf(0.025, 2 * events) / 2 if events else 0.0
        high = stats.chi2.ppf(0.975, 2 * events + 2) / 2
        rate_low = stats.beta.ppf(0.025, events, persons - events + 1) if events else 0.0
        rate_high = stats.beta.ppf(0.975, events + 1, persons - events) if events < persons else 1.0
        rows.append(
            {
                "band": name,
                "persons": persons,
                "events": events,
                "expected": expected,
                "observed_risk": events / persons if persons else np.nan,
                "observed_risk_ci_low": rate_low,
                "observed_risk_ci_high": rate_high,
                "mean_predicted_risk": expected / persons if persons else np.nan,
                "oe_ratio": events / expected if expected > 0 else np.nan,
                "oe_ci_low": low / expected if expected > 0 else np.nan,
                "oe_ci_high": high / expected if expected > 0 else np.nan,
            }
        )
    table = pd.DataFrame(rows)
    small = table[["persons", "events"]].apply(lambda c: (c > 0) & (c < min_cell)).any(axis=1)
    shown = [c for c in table.columns if c not in ("band", "persons", "expected")]
    table[shown] = table[shown].astype(float).where(~small, np.nan)
    table["persons"] = table["persons"].astype(float).where(table["persons"] >= min_cell, np.nan)
    return table
