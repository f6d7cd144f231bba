"""`riskstrat reidentify`: a team's target list with each person's `pnr` added.

For the secure environment that holds the pseudonym key and the persons register: every
`pnr` of the register is hashed again with the key, and the list's person ids are looked
up among the results. The list with `pnr` is written as a new file beside the list (never
into a data directory); nothing else in riskstrat ever writes a `pnr`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from riskstrat.errors import InputError
from riskstrat.io import absolute, atomic_write_bytes
from riskstrat.lists.files import read_target_list_csv, target_list_csv
from riskstrat.lists.workbook import HEADERS
from riskstrat.registers import pseudonym
from riskstrat.registers.common import Problem, raise_if_any
from riskstrat.registers.sources import (
    SUFFIXES,
    RegisterFiles,
    canonical_name,
    read_register,
)

PERSON_REGISTERS = ("bef", "cpr3_t_person", "persons")
ID_HEADERS = frozenset({"person_id", *(h["person_id"] for h in HEADERS.values())})


@dataclass(frozen=True)
class Reidentified:
    """The written list, how many of its persons got a pnr and how many did not."""

    path: Path
    found: int
    missing: int


def register_pnrs(source: Path) -> pd.Series:
    """The distinct `pnr` of a persons register: a file (BEF, cpr3_t_person or a persons
    table keyed by pnr, any supported format) or a SOURCE_DIR holding one."""
    source = absolute(source)
    if source.is_dir():
        files = [
            p
            for p in sorted(source.iterdir())
            if canonical_name(p.name if p.is_dir() else p.name.rsplit(".", 1)[0])[0]
            in PERSON_REGISTERS
            and (p.is_dir() or p.suffix.lower() in SUFFIXES)
        ]
        if not files:
            raise InputError(f"--persons {source}: no BEF, cpr3_t_person or persons file in it")
    elif source.suffix.lower() in SUFFIXES:
        files = [source]
    else:
        raise InputError(f"--persons {source}: not a register file or folder")
    problems: list[Problem] = []
    pnrs = []
    for path in files:
        name = canonical_name(path.stem)[0]
        found = sorted(path.rglob("*")) if path.is_dir() else [path]
        parts: list[tuple[Path, str | None]] = [
            (p, None) for p in found if p.is_file() and p.suffix.lower() in SUFFIXES
        ]
        frame = read_register(RegisterFiles(name, parts), problems)
        if "pnr" not in frame.columns:
            problems.append(Problem(path.name, "pnr", "no person key (pnr or an SDS alias)"))
            continue
        pnrs.append(frame["pnr"].astype("string").str.strip())
    raise_if_any(problems)
    return pd.concat(pnrs, ignore_index=True).dropna().drop_duplicates()


def _refuse_data_dir(folder: Path) -> None:
    """A data directory holds a persons table or a contract manifest (a list's own
    manifest.json, which has no `contract_version`, is no sign of one)."""
    tables = ["persons.parquet", "persons.csv", "persons"]
    manifest = folder / "manifest.json"
    contract = False
    if manifest.is_file():
        try:
            contract = "contract_version" in json.loads(manifest.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            contract = False
    if contract or any((folder / t).exists() for t in tables):
        raise InputError(
            f"{folder} looks like a data directory: a list with pnr is never written into "
            "one; copy the list elsewhere first"
        )


def reidentify(list_path: Path, key_path: Path, persons_source: Path) -> Reidentified:
    """Write `<list>.pnr.csv` or `<list>.pnr.xlsx` beside the list: the list with a `pnr`
    column after the person id (empty for persons the register does not hold)."""
    list_path = absolute(list_path)
    if not list_path.is_file():
        raise InputError(f"LIST {list_path} is not a file")
    if not Path(key_path).is_file():
        raise InputError(f"--pseudonym-key {key_path} does not exist: reidentify needs the key")
    _refuse_data_dir(list_path.parent)
    key = pseudonym.read_key(Path(key_path))
    pnrs = register_pnrs(persons_source)
    by_id = pd.Series(pnrs.to_numpy(), index=pseudonym.person_ids(pnrs, key).to_numpy())
    out = list_path.with_name(f"{list_path.stem}.pnr{list_path.suffix}")
    suffix = list_path.suffix.lower()
    if suffix == ".csv":
        payload, found, missing = _csv_with_pnr(list_path, by_id)
    elif suffix == ".xlsx":
        payload, found, missing = _xlsx_with_pnr(list_path, by_id)
    else:
        raise InputError(f"LIST {list_path}: a target_list.csv or target_list.xlsx is expected")
    if found == 0 and missing:
        raise InputError(
            "no person of the list is in the persons register under this key: is it the key "
            "and the register the list was made from? Nothing was written"
        )
    atomic_write_bytes(out, payload)
    return Reidentified(out, found, missing)


def _csv_with_pnr(path: Path, by_id: pd.Series) -> tuple[bytes, int, int]:
    frame = read_target_list_csv(path)
    if "person_id" not in frame.columns:
        raise InputError(f"LIST {path}: no person_id column")
    pnr = frame["person_id"].map(by_id)
    frame.insert(list(frame.columns).index("person_id") + 1, "pnr", pnr)
    found = int(pnr.notna().sum())
    return target_list_csv(frame), found, len(frame) - found


def _xlsx_with_pnr(path: Path, by_id: pd.Series) -> tuple[bytes, int, int]:
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    header = [cell.value for cell in ws[1]]
    column = next((j for j, h in enumerate(header, start=1) if h in ID_HEADERS), None)
    if column is None:
        raise InputError(f"LIST {path}: no person id column in its first sheet")
    ws.insert_cols(column + 1)
    ws.cell(row=1, column=column + 1, value="pnr")
    found = missing = 0
    lookup = by_id.to_dict()
    for row in range(2, ws.max_row + 1):
        person = ws.cell(row=row, column=column).value
        if person is None:
            continue
        pnr = lookup.get(str(person))
        found, missing = (found + 1, missing) if pnr else (found, missing + 1)
        cell = ws.cell(row=row, column=column + 1, value=pnr)
        cell.data_type = "s"
    raw = io.BytesIO()
    wb.save(raw)
    return raw.getvalue(), found, missing
