"""Small-cell suppression of group audits: their cells and sums, for `riskstrat.disclosure`.

The rule, the minimum cell and the engine (`protect`) are `riskstrat.disclosure`'s, shared with
every other aggregate; this module says what the cells of an audit are and how they add up.

Every row of an audit stands for a few counts of persons ("cells"): the group's size, with
and without the event, selected and not, in need and not, and the four cells of event ×
selected. A cell of 1 to `tolerances.min_cell` - 1 persons (1–4 by default) is *sensitive* and
hidden (zeros may show). Cells are tied together by sums: the cells of one row (n = events +
non-events, ...), the groups of an attribute (the "overall" row is their total), listed + not
listed = all, and the groups of an intersection (their totals are the groups of each of its
two attributes). A hidden cell that could be recovered by subtracting shown cells from a
shown total is not hidden at all, so further cells are hidden (complementary suppression)
until no chain of such subtractions reveals a sensitive cell: among the shown cells of the
sum that gives it away, the smallest non-zero part is hidden (a total only if no part is
left; rows that are flagged last).

The protection is against recovery by subtraction, however many steps it takes; it does not
solve the full linear programme an attacker could set up to narrow a hidden cell to bounds.
A figure is shown only if every cell it reveals is shown (`REVEALS`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd

from riskstrat.disclosure import protect

# A shown figure -> the cells it reveals (with the row's other shown figures). Only these
# five counts are ever shown; the other cells of a row (non-events, not selected, the
# event × selected cells) are never shown but may be recovered by subtraction.
REVEALS = {
    "n": ("n",),
    "expected": ("n",),
    "events": ("events",),
    "oe_ratio": ("events",),
    "oe_ci_low": ("events",),
    "oe_ci_high": ("events",),
    "auroc": ("events", "n"),
    "auroc_ci_low": ("events", "n"),
    "auroc_ci_high": ("events", "n"),
    "calibration_slope": ("events", "n"),
    "auroc_expected": ("n",),  # from the group's risks only, like `expected`
    "auroc_shortfall_p": ("events", "n"),
    "auroc_vs_overall": ("events", "n"),
    "selected": ("selected",),
    "needy": ("needy",),
    "selection_rate": ("selected", "n"),
    "need_rate": ("needy", "n"),
    "tpr": ("selected_events", "events"),
    "tpr_expected": ("selected", "n"),  # from the risks of the selected and of the group
    "eo_ratio": ("selected_events", "events", "selected", "n"),
    "eo_ci_low": ("selected_events", "events", "selected", "n"),
    "eo_ci_high": ("selected_events", "events", "selected", "n"),
    "selection_to_need": ("selected", "needy"),
    "stn_ci_low": ("selected", "needy"),
    "stn_ci_high": ("selected", "needy"),
    "p_value": ("n", "events"),  # a selection audit's p-values: ("selected", "needy")
    "p_holm": ("n", "events"),
}
SELECTION_P = ("selected", "needy")


def row_cells(row: pd.Series) -> tuple[dict[str, int], list[tuple[str, ...]]]:
    """The cells of one audit row and the sums inside it (total first)."""

    def known(column: str) -> bool:
        return column in row and pd.notna(row[column])

    n = int(row["n"])
    cells: dict[str, int] = {"n": n}
    sums: list[tuple[str, ...]] = []
    if known("events"):
        cells.update(events=int(row["events"]), nonevents=n - int(row["events"]))
        sums.append(("n", "events", "nonevents"))
    if known("selected"):
        cells.update(selected=int(row["selected"]), unselected=n - int(row["selected"]))
        sums.append(("n", "selected", "unselected"))
        if known("events") and known("selected_events"):
            se, e, s = int(row["selected_events"]), cells["events"], cells["selected"]
            cells.update(
                selected_events=se,
                selected_nonevents=s - se,
                unselected_events=e - se,
                unselected_nonevents=n - s - e + se,
            )
            sums += [
                ("events", "selected_events", "unselected_events"),
                ("nonevents", "selected_nonevents", "unselected_nonevents"),
                ("selected", "selected_events", "selected_nonevents"),
                ("unselected", "unselected_events", "unselected_nonevents"),
            ]
    if known("needy"):
        cells.update(needy=int(row["needy"]), notneedy=n - int(row["needy"]))
        sums.append(("n", "needy", "notneedy"))
    return cells, sums


@dataclass
class AuditCells:
    """The cells of an audit as `protect` takes them: `keys[k]` = (row label, cell name) of
    cell k, its count `values[k]`, the `sums` between cells (total first), the cells each
    shown figure reveals (`shows[(row, figure)]`) and the order complements are taken in."""

    keys: list[tuple[Any, str]]
    values: list[int]
    sums: list[list[int]]
    shows: dict[tuple[Any, str], list[int]]
    rank: list[tuple]


def audit_cells(rows: pd.DataFrame, parents: dict, partition) -> AuditCells:
    """The cells, sums and figures of an audit's rows (see `hidden_figures`)."""
    ids: dict[tuple[int, str], int] = {}
    values: list[int] = []
    sums: list[list[int]] = []
    shows: dict[tuple[int, str], list[int]] = {}  # (row, figure) -> the cells it reveals
    per_row: dict[int, dict[str, int]] = {}
    for i, row in rows.iterrows():
        cells, inner = row_cells(row)
        per_row[i] = cells
        for name, value in cells.items():
            ids[(i, name)] = len(values)
            values.append(value)
        sums += [[ids[(i, name)] for name in s] for s in inner]
        for figure, needs in REVEALS.items():
            needs = SELECTION_P if figure.startswith("p_") and "needy" in cells else needs
            if figure in rows and all(name in cells for name in needs):
                shows[(i, figure)] = [ids[(i, name)] for name in needs]
    for total, parts in _row_sums(rows, parents, partition):
        for name in per_row[total]:
            members = [ids[(p, name)] for p in parts if (p, name) in ids]
            if members:
                sums.append([ids[(total, name)], *members])
    flagged = rows["flagged"].to_numpy(dtype=bool)
    rank = [(bool(flagged[i]), values[k], i, name) for (i, name), k in ids.items()]
    return AuditCells(list(ids), values, sums, shows, rank)


def hidden_figures(rows: pd.DataFrame, min_cell: int, parents: dict, partition) -> pd.DataFrame:
    """Which figure of which row to hide: a boolean frame with a column per `REVEALS` figure
    present in `rows` and a column `any` (some cell of the row is hidden).

    `parents` maps an intersection (attribute, group) to its two parent (attribute, group)s;
    `partition` is (whole subset, (its parts...)) when those subsets add up, else None."""
    cells = audit_cells(rows, parents, partition)
    hidden = protect(cells.values, cells.sums, list(cells.shows.values()), min_cell, cells.rank)
    out = pd.DataFrame(False, index=rows.index, columns=[c for c in REVEALS if c in rows] + ["any"])
    for (i, figure), revealed in cells.shows.items():
        out.loc[i, figure] = not hidden.isdisjoint(revealed)
    for k, (i, _) in enumerate(cells.keys):
        if k in hidden:
            out.loc[i, "any"] = True
    return out


def shown_cells(cells: AuditCells, hidden: pd.DataFrame) -> set[int]:
    """The cells that the figures left shown by `hidden` (`hidden_figures`) reveal: what a
    reader of the published audit knows without any subtraction."""
    return {
        k
        for (i, figure), revealed in cells.shows.items()
        if not hidden.at[i, figure]
        for k in revealed
    }


def _row_sums(rows: pd.DataFrame, parents: dict, partition) -> list[tuple[int, list[int]]]:
    """(total row, part rows) for every sum across rows."""
    at = {
        (r.subset, r.attribute, r.group): i
        for i, r in zip(rows.index, rows.itertuples(), strict=True)
    }
    blocks: dict[tuple, list[int]] = defaultdict(list)  # (total row, kind of sum) -> part rows
    for (subset, attribute, group), i in at.items():
        if attribute != "overall":
            blocks[((subset, "overall", "all"), attribute)].append(i)
        for parent in parents.get((attribute, group), ()):
            blocks[((subset, *parent), attribute)].append(i)
        if partition and subset == partition[0]:
            blocks[((subset, attribute, group), "subsets")] += [
                at[(s, attribute, group)] for s in partition[1] if (s, attribute, group) in at
            ]
    return [(at[total], parts) for (total, _), parts in blocks.items() if total in at]
