"""Publishing a month: all files appear at once, or nothing changes.

`publish_month(folder, files, audit_record)` publishes a month folder: if every
file is already there byte-identically, nothing is touched and no audit line is added (the
month is unchanged). Otherwise the whole month folder is built in a temporary folder beside
it, with the old `audit.jsonl` lines kept and one line added, and swapped into place
(`riskstrat.io.atomic_folder`). An exception at any point leaves the previous month folder
as it was and no temporary folder behind.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pandas as pd

from riskstrat.io import atomic_folder

log = logging.getLogger(__name__)
AUDIT = "audit.jsonl"
LIST_CSV = "target_list.csv"


@dataclass(frozen=True)
class PublishResult:
    """Where the month is, whether it was already published as is, the files it holds
    (relative paths, audit.jsonl aside) and the audit line added (None if unchanged)."""

    folder: Path
    unchanged: bool
    files: list[str]
    audit: dict | None = None


def _current(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            path.is_file()
            and relative.as_posix() != AUDIT
            and not any(p.startswith(".") for p in relative.parts)
        ):
            found[relative.as_posix()] = path.read_bytes()
    return found


def _check_names(files: dict[str, bytes]) -> None:
    for name in files:
        parts = PurePosixPath(name).parts
        if (
            not parts
            or PurePosixPath(name).is_absolute()
            or name == AUDIT
            or "\\" in name
            or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
        ):
            raise ValueError(f"cannot publish a file named {name!r}")


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write each relative path's bytes under `folder` (in sorted order)."""
    for name, payload in sorted(files.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)


def publish_month(folder: str | Path, files: dict[str, bytes], audit_record: dict) -> PublishResult:
    """Publish `files` (relative path -> bytes) as the whole content of `folder` plus its
    audit.jsonl; see the module docstring. `audit_record` (month, teams with row counts,
    model versions, data extract date; never person ids) is written with who published,
    when (UTC) and the sha256 of every file."""
    folder = Path(folder)
    _check_names(files)
    if folder.is_dir() and _current(folder) == files:
        log.info("%s is unchanged (%d files already identical)", folder, len(files))
        return PublishResult(folder, True, sorted(files))
    previous_audit = (folder / AUDIT).read_bytes() if (folder / AUDIT).is_file() else b""
    if previous_audit and not previous_audit.endswith(b"\n"):
        previous_audit += b"\n"
    record = {
        "who": getpass.getuser(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        **audit_record,
        "files": {
            name: hashlib.sha256(payload).hexdigest() for name, payload in sorted(files.items())
        },
    }
    line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    with atomic_folder(folder) as tmp:
        write_files(tmp, files)
        (tmp / AUDIT).write_bytes(previous_audit + line.encode("utf-8"))
    log.info("published %s (%d files)", folder, len(files))
    return PublishResult(folder, False, sorted(files), record)


def read_list(folder: str | Path) -> pd.DataFrame | None:
    """A published list (its target_list.csv, person_id as text), or None if there is none."""
    path = Path(folder) / LIST_CSV
    if not path.is_file():
        return None
    from riskstrat.lists.files import read_target_list_csv

    return read_target_list_csv(path)


def listed_for_model(lists_root: str | Path, model_name: str) -> set[str]:
    """Person ids on every published list under `lists_root` whose team used `model_name`
    (each team folder's manifest.json names the model)."""
    listed: set[str] = set()
    root = Path(lists_root)
    if not root.exists():
        return listed
    for meta in sorted(root.rglob("manifest.json")):
        model = str(json.loads(meta.read_text(encoding="utf-8")).get("model", ""))
        found = read_list(meta.parent)
        if re.split(r"[@/]", model)[0] == model_name and found is not None:
            listed |= set(found["person_id"].dropna())
    return listed
