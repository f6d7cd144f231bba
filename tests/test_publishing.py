"""riskstrat.publishing: one writer per month (a lock, tried with real processes), what an
interrupted publish left is recovered by the next one and said, the audit history only
grows, and a command's own output folder never replaces what it did not write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from riskstrat import io as io_module
from riskstrat.errors import InputError
from riskstrat.publishing import (
    PublishLocked,
    check_own_folder,
    lock_path,
    month_lock,
    published_month_of,
    write_own_folder,
)
from riskstrat.runs import RunsLayout
from tests.publishing_worker import month_files

REPO = Path(__file__).resolve().parents[1]
MONTH = "2026-01"


def audit(root: Path, month: str = MONTH) -> list[dict]:
    return [json.loads(x) for x in (root / month / "audit.jsonl").read_text().splitlines()]


def published(root: Path, variants: list[str], month: str = MONTH) -> RunsLayout:
    runs = RunsLayout(root)
    for variant in variants:
        runs.publish(month, month_files(variant), {"variant": variant})
    return runs


def beside(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def workers(root: Path, variants: list[str], *options: str) -> list[subprocess.Popen]:
    """One `tests.publishing_worker` process per variant, started together."""
    go = root.parent / f"go-{time.monotonic_ns()}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.publishing_worker", str(root), MONTH, v]
            + [*options, "--go", str(go)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for v in variants
    ]
    for proc in procs:  # every worker has imported riskstrat and waits for the go
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    for proc in procs:
        proc.wait(timeout=120)
    return procs


# --- one writer per month ---------------------------------------------------------------


def test_three_concurrent_slow_publishes_give_three_audit_lines(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    procs = workers(root, ["a", "b", "c"], "--slow", "0.7", "--lock-timeout", "60")
    assert [p.returncode for p in procs] == [0, 0, 0], [p.stderr.read() for p in procs]
    lines = audit(root)
    assert sorted(line["variant"] for line in lines) == ["a", "b", "c"]
    last = lines[-1]["variant"]  # the month holds the files its last audit line describes
    assert (root / MONTH / "scores/m/scores.parquet").read_bytes() == month_files(last)[
        "scores/m/scores.parquet"
    ]
    assert beside(root) == [MONTH]  # no lock file, no leftover copy


def test_a_publisher_that_cannot_get_the_lock_in_time_exits_2_and_says_why(
    tmp_path: Path,
) -> None:
    root = tmp_path / "runs"
    procs = workers(root, ["a", "b", "c"], "--slow", "1.5", "--lock-timeout", "0.3")
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2, 2]
    for proc in procs:
        if proc.returncode == 2:
            message = proc.stderr.read()
            assert "is being published by another process (process " in message
            assert str(root / ".2026-01.lock") in message and "nothing was published" in message
    assert len(audit(root)) == 1  # refused ones published nothing, and said so


def test_the_lock_names_its_holder_and_is_removed_after_use(tmp_path: Path) -> None:
    folder = tmp_path / MONTH
    with month_lock(folder) as path:
        assert path == lock_path(folder) == tmp_path / ".2026-01.lock"
        assert path.read_text().strip() == str(os.getpid())
        started = time.monotonic()
        with pytest.raises(PublishLocked, match=r"\(process \d+\): its lock .*\.2026-01\.lock"):
            RunsLayout(tmp_path, lock_timeout=0.3).publish(MONTH, month_files("a"), {})
        assert 0.3 <= time.monotonic() - started < 5
    assert not path.exists() and not folder.exists()
    RunsLayout(tmp_path).publish(MONTH, month_files("a"), {})  # free again
    assert len(audit(tmp_path)) == 1


# --- an interrupted publish is recovered by the next one --------------------------------


def test_a_month_left_missing_between_the_renames_is_restored_with_its_history(
    tmp_path: Path,
) -> None:
    """The state a crash between the two renames leaves (as named before this version:
    `.MONTH.old-PID`, and a finished new copy `.MONTH.XXXX.tmp`)."""
    published(tmp_path, ["a", "b"])
    os.replace(tmp_path / MONTH, tmp_path / ".2026-01.old-4242")
    (tmp_path / ".2026-01.k2j4x9_q.tmp" / "lists").mkdir(parents=True)
    result = RunsLayout(tmp_path).publish(MONTH, month_files("c"), {"variant": "c"})
    assert [line["variant"] for line in audit(tmp_path)] == ["a", "b", "c"]
    assert beside(tmp_path) == [MONTH]
    restored, removed = result.recovered
    assert "was missing after an interrupted write (process 4242)" in restored
    assert "restored the previous copy from .2026-01.old-4242" in restored
    assert "removed .2026-01.k2j4x9_q.tmp" in removed and "an unfinished copy" in removed


def test_an_unchanged_month_is_still_recovered_and_said(tmp_path: Path) -> None:
    published(tmp_path, ["a"])
    os.replace(tmp_path / MONTH, tmp_path / ".2026-01.99999999.abc_12.old")
    result = RunsLayout(tmp_path).publish(MONTH, month_files("a"), {"variant": "a"})
    assert result.unchanged and len(result.recovered) == 1
    assert [line["variant"] for line in audit(tmp_path)] == ["a"]
    assert result.audit_sha256 is not None and beside(tmp_path) == [MONTH]


def test_audit_lines_only_a_stale_copy_holds_are_kept(tmp_path: Path) -> None:
    """Two publishers before months had a lock: the one that lost the race left the only
    copy of an audit line in its previous copy. The line is merged, never dropped."""
    published(tmp_path, ["a", "b"])
    stale = tmp_path / ".2026-01.old-4243"
    (stale).mkdir()
    lines = (tmp_path / MONTH / "audit.jsonl").read_text().splitlines()
    lost = json.dumps({"when": "2000-01-01T00:00:00+00:00", "variant": "lost"})
    (stale / "audit.jsonl").write_text("\n".join([lines[0], lost]) + "\n")
    result = RunsLayout(tmp_path).publish(MONTH, month_files("b"), {"variant": "b"})
    assert result.unchanged  # the files did not change; the history did
    assert [line["variant"] for line in audit(tmp_path)] == ["lost", "a", "b"]
    assert any(
        "kept 1 audit line(s) that only .2026-01.old-4243 held" in n for n in result.recovered
    )
    assert beside(tmp_path) == [MONTH]


def test_a_month_read_by_a_later_month_is_recovered_first(tmp_path: Path, caplog) -> None:
    """The next run may be of another month: what it reads of a month an interrupted
    publish left missing (last month's lists, the lists of a follow-up month) is there."""
    runs = published(tmp_path, ["a"], month="2025-12")
    os.replace(tmp_path / "2025-12", tmp_path / ".2025-12.old-4242")
    previous = runs.previous_lists("2026-01")
    assert list(previous) == ["t1"] and previous["t1"] is not None
    assert previous["t1"]["person_id"].tolist() == ["Pa"]
    assert "restored the previous copy from .2025-12.old-4242" in caplog.text
    assert beside(tmp_path) == ["2025-12"] and runs.listed("2025-12", "m") == {"Pa"}


def test_an_exception_between_the_renames_puts_the_previous_copy_back(
    tmp_path: Path, monkeypatch
) -> None:
    published(tmp_path, ["a"])
    before = {p: p.read_bytes() for p in (tmp_path / MONTH).rglob("*") if p.is_file()}
    replace, calls = os.replace, []

    def failing(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError("I/O error")
        replace(src, dst)

    monkeypatch.setattr(io_module.os, "replace", failing)
    with pytest.raises(OSError, match="I/O error"):
        RunsLayout(tmp_path).publish(MONTH, month_files("b"), {"variant": "b"})
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in (tmp_path / MONTH).rglob("*") if p.is_file()} == before
    assert beside(tmp_path) == [MONTH]


def test_leftovers_of_a_live_writer_are_left_alone_without_the_lock(tmp_path: Path) -> None:
    target = tmp_path / "scores"
    (tmp_path / f".scores.{os.getppid()}.abc.tmp").mkdir(parents=True)  # a running process
    (tmp_path / ".scores.99999999.abc.tmp").mkdir()  # no such process
    notes = io_module.recover_folder(target)
    assert len(notes) == 1 and ".scores.99999999.abc.tmp" in notes[0]
    assert beside(tmp_path) == [f".scores.{os.getppid()}.abc.tmp"]


def test_a_command_never_replaces_a_file_with_a_folder(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(InputError, match="is a file, not a folder"):
        with io_module.atomic_folder(tmp_path / "x") as tmp:
            (tmp / "a").write_text("new")
    assert (tmp_path / "x").read_text() == "keep me" and beside(tmp_path) == ["x"]


def test_a_runs_root_inside_a_published_month_is_refused(tmp_path: Path) -> None:
    published(tmp_path, ["a"])
    with pytest.raises(InputError, match="is inside the published month"):
        RunsLayout(tmp_path / MONTH).publish("2026-02", month_files("a"), {})
    assert beside(tmp_path / MONTH) == ["audit.jsonl", "lists", "scores"]


# --- a command's own output folder ------------------------------------------------------

REPORT = {"report.html": b"<!doctype html>", "report.md": b"# r", "groups.json": b"[]"}


def test_an_own_output_folder_is_written_new_or_over_an_earlier_output(tmp_path: Path) -> None:
    out = tmp_path / "fair"
    write_own_folder(out, REPORT)
    write_own_folder(out, {**REPORT, "report.md": b"# again"})
    assert (out / "report.md").read_bytes() == b"# again" and beside(out) == sorted(REPORT)


@pytest.mark.parametrize("case", ["runs-root", "other-file", "subfolder", "a-file", "in-a-month"])
def test_an_output_folder_holding_anything_else_is_refused_and_left_alone(
    tmp_path: Path, case: str
) -> None:
    published(tmp_path / "runs", ["a"])
    out = {
        "runs-root": tmp_path / "runs",
        "other-file": tmp_path / "docs",
        "subfolder": tmp_path / "nested",
        "a-file": tmp_path / "notes.txt",
        "in-a-month": tmp_path / "runs" / MONTH / "fairness",
    }[case]
    if case == "other-file":
        out.mkdir()
        (out / "report.md").write_text("# mine")
        (out / "README.md").write_text("# mine")
    if case == "subfolder":
        (out / "report.html").mkdir(parents=True)
    if case == "a-file":
        out.write_text("mine")
    before = {p: (p.is_dir() or p.read_bytes()) for p in sorted(tmp_path.rglob("*"))}
    expected = {
        "runs-root": "already holds other files or folders (2026-01)",
        "other-file": "already holds other files or folders (README.md)",
        "subfolder": "already holds other files or folders (report.html)",
        "a-file": "is a file; give a folder",
        "in-a-month": "is inside the published month",
    }[case]
    with pytest.raises(InputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        write_own_folder(out, REPORT)
    assert {p: (p.is_dir() or p.read_bytes()) for p in sorted(tmp_path.rglob("*"))} == before
    check_own_folder(tmp_path / "new", REPORT)  # a new folder is fine


def test_a_published_month_is_a_month_folder_holding_an_audit(tmp_path: Path) -> None:
    published(tmp_path, ["a"])
    assert published_month_of(tmp_path / MONTH / "lists" / "t1") == tmp_path / MONTH
    assert published_month_of(tmp_path) is None
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "audit.jsonl").write_text("{}\n")  # not a month folder
    assert published_month_of(tmp_path / "elsewhere" / "x") is None
