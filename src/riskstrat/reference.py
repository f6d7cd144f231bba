"""Reference data shipped with the package: municipalities and code lists.

All of it lives as CSV under `riskstrat/data/` (sources in `data/municipalities-sources.md`
and `data/code_lists/README.md`), so a cluster can drop in an updated official table
without touching code.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

import pandas as pd

# The age a code list covers when it has no `min_age` column: the national avoidable-admission
# definition is for citizens 65+ (docs/code-lists.md).
CODE_LIST_MIN_AGE = 65
RURALITY_NAMES = {
    1: "Hovedstadskommune",
    2: "Storbykommune",
    3: "Provinsbykommune",
    4: "Oplandskommune",
    5: "Landkommune",
}


def data_path(*parts: str) -> Path:
    """The path of a file shipped in `riskstrat/data` (e.g. `data_path("code_lists", name)`)."""
    return Path(str(files("riskstrat.data").joinpath(*parts)))


@cache
def municipalities() -> pd.DataFrame:
    """The 98 municipalities: municipality_code, name, region, population, rurality (1-5), cluster."""
    raw = pd.read_csv(data_path("municipalities.csv"), dtype={"kommunekode_4digit": str})
    return pd.DataFrame(
        {
            "municipality_code": raw["kommunekode"].astype("int64"),
            "name": raw["name"],
            "region": raw["region"],
            "population": raw["population"].astype("int64"),
            "rurality": raw["kommunegruppe_code"].astype("int64"),
            "rurality_name": raw["kommunegruppe"],
            "cluster": raw["sundhedsklynge"],
        }
    )


@cache
def icd10_categories() -> pd.DataFrame:
    """WHO ICD-10 (2019) three-character categories in SKS form (`DJ18`), with descriptions."""
    return pd.read_csv(data_path("code_lists", "icd10_who2019_categories.csv"))


def code_list_path(name: str) -> Path:
    """A code list by name (file stem under data/code_lists) or by a path to a CSV file."""
    candidate = Path(name)
    if candidate.suffix == ".csv" and candidate.exists():
        return candidate
    path = data_path("code_lists", f"{name}.csv")
    if not path.exists():
        known = sorted(p.stem for p in data_path("code_lists").iterdir() if p.suffix == ".csv")
        raise ValueError(f"unknown code list {name!r}; shipped lists: {', '.join(known)}")
    return path


@cache
def code_list(name: str) -> pd.DataFrame:
    """A diagnosis code list with at least `code_prefix` (SKS form) and usually `group`."""
    table = pd.read_csv(code_list_path(name))
    if "code_prefix" not in table.columns:
        raise ValueError(f"code list {name!r} has no code_prefix column")
    return table


def covered_min_age(listed: pd.DataFrame) -> int:
    """The youngest age a code list covers: its `min_age` column, else `CODE_LIST_MIN_AGE`."""
    return int(listed["min_age"].iloc[0]) if "min_age" in listed else CODE_LIST_MIN_AGE
