"""The population overview for a cluster's steering group (PHM step 1: the shared view).

Over the twelve months before the extract date: how many inhabitants are in contact with
which sectors (hospital, GP, municipality, and all three), acute and avoidable admissions,
by municipality, age band and social group. Person-level flags are built partition by
partition (`person_flags`), then only aggregates leave this module (`overview_tables`),
with small counts suppressed and complementary suppression (`riskstrat.disclosure`: counts of
1 to min_cell - 1, 1–4 by default), as Danish statistics do.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from riskstrat.contract import Extract
from riskstrat.dates import age_on
from riskstrat.disclosure import MIN_CELL, hidden_in_table
from riskstrat.errors import InputError
from riskstrat.reference import code_list, covered_min_age, municipalities
from riskstrat.spec import DEFAULT_CODE_LIST

SECTOR_PATTERNS = [
    ("none", (0, 0, 0)),
    ("GP only", (0, 1, 0)),
    ("hospital only", (1, 0, 0)),
    ("municipality only", (0, 0, 1)),
    ("hospital + GP", (1, 1, 0)),
    ("GP + municipality", (0, 1, 1)),
    ("hospital + municipality", (1, 0, 1)),
    ("all three (trilateral)", (1, 1, 1)),
]
OVERVIEW_AGE_BANDS = ["0-17", "18-64", "65-79", "80+"]  # the overview's bands (not the audit's)
GROUPS = [
    "municipality",
    "age_band",
    "sex",
    "rurality",
    "education",
    "income_quintile",
    "origin",
    "living_alone",
]


def person_flags(
    extract: Extract, start: date, end: date, code_list_name: str | None = None
) -> pd.DataFrame:
    """One row per inhabitant on `start` (alive, resident, born before): attributes and, for
    [start, end), whether they had hospital, GP and municipal contact, and their acute and
    avoidable admissions (the label's code list, 65+ at admission)."""
    p = extract.persons
    ts, te = pd.Timestamp(start), pd.Timestamp(end)
    alive = (p["birth_date"] < ts) & ~(p["death_date"] < ts) & ~(p["emigration_date"] < ts)
    p = p.loc[alive]
    age = age_on(p["birth_date"], start).to_numpy()
    out = pd.DataFrame(
        {
            "municipality": p["municipality_code"].to_numpy(),
            "age_band": pd.cut(age, [-1, 17, 64, 79, 200], labels=OVERVIEW_AGE_BANDS).astype(str),
            "sex": p["sex"].to_numpy(),
            "education": p["education"].fillna("missing").to_numpy(),
            "income_quintile": p["income_quintile"].astype("string").fillna("missing").to_numpy(),
            "origin": p["origin"].fillna("missing").to_numpy(),
            "living_alone": p["living_alone"]
            .map({True: "yes", False: "no"})
            .fillna("missing")
            .to_numpy(),
        }
    )
    rurality = municipalities().set_index("municipality_code")["rurality_name"]
    out["rurality"] = out["municipality"].map(rurality).fillna("unknown").to_numpy()
    ids = p["person_id"].to_numpy()
    h = extract.hospital_contacts
    h = h[(h["start_date"] >= ts) & (h["start_date"] < te)]
    g = extract.gp_contacts
    g = g[(g["contact_date"] >= ts) & (g["contact_date"] < te)]
    m = extract.municipal_services
    m = m[(m["start_date"] < te) & ~(m["end_date"] < ts)]
    # hash-based membership: numpy's isin on strings sorts object arrays and is far slower
    ids_s = pd.Series(ids)
    out["hospital"] = ids_s.isin(h["person_id"]).to_numpy()
    out["gp"] = ids_s.isin(g["person_id"]).to_numpy()
    out["municipal"] = ids_s.isin(m["person_id"]).to_numpy()
    acute = h[(h["contact_type"] == "inpatient") & h["acute"]]
    out["acute_admissions"] = _count_by(ids, acute["person_id"])
    listed_codes = code_list(code_list_name or DEFAULT_CODE_LIST)
    prefixes = tuple(listed_codes["code_prefix"])
    births = p.set_index("person_id")["birth_date"]
    listed = acute[acute["action_diagnosis"].str.startswith(prefixes)]
    if listed.empty or births.empty:  # e.g. a partition with nobody alive at `start`
        out["avoidable_admissions"] = np.zeros(len(ids), dtype=np.int64)
        return out
    at_age = age_on(listed["person_id"].map(births), listed["start_date"])
    out["avoidable_admissions"] = _count_by(
        ids, listed.loc[(at_age >= covered_min_age(listed_codes)).to_numpy(), "person_id"]
    )
    return out


def _count_by(ids: np.ndarray, persons: pd.Series) -> np.ndarray:
    counts = persons.value_counts()
    return pd.Series(ids).map(counts).fillna(0).astype(np.int64).to_numpy()


def suppress(
    table: pd.DataFrame,
    count_columns: list[str],
    rate_columns: Mapping[str, str | Sequence[str]],
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Counts 1 to min_cell - 1 become null, and further cells where a hidden count could be
    recovered by subtracting the column's shown cells from its total (complementary
    suppression: the smallest other cell, `riskstrat.disclosure`). Every column adds up to a
    total published elsewhere (the inhabitants). `rate_columns` maps a rate to the count(s)
    it reveals; a rate is hidden with any of them."""
    rates = {
        rate: (needs,) if isinstance(needs, str) else tuple(needs)
        for rate, needs in rate_columns.items()
    }
    figures: dict[str, Sequence[str]] = {column: (column,) for column in count_columns}
    figures |= rates
    hidden = hidden_in_table(table[count_columns], figures, min_cell=min_cell)
    out = table.copy()
    for column in count_columns:
        out[column] = out[column].astype("Float64").mask(hidden[column].to_numpy()).astype("Int64")
    for rate in rates:
        out[rate] = out[rate].where(~hidden[rate].to_numpy())
    return out


@dataclass
class Overview:
    """The population overview, aggregates only: its window (start, end: the inhabitants on
    the start date and their contacts up to the end, exclusive), its tables by name (sector
    patterns, and contacts and admissions by municipality and group) with small counts
    already suppressed, and the minimum cell they were suppressed with."""

    window: tuple[date, date]
    tables: dict[str, pd.DataFrame]
    min_cell: int = MIN_CELL


def overview_tables(
    flags: pd.DataFrame, window: tuple[date, date], min_cell: int = MIN_CELL
) -> Overview:
    """Aggregates only, suppressed: sector patterns, and rates per municipality and group.
    InputError if nobody was an inhabitant at the window's start (nothing to report)."""
    if flags.empty:
        raise InputError(
            f"nobody in the data was alive and resident on {window[0]}, the start of the "
            "overview's 12 months: there is no population to report on"
        )
    tables: dict[str, pd.DataFrame] = {}
    code = (
        flags["hospital"].astype(int) * 4
        + flags["gp"].astype(int) * 2
        + flags["municipal"].astype(int)
    )
    for scope, rows in (
        ("everyone", flags.index),
        ("aged 80+", flags.index[flags["age_band"] == "80+"]),
    ):
        counts = code.loc[rows].value_counts()
        sectors = pd.DataFrame(
            {
                "sectors": [name for name, _ in SECTOR_PATTERNS],
                "persons": [
                    int(counts.get(h * 4 + g * 2 + m, 0)) for _, (h, g, m) in SECTOR_PATTERNS
                ],
            }
        )
        sectors["share_pct"] = (100 * sectors["persons"] / max(1, len(rows))).round(1)
        tables[f"sectors ({scope})"] = suppress(
            sectors, ["persons"], {"share_pct": "persons"}, min_cell
        )
    for group in GROUPS:
        tables[f"by {group}"] = _group_table(flags, group, min_cell)
    return Overview(window, tables, min_cell)


def _group_table(flags: pd.DataFrame, group: str, min_cell: int) -> pd.DataFrame:
    old = flags["age_band"].isin(["65-79", "80+"])
    frame = flags.assign(
        trilateral=flags["hospital"] & flags["gp"] & flags["municipal"],
        aged_65plus=old,
        avoidable_65=flags["avoidable_admissions"].where(old, 0),
    )
    table = (
        frame.groupby(group, observed=True)
        .agg(
            inhabitants=("hospital", "size"),
            hospital=("hospital", "sum"),
            gp=("gp", "sum"),
            municipal=("municipal", "sum"),
            trilateral=("trilateral", "sum"),
            acute_admissions=("acute_admissions", "sum"),
            aged_65plus=("aged_65plus", "sum"),
            avoidable_admissions_65plus=("avoidable_65", "sum"),
        )
        .reset_index()
    )
    table[group] = table[group].astype(str)
    table["trilateral_pct"] = (100 * table["trilateral"] / table["inhabitants"]).round(1)
    table["acute_per_1000"] = (1000 * table["acute_admissions"] / table["inhabitants"]).round(1)
    table["avoidable_per_1000_65plus"] = (
        1000
        * table["avoidable_admissions_65plus"]
        / table["aged_65plus"].where(table["aged_65plus"] > 0)
    ).round(1)
    counts = [
        "inhabitants",
        "hospital",
        "gp",
        "municipal",
        "trilateral",
        "acute_admissions",
        "aged_65plus",
        "avoidable_admissions_65plus",
    ]
    rates = {
        "trilateral_pct": ("trilateral", "inhabitants"),
        "acute_per_1000": ("acute_admissions", "inhabitants"),
        "avoidable_per_1000_65plus": ("avoidable_admissions_65plus", "aged_65plus"),
    }
    return suppress(table, counts, rates, min_cell)


# ------------------------------------------------------------------ rendering
def render(overview: Overview, title: str, source: str) -> dict[str, bytes]:
    """report.html (tables and bar charts, self-contained), report.md and tables.json."""
    start, end = overview.window
    intro = (
        f"Inhabitants on {start} and their contacts from {start} to {end} (exclusive). "
        f"Data: {source}. Counts of 1–{overview.min_cell - 1} are suppressed (shown as ·), "
        "with complementary suppression; rates are hidden with their counts."
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>",
    ]
    md = [f"# {title}", "", intro, ""]
    for name, table in overview.tables.items():
        parts.append(f"<section><h2>{html.escape(name.capitalize())}</h2>")
        chart = _chart(name, table)
        if chart:
            parts.append(chart)
        parts.append(_html_table(table))
        parts.append("</section>")
        md += [f"## {name.capitalize()}", "", _md_table(table), ""]
    parts.append(
        "<footer>riskstrat population overview. Attributes are a snapshot as of the extract "
        "date (input contract v1).</footer></body></html>"
    )
    payload = {name: json.loads(t.to_json(orient="records")) for name, t in overview.tables.items()}
    return {
        "report.html": "\n".join(parts).encode(),
        "report.md": "\n".join(md).encode(),
        "tables.json": (
            json.dumps(
                {"window": [str(start), str(end)], "tables": payload}, indent=2, sort_keys=True
            )
            + "\n"
        ).encode(),
    }


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "·"
    if isinstance(value, float | np.floating):
        return f"{value:,.1f}"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    return str(value)


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in table.columns)
    rows = []
    for record in table.astype(object).itertuples(index=False):
        rows.append("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in record) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _md_table(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    for record in table.astype(object).itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in record) + " |")
    return "\n".join(lines)


def _chart(name: str, table: pd.DataFrame) -> str:
    """A horizontal bar chart (inline SVG) of the table's headline rate; suppressed bars are absent."""
    column = "share_pct" if name.startswith("sectors") else "avoidable_per_1000_65plus"
    label = table.columns[0]
    if column not in table:
        return ""
    values = pd.to_numeric(table[column], errors="coerce")
    top = float(values.max()) if values.notna().any() else 0.0
    if top <= 0:
        return ""
    bar_h, width = 18, 360
    rows = []
    for i, (lab, v) in enumerate(zip(table[label].astype(str), values, strict=True)):
        y = i * (bar_h + 4)
        text = html.escape(lab)
        if pd.isna(v):
            rows.append(
                f"<text x='0' y='{y + 13}'>{text}</text><text x='180' y='{y + 13}'>·</text>"
            )
            continue
        w = width * float(v) / top
        rows.append(
            f"<text x='0' y='{y + 13}'>{text}</text>"
            f"<rect x='180' y='{y}' width='{w:.1f}' height='{bar_h}' fill='#3b6ea5'/>"
            f"<text x='{184 + w:.1f}' y='{y + 13}'>{float(v):.1f}</text>"
        )
    height = len(rows) * (bar_h + 4)
    caption = (
        "share of inhabitants, %"
        if column == "share_pct"
        else "avoidable admissions per 1,000 aged 65+"
    )
    return (
        f"<figure><svg role='img' aria-label='{html.escape(caption)}' width='600' height='{height}' "
        f"font-size='12' font-family='sans-serif'>{''.join(rows)}</svg>"
        f"<figcaption>{html.escape(caption)} (the table below holds every figure)</figcaption></figure>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f0f3f7;position:sticky;top:0}
figcaption,footer{color:#555;font-size:.85rem}
"""
