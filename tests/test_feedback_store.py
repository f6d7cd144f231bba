"""Teams' answers in the runs folder: `riskstrat feedback`, append-only storage, idempotent
re-import, corrected files, the file a team saves beside its list, and the next month."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd

from riskstrat.feedback_store import (
    current_statuses,
    histories,
    import_dropped,
    import_feedback,
)
from riskstrat.lists import Teams, list_files
from riskstrat.runs import RunsLayout
from tests.cli.runner import invoke
from tests.lists.frames import AS_OF, NO_OPT_OUTS, SCORES_MANIFEST, people, team
from tests.test_runs import snapshot

TODAY = date(2026, 2, 10)
MONTH = "2026-01"


def publish(root: Path, month: str = MONTH, listed_before: dict | None = None) -> RunsLayout:
    persons, scores = people()
    teams = Teams(teams=[team(), team(name="t2", catchment={"municipalities": [710]})])
    layout = RunsLayout(root)
    files, summary, _ = list_files(
        teams,
        {"avoidable_admission": (scores, SCORES_MANIFEST)},
        persons,
        NO_OPT_OUTS,
        month,
        AS_OF,
        listed_before or {},
        prefix="lists/",
    )
    layout.publish(month, files, {"teams": summary})
    return layout


def answered(layout: RunsLayout, answers: dict[int, str], team_name: str = "t1") -> bytes:
    """The team's workbook with statuses typed on sheet rows (rank = row - 1)."""
    path = layout.team_list(MONTH, team_name) / "target_list.xlsx"
    wb = openpyxl.load_workbook(path)
    sheet = wb.worksheets[0]
    where = {c.value: c.column for c in sheet[1]}
    for row, status in answers.items():
        sheet.cell(row, where["Status"]).value = status
        sheet.cell(row, where["Dato"]).value = datetime(2026, 1, 10)
        sheet.cell(row, where["Note (læses ikke)"]).value = "Karen Jensen, datter"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def lines(root: Path, name: str) -> list[dict]:
    path = root / "feedback" / name
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_statuses_are_stored_per_person_with_the_files_sha256_and_no_notes(tmp_path) -> None:
    layout = publish(tmp_path)
    payload = answered(layout, {2: "takket nej", 3: "kontaktet", 5: "allerede kendt"})
    result = import_feedback(layout, MONTH, "t1", payload, "feedback.xlsx", TODAY)
    assert not result.unchanged and result.statuses == 3 and result.supersedes is None
    stored = lines(tmp_path, "statuses.jsonl")
    listed = pd.read_csv(layout.team_list(MONTH, "t1") / "target_list.csv", dtype=str)
    assert [(r["person_id"], r["rank"], r["status"]) for r in stored] == [
        (listed["person_id"][0], 1, "declined"),
        (listed["person_id"][1], 2, "contacted"),
        (listed["person_id"][3], 4, "already_known"),
    ]
    assert {r["month"] for r in stored} == {MONTH} and {r["team"] for r in stored} == {"t1"}
    (audit,) = lines(tmp_path, "audit.jsonl")
    import hashlib

    assert audit["sha256"] == hashlib.sha256(payload).hexdigest() == result.sha256
    assert audit["statuses"] == 3 and audit["file"] == "feedback.xlsx"
    everything = "".join(p.read_text() for p in (tmp_path / "feedback").iterdir())
    assert "Karen" not in everything and "datter" not in everything


def test_re_importing_changes_nothing_and_a_corrected_file_supersedes(tmp_path) -> None:
    layout = publish(tmp_path)
    first = answered(layout, {2: "takket nej", 3: "kontaktet"})
    import_feedback(layout, MONTH, "t1", first, "feedback.xlsx", TODAY)
    before = snapshot(tmp_path / "feedback")
    again = import_feedback(layout, MONTH, "t1", first, "feedback.xlsx", TODAY)
    assert again.unchanged and snapshot(tmp_path / "feedback") == before
    resaved = answered(layout, {2: "Takket nej", 3: "KONTAKTET"})  # other bytes, same statuses
    assert resaved != first
    assert import_feedback(layout, MONTH, "t1", resaved, "f.xlsx", TODAY).unchanged
    assert snapshot(tmp_path / "feedback") == before

    corrected = answered(layout, {2: "takket nej", 4: "ikke truffet"})
    result = import_feedback(layout, MONTH, "t1", corrected, "feedback.xlsx", TODAY)
    assert not result.unchanged and result.supersedes["import"] == 1
    audit = lines(tmp_path, "audit.jsonl")
    assert len(audit) == 2 and audit[1]["supersedes"]["sha256"] == audit[0]["sha256"]
    stored = lines(tmp_path, "statuses.jsonl")
    assert len(stored) == 4  # append-only: the first import's two lines are still there
    statuses, months = current_statuses(tmp_path, "t1", [MONTH])
    assert months == {MONTH}
    assert sorted(statuses["status"]) == ["declined", "not_reachable"]
    # importing the first file again is a correction back, not "unchanged"
    back = import_feedback(layout, MONTH, "t1", first, "feedback.xlsx", TODAY)
    assert not back.unchanged and back.supersedes["import"] == 2


def test_a_bad_file_stores_nothing_and_the_command_exits_2(tmp_path) -> None:
    layout = publish(tmp_path)
    bad = answered(layout, {2: "kontakted", 3: "kontaktet"})
    path = tmp_path / "from-team.xlsx"
    path.write_bytes(bad)
    args = ["feedback", "--runs", tmp_path, "--month", MONTH, "--team", "t1", path]
    result = invoke(args)
    assert result.exit_code == 2, result.output
    assert "1 row(s) have an unknown status" in result.stderr
    assert result.stderr.rstrip().endswith("row(s) 2")
    assert "nothing was stored" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "feedback").exists()
    assert invoke([*args[:6], "t9", path]).exit_code == 2  # a team without a list that month
    path.write_bytes(answered(layout, {2: "kontaktet"}))
    ok = invoke([*args, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["statuses"] == 1
    assert json.loads(invoke([*args, "--json"]).stdout)["unchanged"] is True


def test_a_saved_feedback_file_is_kept_by_a_new_publication_and_imported(tmp_path) -> None:
    layout = publish(tmp_path)
    saved = layout.team_list(MONTH, "t1") / "feedback.xlsx"
    # the bytes once: openpyxl stamps the save time into the file, so a second
    # `answered(...)` a second later would differ
    workbook = answered(layout, {2: "takket nej", 3: "indskrevet"})
    saved.write_bytes(workbook)
    publish(tmp_path)  # the month published again (e.g. `riskstrat lists` re-run)
    assert saved.read_bytes() == workbook
    t1 = team()
    done = import_dropped(layout, "2026-02", [t1], TODAY)
    assert [(d.team, d.month, d.statuses, d.unchanged) for d in done] == [("t1", MONTH, 2, False)]
    assert import_dropped(layout, "2026-02", [t1], TODAY)[0].unchanged
    found = histories(layout, "2026-02", [t1])["t1"]
    assert found.answered == {MONTH}
    assert len(found.listings) == t1.capacity and set(found.listings["month"]) == {MONTH}
    assert sorted(found.statuses["status"]) == ["declined", "enrolled"]


def test_next_months_list_leaves_out_the_handled_persons(tmp_path) -> None:
    layout = publish(tmp_path)
    import_feedback(
        layout, MONTH, "t1", answered(layout, {2: "takket nej"}), "feedback.xlsx", TODAY
    )
    january = pd.read_csv(layout.team_list(MONTH, "t1") / "target_list.csv", dtype=str)
    t1 = team(feedback={"cooldown_months": 0, "known_months": 12, "declined_months": 12})
    persons, scores = people()
    _, _, listed = list_files(
        Teams(teams=[t1]),
        {"avoidable_admission": (scores, SCORES_MANIFEST)},
        persons,
        NO_OPT_OUTS,
        "2026-02",
        date(2026, 2, 1),
        {},
        histories=histories(layout, "2026-02", [t1]),
    )
    declined = january["person_id"][0]
    assert declined not in listed["t1"]
    assert listed["t1"][: t1.capacity - 1] == january["person_id"].tolist()[1:]
    assert len(listed["t1"]) == t1.capacity
