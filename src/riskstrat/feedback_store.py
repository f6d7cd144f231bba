"""Teams' answers on their lists, kept in the runs folder (interfaces.md, "Feedback").

    RUNS/feedback/statuses.jsonl   one line per person, month and team of every import
    RUNS/feedback/audit.jsonl      one line per import: who, when, which file (sha256),
                                   how many statuses, and which earlier import it supersedes

Both files only grow. The statuses of a team's list are those of its latest import; a
corrected file supersedes the earlier one as a whole (its audit line says so), and
importing a file whose statuses are already the current ones changes nothing. Free-text
notes never get here (`riskstrat.lists.feedback` does not read them). Person-level: this
folder stays in the runs folder like the lists themselves; only counts leave it.

`import_feedback` reads, checks and stores one file; `histories` gives each team's earlier
lists and answers to the month being composed; `import_dropped` imports the files teams
saved as `RUNS/YYYY-MM/lists/<team>/feedback.xlsx` (the monthly flow does this first).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from riskstrat.dates import earlier_month
from riskstrat.errors import InputError
from riskstrat.io import atomic_write_bytes
from riskstrat.lists import FEEDBACK_COLUMNS, FeedbackHistory, Team, check_feedback, read_feedback
from riskstrat.publishing import month_lock, read_list
from riskstrat.runs import FEEDBACK_FILES, RunsLayout

log = logging.getLogger(__name__)
FOLDER, STATUSES_FILE, AUDIT_FILE = "feedback", "statuses.jsonl", "audit.jsonl"


@dataclass(frozen=True)
class Imported:
    """What an import did: the team and month, the file's sha256, persons with a status,
    whether it changed nothing (`unchanged`), the import it superseded (its `when` and
    sha256, or None) and what it recovered from an interrupted earlier import."""

    team: str
    month: str
    sha256: str
    statuses: int
    unchanged: bool
    supersedes: dict | None = None
    recovered: tuple[str, ...] = ()


def import_feedback(
    layout: RunsLayout, month: str, team: str, payload: bytes, name: str, today: date
) -> Imported:
    """Check the file (`payload`, named `name`) against `team`'s published list of `month`
    and store its statuses; InputError (nothing stored) for a file that does not fit."""
    layout.recover(month)
    published = read_list(layout.team_list(month, team))
    if published is None:
        have = sorted(p.parent.name for p in layout.lists(month).glob("*/target_list.csv"))
        raise InputError(
            f"{team} has no published list of {month} in {layout.root}"
            + (f" (lists of {month}: {', '.join(have)})" if have else f" (no lists of {month})")
            + "; nothing was stored"
        )
    others = {
        p.parent.name: read_list(p.parent)
        for p in sorted(layout.lists(month).glob("*/target_list.csv"))
        if p.parent.name != team
    }
    records = check_feedback(
        read_feedback(payload, name),
        published,
        team,
        month,
        today,
        {k: v for k, v in others.items() if v is not None},
    )
    return store(layout.root, records, team, month, hashlib.sha256(payload).hexdigest(), name)


def store(
    root: Path, records: pd.DataFrame, team: str, month: str, sha256: str, source: str
) -> Imported:
    """Append one checked import (`records`: FEEDBACK_COLUMNS) under the feedback lock,
    unless the team's current statuses of that month are these already."""
    folder = Path(root) / FOLDER
    with month_lock(folder):
        lines, audit, recovered = _read(folder)
        current = _latest(audit, team, month)
        if current is not None and (
            current["sha256"] == sha256 or _same(lines, current["import"], records)
        ):
            return Imported(team, month, sha256, len(records), True, None, recovered)
        number = max((a["import"] for a in audit), default=0) + 1
        superseded = (
            None if current is None else {k: current[k] for k in ("import", "when", "sha256")}
        )
        entry = {
            "import": number,
            "who": getpass.getuser(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "team": team,
            "month": month,
            "sha256": sha256,
            "file": Path(source).name,
            "statuses": len(records),
            "supersedes": None
            if current is None
            else {
                "import": current["import"],
                "when": current["when"],
                "sha256": current["sha256"],
            },
        }
        added = [{**r, "import": number} for r in records[FEEDBACK_COLUMNS].to_dict("records")]
        _write(folder / STATUSES_FILE, [*lines, *added])
        _write(folder / AUDIT_FILE, [*audit, entry])
    if current is not None:
        log.info("feedback of %s on %s supersedes the import of %s", team, month, current["when"])
    return Imported(team, month, sha256, len(records), False, superseded, recovered)


def current_statuses(root: Path, team: str, months: Iterable[str]) -> tuple[pd.DataFrame, set]:
    """(the team's current statuses on its lists of `months`: FEEDBACK_COLUMNS, the months
    whose list came back)."""
    lines, audit, _ = _read(Path(root) / FOLDER)
    wanted = set(months)
    latest = {m: _latest(audit, team, m) for m in wanted}
    imports = {a["import"] for a in latest.values() if a is not None}
    rows = [r for r in lines if r["import"] in imports and r["team"] == team]
    frame = pd.DataFrame(rows, columns=FEEDBACK_COLUMNS)
    return frame.astype({"person_id": str}), {m for m, a in latest.items() if a is not None}


def histories(layout: RunsLayout, month: str, teams: Iterable[Team]) -> dict[str, FeedbackHistory]:
    """Each team's earlier lists (month, person_id, tier) and answers over the months its
    rules look back (`FeedbackRules.history_months`), for composing `month`'s lists."""
    found = {}
    for team in teams:
        months = [earlier_month(month, k) for k in range(1, team.feedback.history_months + 1)]
        listings = []
        for m in months:
            layout.recover(m)
            listed = read_list(layout.team_list(m, team.name))
            if listed is not None:
                listings.append(listed[["person_id", "tier"]].assign(month=m))
        statuses, answered = current_statuses(layout.root, team.name, months)
        found[team.name] = FeedbackHistory(
            pd.concat(listings, ignore_index=True)[["month", "person_id", "tier"]]
            if listings
            else FeedbackHistory().listings,
            statuses[["month", "person_id", "status"]],
            frozenset(answered),
        )
    return found


def import_dropped(
    layout: RunsLayout, month: str, teams: Iterable[Team], today: date
) -> list[Imported]:
    """Import every `feedback.xlsx` (or `.csv`) a team saved in its list folder of the months
    its rules look back from `month`; re-importing an unchanged file changes nothing. An
    InputError names the file."""
    done = []
    for team in teams:
        for k in range(1, team.feedback.history_months + 1):
            m = earlier_month(month, k)
            for name in FEEDBACK_FILES:
                path = layout.team_list(m, team.name) / name
                if not path.is_file():
                    continue
                try:
                    done.append(
                        import_feedback(layout, m, team.name, path.read_bytes(), name, today)
                    )
                except InputError as error:
                    raise InputError(f"{path}: {error}") from None
    return done


def _read(folder: Path) -> tuple[list[dict], list[dict], tuple[str, ...]]:
    """(status lines, audit lines, notes): status lines of an import without an audit line
    (a crash between the two writes) are dropped, and the next write leaves them out."""
    audit = _lines(folder / AUDIT_FILE)
    known = {a["import"] for a in audit}
    lines = _lines(folder / STATUSES_FILE)
    kept = [r for r in lines if r["import"] in known]
    notes: tuple[str, ...] = ()
    if len(kept) < len(lines):
        notes = (f"left out {len(lines) - len(kept)} status line(s) of an interrupted import",)
        log.warning("recovered: %s", notes[0])
    return kept, audit, notes


def _lines(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write(path: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows)
    atomic_write_bytes(path, text.encode("utf-8"))


def _latest(audit: list[dict], team: str, month: str) -> dict | None:
    mine = [a for a in audit if a["team"] == team and a["month"] == month]
    return mine[-1] if mine else None


def _same(lines: list[dict], number: int, records: pd.DataFrame) -> bool:
    def key(rows: Iterable[dict]) -> set[tuple]:
        return {(r["person_id"], r["rank"], r["status"], r["status_date"]) for r in rows}

    return key(r for r in lines if r["import"] == number) == key(records.to_dict("records"))
