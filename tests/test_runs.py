"""The runs layout: publishing a month is idempotent, atomic and audited; a command replaces
only what it owns; last month's list gives `new_this_month`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from riskstrat import publishing as publish_module
from riskstrat.lists import list_files
from riskstrat.lists.teams import Teams
from riskstrat.runs import RunsLayout
from tests.lists.frames import AS_OF, NO_OPT_OUTS, SCORES_MANIFEST, people, team


def publish_lists(root: Path, month: str, files: dict[str, bytes], record: dict):
    return RunsLayout(root).publish(month, files, record)


def month_files(month: str = "2026-01", previous: dict | None = None, capacity: int = 25):
    persons, scores = people()
    teams = Teams(
        teams=[
            team(capacity=capacity),
            team(name="t2", language="en", catchment={"municipalities": [710]}),
        ]
    )
    files, summary, _ = list_files(
        teams,
        {"avoidable_admission": (scores, SCORES_MANIFEST)},
        persons,
        NO_OPT_OUTS,
        month,
        AS_OF,
        previous or {},
    )
    record = {
        "teams": summary,
        "data_extract_date": "2026-01-01",
        "models": {"avoidable_admission": "3"},
    }
    return files, record


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def audit_lines(root: Path, month: str = "2026-01") -> list[dict]:
    return [json.loads(line) for line in (root / month / "audit.jsonl").read_text().splitlines()]


def test_publishing_the_same_month_again_changes_nothing(tmp_path: Path) -> None:
    files, record = month_files()
    first = publish_lists(tmp_path, "2026-01", files, record)
    assert not first.unchanged and first.folder == tmp_path / "2026-01"
    assert sorted(snapshot(tmp_path)) == sorted(
        [f"2026-01/{k}" for k in files] + ["2026-01/audit.jsonl"]
    )
    before = snapshot(tmp_path)
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    again_files, _ = month_files()  # rebuilt from the same inputs: identical bytes
    again = publish_lists(tmp_path, "2026-01", again_files, record)
    assert again.unchanged and again.audit is None
    assert snapshot(tmp_path) == before
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == mtimes
    assert len(audit_lines(tmp_path)) == 1


def test_the_audit_line_says_who_when_what_and_names_no_person(tmp_path: Path) -> None:
    files, record = month_files()
    publish_lists(tmp_path, "2026-01", files, record)
    (line,) = audit_lines(tmp_path)
    assert line["who"] and line["when"].endswith("+00:00") and line["month"] == "2026-01"
    assert line["teams"]["t1"]["rows"] == 25 and line["teams"]["t1"]["model_version"] == "3"
    assert line["data_extract_date"] == "2026-01-01"
    assert set(line["files"]) == set(files) and all(len(v) == 64 for v in line["files"].values())
    text = (tmp_path / "2026-01" / "audit.jsonl").read_text()
    persons, _ = people()
    assert not any(pid in text for pid in persons["person_id"])


def test_a_changed_month_is_replaced_whole_and_keeps_its_audit_history(tmp_path: Path) -> None:
    files, record = month_files()
    publish_lists(tmp_path, "2026-01", {**files, "old-team/target_list.csv": b"rank\n"}, record)
    changed, record = month_files(capacity=10)
    result = publish_lists(tmp_path, "2026-01", changed, record)
    assert not result.unchanged
    assert not (
        tmp_path / "2026-01" / "old-team"
    ).exists()  # a team that is gone leaves no stale list
    lines = audit_lines(tmp_path)
    assert len(lines) == 2 and lines[1]["teams"]["t1"]["rows"] == 10
    assert "old-team/target_list.csv" in lines[0]["files"]


@pytest.mark.parametrize("already_published", [True, False])
def test_an_interrupted_publish_leaves_the_previous_state(
    tmp_path: Path, monkeypatch, already_published
) -> None:
    files, record = month_files()
    if already_published:
        publish_lists(tmp_path, "2026-01", files, record)
    before = snapshot(tmp_path)
    original = publish_module.write_files

    def crash_midway(folder: Path, new_files: dict[str, bytes]) -> None:
        original(folder, dict(list(sorted(new_files.items()))[:2]))
        raise OSError("disk full")

    monkeypatch.setattr(publish_module, "write_files", crash_midway)
    changed, record = month_files(capacity=10)
    with pytest.raises(OSError, match="disk full"):
        publish_lists(tmp_path, "2026-01", changed, record)
    assert snapshot(tmp_path) == before
    assert [p.name for p in tmp_path.iterdir()] == (["2026-01"] if already_published else [])


def test_file_names_that_could_escape_the_month_are_refused(tmp_path: Path) -> None:
    for name in ("../x.csv", "/abs.csv", "audit.jsonl", "t1/.hidden", ""):
        with pytest.raises(ValueError, match="cannot publish"):
            publish_lists(tmp_path, "2026-01", {name: b"x"}, {})
    assert not any(tmp_path.iterdir())


def test_new_this_month_comes_from_last_months_published_list(tmp_path: Path) -> None:
    runs = RunsLayout(tmp_path)
    files, record = month_files("2025-12")
    runs.publish("2025-12", {"lists/" + k: v for k, v in files.items()}, record)
    previous = runs.previous_lists("2026-01")
    last = previous["t1"]
    assert last is not None and len(last) == 25 and last["person_id"].str.startswith("P").all()
    assert runs.previous_lists("2025-12") == {}
    assert "nobody" not in previous
    january, _ = month_files("2026-01", previous=previous, capacity=30)
    new = pd.read_csv(io.BytesIO(january["t1/target_list.csv"]))["new_this_month"]
    assert new.tolist() == [False] * 25 + [True] * 5


def test_a_command_replaces_only_the_files_it_owns(tmp_path: Path) -> None:
    runs = RunsLayout(tmp_path)
    files, record = month_files()
    whole = {"scores/m/scores.parquet": b"scores", **{"lists/" + k: v for k, v in files.items()}}
    runs.publish("2026-01", whole, record)
    fewer, _ = month_files(capacity=10)
    result = runs.publish(
        "2026-01", {"lists/" + k: v for k, v in fewer.items()}, record, owned=("lists/",)
    )
    assert not result.unchanged
    assert (tmp_path / "2026-01" / "scores" / "m" / "scores.parquet").read_bytes() == b"scores"
    assert (tmp_path / "2026-01" / "lists" / "t1" / "target_list.csv").read_bytes() == fewer[
        "t1/target_list.csv"
    ]
    assert len(audit_lines(tmp_path)) == 2
