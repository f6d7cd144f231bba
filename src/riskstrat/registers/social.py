"""The social attributes of persons: origin (BEF), education (UDDA) and income (IND).

The rules and their sources are in docs/registers.md ("persons"); the mapping tables in
`riskstrat/data/` (`western_countries.csv`, `education_levels.csv`) name theirs in
`data/registers-data-sources.md`. Each function takes register rows keyed by `pnr` and
returns one value per row or per person, adding `Change`s and `Problem`s as it goes.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import numpy as np
import pandas as pd

from riskstrat.reference import data_path
from riskstrat.registers.common import Change, Problem, example_rows, require_columns

TABLE = "persons"
# IND's income quintiles are taken within these age bands (age at the end of the income year)
INCOME_AGE_BANDS = (18, 30, 40, 50, 60, 70, 80)


def _empty(pnr: pd.Series, dtype: str) -> pd.Series:
    return pd.Series(pd.NA, index=pnr.index, dtype=dtype)


# --- origin ------------------------------------------------------------------------------


@cache
def western_codes() -> frozenset[str]:
    """Country codes of DST's western countries (data/western_countries.csv)."""
    table = pd.read_csv(data_path("western_countries.csv"), dtype=str, keep_default_na=False)
    return frozenset(table.loc[table["grouping"] == "western", "code"].str.upper())


def origin(bef: pd.DataFrame, changes: list[Change], problems: list[Problem]) -> pd.Series:
    """DST's origin: ie_type 1 Danish origin, 2 immigrant, 3 descendant (9 unknown: null),
    western or not by `opr_land` (data/western_countries.csv)."""
    kind = bef["ie_type"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    out = pd.Series(pd.NA, index=bef.index, dtype="string")
    out[kind == "1"] = "danish"
    foreign = kind.isin(["2", "3"])
    if foreign.any():
        if "opr_land" not in bef.columns:
            problems.append(Problem("bef", "opr_land", "required column is missing (ie_type 2/3)"))
            return out
        country = bef["opr_land"].astype("string").str.strip().str.upper()
        numeric = country.str.fullmatch(r"\d+").fillna(False)
        western = country.isin(western_codes())
        # DST's numeric codes cannot be grouped until they are in western_countries.csv
        known = western | ~numeric
        stem = kind.map({"2": "immigrant", "3": "descendant"})
        group = np.where(western, "_western", "_non_western")
        out[foreign & known] = (stem + group)[foreign & known]
        unknown = foreign & ~known
        if unknown.any():
            changes.append(
                Change(
                    "bef",
                    TABLE,
                    "warning",
                    "origin left empty: opr_land is a numeric DST country code not in "
                    "data/western_countries.csv",
                    int(unknown.sum()),
                )
            )
    return out


# --- UDDA, IND ---------------------------------------------------------------------------


def _latest_year(frame: pd.DataFrame, extract_date: date) -> pd.DataFrame:
    """Rows of the latest register year that ends before the extract date (all rows when
    the register has no `year`)."""
    if "year" not in frame.columns:
        return frame
    year = pd.to_numeric(frame["year"], errors="coerce")
    usable = year <= (extract_date - timedelta(days=1)).year
    if not usable.any():
        return frame.iloc[0:0]
    return frame.loc[year == year[usable].max()]


@cache
def education_levels() -> dict[str, str]:
    """DST education main group (two digits) -> contract education (data/education_levels.csv)."""
    table = pd.read_csv(data_path("education_levels.csv"), dtype=str)
    return dict(zip(table["hovedgruppe"], table["education"], strict=True))


def education(
    udda: pd.DataFrame,
    lookup: pd.DataFrame | None,
    pnr: pd.Series,
    extract_date: date,
    problems: list[Problem],
    changes: list[Change],
) -> pd.Series:
    """Each person's (`pnr`) contract education from UDDA's latest year before the extract
    date, through the level lookup `audd_niveau` and data/education_levels.csv: a code not
    in the lookup or no code -> `unknown` (counted); not in UDDA -> null; without a lookup
    all null with a counted warning."""
    if not require_columns(udda, "udda", ["pnr", "hfaudd"], problems):
        return _empty(pnr, "string")
    if lookup is None:
        changes.append(
            Change(
                "udda",
                TABLE,
                "warning",
                "education left empty: no level lookup audd_niveau (hfaudd -> main group) in SOURCE_DIR",
                len(udda),
            )
        )
        return _empty(pnr, "string")
    key = next((c for c in ("hfaudd", "audd", "start", "kode") if c in lookup.columns), "hfaudd")
    level = next(
        (c for c in ("hovedgruppe", "niveau", "label") if c in lookup.columns), "hovedgruppe"
    )
    if not require_columns(lookup, "audd_niveau", [key, level], problems):
        return _empty(pnr, "string")
    groups = lookup[level].astype("string").str.extract(r"(\d{2})", expand=False)
    codes = _code_text(lookup[key])
    to_level = pd.Series(groups.map(education_levels()).to_numpy(), index=codes.to_numpy())
    to_level = to_level[~to_level.index.duplicated()]
    rows = _latest_year(udda, extract_date)
    hfaudd = _code_text(rows["hfaudd"])
    mapped = hfaudd.map(to_level)
    unmatched = mapped.isna() & hfaudd.notna()
    if unmatched.any():
        changes.append(
            Change(
                "udda",
                TABLE,
                "warning",
                "hfaudd not in the level lookup: education unknown",
                int(unmatched.sum()),
            )
        )
    value = mapped.fillna("unknown")
    by_person = pd.Series(
        value.to_numpy(), index=rows["pnr"].astype("string").str.strip().to_numpy()
    )
    by_person = by_person[~by_person.index.duplicated(keep="last")]
    return pnr.map(by_person).astype("string")


def _code_text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    return text.mask(text == "")


def income_quintiles(
    ind: pd.DataFrame,
    base: pd.DataFrame,
    extract_date: date,
    problems: list[Problem],
    changes: list[Change],
) -> pd.Series:
    """Quintiles (1 lowest) of `aekvivadisp_13` within age band (INCOME_AGE_BANDS, age at
    the end of the income year) among IND's rows of the latest year before the extract
    date; under 18 and persons without an IND row get none."""
    if not require_columns(ind, "ind", ["pnr", "aekvivadisp_13"], problems):
        return _empty(base["pnr"], "Int64")
    rows = _latest_year(ind, extract_date)
    income = pd.to_numeric(rows["aekvivadisp_13"].astype("string").str.strip(), errors="coerce")
    bad = income.isna() & rows["aekvivadisp_13"].notna()
    if bad.any():
        problems.append(
            Problem("ind", "aekvivadisp_13", "not a number", int(bad.sum()), example_rows(bad))
        )
    year_end = pd.Timestamp(
        int(pd.to_numeric(rows["year"]).max())
        if "year" in rows.columns and len(rows)
        else extract_date.year - 1,
        12,
        31,
    )
    birth = pd.Series(base["birth_date"].to_numpy(), index=base["pnr"].to_numpy())
    born = pd.Series(
        birth.astype("datetime64[s]").reindex(rows["pnr"].astype("string").str.strip()).to_numpy(),
        index=rows.index,
    )
    age = (year_end - born).dt.days / 365.25
    band = pd.cut(age, [*INCOME_AGE_BANDS, 200], right=False, labels=False)
    frame = pd.DataFrame(
        {"pnr": rows["pnr"].astype("string").str.strip(), "income": income, "band": band}
    )
    frame = frame.dropna()
    frame = frame.drop_duplicates("pnr", keep="last")
    share = frame.groupby("band")["income"].rank(method="average", pct=True)
    quintile = np.ceil(share * 5).clip(1, 5).astype("int64")
    by_person = pd.Series(quintile.to_numpy(), index=frame["pnr"].to_numpy())
    return base["pnr"].map(by_person).astype("Int64")
