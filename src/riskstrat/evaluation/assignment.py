"""Who is randomised to usual care: the pooled, sticky, stratified holdout (and the stepped
wedge alternative).

**Holdout.** Each month, every team's ranked candidates (the persons its list would take,
best first) are walked down from the top. A person assigned before, in any month and by any
team, keeps their arm: `listed` takes a place on the list, `holdout` is passed over. New
persons are randomised in blocks within team × risk band: the new candidates of one
stratum, in rank order, form blocks of `persons` (5 for a share of 0.2), and in each block
exactly `holdouts` (1) persons, those with the smallest hash of (seed, month, person id),
go to the holdout. A block is drawn as a whole when the walk reaches its first member, and
the walk stops once `capacity` persons of the listed arm rank at or above it: whether a
block is drawn depends only on the arms drawn before it, never on its own, so every drawn
person had exactly the holdout share of going to usual care, whatever their rank or risk.
The team still gets its full capacity; a drawn block can leave a few listed-arm persons
below the cut (`on_list` false this month; they count in the listed arm, as intention to
treat requires).

**Rerandomisation** (with `balance_limit`; Morgan & Rubin 2012). The month is drawn again
with other keys (draw k; `draws.draw_keys`, draw 0 being the keys above) until the new
persons of the month, both arms, have every baseline covariate's |SMD within team × risk
band| (`estimates.within_strata_smd`) below the limit; if none of `max_draws` draws does,
the most balanced is kept (and logged: the draw and its largest SMD). Every draw is a
blocked randomisation walked as above; the accepted draw is recorded per person (`draw`).

**Stepped wedge.** A team (or a municipality) starts on its scheduled month: candidates of a
started team are listed (`listed`), the top `capacity` candidates of a team not yet started
are recorded as the comparison (`comparison`) and not listed. A person's arm is the arm of
their first month (later months can list a comparison person once the team starts: the
analysis keeps the first arm, which dilutes the effect towards zero).

Reproducible: the result of a month depends only on its candidates, the settings and the
assignments of *earlier* months (rows of that month or later in `previous` are ignored), so
re-running any past month gives the same assignments even when later months exist.
Person-level: the table lives in the runs folder only, never in MLflow or a log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskstrat.dates import parse_month
from riskstrat.errors import InputError
from riskstrat.evaluation.draws import (
    COMPARISON_ARM,
    HELD_OUT,
    LISTED_ARM,
    NOT_ASSIGNED,
    Balance,
    Candidates,
    Walk,
    candidate_arrays,
    draw_keys,
    rerandomise,
    walk_month,
)
from riskstrat.evaluation.settings import EvaluationSettings

log = logging.getLogger(__name__)

LISTED, HOLDOUT, COMPARISON = "listed", "holdout", "comparison"
CANDIDATE_COLUMNS = ["person_id", "team", "rank", "risk_band"]
ASSIGNMENT_COLUMNS = [
    "person_id",
    "arm",
    "month",  # the month of the person's first assignment
    "team",
    "risk_band",
    "stratum",
    "block",
    "design",
    "seed",
    "draw",  # the accepted draw of the month (0: the plain blocked randomisation)
]
_CODE = {HOLDOUT: HELD_OUT, LISTED: LISTED_ARM, COMPARISON: COMPARISON_ARM}
MONTH_COLUMNS = [
    "person_id",
    "team",
    "rank",
    "risk_band",
    "arm",
    "new_assignment",
    "on_list",
]


@dataclass(frozen=True)
class MonthAssignment:
    """One month's assignment: `table`, every assignment up to and including this month
    (ASSIGNMENT_COLUMNS; the runs folder's person-level table), and `month_arms`, the
    candidates this month considered, per team (MONTH_COLUMNS): their arm, whether the arm
    was drawn this month, and whether they are on the team's list (`on_list`); `balance`,
    how the month's draw was chosen (aggregates)."""

    table: pd.DataFrame
    month_arms: pd.DataFrame
    balance: Balance = field(default_factory=lambda: Balance())

    def listed(self, team: str) -> list[str]:
        """The person ids on `team`'s list this month, in rank order."""
        rows = self.month_arms[(self.month_arms["team"] == team) & self.month_arms["on_list"]]
        return rows.sort_values("rank")["person_id"].tolist()


def empty_assignments() -> pd.DataFrame:
    """An assignment table with no one in it (the first month's `previous`)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in ASSIGNMENT_COLUMNS}).astype(
        {"seed": "int64", "draw": "int64"}
    )


def with_draw(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with a `draw` column: tables written before rerandomisation existed have
    none, and every one of their months was draw 0."""
    if "draw" in table.columns:
        return table
    return table.assign(draw=0)


def assign_month(
    candidates: pd.DataFrame,
    previous: pd.DataFrame | None,
    settings: EvaluationSettings,
    month: str,
    capacity: Mapping[str, int],
    municipality: Mapping[str, int] | None = None,
    covariates: pd.DataFrame | None = None,
) -> MonthAssignment:
    """Assign the month's candidates to arms and choose each team's list.

    `candidates`: per team, the persons its list would take in rank order (person_id, team,
    rank (1 = first), risk_band), more of them than its capacity (the walk may need a share
    more); `previous`: the assignment table of earlier months (None: none); `capacity`: the
    persons a month of each team; `municipality`: person id → municipality code, needed
    only for a stepped wedge scheduled by municipality; `covariates`: the candidates'
    baseline covariates (person_id, optional team, numeric columns), needed only with a
    balance limit (rerandomisation: the draw whose new persons are balanced). Returns a
    MonthAssignment; InputError for candidates that cannot be used."""
    parse_month(month)
    frame = _checked(candidates, capacity)
    earlier = _earlier(previous, month)
    balance = Balance()
    if settings.design == "holdout":
        rows, balance = _holdout(frame, earlier, settings, month, capacity, covariates)
        _log_balance(balance, settings, month)
    else:
        rows = _stepped_wedge(frame, earlier, settings, month, capacity, municipality or {})
    month_arms = pd.DataFrame(rows, columns=[*MONTH_COLUMNS, "block"])
    new = month_arms[month_arms["new_assignment"]].drop_duplicates("person_id")
    added = pd.DataFrame(
        {
            "person_id": new["person_id"],
            "arm": new["arm"],
            "month": month,
            "team": new["team"],
            "risk_band": new["risk_band"],
            "stratum": _stratum(settings, new["team"], new["risk_band"], month),
            "block": new["block"],
            "design": settings.design,
            "seed": settings.seed,
            "draw": balance.draw,
        }
    )
    table = pd.concat([earlier, added], ignore_index=True) if len(earlier) else added
    table = table[ASSIGNMENT_COLUMNS].astype({"seed": "int64", "draw": "int64"})
    return MonthAssignment(
        table.reset_index(drop=True), month_arms[MONTH_COLUMNS].reset_index(drop=True), balance
    )


def _log_balance(balance: Balance, settings: EvaluationSettings, month: str) -> None:
    # aggregates only: the draw index and the largest SMD, never a person
    if balance.met is None:
        return
    if balance.met:
        log.info(
            "evaluation %s: draw %d of the rerandomisation met the balance limit %.2f "
            "(largest |SMD| within strata %.3f)",
            month,
            balance.draw,
            settings.balance_limit,
            balance.largest_smd,
        )
    else:
        log.warning(
            "evaluation %s: none of %d draws met the balance limit %.2f; kept draw %d, the "
            "most balanced (largest |SMD| within strata %.3f)",
            month,
            balance.tried,
            settings.balance_limit,
            balance.draw,
            balance.largest_smd,
        )


def _stratum(settings: EvaluationSettings, team: pd.Series, band: pd.Series, month: str):
    # a stepped wedge compares teams within a calendar month; a holdout, persons in a team
    if settings.design == "stepped_wedge":
        return month + "|" + band.astype(str)
    return team.astype(str) + "|" + band.astype(str)


def _checked(candidates: pd.DataFrame, capacity: Mapping[str, int]) -> pd.DataFrame:
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise InputError(f"the candidates lack the column(s) {', '.join(missing)}")
    frame = candidates[CANDIDATE_COLUMNS].copy()
    frame["person_id"] = frame["person_id"].astype(str)
    frame["team"] = frame["team"].astype(str)
    frame["risk_band"] = frame["risk_band"].astype(str)
    if frame.duplicated(["team", "person_id"]).any():
        raise InputError("the candidates hold a person more than once for one team")
    if frame.duplicated(["team", "rank"]).any():
        raise InputError("the candidates give two persons the same rank in one team")
    teams = sorted(set(frame["team"]) - set(capacity))
    if teams:
        raise InputError(f"no capacity given for team(s) {', '.join(teams)}")
    return frame.sort_values(["team", "rank"], kind="mergesort")


def _earlier(previous: pd.DataFrame | None, month: str) -> pd.DataFrame:
    """The assignments made before `month` (later ones are ignored: a re-run of a past month
    sees what it saw then)."""
    if previous is None or not len(previous):
        return empty_assignments()
    previous = with_draw(previous)
    missing = [c for c in ASSIGNMENT_COLUMNS if c not in previous.columns]
    if missing:
        raise InputError(f"the assignment table lacks the column(s) {', '.join(missing)}")
    earlier = previous[previous["month"].astype(str) < month]
    if earlier["person_id"].duplicated().any():
        raise InputError("the assignment table holds a person more than once")
    return earlier[ASSIGNMENT_COLUMNS].reset_index(drop=True)


def draw_key(seed: int, month: str, person_id: str) -> int:
    """The person's random key in a block of `month`: the first 8 bytes of SHA-256 of
    (seed, month, person id). Independent of rank, risk and the order rows arrive in."""
    digest = hashlib.sha256(f"{seed}\x1f{month}\x1f{person_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _holdout(
    frame: pd.DataFrame,
    earlier: pd.DataFrame,
    settings: EvaluationSettings,
    month: str,
    capacity: Mapping[str, int],
    covariates: pd.DataFrame | None = None,
) -> tuple[list[tuple], Balance]:
    cands = candidate_arrays(frame)
    codes = earlier["arm"].map(_CODE)
    known_arm = dict(zip(earlier["person_id"], codes, strict=True))
    known = np.array([known_arm.get(p, NOT_ASSIGNED) for p in cands.persons], dtype=np.int64)
    base = np.array([draw_key(settings.seed, month, p) for p in cands.persons], dtype=np.uint64)
    balance = Balance(0, None, None)
    if settings.balance_limit is not None:
        balance = rerandomise(cands, known, base, settings, capacity, covariates)
    keys = draw_keys(base, range(balance.draw, balance.draw + 1))
    walks = walk_month(cands, known, keys, settings, capacity)
    return _rows(cands, walks, capacity, month), balance


def _rows(
    cands: Candidates, walks: list[Walk], capacity: Mapping[str, int], month: str
) -> list[tuple]:
    """MONTH_COLUMNS + block of a single draw's walks, in the order the walk meets persons."""
    rows: list[tuple] = []
    names = {v: k for k, v in _CODE.items()}
    for (team, lo, hi), walk in zip(cands.teams, walks, strict=True):
        part = cands.frame.iloc[lo:hi]
        # the walk meets a block's members when it reaches the block's first member
        start = np.arange(hi - lo)
        band_codes = cands.band[lo:hi]
        for code in np.unique(band_codes):
            cols = np.flatnonzero((band_codes == code) & walk.drawn[0])
            numbers, heads = np.unique(walk.block[0, cols], return_index=True)
            start[cols] = cols[heads[np.searchsorted(numbers, walk.block[0, cols])]]
        seen = np.flatnonzero(walk.seen[0])
        seen = seen[np.lexsort((seen, start[seen]))]
        arms = walk.arm[0]
        listed = [j for j in sorted(seen) if arms[j] != HELD_OUT]
        on_list = set(listed[: capacity[team]])
        for j in seen:
            band = part["risk_band"].iat[j]
            rows.append(
                (
                    part["person_id"].iat[j],
                    team,
                    part["rank"].iat[j],
                    band,
                    names[int(arms[j])],
                    bool(walk.drawn[0, j]),
                    bool(j in on_list),
                    f"{month}/{team}/{band}/{walk.block[0, j]}" if walk.drawn[0, j] else None,
                )
            )
    return rows


def _start_month(
    settings: EvaluationSettings, team: str, person: str, municipality: Mapping[str, int]
) -> str:
    starts = settings.start_months
    if team in starts:
        return starts[team]
    code = municipality.get(person)
    if code is None or str(code) not in starts:
        raise InputError(
            f"team {team} has no start month, and a candidate's municipality has none either"
        )
    return starts[str(code)]


def _stepped_wedge(
    frame: pd.DataFrame,
    earlier: pd.DataFrame,
    settings: EvaluationSettings,
    month: str,
    capacity: Mapping[str, int],
    municipality: Mapping[str, int],
) -> list[tuple]:
    known: dict[str, str] = dict(zip(earlier["person_id"], earlier["arm"], strict=True))
    rows: list[tuple] = []
    for team, team_frame in frame.groupby("team", sort=True):
        top = team_frame.head(capacity[str(team)])
        for pid, rank, band in zip(top["person_id"], top["rank"], top["risk_band"], strict=True):
            started = _start_month(settings, str(team), pid, municipality) <= month
            new = pid not in known
            if new:
                known[pid] = LISTED if started else COMPARISON
            rows.append((pid, team, rank, band, known[pid], new, started, None))
    return rows


def arm_shares(table: pd.DataFrame) -> pd.DataFrame:
    """Persons per stratum and arm in an assignment table, with each stratum's holdout share
    (aggregates; the caller suppresses small counts before publishing them)."""
    counts = table.groupby(["stratum", "arm"]).size().unstack("arm", fill_value=0)
    for arm in (LISTED, HOLDOUT):
        if arm not in counts:
            counts[arm] = 0
    counts["share_holdout"] = counts[HOLDOUT] / counts[[LISTED, HOLDOUT]].sum(axis=1)
    return counts.reset_index()
