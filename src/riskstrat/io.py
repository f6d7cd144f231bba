"""Writing outputs atomically: a file or folder appears whole or not at all.

Everything is first written beside its target (same file system, so `os.replace` is an
atomic rename) and moved into place only when complete; a failed run leaves the previous
state untouched.

A folder is replaced in two renames: the target is moved aside as `.NAME.PID.XXXX.old` and
the new copy `.NAME.PID.XXXX.tmp` takes its place (PID: the writing process). An exception
between them puts the previous copy back. A process killed between them (`kill -9`, a power
cut) leaves the target missing with the previous copy beside it: `recover_folder` puts it
back and removes what dead writers left, and says what it found; every `atomic_folder`
calls it first.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.errors import InputError

log = logging.getLogger(__name__)

# `.NAME` followed by: `.PID.XXXX.tmp|old` (this version), `.old-PID` and `.XXXX.tmp` (before
# names carried the writer's process id: recovered only by a caller holding the target's lock)
_LEFTOVER = re.compile(r"\.(?P<pid>\d+)\.[a-z0-9_]+\.(?P<kind>tmp|old)")
_OLD_BEFORE = re.compile(r"\.old-(?P<pid>\d+)")
_TMP_BEFORE = re.compile(r"\.[a-z0-9_]+\.tmp")


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    """Write `payload` to `path` via a temporary sibling and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a frame as one Parquet file (zstd), atomically and byte-deterministically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def absolute(path: str | Path) -> Path:
    """`path` made absolute and normalised (`.` and `..` resolved, symlinks kept)."""
    return Path(os.path.abspath(path))


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces `target` when the block succeeds.

    On an exception the temporary folder is removed and `target` is left as it was. What an
    interrupted earlier write of `target` left is recovered first (`recover_folder`, logged
    as warnings). A `target` that is a file is refused (InputError): only folders are replaced.
    """
    target = absolute(target)
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file, not a folder: nothing was written")
    target.parent.mkdir(parents=True, exist_ok=True)
    for note in recover_folder(target):
        log.warning("%s", note)
    tmp = Path(_sibling(target, "tmp"))
    try:
        yield tmp
        if tmp.exists():
            _swap(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _sibling(target: Path, kind: str) -> str:
    """A new empty folder beside `target`, named `.NAME.PID.XXXX.kind`."""
    return tempfile.mkdtemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=f".{kind}", dir=target.parent
    )


def _swap(new: Path, target: Path) -> None:
    """Put folder `new` in place of `target` and remove the previous copy; an exception
    between the two renames puts the previous copy back."""
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(_sibling(target, "old"))
    try:
        os.replace(target, old)  # onto an empty folder: allowed for folders
    except BaseException:
        old.rmdir()
        raise
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class Leftover:
    """A folder an interrupted `atomic_folder` left beside its target: `kind` "old" (the
    previous copy, moved aside) or "tmp" (a new copy, not yet in place), and the writing
    process's id (None if the name does not say)."""

    path: Path
    kind: str
    pid: int | None


def leftovers(target: str | Path) -> list[Leftover]:
    """The leftovers of interrupted writes of `target` beside it, by name."""
    target = absolute(target)
    if not target.parent.is_dir():
        return []
    prefix = f".{target.name}"
    found = []
    for entry in target.parent.iterdir():
        if not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
            continue
        rest = entry.name[len(prefix) :]
        if match := _LEFTOVER.fullmatch(rest):
            found.append(Leftover(entry, match["kind"], int(match["pid"])))
        elif match := _OLD_BEFORE.fullmatch(rest):
            found.append(Leftover(entry, "old", int(match["pid"])))
        elif _TMP_BEFORE.fullmatch(rest):
            found.append(Leftover(entry, "tmp", None))
    return sorted(found, key=lambda item: item.path.name)


def _alive(pid: int) -> bool:
    if os.name != "posix" or pid == os.getpid():
        return True  # cannot tell (or it is this process): treat as still writing
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_folder(
    target: str | Path,
    locked: bool = False,
    keep: Callable[[Path, Path], str | None] | None = None,
) -> list[str]:
    """Recover what interrupted writes of `target` left beside it; one note per finding.

    A missing `target` gets the most recent previous copy back (the state before the
    interrupted write); other previous copies and unfinished new copies are removed, after
    `keep(copy, target)` has taken what must survive from each previous copy (e.g. audit
    lines; it returns a note or None). Without `locked` only leftovers of processes that no
    longer run are touched; `locked` (the caller holds the target's lock, so nobody else is
    writing) takes them all.
    """
    target = absolute(target)
    stale = [item for item in leftovers(target) if locked or item.pid and not _alive(item.pid)]
    olds = sorted(
        (item for item in stale if item.kind == "old"),
        key=lambda item: item.path.stat().st_mtime_ns,
        reverse=True,
    )
    notes = []
    if olds and not target.exists():
        first = olds.pop(0)
        os.replace(first.path, target)
        notes.append(
            f"{target} was missing after an interrupted write{_by(first)}: "
            f"restored the previous copy from {first.path.name}"
        )
    for item in [*olds, *(item for item in stale if item.kind == "tmp")]:
        kept = keep(item.path, target) if item.kind == "old" and keep and target.is_dir() else None
        if kept:
            notes.append(kept)
        shutil.rmtree(item.path, ignore_errors=True)
        what = "a previous copy" if item.kind == "old" else "an unfinished copy"
        notes.append(
            f"removed {item.path.name} beside {target}: {what} left by an interrupted "
            f"write{_by(item)}"
        )
    return notes


def _by(item: Leftover) -> str:
    return f" (process {item.pid})" if item.pid else ""
