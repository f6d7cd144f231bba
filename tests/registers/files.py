"""Hand-written register files for the importer's tests: a few persons in BEF, DOD, VNDS,
UDDA (with its level lookup) and IND, written as CSV, Parquet or SAS XPORT."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

# CPR-shaped keys (the tests check that none of them reaches any output file)
PNR = ["0101401234", "0202502345", "0303603456", "0404704567", "0505805678"]


def bef(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "pnr": PNR,
            "koen": [1, 2, 2, 1, 2],
            "foed_dag": pd.to_datetime(
                ["1940-01-01", "1950-02-02", "1960-03-03", "1970-04-04", "1980-05-05"]
            ),
            "kom": [730, 730, 707, 101, 751],
            "ie_type": [1, 2, 3, 2, 9],
            "opr_land": ["DK", "NO", "TR", "5180", None],
            "antpersh": [1, 2, 1, 3, 1],
        }
    )
    return frame.assign(**overrides)


def write(frame: pd.DataFrame, path: Path) -> Path:
    """`frame` as the file `path` (format by suffix; CSV dates as DST's 01JAN2020 text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".csv":
        out = frame.copy()
        for column in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[column]):
                out[column] = out[column].dt.strftime("%d%b%Y").str.upper()
        out.to_csv(path, index=False)
    elif suffix == ".xpt":
        import pyreadstat

        pyreadstat.write_xport(frame, str(path), table_name=path.stem[:8].upper())
    else:
        raise ValueError(path)
    return path


def minimal_source(folder: Path, suffix: str = ".parquet", upper: bool = False) -> Path:
    """A SOURCE_DIR with BEF, DOD, VNDS, UDDA + lookup and IND for the five persons."""
    frames = {
        "bef": bef(),
        "dod": pd.DataFrame({"pnr": [PNR[0]], "doddato": pd.to_datetime(["2024-06-30"])}),
        "vnds": pd.DataFrame(
            {
                "pnr": [PNR[1], PNR[2], PNR[2]],
                "indud_kode": ["U", "U", "I"],
                "haend_dato": pd.to_datetime(["2023-03-01", "2022-01-10", "2023-01-10"]),
            }
        ),
        "udda": pd.DataFrame({"pnr": PNR[:4], "hfaudd": ["1001", "2015", "6510", "4321"]}),
        "audd_niveau": pd.DataFrame(
            {"hfaudd": ["1001", "2015", "6510"], "hovedgruppe": ["10", "20", "65"]}
        ),
        "ind": pd.DataFrame({"pnr": PNR, "aekvivadisp_13": [100.0, 200.0, 300.0, 400.0, 500.0]}),
    }
    for name, frame in frames.items():
        if upper:
            frame = frame.rename(columns=str.upper)
            name = name.upper()
        write(frame, folder / f"{name}{suffix}")
    return folder


def contract_events(folder: Path, suffix: str = ".csv") -> Path:
    """The three required event tables as contract tables keyed by pnr (a mixed directory)."""
    tables = {
        "hospital_contacts": pd.DataFrame(
            {
                "pnr": [PNR[0], PNR[2]],
                "start_date": pd.to_datetime(["2024-01-05", "2025-03-01"]),
                "end_date": pd.to_datetime(["2024-01-09", None]),
                "contact_type": ["inpatient", "outpatient"],
                "acute": [True, False],
                "action_diagnosis": ["DJ189", "I10"],
            }
        ),
        "gp_contacts": pd.DataFrame(
            {
                "pnr": [PNR[0], PNR[1], PNR[3]],
                "contact_date": pd.to_datetime(["2023-05-01", "2022-06-01", "2025-11-30"]),
                "contact_kind": ["consultation", "phone", "email"],
                "clinic_id": ["730001", "730002", None],
            }
        ),
        "municipal_services": pd.DataFrame(
            {
                "pnr": [PNR[0]],
                "service": ["home_care"],
                "start_date": pd.to_datetime(["2023-01-01"]),
                "end_date": pd.to_datetime([None]),
                "hours_per_week": [2.5],
            }
        ),
    }
    for name, frame in tables.items():
        out = frame.copy()
        if suffix == ".csv":
            for column in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[column]):
                    out[column] = out[column].dt.strftime("%Y-%m-%d")
            out.to_csv(folder / f"{name}.csv", index=False)
        else:
            out.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def osdc_source(folder: Path) -> Path:
    """osdc's edge-case registers (tests/registers/fixtures/README.md) copied to `folder`,
    every person in municipality 730 and the first with a home-care service, so that every
    contract table gets rows."""
    shutil.copytree(Path(__file__).parent / "fixtures" / "osdc_edge_cases", folder)
    people = pd.read_csv(folder / "bef.csv", dtype=str)
    people.assign(kom="730").to_csv(folder / "bef.csv", index=False)
    services = {"pnr": people["pnr"][:1], "service": "home_care", "start_date": "2020-01-01"}
    pd.DataFrame(services).to_csv(folder / "municipal_services.csv", index=False)
    return folder
