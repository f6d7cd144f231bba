"""Byte-deterministic list files: `target_list.xlsx` (for people), `target_list.csv` (for scripts).

A workbook's bytes depend only on its content: document properties carry the month's first
day instead of "now", and the zip archive is rewritten with fixed entry timestamps, so a
re-run of the same month produces identical files.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from riskstrat.dates import parse_month

HEADERS = {
    "da": {"rank": "Rang", "person_id": "Person-id", "age": "Alder", "sex": "Køn",
           "municipality_code": "Kommune", "gp_clinic_id": "Lægepraksis", "risk": "Risiko",
           "tier": "Risikogruppe", "segment": "Segment", "reasons": "Begrundelser",
           "new_this_month": "Ny denne måned"},
    "en": {"rank": "Rank", "person_id": "Person id", "age": "Age", "sex": "Sex",
           "municipality_code": "Municipality", "gp_clinic_id": "GP clinic", "risk": "Risk",
           "tier": "Risk tier", "segment": "Segment", "reasons": "Reasons",
           "new_this_month": "New this month"},
}  # fmt: skip
EXPLAIN = {
    "da": {
        "rank": "Placering efter risiko (1 = højest).",
        "person_id": "Pseudonym; slå borgeren op i jeres eget system.",
        "age": "Alder i hele år ved månedens start.",
        "sex": "F = kvinde, M = mand.",
        "municipality_code": "Bopælskommune (DST-kode).",
        "gp_clinic_id": "Egen læges praksis (ydernummer).",
        "risk": "Modellens kalibrerede sandsynlighed for hændelsen inden for horisonten.",
        "tier": "Risikogruppe fastsat ved træning (very_high = top 1 %, high = næste 4 %, elevated = næste 15 %).",
        "segment": "Behovssegment efter modellens regler (fx plejebolig, hjemmepleje, multisyg).",
        "reasons": "De tre forhold, der øgede risikoen mest (fra modellens bidrag pr. borger).",
        "new_this_month": "Ja, hvis borgeren ikke stod på sidste måneds liste.",
    },
    "en": {
        "rank": "Position by risk (1 = highest).",
        "person_id": "Pseudonym; look the citizen up in your own system.",
        "age": "Age in completed years on the first day of the month.",
        "sex": "F = female, M = male.",
        "municipality_code": "Municipality of residence (DST code).",
        "gp_clinic_id": "The citizen's GP clinic (ydernummer).",
        "risk": "The model's calibrated probability of the event within the horizon.",
        "tier": "Risk tier fixed at training (very_high = top 1%, high = next 4%, elevated = next 15%).",
        "segment": "Needs segment from the model's rules (e.g. nursing home, home care, multimorbid).",
        "reasons": "The three factors that raised the risk most (the model's per-person contributions).",
        "new_this_month": "Yes if the citizen was not on last month's list.",
    },
}
WIDTHS = {"rank": 7, "person_id": 14, "age": 7, "sex": 6, "municipality_code": 11, "gp_clinic_id": 13,
          "risk": 9, "tier": 12, "segment": 17, "reasons": 90, "new_this_month": 15}  # fmt: skip
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def target_list_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with the interfaces.md column names (for scripts)."""
    out = frame.copy()
    out["risk"] = out["risk"].map(lambda r: f"{r:.6f}")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def target_list_xlsx(frame: pd.DataFrame, team: str, month: str, language: str, about: dict) -> bytes:
    """A workbook for people: frozen header, widths, headers in the team's language, a sheet
    that explains the columns and the model version."""
    headers = HEADERS[language]
    yes, no = ("Ja", "") if language == "da" else ("Yes", "")
    wb = Workbook()
    ws = wb.active
    ws.title = "Liste" if language == "da" else "List"
    ws.append([headers[c] for c in frame.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE6F0")
    for row in frame.itertuples(index=False):
        values = []
        for column, value in zip(frame.columns, row, strict=True):
            if column == "new_this_month":
                value = yes if value else no
            elif hasattr(value, "item"):
                value = value.item()
            values.append(value)
        ws.append(values)
    risk_col = list(frame.columns).index("risk") + 1
    for r in range(2, ws.max_row + 1):
        ws.cell(row=r, column=risk_col).number_format = "0.0%"
        ws.cell(row=r, column=list(frame.columns).index("reasons") + 1).alignment = Alignment(wrap_text=True)
    for j, column in enumerate(frame.columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = WIDTHS.get(column, 12)
    ws.freeze_panes = "A2"
    info = wb.create_sheet("Forklaring" if language == "da" else "About")
    title = "Kolonne" if language == "da" else "Column"
    info.append([title, "Betydning" if language == "da" else "Meaning"])
    for column in frame.columns:
        info.append([headers[column], EXPLAIN[language][column]])
    info.append([])
    for key, value in about.items():
        info.append([key, str(value)])
    info.column_dimensions["A"].width = 26
    info.column_dimensions["B"].width = 100
    for cell in info[1]:
        cell.font = Font(bold=True)
    stamp = datetime.combine(parse_month(month), datetime.min.time())
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "riskstrat"
    wb.properties.lastModifiedBy = "riskstrat"
    wb.properties.title = f"{team} {month}"
    raw = io.BytesIO()
    wb.save(raw)
    return _fixed_zip(raw.getvalue(), stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _fixed_zip(payload: bytes, modified: str) -> bytes:
    """The same archive with fixed entry timestamps, and the document's `modified` property
    set to `modified` (openpyxl stamps both with 'now' when it saves)."""
    source = zipfile.ZipFile(io.BytesIO(payload))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + modified.encode() + rb"\g<2>", data)  # fmt: skip
            target.writestr(info, data)
    return out.getvalue()
