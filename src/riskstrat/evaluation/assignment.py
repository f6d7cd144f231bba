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
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from riskstrat.dates import parse_month
from riskstrat.errors import InputError
from riskstrat.evaluation.settings import EvaluationSettings

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
]
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
    was drawn this month, and whether they are on the team's list (`on_list`)."""

    table: pd.DataFrame
    month_arms: pd.DataFrame

    def listed(self, team: str) -> list[str]:
        """The person ids on `team`'s list this month, in rank order."""
        rows = self.month_arms[(self.month_arms["team"] == team) & self.month_arms["on_list"]]
        return rows.sort_values("rank")["person_id"].tolist()


def empty_assignments() -> pd.DataFrame:
    """An assignment table with no one in it (the first month's `previous`)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in ASSIGNMENT_COLUMNS}).astype(
        {"seed": "int64"}
    )


def assign_month(
    candidates: pd.DataFrame,
    previous: pd.DataFrame | None,
    settings: EvaluationSettings,
    month: str,
    capacity: Mapping[str, int],
    municipality: Mapping[str, int] | None = None,
) -> MonthAssignment:
    """Assign the month's candidates to arms and choose each team's list.

    `candidates`: per team, the persons its list would take in rank order (person_id, team,
    rank (1 = first), risk_band), more of them than its capacity (the walk may need a share
    more); `previous`: the assignment table of earlier months (None: none); `capacity`: the
    persons a month of each team; `municipality`: person id → municipality code, needed
    only for a stepped wedge scheduled by municipality. Returns a MonthAssignment;
    InputError for candidates that cannot be used."""
    parse_month(month)
    frame = _checked(candidates, capacity)
    earlier = _earlier(previous, month)
    if settings.design == "holdout":
        rows = _holdout(frame, earlier, settings, month, capacity)
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
        }
    )
    table = pd.concat([earlier, added], ignore_index=True) if len(earlier) else added
    table = table[ASSIGNMENT_COLUMNS].astype({"seed": "int64"}).reset_index(drop=True)
    return MonthAssignment(table, month_arms[MONTH_COLUMNS].reset_index(drop=True))


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


def _blocks(team_frame: pd.DataFrame, known: Mapping[str, str], size: int) -> dict[str, str]:
    """person id → block id for the team's new candidates: per risk band, in rank order,
    consecutive runs of `size`."""
    fresh = team_frame[~team_frame["person_id"].isin(known)]
    block_of: dict[str, str] = {}
    for band, rows in fresh.groupby("risk_band", sort=True):
        ids = rows["person_id"].tolist()
        for k in range(0, len(ids), size):
            for pid in ids[k : k + size]:
                block_of[pid] = f"{band}/{k // size}"
    return block_of


def _holdout(
    frame: pd.DataFrame,
    earlier: pd.DataFrame,
    settings: EvaluationSettings,
    month: str,
    capacity: Mapping[str, int],
) -> list[tuple]:
    holdouts, size = settings.block
    known: dict[str, str] = dict(zip(earlier["person_id"], earlier["arm"], strict=True))
    rows: list[tuple] = []
    for team, team_frame in frame.groupby("team", sort=True):
        block_of = _blocks(team_frame, known, size)
        members: dict[str, list[str]] = {}
        for pid, block in block_of.items():
            members.setdefault(block, []).append(pid)
        rank = dict(zip(team_frame["person_id"], team_frame["rank"], strict=True))
        band = dict(zip(team_frame["person_id"], team_frame["risk_band"], strict=True))
        drawn: dict[str, str] = {}  # this team's new assignments: person -> arm
        seen: list[str] = []
        listed_ranks: list[int] = []
        for pid in team_frame["person_id"]:
            if sum(r < rank[pid] for r in listed_ranks) >= capacity[str(team)]:
                break
            if pid in known and pid not in drawn:
                seen.append(pid)
                if known[pid] in (LISTED, COMPARISON):
                    listed_ranks.append(rank[pid])
                continue
            if pid in drawn:
                continue
            mates = members[block_of[pid]]
            keys = sorted(mates, key=lambda p: draw_key(settings.seed, month, p))
            for p in mates:
                arm = HOLDOUT if p in keys[:holdouts] else LISTED
                drawn[p] = known[p] = arm
                seen.append(p)
                if arm == LISTED:
                    listed_ranks.append(rank[p])
        cut = sorted(listed_ranks)[: capacity[str(team)]]
        on_list = set(cut)
        for pid in seen:
            arm = known[pid]
            rows.append(
                (
                    pid,
                    team,
                    rank[pid],
                    band[pid],
                    arm,
                    pid in drawn,
                    arm != HOLDOUT and rank[pid] in on_list,
                    block_of.get(pid) and f"{month}/{team}/{block_of[pid]}",
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
