"""Finding and reading the register files of a SOURCE_DIR.

A register comes as one file (`bef.parquet`, `BEF.csv`, `lpr_adm.sas7bdat`, `dod.xpt`),
as yearly or quarterly files (`lpr_adm2018.sas7bdat`, `bef202312.parquet`), or as a folder
of parts (`lmdb/part-0.parquet`, `lmdb/year=2020/part-0.parquet`). Names and columns are
case-insensitive and read as lower case; the SDS person keys (`v_pnr_encrypted`,
`v_cpr_encrypted`, `personnummer_encrypted`, `cpr`, ...) are renamed `pnr`. All files of
one register are concatenated; a yearly file's period (`2018`, `202312`) is kept in the
column `source_period`, and in `year` when the register has no such column. Values are as
read: text from CSV, typed from Parquet and SAS (SAS dates become datetimes).

A file whose name is not a known register (docs/registers.md lists them) or a contract
table keyed by `pnr` is a problem, as is a register of the other layout when `--layout`
names one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from riskstrat.registers.common import Problem
from riskstrat.registers.pseudonym import normalised_keys

LAYOUTS = ("auto", "dst", "sds")
# the input contract's tables: in a SOURCE_DIR they are keyed by `pnr` and taken as given
CONTRACT_TABLES = (
    "persons",
    "hospital_contacts",
    "gp_contacts",
    "municipal_services",
    "prescriptions",
    "opt_outs",
)
# SDS names of the person key (registers-guide, SDS chapters; osdc data-sources.md)
PNR_ALIASES = (
    "pnr",
    "v_pnr_encrypted",
    "v_cpr_encrypted",
    "personnummer_encrypted",
    "cpr_encrypted",
    "v_pnr",
    "v_cpr",
    "personnummer",
    "cpr",
)
SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".sas7bdat": "sas7bdat",
    ".xpt": "xport",
}
# a yearly or quarterly file: the register's name followed by 4 (yyyy) or 6 (yyyymm) digits
_PERIOD = re.compile(r"^(?P<name>[a-z][a-z0-9_]*?[a-z_])_?(?P<period>(?:19|20)\d{2}(?:\d{2})?)$")
_HIVE = re.compile(r"^(?P<key>[a-z_][a-z0-9_]*)=(?P<value>.+)$")
# what a SOURCE_DIR may hold besides registers and is never read
IGNORED = ("manifest.json", "readme", "import_report")


@dataclass(frozen=True)
class Catalogue:
    """The registers a converter family reads: canonical names, and which of them are SDS's."""

    names: frozenset[str]
    sds: frozenset[str]


@dataclass
class RegisterFiles:
    """One register found in SOURCE_DIR: its canonical name and its files, with the period
    taken from each yearly file's name (None for a plain file)."""

    name: str
    files: list[tuple[Path, str | None]] = field(default_factory=list)


def canonical_name(stem: str) -> tuple[str, str | None]:
    """A file or folder name as (register, period): lower case, without extension and
    without a year (`LPR_ADM2018` -> ("lpr_adm", "2018"), `bef202312` -> ("bef", "202312"))."""
    name = stem.lower()
    match = _PERIOD.match(name)
    if match:
        return match["name"].rstrip("_"), match["period"]
    return name, None


def _stem(path: Path) -> str | None:
    kind = SUFFIXES.get(path.suffix.lower())
    return path.name[: -len(path.suffix)] if kind else None


def find_registers(
    source_dir: Path, catalogue: Catalogue, layout: str, problems: list[Problem]
) -> dict[str, RegisterFiles]:
    """The registers in `source_dir` by canonical name. Unknown files, registers of the
    other layout and a register given twice in different forms are problems."""
    if layout not in LAYOUTS:
        problems.append(Problem("--layout", None, f"unknown layout {layout!r}; use auto|dst|sds"))
        return {}
    found: dict[str, RegisterFiles] = {}
    unknown: list[str] = []
    for entry in sorted(source_dir.iterdir()):
        if entry.name.startswith(".") or entry.name.lower().startswith(IGNORED):
            continue
        stem = entry.name if entry.is_dir() else _stem(entry)
        if stem is None:
            unknown.append(entry.name)
            continue
        name, period = canonical_name(stem)
        if name not in catalogue.names and name not in CONTRACT_TABLES:
            unknown.append(entry.name)
            continue
        if not _layout_allows(name, catalogue, layout, problems, entry.name):
            continue
        register = found.setdefault(name, RegisterFiles(name))
        if entry.is_dir():
            parts = sorted(p for p in entry.rglob("*") if p.is_file() and _stem(p) is not None)
            register.files.extend((p, _part_period(p, name, period)) for p in parts)
        else:
            register.files.append((entry, period))
    if unknown:
        problems.append(
            Problem(
                "SOURCE_DIR",
                None,
                f"{len(unknown)} file(s) are not a known register or contract table: "
                f"{', '.join(unknown[:5])} (docs/registers.md lists the names)",
            )
        )
    return found


def _part_period(part: Path, name: str, folder_period: str | None) -> str | None:
    """A part's period: its own when it is named like a yearly file of the register
    (`lpr_adm/lpr_adm2018.parquet`), else the folder's."""
    stem = _stem(part)
    own_name, own_period = canonical_name(stem) if stem else (None, None)
    return own_period if own_name == name and own_period else folder_period


def _layout_allows(
    name: str, catalogue: Catalogue, layout: str, problems: list[Problem], file: str
) -> bool:
    is_sds = name in catalogue.sds
    if layout == "dst" and is_sds or layout == "sds" and not is_sds and name not in _SHARED:
        other = "SDS" if is_sds else "DST"
        problems.append(Problem(file, None, f"an {other} register, but --layout is {layout}"))
        return False
    return True


# registers and tables named alike in both layouts (contract tables; DOD is also at SDS)
_SHARED = frozenset(CONTRACT_TABLES) | {"dod"}


def read_register(register: RegisterFiles, problems: list[Problem]) -> pd.DataFrame:
    """All files of one register concatenated, with lower-case columns and `pnr` as the
    person key (trimmed; a CPR number without its dash); a yearly file's period in
    `source_period` (and `year` when absent)."""
    frames = []
    for path, period in register.files:
        frame = _read_file(path, register.name, problems)
        if frame is None:
            continue
        frame = _hive_columns(frame, path)
        if period is not None:
            frame["source_period"] = period
            if "year" not in frame.columns:
                frame["year"] = int(period[:4])
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True, sort=False)


def _read_file(path: Path, register: str, problems: list[Problem]) -> pd.DataFrame | None:
    kind = SUFFIXES[path.suffix.lower()]
    try:
        if kind == "parquet":
            frame = pq.read_table(path).to_pandas()
        elif kind == "csv":
            frame = _read_csv(path)
        else:
            frame = _read_sas(path, kind)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem
        problems.append(
            Problem(f"{register} ({path.name})", None, f"cannot be read ({type(exc).__name__})")
        )
        return None
    return _normalise_columns(frame, register, path.name, problems)


def _read_csv(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(path, **_read_csv_options(path, encoding))
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", b"", 0, 1, "neither UTF-8 nor cp1252")


def _read_csv_options(path: Path, encoding: str) -> dict:
    """`pandas.read_csv` options for a register CSV: every value as text, empty as missing."""
    with path.open("rb") as stream:
        head = stream.readline()
    # DST exports are often semicolon-separated; a header without commas but with
    # semicolons says which
    sep = ";" if b";" in head and b"," not in head else ","
    return {
        "sep": sep,
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "encoding": encoding,
    }


def _read_sas(path: Path, kind: str) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_sas7bdat if kind == "sas7bdat" else pyreadstat.read_xport
    frame, _ = reader(str(path), dates_as_pandas_datetime=True)
    return frame


def _normalise_columns(
    frame: pd.DataFrame, register: str, file: str, problems: list[Problem]
) -> pd.DataFrame | None:
    lower = [str(c).strip().lower() for c in frame.columns]
    if len(set(lower)) != len(lower):
        twice = sorted({c for c in lower if lower.count(c) > 1})
        problems.append(
            Problem(f"{register} ({file})", twice[0], "column named twice (names are case-blind)")
        )
        return None
    frame.columns = lower
    if "pnr" not in frame.columns:
        alias = next((a for a in PNR_ALIASES if a in frame.columns), None)
        if alias is not None:
            frame = frame.rename(columns={alias: "pnr"})
    if "pnr" in frame.columns:
        # one spelling per person for every join: trimmed, a CPR number without its dash
        frame["pnr"] = normalised_keys(frame["pnr"])
    return frame


def _hive_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Columns from `key=value` folder names of a partitioned Parquet folder (`year=2020`),
    when the files do not carry them already."""
    for part in path.parent.parts[-3:]:
        match = _HIVE.match(part.lower())
        if match and match["key"] not in frame.columns:
            frame[match["key"]] = match["value"]
    return frame
