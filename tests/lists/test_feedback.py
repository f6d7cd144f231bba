"""A team's answers on its list: the workbook's status columns, a round trip through a real
xlsx edited as a person in Excel would, and every kind of bad file."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from riskstrat.errors import InputError
from riskstrat.lists import (
    STATUSES,
    build_target_list,
    check_feedback,
    read_feedback,
    target_list_csv,
    target_list_xlsx,
)
from riskstrat.lists.feedback import STATUS_LABELS, status_code
from tests.lists.frames import AS_OF, NO_OPT_OUTS, people, team

MONTH = "2026-01"
TODAY = date(2026, 2, 3)


def published(language: str = "da", name: str = "t1") -> tuple[pd.DataFrame, bytes]:
    persons, scores = people()
    t = team(language=language, name=name)
    frame = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)
    return frame, target_list_xlsx(frame, t, "3", MONTH, language, as_of=AS_OF)


def columns(sheet) -> dict[str, int]:
    """Header text -> column number (1-based), as a person finds the columns."""
    return {cell.value: cell.column for cell in sheet[1]}


def saved(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def filled(payload: bytes, answers: dict[int, tuple[object, object, object]]) -> openpyxl.Workbook:
    """The workbook with (status, date, note) typed on the given sheet rows."""
    wb = openpyxl.load_workbook(io.BytesIO(payload))
    sheet = wb.worksheets[0]
    where = columns(sheet)
    status = where["Status"] if "Status" in where else None
    day = where.get("Dato", where.get("Date"))
    note = where.get("Note (læses ikke)", where.get("Note (never read)"))
    for row, (typed, when, text) in answers.items():
        sheet.cell(row, status).value = typed
        sheet.cell(row, day).value = when
        sheet.cell(row, note).value = text
    return wb


def test_the_workbook_has_status_date_and_note_columns_with_a_danish_drop_down() -> None:
    frame, payload = published("da")
    wb = openpyxl.load_workbook(io.BytesIO(payload))
    sheet = wb["Liste"]
    headers = [c.value for c in sheet[1]]
    assert headers[-3:] == ["Status", "Dato", "Note (læses ikke)"]
    assert all(sheet.cell(r, len(headers)).value is None for r in range(2, len(frame) + 2))
    (choice,) = sheet.data_validations.dataValidation
    assert choice.type == "list"
    assert str(choice.sqref) == f"{openpyxl.utils.get_column_letter(len(headers) - 2)}2:" + (
        f"{openpyxl.utils.get_column_letter(len(headers) - 2)}{len(frame) + 1}"
    )
    offered = choice.formula1.strip('"').split(",")
    assert offered == [STATUS_LABELS["da"][s] for s in STATUSES]
    assert "takket nej" in offered and "declined" not in offered
    about = " ".join(
        str(c) for row in wb["Forklaring"].iter_rows(values_only=True) for c in row if c
    )
    assert "Sådan giver I listen tilbage" in about and "læses aldrig" in about
    english = openpyxl.load_workbook(io.BytesIO(published("en")[1]))
    (choice,) = english["List"].data_validations.dataValidation
    assert choice.formula1.strip('"').split(",")[2] == "declined"
    assert "How to give the list back" in " ".join(
        str(c) for row in english["About"].iter_rows(values_only=True) for c in row if c
    )


def test_a_round_trip_through_excel_as_a_person_fills_it_in() -> None:
    frame, payload = published("da")
    ids = frame["person_id"].tolist()
    wb = filled(
        payload,
        {
            2: ("Takket nej", datetime(2026, 1, 5), "Jens Hansen ville ikke"),  # rank 1
            3: ("allerede  kendt", "2026-01-07", None),  # rank 2, odd spacing
            4: ("kontaktet", "09-01-2026", "ring igen"),  # rank 3, a Danish date
            5: ("Ikke truffet", None, None),  # rank 4, no date
            6: ("enrolled", datetime(2026, 1, 31), None),  # rank 5, an English code
        },
    )
    sheet = wb.worksheets[0]
    sheet.delete_rows(3)  # rank 2 deleted after all
    # re-ordered: sorted by person id descending, as a team sorting by a column would
    body = sorted(
        ([c.value for c in row] for row in sheet.iter_rows(min_row=2)),
        key=lambda r: r[1],
        reverse=True,
    )
    for i, values in enumerate(body, start=2):
        for j, value in enumerate(values, start=1):
            sheet.cell(i, j).value = value
    found = read_feedback(saved(wb), "feedback.xlsx")
    assert (found.team, found.month) == ("t1", MONTH)
    records = check_feedback(found, frame, "t1", MONTH, TODAY)
    got = records.set_index("person_id").sort_values("rank")
    assert got.index.tolist() == [ids[0], ids[2], ids[3], ids[4]]
    assert got["status"].tolist() == ["declined", "contacted", "not_reachable", "enrolled"]
    assert got["status_date"].tolist() == ["2026-01-05", "2026-01-09", None, "2026-01-31"]
    assert got["rank"].tolist() == [1, 3, 4, 5]
    assert (records["month"] == MONTH).all() and (records["team"] == "t1").all()
    assert "note" not in records.columns
    assert "Jens" not in records.to_csv() and "ring igen" not in records.to_csv()


def test_a_csv_with_status_columns_reads_like_the_workbook() -> None:
    frame, _ = published("en")
    table = pd.read_csv(io.BytesIO(target_list_csv(frame)), dtype={"person_id": str})
    table["status"] = ""
    table["status_date"] = ""
    table.loc[0, ["status", "status_date"]] = ["Already known", "2026-01-02"]
    table.loc[3, ["status", "status_date"]] = ["died_or_moved", "2026-01-20"]
    semicolons = table.to_csv(index=False, sep=";").encode("utf-8")  # as Danish Excel saves
    records = check_feedback(read_feedback(semicolons, "feedback.csv"), frame, "t1", MONTH, TODAY)
    assert records["status"].tolist() == ["already_known", "died_or_moved"]
    assert records["person_id"].tolist() == [frame["person_id"][0], frame["person_id"][3]]


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("kontaktet", "contacted"),
        ("INDSKREVET", "enrolled"),
        ("død eller fraflyttet", "died_or_moved"),
        ("not_reachable", "not_reachable"),
        ("not reachable", "not_reachable"),
        ("  ", None),
        (None, None),
    ],
)
def test_statuses_are_read_in_either_language(typed, code) -> None:
    assert status_code(typed) == code


def problems_of(payload: bytes, name: str = "feedback.xlsx", team_name: str = "t1", **kw) -> str:
    frame = kw.pop("frame")
    with pytest.raises(InputError) as caught:
        check_feedback(read_feedback(payload, name), frame, team_name, MONTH, TODAY, **kw)
    return str(caught.value)


def test_every_bad_file_is_refused_with_one_line_per_problem_class() -> None:
    frame, payload = published("da")
    wb = filled(
        payload,
        {
            2: ("kontakted", "2026-01-05", None),  # a misspelt status
            3: ("kontaktet", "2025-12-30", None),  # before the month
            4: ("kontaktet", "2026-03-01", None),  # in the future
            5: ("kontaktet", "31-02-2026", None),  # not a date
            6: ("ukendt", "2026-01-05", None),  # another unknown status
        },
    )
    sheet = wb.worksheets[0]
    sheet.cell(7, 2).value = "P99999"  # rank 6's person id changed to someone not listed
    sheet.cell(8, 1).value = 99  # rank 7's rank changed
    sheet.cell(9, 2).value = sheet.cell(10, 2).value  # a person on two rows (ranks 8 and 9)
    message = problems_of(saved(wb), frame=frame)
    lines = [line for line in message.splitlines() if line.startswith("  - ")]
    assert len(lines) == 6, message
    assert "2 row(s) have an unknown status" in message and "row(s) 2, 6" in message
    assert "takket nej" in message  # says which statuses there are
    assert "1 row(s) have a date outside 2026-01: row(s) 3" in message
    assert "1 row(s) have a date in the future (after 2026-02-03): row(s) 4" in message
    assert "1 row(s) have a date that is not a date" in message and "row(s) 5" in message
    assert "3 row(s) have a person id or rank changed" in message  # rows 7, 8 and 9
    assert "hold a person who is on another row too: row(s) 9, 10" in message
    assert "nothing was stored" in message
    assert "kontakted" not in message and "P99999" not in message  # never what was typed
    assert not any(pid in message for pid in frame["person_id"])


def test_a_person_not_on_the_list_and_a_file_of_another_team() -> None:
    frame, _ = published("da", name="t1")
    other, other_payload = published("da", name="t2")
    message = problems_of(other_payload, frame=frame)
    assert "the file is t2's list, not t1's" in message
    persons, scores = people()
    elsewhere = build_target_list(
        team(name="t3", catchment={"municipalities": [710]}), scores, persons, NO_OPT_OUTS, AS_OF
    )
    table = pd.read_csv(io.BytesIO(target_list_csv(elsewhere)), dtype={"person_id": str})
    table["status"] = "kontaktet"
    message = problems_of(
        table.to_csv(index=False).encode(), "f.csv", frame=frame, other_lists={"t3": elsewhere}
    )
    assert f"{len(table)} row(s) are not on t1's list of 2026-01" in message
    assert "they are on t3's list: is this t3's file?" in message
    wb = openpyxl.load_workbook(io.BytesIO(published("da")[1]))
    for row in wb["Forklaring"].iter_rows():
        if row[0].value == "Måned":
            row[1].value = "2025-12"
    assert "the file is the list of 2025-12, not of 2026-01" in problems_of(saved(wb), frame=frame)


def test_files_that_are_no_list_are_refused() -> None:
    frame, _ = published()
    for payload, name, said in [
        (b"PK\x03\x04broken", "f.xlsx", "not an Excel workbook"),
        (b"\xff\xfe\x00bad", "f.csv", "neither an Excel workbook nor a UTF-8 CSV"),
        (b"", "f.csv", "is empty"),
        (b"person_id,status\nP1,kontaktet\n", "f.csv", r"lacks the column\(s\) rank"),
    ]:
        with pytest.raises(InputError, match=said):
            check_feedback(read_feedback(payload, name), frame, "t1", MONTH, TODAY)
