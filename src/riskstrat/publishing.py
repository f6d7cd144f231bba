"""Publishing a month: all files appear at once or nothing changes, one writer at a time,
and the audit history only grows.

`publish_month(folder, files, audit_record, owned=None)`:

1. takes the month's lock, the file `.MONTH.lock` beside the month folder (`fcntl.flock`;
   removed again when done): a second publisher of the same month waits up to
   `lock_timeout` seconds, then gets `PublishLocked` (an InputError naming the lock);
2. recovers what an interrupted publish left (`riskstrat.io.recover_folder`): a month
   folder that a crash between the two renames left missing gets its previous copy back,
   stale copies are removed after any audit line only they hold is merged into the month's
   `audit.jsonl`; the result's `recovered` says what was found;
3. with `owned` (path prefixes such as `("lists/",)`) carries every other file of the month
   over unchanged, hidden ones included; without it `files` are the whole month;
4. if every file is already there byte-identically and the month has an audit line,
   nothing is touched and no line is added (the month is unchanged);
5. otherwise builds the whole month in a temporary folder beside it, with the old
   `audit.jsonl` lines kept and one line added, and swaps it into place
   (`riskstrat.io.atomic_folder`). An exception at any point leaves the previous month
   folder as it was.

Commands that write their own output folder or files outside the monthly layout use
`write_own_folder` / `refuse_inside_month`: they never replace what they did not write.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pandas as pd

from riskstrat.errors import InputError
from riskstrat.io import absolute, atomic_folder, atomic_write_bytes, leftovers, recover_folder

log = logging.getLogger(__name__)
AUDIT = "audit.jsonl"
LIST_CSV = "target_list.csv"
LOCK_TIMEOUT_SECONDS = 60.0
_MONTH_NAME = re.compile(r"\d{4}-\d{2}")


@dataclass(frozen=True)
class PublishResult:
    """Where the month is, whether it was already published as is, the files it holds
    (relative paths, audit.jsonl aside), the audit line added (None if unchanged), the
    SHA-256 of the month's last audit line (the one that describes the files in place) and
    what was recovered from an interrupted earlier publish."""

    folder: Path
    unchanged: bool
    files: list[str]
    audit: dict | None = None
    audit_sha256: str | None = None
    recovered: tuple[str, ...] = ()


class PublishLocked(InputError):
    """Another process is publishing the same month and did not finish in time."""


def _hidden(relative: PurePosixPath | Path) -> bool:
    return any(p.startswith(".") for p in relative.parts)


def _outside(folder: Path, owned: tuple[str, ...]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The month's files outside the `owned` prefixes (audit.jsonl aside): (visible, hidden);
    with no prefix owned, every file of the month."""
    visible: dict[str, bytes] = {}
    hidden: dict[str, bytes] = {}
    if not folder.is_dir():
        return visible, hidden
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and relative != AUDIT and not relative.startswith(owned):
            (hidden if _hidden(path.relative_to(folder)) else visible)[relative] = path.read_bytes()
    return visible, hidden


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


# --- one writer per month ---------------------------------------------------------------


def lock_path(folder: str | Path) -> Path:
    """The lock file of a month folder: `.MONTH.lock` beside it."""
    folder = absolute(folder)
    return folder.parent / f".{folder.name}.lock"


@contextmanager
def month_lock(folder: str | Path, timeout: float | None = None) -> Iterator[Path]:
    """Hold the month's lock (an exclusive `flock` on `lock_path(folder)`), waiting up to
    `timeout` seconds (default `LOCK_TIMEOUT_SECONDS`) for another holder; PublishLocked
    if it does not come free. Yields the lock file, which holds the holder's process id
    and is removed on release."""
    import fcntl

    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    deadline = time.monotonic() + wait
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise PublishLocked(_locked_message(folder, path, wait)) from None
            time.sleep(0.05)
            continue
        if _is_same_file(fd, path):
            break
        os.close(fd)  # the holder before us removed the file on release: take the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _is_same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _locked_message(folder: str | Path, path: Path, wait: float) -> str:
    try:
        holder = path.read_text(encoding="ascii").strip()
    except OSError:
        holder = ""
    by = f" (process {holder})" if holder.isdigit() else ""
    return (
        f"{absolute(folder)} is being published by another process{by}: its lock {path} "
        f"did not come free within {wait:g} s; nothing was published. Run again when that "
        "publish has finished."
    )


# --- audit history ----------------------------------------------------------------------


def _audit_lines(path: Path) -> list[bytes]:
    if not path.is_file():
        return []
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def _when(line: bytes) -> str:
    try:
        return str(json.loads(line).get("when", ""))
    except (ValueError, AttributeError):
        return ""


def keep_audit_lines(stale: Path, month: Path) -> str | None:
    """Merge into `month`'s audit.jsonl every line that only the stale copy `stale` holds
    (in time order, before the month's last line, which describes the files in place);
    says so, or None if there was none."""
    current = _audit_lines(month / AUDIT)
    known = set(current)
    missing = [line for line in _audit_lines(stale / AUDIT) if line not in known]
    if not missing:
        return None
    merged = sorted(current[:-1] + missing, key=_when) + current[-1:]
    atomic_write_bytes(month / AUDIT, b"".join(line + b"\n" for line in merged))
    return f"kept {len(missing)} audit line(s) that only {stale.name} held in {month / AUDIT}"


def _sha256(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def recover_month(folder: str | Path, lock_timeout: float | None = None) -> list[str]:
    """Before reading a month: if an interrupted publish left copies beside it, recover them
    under the month's lock (as the next publish would) and say what was found (also logged
    as warnings). A month another process is publishing right now is left to it."""
    if not leftovers(folder):
        return []
    try:
        with month_lock(folder, lock_timeout):
            notes = recover_folder(folder, locked=True, keep=keep_audit_lines)
    except PublishLocked:
        return []
    for note in notes:
        log.warning("recovered: %s", note)
    return notes


# --- publishing -------------------------------------------------------------------------


def publish_month(
    folder: str | Path,
    files: dict[str, bytes],
    audit_record: dict,
    owned: tuple[str, ...] | None = None,
    lock_timeout: float | None = None,
    keep: tuple[str, ...] = (),
) -> PublishResult:
    """Publish `files` (relative path -> bytes) as the content of month folder `folder`
    (only the `owned` prefixes of it, if given) plus its audit.jsonl; see the module
    docstring. Files of the month matching a `keep` pattern (relative glob, e.g. a file a
    team saved beside its list) are carried over unless `files` holds them. `audit_record` (month, teams with row counts, model versions, data extract
    date; never person ids) is written with who published, when (UTC) and the sha256 of
    every file."""
    folder = Path(folder)
    _check_names(files)
    with month_lock(folder, lock_timeout):
        recovered = tuple(recover_folder(folder, locked=True, keep=keep_audit_lines))
        for note in recovered:
            log.info("%s", note)  # the caller shows `recovered` (a command prints it)
        hidden: dict[str, bytes] = {}
        kept = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for pattern in keep
            for path in sorted(folder.glob(pattern))
            if path.is_file()
        }
        files = {**kept, **files}
        if owned is not None:
            visible, hidden = _outside(folder, owned)
            files = {**visible, **files}
        return _publish(folder, files, hidden, audit_record, recovered)


def _publish(
    folder: Path,
    files: dict[str, bytes],
    hidden: dict[str, bytes],
    audit_record: dict,
    recovered: tuple[str, ...],
) -> PublishResult:
    previous = _audit_lines(folder / AUDIT)
    if previous and folder.is_dir() and _outside(folder, ())[0] == files:
        log.info("%s is unchanged (%d files already identical)", folder, len(files))
        return PublishResult(folder, True, sorted(files), None, _sha256(previous[-1]), recovered)
    record = {
        "who": getpass.getuser(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        **audit_record,
        "files": {
            name: hashlib.sha256(payload).hexdigest() for name, payload in sorted(files.items())
        },
    }
    line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    with atomic_folder(folder) as tmp:
        write_files(tmp, files)
        write_files(tmp, hidden)
        (tmp / AUDIT).write_bytes(b"".join(old + b"\n" for old in previous) + line + b"\n")
    log.info("published %s (%d files)", folder, len(files))
    return PublishResult(folder, False, sorted(files), record, _sha256(line), recovered)


# --- outputs outside the monthly layout -------------------------------------------------


def published_month_of(path: str | Path) -> Path | None:
    """The published month folder (a `YYYY-MM` folder holding audit.jsonl) that `path` is or
    lies in, if any."""
    path = absolute(path)
    for folder in (path, *path.parents):
        if _MONTH_NAME.fullmatch(folder.name) and (folder / AUDIT).is_file():
            return folder
    return None


def refuse_inside_month(path: str | Path, option: str = "--out") -> None:
    """InputError if `path` is or lies in a published month: only a publish changes one."""
    month = published_month_of(path)
    if month is not None:
        raise InputError(
            f"{option} {path} is inside the published month {month} (it holds {AUDIT}); a "
            "published month changes only through `riskstrat monthly` or `riskstrat lists`. "
            "Nothing was written: choose a path outside it."
        )


def check_own_folder(folder: str | Path, names: Iterable[str], option: str = "--out") -> None:
    """InputError unless `folder` may be replaced by a command that writes exactly the files
    `names`: it does not exist yet, or is a folder holding nothing but files of those names
    (an earlier output of the same command), and is not inside a published month."""
    folder = Path(folder)
    names = set(names)
    refuse_inside_month(folder, option)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{option} {folder} is a file; give a folder. Nothing was written.")
    if not folder.is_dir():
        return
    others = sorted(p.name for p in folder.iterdir() if p.name not in names or not p.is_file())
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise InputError(
            f"{option} {folder} already holds other files or folders ({shown}); this command "
            f"writes only {', '.join(sorted(names))} and replaces a folder only if it holds "
            "nothing else. Nothing was written: give a new or empty folder."
        )


def write_own_folder(folder: str | Path, files: dict[str, bytes], option: str = "--out") -> None:
    """Write `files` (plain file names) as the whole content of `folder`, atomically, if
    `check_own_folder` allows it (else InputError, and nothing changes)."""
    check_own_folder(folder, files, option)
    with atomic_folder(folder) as tmp:
        for name, payload in files.items():
            (tmp / name).write_bytes(payload)


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
