"""Publishing a month: all files appear at once, or nothing changes.

`publish_month(folder, files, audit_record)` compares the new files with what is there: if
every file is already byte-identical, nothing is touched and no audit line is added (the
month is unchanged); otherwise the whole month folder is built beside the old one, with
the old `audit.jsonl` lines kept and one line added, and swapped into place. An exception
at any point leaves the previous month folder as it was.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from riskstrat.io import atomic_folder

AUDIT = "audit.jsonl"


@dataclass(frozen=True)
class PublishResult:
    folder: Path
    unchanged: bool
    files: list[str]


def _current(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != AUDIT and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, payload in sorted(files.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)


def publish_month(folder: str | Path, files: dict[str, bytes], audit_record: dict) -> PublishResult:
    """Publish `files` (relative path -> bytes) as the month folder; see the module docstring."""
    folder = Path(folder)
    if _current(folder) == files:
        return PublishResult(folder, True, sorted(files))
    previous_audit = (folder / AUDIT).read_bytes() if (folder / AUDIT).exists() else b""
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "by": getpass.getuser(),
        **audit_record,
        "files": {name: hashlib.sha256(payload).hexdigest() for name, payload in sorted(files.items())},
    }
    with atomic_folder(folder) as tmp:
        write_files(tmp, files)
        line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n"
        (tmp / AUDIT).write_bytes(previous_audit + line.encode("utf-8"))
    return PublishResult(folder, False, sorted(files))


def previous_list(folder: str | Path) -> set[str]:
    """Person ids on an earlier published list (its target_list.csv), empty if none."""
    path = Path(folder) / "target_list.csv"
    if not path.exists():
        return set()
    import pandas as pd

    return set(pd.read_csv(path, usecols=["person_id"], dtype=str)["person_id"])


def listed_for_model(lists_root: str | Path, model_name: str) -> set[str]:
    """Person ids on every published list under `lists_root` whose team used `model_name`
    (each team folder's manifest.json names the model)."""
    listed: set[str] = set()
    root = Path(lists_root)
    if not root.exists():
        return listed
    for meta in sorted(root.rglob("manifest.json")):
        model = str(json.loads(meta.read_text(encoding="utf-8")).get("model", ""))
        if re.split(r"[@/]", model)[0] == model_name:
            listed |= previous_list(meta.parent)
    return listed
