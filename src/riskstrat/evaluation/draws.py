"""The holdout's draws, vectorised: many blocked randomisations of a month walked at once,
and the rerandomisation that picks the first balanced one (`assignment.assign_month` uses
both; see its docstring for the walk itself).

A draw gives every person a key; draw 0 is `assignment.draw_key`, the plain blocked
randomisation, so a month run without a balance limit is assigned exactly as before
rerandomisation existed. Arms are integer codes here: -1 not assigned, 0 holdout,
1 listed, 2 comparison.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskstrat.errors import InputError
from riskstrat.evaluation.estimates import within_strata_smd
from riskstrat.evaluation.settings import EvaluationSettings

NOT_ASSIGNED, HELD_OUT, LISTED_ARM, COMPARISON_ARM = -1, 0, 1, 2

# SplitMix64 (Steele, Lea & Flood 2014): draw k > 0 of a person is the k-th output of the
# generator seeded with their draw key, so every draw is a fresh hash-like key per person
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_BATCH = 64  # at most this many draws walked at once (vectorised over draws)


def draw_keys(base: np.ndarray, draws: range) -> np.ndarray:
    """(draws × persons) keys: draw 0 is `base` (each person's `draw_key`), draw k > 0 the
    k-th SplitMix64 output seeded with it."""
    k = np.arange(draws.start, draws.stop, dtype=np.uint64)[:, None]
    z = base[None, :] + k * _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX[0]
    z = (z ^ (z >> np.uint64(27))) * _MIX[1]
    z = z ^ (z >> np.uint64(31))
    return np.where(k == 0, base[None, :], z)


@dataclass(frozen=True)
class Candidates:
    """The month's candidate rows (one per team × person, by team then rank) as arrays."""

    frame: pd.DataFrame  # CANDIDATE_COLUMNS, sorted by team and rank
    person: np.ndarray  # row -> index into `persons`
    persons: np.ndarray  # the distinct person ids
    band: np.ndarray  # row -> risk band code
    teams: list[tuple[str, int, int]]  # (team, first row, end row)


def candidate_arrays(frame: pd.DataFrame) -> Candidates:
    """The candidates (CANDIDATE_COLUMNS, sorted by team and rank) as arrays."""
    person, persons = pd.factorize(frame["person_id"])
    band = pd.factorize(frame["risk_band"])[0]
    bounds = frame.reset_index(drop=True).groupby("team", sort=True).indices
    teams = [(str(t), int(i.min()), int(i.max()) + 1) for t, i in bounds.items()]
    return Candidates(frame.reset_index(drop=True), person, np.asarray(persons), band, teams)


@dataclass
class Walk:
    """One team's walk under many draws at once (draws × the team's candidates, in rank
    order): `drawn` (new assignment this month), `held` (randomised to the holdout),
    `arm` (code after the walk), `seen` (considered: above the stop or drawn) and `block`
    (within-band block number of new candidates, -1 for the others)."""

    drawn: np.ndarray
    held: np.ndarray
    arm: np.ndarray
    seen: np.ndarray
    block: np.ndarray


def walk_team(
    arm: np.ndarray, keys: np.ndarray, band: np.ndarray, block: tuple[int, int], capacity: int
) -> Walk:
    """Walk a team's candidates (columns, in rank order) under every draw (rows): `arm`, the
    codes known before the team (-1: new), `keys` the draws' keys, `band` the band codes.

    Equivalent to walking down the ranks: a new candidate's block (consecutive new
    candidates of its band) is drawn as a whole when the walk reaches its first member, and
    the walk stops at the first candidate with `capacity` listed-arm persons ranked above
    it. Every person ranked above the stop has an arm by then, so the stop is where the
    exclusive running count of the listed arm, with every block drawn, reaches capacity."""
    holdouts, size = block
    draws, n = arm.shape
    fresh = arm == NOT_ASSIGNED
    position = np.zeros((draws, n), dtype=np.int64)
    for code in np.unique(band):
        cols = np.flatnonzero(band == code)
        position[:, cols] = np.cumsum(fresh[:, cols], axis=1) - 1
    number = np.where(fresh, position // size, -1)
    # the `holdouts` smallest keys of each block (ties: the better rank) go to the holdout
    d, j = np.nonzero(fresh)
    held = np.zeros((draws, n), dtype=bool)
    if len(d):
        order = np.lexsort((j, keys[d, j], number[d, j], band[j], d))
        d, j = d[order], j[order]
        same = (d[1:] == d[:-1]) & (band[j][1:] == band[j][:-1])
        same &= number[d, j][1:] == number[d, j][:-1]
        first = np.maximum.accumulate(np.where(np.r_[True, ~same], np.arange(len(d)), 0))
        held[d, j] = np.arange(len(d)) - first < holdouts
    listed = np.where(fresh, ~held, (arm == LISTED_ARM) | (arm == COMPARISON_ARM))
    above = np.cumsum(listed, axis=1) - listed
    full = above >= capacity
    stop = np.where(full.any(axis=1), full.argmax(axis=1), n)
    reached = np.arange(n)[None, :] < stop[:, None]
    drawn = np.zeros((draws, n), dtype=bool)
    for code in np.unique(band):
        cols = np.flatnonzero(band == code)
        opens = fresh[:, cols] & (position[:, cols] % size == 0)
        blocks_drawn = (opens & reached[:, cols]).sum(axis=1)
        drawn[:, cols] = fresh[:, cols] & (number[:, cols] < blocks_drawn[:, None])
    held &= drawn
    after = np.where(drawn, np.where(held, HELD_OUT, LISTED_ARM), arm)
    return Walk(drawn, held, after, reached | drawn, number)


def walk_month(
    cands: Candidates,
    known: np.ndarray,
    keys: np.ndarray,
    settings: EvaluationSettings,
    capacity: Mapping[str, int],
) -> list[Walk]:
    """Every team's walk (in team order) under the draws of `keys` (draws × persons);
    `known`: each person's arm code from earlier months (-1: none). A person drawn by one
    team keeps that arm in the teams after it."""
    arm = np.tile(known, (len(keys), 1))
    walks = []
    for team, lo, hi in cands.teams:
        idx = cands.person[lo:hi]
        walk = walk_team(
            arm[:, idx], keys[:, idx], cands.band[lo:hi], settings.block, capacity[team]
        )
        arm[:, idx] = walk.arm
        walks.append(walk)
    return walks


@dataclass(frozen=True)
class Balance:
    """How the month's draw was chosen (aggregates only): `draw`, the accepted draw (0: the
    plain blocked randomisation); `largest_smd`, its largest |SMD within strata| over the
    covariates, and `met`, whether that is below the balance limit (both None without a
    limit); `tried`, the draws walked."""

    draw: int = 0
    largest_smd: float | None = None
    met: bool | None = None
    tried: int = 1


def covariate_matrix(cands: Candidates, covariates: pd.DataFrame | None) -> np.ndarray:
    """(candidate rows × covariates): each row's values, by team and person when the frame
    has a `team` column (e.g. the team's model's risk), else by person; NaN where absent."""
    if covariates is None or "person_id" not in covariates.columns:
        raise InputError(
            "evaluation.balance_limit needs the candidates' baseline covariates (person_id and "
            "numeric columns)"
        )
    keys = ["team", "person_id"] if "team" in covariates.columns else ["person_id"]
    table = covariates.astype({k: str for k in keys})
    if table.duplicated(keys).any():
        raise InputError(f"the candidates' covariates hold a {' × '.join(keys)} more than once")
    names = [c for c in table.columns if c not in keys]
    bad = [c for c in names if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise InputError(f"the candidates' covariates are not numeric: {', '.join(bad)}")
    merged = cands.frame[keys].merge(table, on=keys, how="left", validate="many_to_one")
    return merged[names].to_numpy(dtype=np.float64, na_value=np.nan)


def _batches(total: int) -> list[range]:
    """Draws 0 .. total - 1 in batches of 1, 1, 2, 4, ... up to _BATCH: a month whose first
    draws are balanced walks no more than it needs."""
    out, lo, size = [], 0, 1
    while lo < total:
        out.append(range(lo, min(lo + size, total)))
        lo, size = lo + size, min(2 * size if lo else 1, _BATCH)
    return out


def rerandomise(
    cands: Candidates,
    known: np.ndarray,
    base: np.ndarray,
    settings: EvaluationSettings,
    capacity: Mapping[str, int],
    covariates: pd.DataFrame | None,
) -> Balance:
    """The first draw whose new persons (both arms) have every covariate's |SMD within team
    × risk band| below the limit (Morgan & Rubin 2012); if none of `max_draws` does, the
    draw with the smallest largest |SMD|. Draws are walked in batches, vectorised."""
    limit = settings.balance_limit
    assert limit is not None
    x = covariate_matrix(cands, covariates)
    strata = pd.factorize(cands.frame["team"] + "|" + cands.frame["risk_band"])[0]
    best = Balance(0, math.inf, False, settings.max_draws)
    for draws in _batches(settings.max_draws):
        lo = draws.start
        walks = walk_month(cands, known, draw_keys(base, draws), settings, capacity)
        drawn = np.hstack([w.drawn for w in walks])
        listed = drawn & ~np.hstack([w.held for w in walks])
        smd = np.abs(within_strata_smd(x, listed, strata, drawn))
        largest = smd.max(axis=1) if smd.shape[1] else np.zeros(len(draws))
        met = np.flatnonzero(largest < limit)
        if len(met):
            k = int(met[0])
            return Balance(lo + k, float(largest[k]), True, lo + k + 1)
        k = int(largest.argmin())
        if largest[k] < (best.largest_smd or math.inf):
            best = Balance(lo + k, float(largest[k]), False, settings.max_draws)
    return best
