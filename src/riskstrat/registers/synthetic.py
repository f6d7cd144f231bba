"""The synthetic population in register layouts (`riskstrat synth --layout dst`).

A synthetic data directory's contract tables are turned back into the registers they would
come from, by each converter module's `to_registers`, and written twice: as Parquet files in
`registers/parquet/` and as CSV files in `registers/csv/`. Either folder is a SOURCE_DIR
for `riskstrat import`, so the whole pipeline runs from register files (docs/registers.md,
"Round trip").

The synthetic `pnr` is shaped like a CPR number (birth date `ddmmyy` and a four-digit
sequence number among the persons born that day): the import must replace every one of
them by a pseudonym, and the tests check that none reaches the data directory.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from riskstrat.errors import InputError
from riskstrat.io import atomic_folder
from riskstrat.registers import persons as persons_module
from riskstrat.registers.importer import EVENT_CONVERTERS, converter_modules

FORMATS = ("parquet", "csv")


def synthetic_pnr(persons: pd.DataFrame) -> pd.Series:
    """A CPR-shaped `pnr` for each synthetic person (same index): `ddmmyy` of the birth date
    and the person's number among those with that `ddmmyy` (by birth date, then
    person_id). Unique, unlike the real CPR number no century digit is needed."""
    birth = pd.to_datetime(persons["birth_date"])
    order = persons.assign(_day=birth.dt.strftime("%d%m%y"), _birth=birth)
    order = order.sort_values(["_birth", "person_id"], kind="stable")
    # numbered by ddmmyy, not by the whole date: persons born a century apart share it
    sequence = order.groupby("_day").cumcount()
    if len(sequence) and sequence.max() > 9999:
        raise InputError("more than 10,000 synthetic persons share a ddmmyy: no pnr left")
    text = order["_day"] + sequence.map("{:04d}".format)
    return text.reindex(persons.index)


def read_contract_table(data_dir: Path, name: str) -> pd.DataFrame | None:
    """One contract table of a synthetic data directory (a part folder or a Parquet file),
    dates as datetimes; None when absent."""
    for path in (data_dir / name, data_dir / f"{name}.parquet"):
        if path.exists():
            return pq.read_table(path).to_pandas(date_as_object=False)
    return None


def register_frames(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Every register frame the converters' `to_registers` make of `data_dir`."""
    persons = read_contract_table(data_dir, "persons")
    if persons is None:
        raise InputError(f"{data_dir} has no persons table")
    pnr_of = pd.Series(synthetic_pnr(persons).to_numpy(), index=persons["person_id"].to_numpy())
    frames = persons_module.to_registers(_keyed(persons, pnr_of))
    modules = converter_modules()
    for module_name, table in EVENT_CONVERTERS:
        module = modules.get(module_name)
        contract = read_contract_table(data_dir, table)
        if contract is None:
            continue
        keyed = _keyed(contract, pnr_of)
        inverse = getattr(module, "to_registers", None)
        if inverse is None or table == "opt_outs":
            # no register layout (opt-outs have none; a converter not installed): the
            # contract table keyed by pnr, which the importer takes as given
            frames[table] = keyed
            continue
        frames.update(inverse(keyed))
    return frames


def _keyed(table: pd.DataFrame, pnr_of: pd.Series) -> pd.DataFrame:
    keyed = table.assign(pnr=table["person_id"].map(pnr_of)).drop(columns=["person_id"])
    return keyed[["pnr", *[c for c in keyed.columns if c != "pnr"]]]


def write_register_layout(data_dir: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Write the registers of the synthetic data directory `data_dir` into `out_dir`
    (`parquet/` and `csv/`, replaced whole); returns the rows per register."""
    frames = register_frames(Path(data_dir))
    with atomic_folder(out_dir) as tmp:
        for fmt in FORMATS:
            (tmp / fmt).mkdir()
        for name, frame in frames.items():
            frame.to_parquet(tmp / "parquet" / f"{name}.parquet", index=False)
            _csv(frame).to_csv(tmp / "csv" / f"{name}.csv", index=False)
    return {name: len(frame) for name, frame in frames.items()}


def _csv(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO text (a CSV register carries no time of day for a date)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if (
            pd.api.types.is_datetime64_any_dtype(values)
            and (values.dropna() == values.dropna().dt.normalize()).all()
        ):
            out[column] = values.dt.strftime("%Y-%m-%d")
    return out
