"""The list files: a readable, byte-deterministic workbook, a CSV for scripts, a manifest."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pandas as pd

from riskstrat.lists import (
    LIST_COLUMNS,
    build_target_list,
    list_files,
    list_manifest,
    target_list_csv,
    target_list_xlsx,
)
from riskstrat.lists.teams import Teams
from riskstrat.lists.workbook import risk_number_format
from tests.lists.frames import AS_OF, NO_OPT_OUTS, SCORES_MANIFEST, people, team


def a_list(language: str = "da") -> tuple[pd.DataFrame, object]:
    persons, scores = people()
    t = team(language=language)
    return build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF, previous=["P00003"]), t


def workbook(frame: pd.DataFrame, t) -> bytes:
    return target_list_xlsx(
        frame,
        t,
        "3",
        "2026-01",
        t.language,
        model_uri="models:/avoidable_admission/3",
        data_extract_date="2026-01-01",
        as_of=AS_OF,
    )


def test_the_workbook_is_byte_identical_across_runs() -> None:
    frame, t = a_list()
    first = workbook(frame, t)
    time.sleep(2.1)  # zip times have a 2-second resolution; document times one second
    assert workbook(frame, t) == first
    archive = zipfile.ZipFile(io.BytesIO(first))
    assert archive.namelist()[0] == "[Content_Types].xml"
    assert {i.date_time for i in archive.infolist()} == {(2026, 1, 1, 0, 0, 0)}
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    core = archive.read("docProps/core.xml").decode()
    assert core.count("2026-01-01T00:00:00Z") == 2  # created and modified: the month, not "now"
    other_month = target_list_xlsx(frame, t, "3", "2026-02", "da")
    assert other_month != target_list_xlsx(frame, t, "3", "2026-01", "da")


def test_the_workbook_reads_in_danish_with_a_frozen_header_and_percentages() -> None:
    frame, t = a_list("da")
    wb = openpyxl.load_workbook(io.BytesIO(workbook(frame, t)))
    assert wb.sheetnames == ["Liste", "Forklaring"]
    sheet = wb["Liste"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [
        "Rang",
        "Person-id",
        "Alder",
        "Køn",
        "Kommune",
        "Lægepraksis",
        "Risiko",
        "Risikogruppe",
        "Segment",
        "Begrundelser",
        "Ny denne måned",
        "Sidste status",
        "Sidste status fra",
        "Status",
        "Dato",
        "Note (læses ikke)",
    ]
    assert sheet.max_row == len(frame) + 1
    assert sheet["G2"].value == frame["risk"].iloc[0]
    assert sheet["G2"].number_format == risk_number_format(frame["risk"].iloc[0])
    assert sheet["B2"].value == frame["person_id"].iloc[0] and sheet["E2"].value == "730 Randers"
    assert sheet["J2"].value == "3 akutte indlæggelser seneste år; bor alene"
    new = dict(zip(frame["person_id"], frame["new_this_month"], strict=True))
    for row in sheet.iter_rows(min_row=2, values_only=True):
        assert row[10] == ("Ja" if new[row[1]] else "Nej")
    assert sheet.column_dimensions["J"].width > sheet.column_dimensions["A"].width
    about = [
        c for row in wb["Forklaring"].iter_rows(values_only=True) for c in row if c is not None
    ]
    for expected in (
        "Modelversion",
        "3",
        "2026-01",
        "Data til og med",
        "2026-01-01",
        "Risikogruppe",
        "t1",
    ):
        assert expected in about, expected


def test_english_teams_get_english_headers() -> None:
    frame, t = a_list("en")
    wb = openpyxl.load_workbook(io.BytesIO(workbook(frame, t)))
    assert wb.sheetnames == ["List", "About"]
    assert wb["List"]["A1"].value == "Rank" and wb["List"]["K1"].value == "New this month"
    assert wb["List"]["J2"].value == "3 acute admissions in the last year; lives alone"


def test_the_csv_keeps_the_interface_columns_whatever_the_language() -> None:
    frame, _ = a_list("da")
    payload = target_list_csv(frame)
    assert payload == target_list_csv(frame)
    back = pd.read_csv(io.BytesIO(payload), dtype={"person_id": str, "gp_clinic_id": str})
    assert list(back.columns) == LIST_COLUMNS
    assert back["person_id"].tolist() == frame["person_id"].tolist()
    assert (back["risk"] - frame["risk"]).abs().max() < 1e-6
    assert back["reasons"].iloc[0] == "3 akutte indlæggelser seneste år; bor alene"


def test_the_manifest_names_model_data_and_checksums_but_no_person() -> None:
    frame, t = a_list()
    csv, xlsx = target_list_csv(frame), workbook(frame, t)
    payload = list_manifest(
        t,
        "2026-01",
        AS_OF,
        frame,
        csv,
        xlsx,
        model_uri="models:/avoidable_admission/3",
        model_version="3",
        data_extract_date="2026-01-01",
    )
    manifest = json.loads(payload)
    assert list(manifest) == sorted(manifest)
    assert (
        manifest["team"] == "t1"
        and manifest["month"] == "2026-01"
        and manifest["rows"] == len(frame)
    )
    assert manifest["model"] == "avoidable_admission@champion" and manifest["model_version"] == "3"
    assert manifest["data_extract_date"] == "2026-01-01"
    assert manifest["sha256"] == {
        "target_list.csv": hashlib.sha256(csv).hexdigest(),
        "target_list.xlsx": hashlib.sha256(xlsx).hexdigest(),
    }
    assert not any(pid in payload.decode() for pid in frame["person_id"])


def test_list_files_for_every_team_are_deterministic() -> None:
    persons, scores = people()
    teams = Teams(
        teams=[team(), team(name="t2", language="en", catchment={"municipalities": [710]})]
    )
    scorings = {"avoidable_admission": (scores, SCORES_MANIFEST)}
    a, summary, listed = list_files(teams, scorings, persons, NO_OPT_OUTS, "2026-01", AS_OF, {})
    b, _, _ = list_files(
        teams, scorings, persons, NO_OPT_OUTS, "2026-01", AS_OF, {}, prefix="lists/"
    )
    assert sorted(a) == [
        f"{t}/{f}"
        for t in ("t1", "t2")
        for f in ("manifest.json", "target_list.csv", "target_list.xlsx")
    ]
    assert {f"lists/{k}": v for k, v in a.items()} == b
    assert summary["t1"]["rows"] == json.loads(a["t1/manifest.json"])["rows"] == 25


def test_listed_persons_are_the_rows_of_each_teams_csv_in_rank_order() -> None:
    persons, scores = people()
    teams = Teams(teams=[team()])
    files, _, listed = list_files(
        teams,
        {"avoidable_admission": (scores, SCORES_MANIFEST)},
        persons,
        NO_OPT_OUTS,
        "2026-01",
        AS_OF,
        {},
    )
    csv = pd.read_csv(io.BytesIO(files["t1/target_list.csv"]), dtype={"person_id": str})
    assert listed["t1"] == csv["person_id"].tolist() and len(listed["t1"]) == 25


def test_text_that_looks_like_a_formula_stays_text() -> None:
    frame, t = a_list()
    frame.loc[0, "reasons"] = '=HYPERLINK("http://example.org")'
    archive = zipfile.ZipFile(io.BytesIO(workbook(frame, t)))
    assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
    cell = openpyxl.load_workbook(io.BytesIO(workbook(frame, t)))["Liste"]["J2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


FORMULAS = ['=HYPERLINK("http://example.org","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_the_csv_neutralises_formulas_with_a_leading_quote_and_reads_back_exactly() -> None:
    from riskstrat.lists.files import read_target_list_csv

    frame, _ = a_list()
    n = len(FORMULAS)
    frame.loc[: n - 1, "person_id"] = FORMULAS
    frame.loc[: n - 1, "gp_clinic_id"] = list(reversed(FORMULAS))
    frame.loc[n, "person_id"] = "'already quoted"
    csv = target_list_csv(frame)
    rows = pd.read_csv(io.BytesIO(csv), dtype=str, keep_default_na=False)
    for column in ("person_id", "gp_clinic_id"):
        for value in rows[column].head(n):
            assert value.startswith("'") and value[1] in "=+-@\t\r"
    assert rows.loc[n, "person_id"] == "''already quoted"
    assert not rows["risk"].str.startswith("'").any()
    back = read_target_list_csv(io.BytesIO(csv))
    assert back["person_id"].tolist() == frame["person_id"].tolist()
    assert back["gp_clinic_id"].tolist() == frame["gp_clinic_id"].tolist()


def test_ids_and_clinics_that_look_like_formulas_stay_text_in_the_workbook() -> None:
    frame, t = a_list()
    frame.loc[0, "person_id"] = FORMULAS[0]
    frame.loc[1, "gp_clinic_id"] = "=1+1"
    payload = workbook(frame, t)
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(payload)).read("xl/worksheets/sheet1.xml")
    sheet = openpyxl.load_workbook(io.BytesIO(payload))["Liste"]
    values = [c.value for row in sheet.iter_rows(min_row=2, max_row=3) for c in row]
    assert FORMULAS[0] in values and "=1+1" in values


def _as_shown(value: float, number_format: str) -> str:
    """What a spreadsheet shows for `value` in one of the list's risk formats (rounding
    half away from zero, as spreadsheets do)."""
    if number_format.startswith('"'):
        return number_format.strip('"')
    places = Decimal("1") if number_format == "0%" else Decimal("0.1")
    return f"{(Decimal(repr(value)) * 100).quantize(places, rounding=ROUND_HALF_UP)}%"


def test_the_workbook_never_shows_a_risk_of_100_or_0_percent() -> None:
    frame, t = a_list("en")
    risks = [1.0, 0.99999, 0.995, 0.99, 0.985, 0.9849, 0.5, 0.1, 0.0996, 0.0123, 5e-4, 1e-4, 0.0]
    frame = pd.concat([frame.iloc[:1]] * len(risks), ignore_index=True)
    frame["risk"] = risks
    sheet = openpyxl.load_workbook(io.BytesIO(workbook(frame, t)))["List"]
    shown = [
        _as_shown(c.value, c.number_format)
        for (c,) in sheet.iter_rows(min_row=2, min_col=7, max_col=7)
    ]
    assert shown == [
        "≥98.5%",
        "≥98.5%",
        "≥98.5%",
        "≥98.5%",
        "≥98.5%",
        "98%",
        "50%",
        "10%",
        "10.0%",
        "1.2%",
        "<0.1%",
        "<0.1%",
        "<0.1%",
    ]
    assert not {"100%", "100.0%", "99%", "99.0%", "0%", "0.0%"} & set(shown)
