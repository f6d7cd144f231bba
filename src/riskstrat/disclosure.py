"""Disclosure control: the one rule for every aggregate riskstrat publishes.

Reports (fairness, training, population overview), MLflow metrics and log lines show counts
of persons ("cells"). A count from 1 to `min_cell - 1` is *sensitive* and hidden (zeros may
show). Cells are tied together by sums (a row's total is its parts; a table's groups add up
to a published margin), and a hidden cell that could be recovered by subtracting shown cells
from a shown total is not hidden at all, so further cells are hidden (complementary
suppression): among the shown cells of the sum that gives it away, the smallest non-zero one.

`MIN_CELL` is the only default: callers with a model spec at hand use its
`fairness.tolerances.min_cell` (`min_cell_of(spec)`), everyone else this constant.

- `protect`: the engine, over any cells and sums (used by the fairness audits'
  `riskstrat.fairness.suppression` with the sums of an audit);
- `hidden_in_table`: which figures of a table to hide, with row sums and column margins;
- `suppressed_counts`: counts of a frame per combination of columns, publishable cells and
  margins only, suppressed jointly with another output about the same persons (`Beside`;
  the monthly MLflow counts per model, tier and municipality beside the month's audit);
- `is_small`, `log_count`: the threshold itself, and a count as a log line may show it.

The protection is against recovery by subtraction, however many steps it takes; it does not
solve the full linear programme an attacker could set up to narrow a hidden cell to bounds.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import permutations

import numpy as np
import pandas as pd

from riskstrat.spec import Tolerances

# the default smallest count of persons that may be shown (besides zero): the spec schema's
MIN_CELL: int = Tolerances.model_fields["min_cell"].default


def min_cell_of(spec=None) -> int:
    """The minimum cell of a model spec (`fairness.tolerances.min_cell`), else `MIN_CELL`."""
    return MIN_CELL if spec is None else int(spec.fairness.tolerances.min_cell)


def is_small(counts, min_cell: int = MIN_CELL) -> np.ndarray:
    """True where a count is sensitive: 1 to min_cell - 1 (zeros may show; NaN is not small)."""
    counts = np.asarray(counts, dtype=np.float64)
    return (counts >= 1) & (counts < min_cell)


def log_count(n: int, min_cell: int = MIN_CELL) -> str:
    """A count as a log line shows it: "<5" for 1 to 4 persons (at the default), else the number."""
    return f"<{min_cell}" if is_small(n, min_cell) else str(n)


# ------------------------------------------------------------------ the engine
def protect(
    values: list[int],
    sums: list[list[int]],
    figures: list[list[int]],
    min_cell: int,
    rank: list[tuple],
    fixed: Sequence[int] = (),
) -> set[int]:
    """The cells to hide: the sensitive ones (1 to min_cell - 1) that a figure would show, and
    complements, until no chain of subtractions over `sums` ([total, *parts]) recovers a
    sensitive cell from the cells still shown. A figure (a list of cells) shows its cells
    only if none of them is hidden. `rank` orders complement candidates (smallest first).
    `fixed` cells are published elsewhere: always known, never hidden, never sensitive."""
    published = set(fixed)
    sensitive = [k for k, v in enumerate(values) if 0 < v < min_cell and k not in published]
    showable = {k for cells in figures for k in cells}
    hidden = showable.intersection(sensitive)
    while True:
        shown = published | {k for cells in figures if hidden.isdisjoint(cells) for k in cells}
        via = _recoverable(sums, len(values), shown)
        leaks = [k for k in sensitive if k in via]
        if not leaks:
            return hidden
        added: set[int] = set()
        given_away: set[int] = set()
        for leak in leaks:
            if not added.intersection(sums[via[leak][0]]):
                more = _hide_one(leak, via, sums, values, shown - published, rank)
                added |= more
                if not more and published:  # given away by published (fixed) figures alone
                    given_away.add(leak)
        sensitive = [k for k in sensitive if k not in given_away]
        if not added - hidden and not given_away:  # cannot happen; never loop forever over a leak
            raise RuntimeError("small-cell suppression made no progress")
        hidden |= added


def _recoverable(
    sums: list[list[int]], n_cells: int, shown: set[int]
) -> dict[int, tuple[int, int]]:
    """Cells not shown but recoverable by subtraction -> (the sum that gives each away, step)."""
    containing: list[list[int]] = [[] for _ in range(n_cells)]
    unknown = np.zeros(len(sums), dtype=int)
    for s, members in enumerate(sums):
        for m in members:
            containing[m].append(s)
            unknown[s] += m not in shown
    known = set(shown)
    queue = [s for s in range(len(sums)) if unknown[s] == 1]
    via: dict[int, tuple[int, int]] = {}
    while queue:
        s = queue.pop()
        missing = [m for m in sums[s] if m not in known]
        if len(missing) != 1:
            continue
        cell = missing[0]
        known.add(cell)
        via[cell] = (s, len(via))
        for other in containing[cell]:
            unknown[other] -= 1
            if unknown[other] == 1:
                queue.append(other)
    return via


def _hide_one(
    cell: int,
    via: dict,
    sums: list[list[int]],
    values: list[int],
    shown: set[int],
    rank: list[tuple],
) -> set[int]:
    """One more cell to hide so that `cell` can no longer be recovered the way it was: a shown
    part of the sum that gave it away, else (recursively) a part that was itself recovered,
    else the sum's total."""
    s, step = via[cell]
    total, parts = sums[s][0], [m for m in sums[s][1:] if m != cell]
    for group in (parts, [total] if total != cell else []):
        visible = [m for m in group if m in shown and values[m] > 0]
        if visible:
            return {min(visible, key=lambda m: rank[m])}
        earlier = [m for m in group if m in via and via[m][1] < step and values[m] > 0]
        if earlier:
            return _hide_one(min(earlier, key=lambda m: rank[m]), via, sums, values, shown, rank)
    return {m for m in sums[s] if m in shown}


# ------------------------------------------------------------------ tables
def hidden_in_table(
    cells: pd.DataFrame,
    figures: Mapping[str, Sequence[str]],
    *,
    row_sums: Sequence[Sequence[str]] = (),
    blocks: Sequence[Sequence] | None = None,
    min_cell: int = MIN_CELL,
    rank_by: str | None = None,
) -> pd.DataFrame:
    """Which figures of a table to hide: a boolean frame (index of `cells`, a column per figure).

    `cells` holds the counts of each row, one column per cell, including cells never shown
    but recoverable (e.g. persons without the event = n - events). `figures` maps each shown
    column to the cells it reveals (a count reveals itself; a rate its numerator and base).
    `row_sums` are (total, *parts) within every row. The rows of each of `blocks` (lists of
    row labels; default: one block of every row) add up, cell by cell, to the same margin,
    published elsewhere (so known and never hidden, unless it is small itself: then it is
    hidden wherever it is published). Complements are the smallest cells (by value, or by
    the row's `rank_by` cell), earlier rows first on ties."""
    names = list(cells.columns)
    blocks = [list(b) for b in blocks] if blocks is not None else [list(cells.index)]
    frame = cells.astype(np.float64).fillna(0).round().astype(np.int64)
    frame = pd.concat([frame, frame.loc[blocks[0]].sum().to_frame(_MARGIN).T])
    ids: dict[tuple, int] = {}
    values: list[int] = []
    rank: list[tuple] = []
    for position, label in enumerate(frame.index):
        for column, name in enumerate(names):
            ids[(label, name)] = len(values)
            values.append(int(frame.at[label, name]))
            size = values[-1] if rank_by is None else int(frame.at[label, rank_by])
            rank.append((size, position, column))
    sums = [[ids[(label, n)] for n in s] for label in frame.index for s in row_sums]
    for block in blocks:
        sums += [[ids[(_MARGIN, n)], *(ids[(r, n)] for r in block)] for n in names]
    shows = {
        (label, f): [ids[(label, n)] for n in needs]
        for label in cells.index
        for f, needs in figures.items()
    }
    margin = [ids[(_MARGIN, n)] for n in names]
    fixed = [k for k in margin if not is_small(values[k], min_cell)]
    hidden = protect(values, sums, list(shows.values()), min_cell, rank, fixed)
    out = pd.DataFrame(False, index=cells.index, columns=list(figures))
    for (label, figure), members in shows.items():
        out.loc[label, figure] = not hidden.isdisjoint(members)
    return out


class _Margin:
    def __repr__(self) -> str:
        return "<margin>"


_MARGIN = _Margin()


# ------------------------------------------------------------------ counts
@dataclass(frozen=True)
class PublishedCounts:
    """The publishable counts of `suppressed_counts`.

    `cells` maps each combination of the `by` values (a tuple, in `by` order) to its count;
    combinations with nobody are not listed, and hidden cells are left out. `margins` maps
    each published margin (a tuple of the `by` columns it keeps; () for the grand total) to
    its publishable totals, keyed like `cells` by the kept columns' values."""

    by: tuple[str, ...]
    cells: dict[tuple, int] = field(default_factory=dict)
    margins: dict[tuple[str, ...], dict[tuple, int]] = field(default_factory=dict)

    @property
    def total(self) -> int | None:
        """The grand total, if it is a published margin and publishable."""
        return self.margins.get((), {}).get(())


@dataclass(frozen=True)
class Beside:
    """Another output about the same persons, published beside the counts of
    `suppressed_counts` (the month's fairness audit beside its MLflow counts).

    Its cells' true counts (`values`), how they add up (`sums`: [total, *parts], indices into
    `values`), the cells it shows (`shown`: known to anyone), and `ties`: which of its cells
    are sums of the counts' cells (its cell -> {column: values}: the counts' cells whose
    value in each named `by` column is one of those; {} for all of them). Its shown cells
    are never hidden; its hidden small cells are protected like the counts' own."""

    values: Sequence[int]
    sums: Sequence[Sequence[int]]
    shown: Collection[int]
    ties: Mapping[int, Mapping[str, Collection]]


def suppressed_counts(
    frame: pd.DataFrame,
    by: Sequence[str],
    min_cell: int = MIN_CELL,
    margins: Sequence[Sequence[str]] = ((),),
    beside: Beside | None = None,
) -> PublishedCounts:
    """Persons (rows of `frame`) per combination of the `by` columns and per margin, with
    counts of 1 to min_cell - 1 hidden and complementary suppression against the margins
    published with them (default: the grand total), including margins inside margins, and
    against another output `beside` them (its shown cells known, its small cells protected).

    For the monthly MLflow counts of one model: `suppressed_counts(frame, ["tier",
    "municipality_code"], min_cell, beside=...)` gives `.cells[(tier, code)]` and `.total`
    (persons scored). Missing values form cells of their own (key None): they are part of
    every total."""
    by = tuple(by)
    if not by or len(set(by)) != len(by) or not all(set(m) < set(by) for m in margins):
        raise ValueError(f"each margin must keep fewer than all of the distinct `by` columns {by}")
    # each margin as the `by` columns it keeps, in `by` order, once
    kept: list[tuple[str, ...]] = list(
        dict.fromkeys(tuple(c for c in by if c in set(m)) for m in margins)
    )
    counts = frame.groupby(list(by), dropna=False, observed=True, sort=True).size()
    cells = {_key(k): int(n) for k, n in counts.items() if n > 0}
    ids: dict[tuple, int] = {(None, key): k for k, key in enumerate(cells)}  # (margin, key) -> cell
    values = list(cells.values())
    totals: dict[tuple[str, ...], dict[tuple, list[int]]] = {}
    for m in kept:
        where = [by.index(c) for c in m]
        parts: dict[tuple, list[int]] = {} if m else {(): []}
        for key in cells:
            parts.setdefault(tuple(key[i] for i in where), []).append(ids[(None, key)])
        totals[m] = parts
        for key, members in parts.items():
            ids[(m, key)] = len(values)
            values.append(sum(values[k] for k in members))
    sums = [
        [ids[(m, key)], *members] for m, parts in totals.items() for key, members in parts.items()
    ]
    for coarse, fine in permutations(kept, 2):  # a coarser margin is also a sum of a finer one
        if set(coarse) < set(fine):
            where = [fine.index(c) for c in coarse]
            for key in totals[coarse]:
                members = [
                    ids[(fine, k)] for k in totals[fine] if tuple(k[i] for i in where) == key
                ]
                sums.append([ids[(coarse, key)], *members])
    figures = [[k] for k in range(len(values))]
    fixed = [] if beside is None else _add_beside(beside, by, cells, ids, values, sums)
    rank = [(v, k) for k, v in enumerate(values)]
    hidden = protect(values, sums, figures, min_cell, rank, fixed)
    shown = {key: values[k] for key, k in ids.items() if k not in hidden}
    return PublishedCounts(
        by,
        {key: n for (m, key), n in shown.items() if m is None},
        {
            m: {key: shown[(m, key)] for key in parts if (m, key) in shown}
            for m, parts in totals.items()
        },
    )


def _add_beside(
    beside: Beside,
    by: tuple[str, ...],
    cells: dict[tuple, int],
    ids: dict[tuple, int],
    values: list[int],
    sums: list[list[int]],
) -> list[int]:
    """Append the other output's cells, its sums and its ties to the counts' cells to the
    problem (in place); return its shown cells, which `protect` takes as published."""
    unknown = sorted({c for where in beside.ties.values() for c in where} - set(by))
    if unknown:
        raise ValueError(f"ties name columns that are not counted: {unknown}")
    offset = len(values)
    values.extend(int(v) for v in beside.values)
    sums.extend([offset + k for k in s] for s in beside.sums)
    for k, where in beside.ties.items():
        allowed = [(by.index(c), set(v)) for c, v in where.items()]
        members = [ids[(None, key)] for key in cells if all(key[i] in vs for i, vs in allowed)]
        if members:  # none: the other cell counts nobody of these, 0
            sums.append([offset + k, *members])
    return [offset + k for k in beside.shown]


def _key(key) -> tuple:
    key = key if isinstance(key, tuple) else (key,)
    return tuple(None if pd.isna(v) else v for v in key)
