"""`target_list.xlsx`: a team's list for people, byte-deterministic.

A workbook's bytes depend only on its content: the document's created/modified properties
carry the first day of the month instead of "now", and the zip archive is rewritten with
that date on every entry, in a fixed order, so publishing the same month again writes
identical files.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from riskstrat.dates import parse_month
from riskstrat.lists.feedback import FILL_HEADERS, STATUS_LABELS, STATUSES
from riskstrat.lists.phrases import label
from riskstrat.lists.teams import Team
from riskstrat.reference import municipalities

HEADERS = {
    "da": {
        "rank": "Rang",
        "person_id": "Person-id",
        "age": "Alder",
        "sex": "Køn",
        "municipality_code": "Kommune",
        "gp_clinic_id": "Lægepraksis",
        "risk": "Risiko",
        "tier": "Risikogruppe",
        "segment": "Segment",
        "reasons": "Begrundelser",
        "new_this_month": "Ny denne måned",
        "last_status": "Sidste status",
        "last_status_month": "Sidste status fra",
    },
    "en": {
        "rank": "Rank",
        "person_id": "Person id",
        "age": "Age",
        "sex": "Sex",
        "municipality_code": "Municipality",
        "gp_clinic_id": "GP clinic",
        "risk": "Risk",
        "tier": "Risk tier",
        "segment": "Segment",
        "reasons": "Reasons",
        "new_this_month": "New this month",
        "last_status": "Last status",
        "last_status_month": "Last status from",
    },
}
EXPLAIN = {
    "da": {
        "rank": "Placering efter modellens fulde score (1 = højest); rækker med samme viste "
        "risiko står derfor stadig i modellens rækkefølge (helt lige ordnes efter person-id).",
        "person_id": "Pseudonym; slå borgeren op i jeres eget system.",
        "age": "Alder i hele år på månedens første dag.",
        "sex": "Køn.",
        "municipality_code": "Bopælskommune (kode og navn) pr. dataudtrækket.",
        "gp_clinic_id": "Egen læges praksis (ydernummer) pr. dataudtrækket.",
        "risk": "Modellens kalibrerede sandsynlighed for hændelsen inden for modellens horisont, "
        "i hele procent fra 10 % og med én decimal derunder (aldrig 0 % eller 100 %).",
        "tier": "Risikogruppe efter faste grænser sat ved træningen (meget høj = top 1 %, "
        "høj = næste 4 %, forhøjet = næste 15 %).",
        "segment": "Behovssegment efter modellens regler (fx plejebolig, hjemmepleje, flere kroniske sygdomme).",
        "reasons": "De op til tre forhold, der øgede borgerens risiko mest.",
        "new_this_month": "Ja, hvis borgeren ikke stod på teamets liste sidste måned.",
        "last_status": "Hvis borgeren har stået på en tidligere liste: den status, teamet gav "
        "da (ingen tilbagemelding = listen kom ikke tilbage med en status for borgeren; det "
        "er ikke det samme som ikke kontaktet).",
        "last_status_month": "Måneden for den liste, sidste status hører til.",
        "status": "Udfyldes af teamet: vælg fra listen ("
        + ", ".join(STATUS_LABELS["da"][s] for s in STATUSES)
        + ").",
        "status_date": "Udfyldes af teamet: datoen for statussen (ÅÅÅÅ-MM-DD, i listens måned).",
        "note": "Fri tekst til teamet selv. Den læses aldrig af programmet og slettes ved "
        "indlæsning.",
    },
    "en": {
        "rank": "Position by the model's full-resolution score (1 = highest); rows showing the "
        "same risk are still in the model's order (exact ties by person id).",
        "person_id": "Pseudonym; look the citizen up in your own system.",
        "age": "Age in completed years on the first day of the month.",
        "sex": "Sex.",
        "municipality_code": "Municipality of residence (code and name) as of the data extract.",
        "gp_clinic_id": "The citizen's GP clinic (ydernummer) as of the data extract.",
        "risk": "The model's calibrated probability of the event within the model's horizon, "
        "as a whole percent from 10 % and with one decimal below (never 0 % or 100 %).",
        "tier": "Risk tier by fixed cut-points set at training (very high = top 1%, "
        "high = next 4%, elevated = next 15%).",
        "segment": "Needs segment from the model's rules (e.g. nursing home, home care, multimorbid).",
        "reasons": "Up to three factors that raised the citizen's risk most.",
        "new_this_month": "Yes if the citizen was not on the team's list last month.",
        "last_status": "If the citizen was on an earlier list: the status the team gave then "
        "(no feedback = the list came back without a status for the citizen, which is not the "
        "same as not contacted).",
        "last_status_month": "The month of the list that last status belongs to.",
        "status": "Filled in by the team: pick from the drop-down ("
        + ", ".join(STATUS_LABELS["en"][s] for s in STATUSES)
        + ").",
        "status_date": "Filled in by the team: the date of the status (YYYY-MM-DD, within "
        "the list's month).",
        "note": "Free text for the team itself. Never read by the software, dropped at import.",
    },
}
FACTS = {
    "da": {
        "team": "Team",
        "month": "Måned",
        "model": "Model",
        "model_version": "Modelversion",
        "model_uri": "Model-URI",
        "as_of": "Risiko og alder pr.",
        "data_extract_date": "Data til og med",
        "capacity": "Kapacitet (personer pr. måned)",
        "rows": "Personer på listen",
        "new": "Heraf nye denne måned",
    },
    "en": {
        "team": "Team",
        "month": "Month",
        "model": "Model",
        "model_version": "Model version",
        "model_uri": "Model URI",
        "as_of": "Risk and age as of",
        "data_extract_date": "Data up to",
        "capacity": "Capacity (persons a month)",
        "rows": "Persons on the list",
        "new": "Of whom new this month",
    },
}
NOTE = {
    "da": "Fortroligt: kun til teamets opsøgende arbejde. Listen er en prioritering, ikke en "
    "diagnose; brug faglig vurdering. Bopæl og læge er som i dataudtrækket.",
    "en": "Confidential: for the team's outreach only. The list is a prioritisation, not a "
    "diagnosis; use clinical judgement. Residence and GP are as in the data extract.",
}
WIDTHS = {
    "rank": 7,
    "person_id": 14,
    "age": 7,
    "sex": 9,
    "municipality_code": 16,
    "gp_clinic_id": 13,
    "risk": 9,
    "tier": 14,
    "segment": 26,
    "reasons": 90,
    "new_this_month": 16,
    "last_status": 20,
    "last_status_month": 12,
    "status": 22,
    "status_date": 12,
    "note": 40,
}
HOW_TO_FILL = {
    "da": [
        "Sådan giver I listen tilbage",
        "1. Skriv eller vælg en status i kolonnen Status for hver borger, I har arbejdet med; "
        "lad den stå tom, hvis I ikke har.",
        "2. Skriv datoen for statussen i kolonnen Dato (i listens måned, ikke i fremtiden).",
        "3. Note er kun til jer selv: den læses aldrig og slettes ved indlæsning. Skriv ikke "
        "navne i Status eller Dato.",
        "4. Ret ikke Rang eller Person-id. I må sortere og slette rækker.",
        "5. Gem filen som feedback.xlsx i listens mappe (eller indlæs den med riskstrat "
        "feedback). Næste måneds liste bruger svarene: afslag og kendte borgere udelades en "
        "tid, og alle på listen holder pause nogle måneder, medmindre deres risiko stiger.",
    ],
    "en": [
        "How to give the list back",
        "1. Type or pick a status in the Status column for each citizen you worked on; leave "
        "it empty if you did not.",
        "2. Type the date of the status in the Date column (within the list's month, not in "
        "the future).",
        "3. Note is for yourselves: it is never read and is dropped at import. Do not write "
        "names in Status or Date.",
        "4. Do not change Rank or Person id. You may sort and delete rows.",
        "5. Save the file as feedback.xlsx in the list's folder (or import it with riskstrat "
        "feedback). Next month's list uses the answers: declined and already known citizens "
        "are left out for a while, and everyone listed pauses for some months unless their "
        "risk rises.",
    ],
}
YES_NO = {"da": ("Ja", "Nej"), "en": ("Yes", "No")}
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")


def target_list_xlsx(
    list_frame: pd.DataFrame,
    team: Team | str,
    model_version: str,
    month: str,
    language: str | None = None,
    *,
    model: str | None = None,
    model_uri: str | None = None,
    data_extract_date: str | date | None = None,
    as_of: date | None = None,
) -> bytes:
    """The bytes of a team's workbook: the list (headers in `language`, frozen header row,
    filters, column widths, risk as a percentage) and a sheet that explains the columns and
    says which model version, month and data the list comes from. `team` is a Team (its
    language and capacity are used) or a team name. Same inputs, same bytes."""
    name = team.name if isinstance(team, Team) else team
    language = language or (team.language if isinstance(team, Team) else "da")
    wb = Workbook()
    _fill_list(wb.active, list_frame, language)
    facts = {
        "team": name,
        "month": month,
        "model": model or (team.model if isinstance(team, Team) else None),
        "model_version": model_version,
        "model_uri": model_uri,
        "as_of": as_of.isoformat() if as_of else None,
        "data_extract_date": str(data_extract_date) if data_extract_date else None,
        "capacity": team.capacity if isinstance(team, Team) else None,
        "rows": len(list_frame),
        "new": int(list_frame["new_this_month"].sum()),
    }
    _fill_about(wb.create_sheet(), list_frame, language, facts)
    stamp = datetime.combine(parse_month(month), datetime.min.time())
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "riskstrat"
    wb.properties.lastModifiedBy = "riskstrat"
    wb.properties.title = f"{name} {month}"
    raw = io.BytesIO()
    wb.save(raw)
    return fixed_zip(raw.getvalue(), stamp)


def _fill_list(ws: Worksheet, frame: pd.DataFrame, language: str) -> None:
    headers = {**HEADERS[language], **FILL_HEADERS[language]}
    columns = list(frame.columns) + list(FILL_HEADERS[language])
    frame = frame.assign(**dict.fromkeys(FILL_HEADERS[language]))
    ws.title = "Liste" if language == "da" else "List"
    ws.append([headers.get(c, c) for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    names = dict(zip(municipalities()["municipality_code"], municipalities()["name"], strict=True))
    yes, no = YES_NO[language]
    for record in frame.to_dict("records"):
        ws.append([_cell(c, record[c], language, names, yes, no) for c in columns])
        for cell in ws[ws.max_row]:
            if cell.data_type == "f":  # text such as '=x' is data here, never a formula
                cell.data_type = "s"
    for j, column in enumerate(columns, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = WIDTHS.get(column, 12)
        for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
            if column == "risk":
                cell.number_format = risk_number_format(cell.value)
            elif column == "reasons":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            elif column == "status_date":
                cell.number_format = "yyyy-mm-dd"
    _status_drop_down(ws, columns.index("status") + 1, len(frame), language)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(ws.max_row, 1)}"


def _status_drop_down(ws: Worksheet, column: int, rows: int, language: str) -> None:
    """A drop-down of the statuses in the team's language on the status column (typing is
    allowed too: the import reads codes and labels in either language, any case)."""
    letter = get_column_letter(column)
    names = ",".join(STATUS_LABELS[language][s] for s in STATUSES)
    choice = DataValidation(type="list", formula1=f'"{names}"', allow_blank=True)
    choice.showErrorMessage = False  # a code or an English label typed by hand is fine too
    choice.add(f"{letter}2:{letter}{max(rows + 1, 2)}")
    ws.add_data_validation(choice)


def risk_number_format(risk: float | None) -> str:
    """The sheet's number format for one risk, with the precision the data support: a whole
    percent from 10 %, one decimal below, and never 99 % or more nor "0 %" (calibration
    bounds new models' risks to 0.05-98.5 %; a risk at that ceiling, or an older model's
    above it, reads "≥98.5%", one below 0.05 % "<0.1%"). The cell keeps the full risk; the
    rank was decided by the model's full-resolution score."""
    if risk is None or risk != risk:
        return "0.0%"
    if risk >= 0.985:
        return '"≥98.5%"'
    if risk >= 0.1:
        return "0%"
    if risk >= 0.00051:  # rounds to at least 0.1 %
        return "0.0%"
    return '"<0.1%"'


def _cell(column: str, value: Any, language: str, names: dict, yes: str, no: str) -> object:
    """What the sheet shows for one value of the list (a cell of `to_dict("records")`, of
    whatever scalar type its column has): labels in `language`, a municipality with its name,
    None for a missing value."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if column == "new_this_month":
        return yes if value else no
    if column == "tier":
        return label("tiers", value, language)
    if column == "segment":
        return label("segments", value, language)
    if column == "sex":
        return label("sex", value, language)
    if column == "last_status":
        return STATUS_LABELS[language].get(value, value)
    if column == "municipality_code":
        return f"{int(value)} {names.get(int(value), '')}".strip()
    return value.item() if hasattr(value, "item") else value


def _fill_about(ws: Worksheet, frame: pd.DataFrame, language: str, facts: dict) -> None:
    ws.title = "Forklaring" if language == "da" else "About"
    ws.append([NOTE[language]])
    ws.append([])
    ws.append(
        [
            "Kolonne" if language == "da" else "Column",
            "Betydning" if language == "da" else "Meaning",
        ]
    )
    bold = [ws.max_row]
    headers = {**HEADERS[language], **FILL_HEADERS[language]}
    for column in [*frame.columns, *FILL_HEADERS[language]]:
        ws.append([headers.get(column, column), EXPLAIN[language].get(column, "")])
    ws.append([])
    for line in HOW_TO_FILL[language]:
        ws.append([line])
    bold.append(ws.max_row - len(HOW_TO_FILL[language]) + 1)
    ws.append([])
    ws.append(["Om listen" if language == "da" else "About this list"])
    bold.append(ws.max_row)
    for key, value in facts.items():
        if value is not None:
            ws.append([FACTS[language][key], value])
    for row in bold:
        for cell in ws[row]:
            cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 100


def fixed_zip(payload: bytes, stamp: datetime) -> bytes:
    """The same xlsx archive with `stamp` as every entry's time and as the document's
    created/modified properties ([Content_Types].xml first, then openpyxl's order)."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    source = zipfile.ZipFile(io.BytesIO(payload))
    items = sorted(source.infolist(), key=lambda i: i.filename != "[Content_Types].xml")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for item in items:
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rb"\g<1>" + iso + rb"\g<3>",
                    data,
                )
            info = zipfile.ZipInfo(item.filename, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            target.writestr(info, data, compresslevel=6)
    return out.getvalue()
