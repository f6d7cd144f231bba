"""`riskstrat import`: register files in SOURCE_DIR -> a data directory in contract v1.

Steps: find and read the registers (`sources`), convert each family to its contract table
(`persons`, and the event converters of `hospital`, `gp`, `prescriptions`, `municipal`),
take contract tables already in SOURCE_DIR as given, drop events of persons not in
persons, replace `pnr` by its pseudonym (`pseudonym`), write everything into a folder
beside DATA_DIR, check it with the contract's own validation, and only then rename it into
place. Every problem of the input is collected and raised at once: a failed import writes
nothing.

A large input is imported in person buckets (`buckets`): the registers are streamed into
buckets by a hash of `pnr`, converted one bucket at a time, and written as person-aligned
part folders; what needs the whole population (income quintiles, the derived extract date,
history_start, the report's counts) is gathered over every bucket first.
"""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.contract.validate import validate_data_dir
from riskstrat.errors import InputError
from riskstrat.io import absolute, atomic_folder
from riskstrat.registers import persons as persons_module
from riskstrat.registers import pseudonym
from riskstrat.registers.buckets import Split, bucket_count, split_registers
from riskstrat.registers.common import Change, Converted, Problem, RegisterError, raise_if_any
from riskstrat.registers.social import _latest_year as latest_year
from riskstrat.registers.social import income_quintiles
from riskstrat.registers.sources import (
    CONTRACT_TABLES,
    Catalogue,
    RegisterFiles,
    find_registers,
    read_register,
)

# the event converters (module, contract table), in the order they run: gp_contacts first,
# because persons takes each person's clinic from it
EVENT_CONVERTERS = (
    ("gp", "gp_contacts"),
    ("hospital", "hospital_contacts"),
    ("prescriptions", "prescriptions"),
    ("municipal", "municipal_services"),
    ("municipal", "opt_outs"),
)
EVENT_DATES = {
    "hospital_contacts": "start_date",
    "gp_contacts": "contact_date",
    "municipal_services": "start_date",
    "prescriptions": "dispense_date",
    "opt_outs": "opt_out_date",
}
REQUIRED_SOURCES = {
    "hospital_contacts": "LPR2 lpr_adm + lpr_diag, LPR3 kontakter + diagnoser, ...",
    "gp_contacts": "SSSY/SYSI",
    "municipal_services": "FSIII export or DST's AE* tables",
}
# SDS's table names (registers-notes: cpr3_t_*, LPR3_SB_*, lpr_t_adm<yr>, lpr2_mdl_*,
# ssr_t_ssik<yr>), for converters that do not list their SDS registers
SDS_PREFIXES = ("cpr3_", "lpr3_sb_", "lpr_t_", "lpr2_mdl_", "ssr_t_")
# tables that must cover the history for history_start (the contract's required event tables)
HISTORY_TABLES = ("hospital_contacts", "gp_contacts", "municipal_services")


@dataclass
class ImportResult:
    """What an import did: the data directory, the dates, rows read per register and
    written per contract table, every Change, the warnings and the key file used."""

    out_dir: Path
    source_dir: Path
    layout: str
    extract_date: date
    extract_date_source: str  # "option" or "derived"
    history_start: date
    rows_read: dict[str, int]
    rows_written: dict[str, int]
    changes: list[Change]
    warnings: list[str]
    key_path: Path
    key_created: bool
    passed_through: list[str] = field(default_factory=list)
    buckets: int = 1  # person buckets converted one at a time (docs/registers.md, "Scale")


def converter_modules() -> dict[str, ModuleType]:
    """The register converter modules present in this installation, by short name."""
    found = {"persons": persons_module}
    for name in sorted({module for module, _ in EVENT_CONVERTERS}):
        try:
            found[name] = importlib.import_module(f"riskstrat.registers.{name}")
        except ModuleNotFoundError:
            continue
    return found


def catalogue(modules: dict[str, ModuleType] | None = None) -> Catalogue:
    """Every register name the converters read, and which of them are SDS's."""
    modules = modules if modules is not None else converter_modules()
    names: set[str] = set()
    sds: set[str] = set()
    for module in modules.values():
        names |= {n.lower() for n in getattr(module, "REGISTERS", ())}
        sds |= {n.lower() for n in getattr(module, "SDS_REGISTERS", ())}
    sds |= {n for n in names if n.startswith(SDS_PREFIXES)}
    return Catalogue(frozenset(names), frozenset(sds))


def find_source(
    source_dir: Path, layout: str, modules: dict[str, ModuleType]
) -> dict[str, RegisterFiles]:
    """Every register and contract table of SOURCE_DIR, found (problems raised together)."""
    if not source_dir.is_dir():
        raise InputError(f"SOURCE_DIR {source_dir} is not a folder")
    problems: list[Problem] = []
    found: dict[str, RegisterFiles] = find_registers(
        source_dir, catalogue(modules), layout, problems
    )
    raise_if_any(problems)
    if not found:
        raise InputError(f"SOURCE_DIR {source_dir} holds no register files")
    return found


def read_source(
    source_dir: Path, layout: str, modules: dict[str, ModuleType]
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Every register and contract table of SOURCE_DIR, read (problems raised together)."""
    found = find_source(source_dir, layout, modules)
    return _read_found(found)


def _read_found(found: dict[str, RegisterFiles]) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    problems: list[Problem] = []
    frames = {name: read_register(files, problems) for name, files in found.items()}
    raise_if_any(problems)
    return frames, {name: len(frame) for name, frame in frames.items()}


def import_registers(
    source_dir: str | Path,
    out_dir: str | Path,
    *,
    layout: str = "auto",
    extract_date: date | None = None,
    key_path: str | Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    buckets: int | None = None,
) -> ImportResult:
    """Import the registers of `source_dir` into the data directory `out_dir` (replaced
    whole, atomically) with `import_report.md/json`; returns what was done. Bad input
    raises `RegisterError`/`InputError` and writes nothing. `progress(done, 4)` is called
    after each step (read, convert, pseudonymise, write and check).

    `buckets` splits the persons into that many buckets by a hash of `pnr`, converted one
    at a time and written as person-aligned part folders (docs/registers.md, "Scale");
    None chooses from the input's size (`buckets.bucket_count`): one bucket, the whole
    input in memory and one Parquet file per table, for inputs up to about 100,000
    persons."""
    source, out = absolute(source_dir), absolute(out_dir)
    if out == source or source in out.parents:
        raise InputError(f"--out {out} is inside SOURCE_DIR {source}: choose a folder outside it")
    key_file = Path(key_path) if key_path else pseudonym.default_key_path()
    pseudonym.check_key_location(key_file, out)
    modules = converter_modules()
    found = find_source(source, layout, modules)
    count = buckets if buckets is not None else bucket_count(found)
    if count < 1:
        raise InputError(f"--buckets must be at least 1, not {count}")
    plan = _Plan(source, out, layout, extract_date, key_file, modules, progress)
    if count == 1:
        return _import_whole(found, plan)
    return _import_in_buckets(found, count, plan)


@dataclass
class _Plan:
    """What an import was asked to do."""

    source: Path
    out: Path
    layout: str
    extract_date: date | None
    key_file: Path
    modules: dict[str, ModuleType]
    progress: Callable[[int, int | None], None] | None

    def step(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done, 4)


def _import_whole(found: dict[str, RegisterFiles], plan: _Plan) -> ImportResult:
    """The whole input in memory at once: one Parquet file per contract table."""
    frames, rows_read = _read_found(found)
    plan.step(1)
    bound = plan.extract_date or date.today()
    tables, changes, passed = convert(frames, bound, plan.modules)
    del frames  # the registers as read are no longer needed: free them before writing
    plan.step(2)
    tables, keys = _only_known_persons(tables, changes)
    derived = plan.extract_date is None
    final_date = _derived_extract_date(_latest_dates(tables)) if derived else bound
    history_start = _history_start(_first_events(tables), final_date)
    # the key is made only once the input has passed: a refused import leaves no new key
    key, created = pseudonym.load_or_create_key(plan.key_file, plan.out)
    person_ids = _person_ids(tables, keys, key)
    plan.step(3)
    result = ImportResult(
        out_dir=plan.out,
        source_dir=plan.source,
        layout=plan.layout,
        extract_date=final_date,
        extract_date_source="derived" if derived else "option",
        history_start=history_start,
        rows_read=rows_read,
        rows_written={name: len(t) for name, t in tables.items()},
        changes=changes,
        warnings=[],
        key_path=absolute(plan.key_file),
        key_created=created,
        passed_through=passed,
    )
    with atomic_folder(result.out_dir) as tmp:
        for name, frame in tables.items():
            table = _arrow(frame, person_ids[name])
            pq.write_table(table, tmp / f"{name}.parquet", compression="zstd")
        _finish(tmp, result)
    plan.step(4)
    return result


@dataclass
class _Buckets:
    """What the bucket-by-bucket conversion gathers for the whole population."""

    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    latest: list[pd.Timestamp] = field(default_factory=list)
    firsts: dict[str, pd.Timestamp] = field(default_factory=dict)
    income: list[pd.DataFrame] = field(default_factory=list)  # IND rows of its latest year
    births: list[pd.DataFrame] = field(default_factory=list)  # pnr and birth date
    tables: list[str] = field(default_factory=list)

    def add(self, tables: dict[str, pd.DataFrame], ind: pd.DataFrame | None, bound: date) -> None:
        """One bucket's converted tables (their dates, persons' births, IND's rows)."""
        self.latest.extend(_latest_dates(tables))
        for table, first in _first_events(tables).items():
            self.firsts[table] = min(first, self.firsts.get(table, first))
        for name in tables:
            if name not in self.tables:
                self.tables.append(name)
        if ind is not None and "persons" not in self.passed:
            wanted = [c for c in ("pnr", "aekvivadisp_13", "year") if c in ind.columns]
            self.income.append(latest_year(ind[wanted], bound))
            self.births.append(tables["persons"][["pnr", "birth_date"]])


def _import_in_buckets(found: dict[str, RegisterFiles], count: int, plan: _Plan) -> ImportResult:
    """The registers split into `count` person buckets (`buckets.split_registers`), each
    converted on its own, written as part folders (`TABLE/part-0000K.parquet`, bucket K)."""
    bound = plan.extract_date or date.today()
    with atomic_folder(plan.out) as tmp:
        work = tmp / ".import-work"
        problems: list[Problem] = []
        split = split_registers(found, work / "split", count, problems)
        raise_if_any(problems)
        plan.step(1)
        gathered = _Buckets()
        for bucket in range(count):
            _convert_bucket(split, bucket, bound, plan, gathered, work / "converted")
        raise_if_any(_merged_problems(gathered.problems))
        quintiles = _income_quintiles(gathered, bound)
        derived = plan.extract_date is None
        final_date = _derived_extract_date(gathered.latest) if derived else bound
        # the key is made only once every bucket has passed: a refused import leaves no key
        key, created = pseudonym.load_or_create_key(plan.key_file, plan.out)
        plan.step(2)
        written = {name: 0 for name in gathered.tables}
        for bucket in range(count):
            for name, table in _bucket_tables(work / "converted", bucket, quintiles, key):
                (tmp / name).mkdir(exist_ok=True)
                pq.write_table(table, tmp / name / f"part-{bucket:05d}.parquet", compression="zstd")
                written[name] += table.num_rows
        for name in written:
            _unify_part_types(tmp / name)
        shutil.rmtree(work)
        plan.step(3)
        result = ImportResult(
            out_dir=plan.out,
            source_dir=plan.source,
            layout=plan.layout,
            extract_date=final_date,
            extract_date_source="derived" if derived else "option",
            history_start=_history_start(gathered.firsts, final_date),
            rows_read=split.rows_read,
            rows_written=written,
            changes=_merged_changes(gathered.changes),
            warnings=[],
            key_path=absolute(plan.key_file),
            key_created=created,
            passed_through=gathered.passed,
            buckets=count,
        )
        _finish(tmp, result)
    plan.step(4)
    return result


def _convert_bucket(
    split: Split, bucket: int, bound: date, plan: _Plan, gathered: _Buckets, folder: Path
) -> None:
    """Convert one bucket and keep its tables (still keyed by pnr) in `folder/K/`; its
    problems are gathered, not raised, so every bucket is checked."""
    frames = split.frames(bucket)
    # income quintiles rank the whole population: taken out here, ranked over every bucket
    ind = frames.pop("ind", None) if "bef" in frames or "cpr3_t_person" in frames else None
    try:
        tables, changes, passed = convert(frames, bound, plan.modules)
    except RegisterError as error:
        gathered.problems.extend(error.problems)
        return
    del frames
    tables, _ = _only_known_persons(tables, changes)
    gathered.changes.extend(changes)
    gathered.passed = passed
    gathered.add(tables, ind, bound)
    (folder / str(bucket)).mkdir(parents=True)
    for name, table in tables.items():
        table.to_parquet(folder / str(bucket) / f"{name}.parquet", index=False)


def _income_quintiles(gathered: _Buckets, bound: date) -> pd.Series | None:
    """Each person's income quintile (by pnr) ranked over every bucket, with IND's problems
    raised; None without IND."""
    if not gathered.income:
        return None
    problems: list[Problem] = []
    births = pd.concat(gathered.births, ignore_index=True)
    quintile = income_quintiles(
        pd.concat(gathered.income, ignore_index=True), births, bound, problems, gathered.changes
    )
    raise_if_any(problems)
    return pd.Series(quintile.to_numpy(), index=births["pnr"].to_numpy())


def _bucket_tables(
    folder: Path, bucket: int, quintiles: pd.Series | None, key: bytes
) -> list[tuple[str, pa.Table]]:
    """One bucket's contract tables as written: the income quintiles filled in, `pnr`
    replaced by `person_id`."""
    tables = {path.stem: pd.read_parquet(path) for path in sorted((folder / str(bucket)).iterdir())}
    if quintiles is not None:
        persons = tables["persons"]
        persons["income_quintile"] = persons["pnr"].map(quintiles).astype("Int64")
    # the rows of unknown persons were dropped and counted in the conversion pass: here
    # only each table's keys are wanted
    tables, keys = _only_known_persons(tables, [])
    person_ids = _person_ids(tables, keys, key)
    return [(name, _arrow(frame, person_ids[name])) for name, frame in tables.items()]


def _merged_changes(changes: list[Change]) -> list[Change]:
    """The buckets' report lines summed per register, table, action and reason (in the
    order first seen)."""
    rows: dict[tuple[str, str, str, str], int] = {}
    for c in changes:
        line = (c.register, c.table, c.action, c.reason)
        rows[line] = rows.get(line, 0) + c.rows
    return [Change(*line, n) for line, n in rows.items()]


def _merged_problems(problems: list[Problem]) -> list[Problem]:
    """The buckets' problems summed per register, column and rule; the example rows are
    those of the first bucket with the problem (row numbers within that bucket)."""
    merged: dict[tuple[str, str | None, str], Problem] = {}
    for p in problems:
        line = (p.register, p.column, p.rule)
        first = merged.get(line)
        merged[line] = p if first is None else replace(first, rows=first.rows + p.rows)
    return list(merged.values())


def convert(
    frames: dict[str, pd.DataFrame], extract_date: date, modules: dict[str, ModuleType]
) -> tuple[dict[str, pd.DataFrame], list[Change], list[str]]:
    """Every contract table keyed by `pnr`, with the report lines; contract tables given in
    SOURCE_DIR are passed through where no converter made the table."""
    problems: list[Problem] = []
    changes: list[Change] = []
    tables: dict[str, pd.DataFrame] = {}
    for module_name, table in EVENT_CONVERTERS:
        module = modules.get(module_name)
        convert_table: Callable | None = getattr(module, table, None) if module else None
        if convert_table is None:
            continue
        converted: Converted | None = convert_table(frames, extract_date, problems)
        if converted is not None:
            tables[table] = converted.table
            changes.extend(converted.changes)
    passed = _pass_through(frames, tables, modules, problems)
    if "persons" not in tables:
        made = persons_module.persons(frames, extract_date, problems, _gp(tables))
        if made is not None:
            tables["persons"] = made.table
            changes.extend(made.changes)
    for table in HISTORY_TABLES:
        if table not in tables:
            problems.append(
                Problem(
                    table,
                    None,
                    "required contract table has no source: give its registers "
                    f"({REQUIRED_SOURCES[table]}) or the table itself keyed by pnr",
                )
            )
    raise_if_any(problems)
    if "persons" not in tables:
        raise InputError(
            "SOURCE_DIR has no persons register: BEF (DST), cpr3_t_person (SDS) or a "
            "persons table keyed by pnr"
        )
    return tables, changes, passed


def _pass_through(
    frames: dict[str, pd.DataFrame],
    tables: dict[str, pd.DataFrame],
    modules: dict[str, ModuleType],
    problems: list[Problem],
) -> list[str]:
    """Add the contract tables given in SOURCE_DIR (keyed by pnr) that no converter made to
    `tables`; one given both ways is a problem. Returns the names taken as given."""
    passed = []
    for table in CONTRACT_TABLES:
        if table not in frames:
            continue
        made_too = table in tables or table == "persons" and _has_person_register(frames)
        if made_too and not _from_passthrough(modules, table):
            problems.append(Problem(table, None, "given both as registers and as a contract table"))
        elif "pnr" not in frames[table].columns:
            already = " (it has person_id: already a data directory?)"
            problems.append(
                Problem(
                    table,
                    "pnr",
                    "a contract table in SOURCE_DIR must be keyed by pnr"
                    + (already if "person_id" in frames[table].columns else ""),
                )
            )
        elif not made_too:
            tables[table] = frames[table]
            passed.append(table)
    return passed


def _has_person_register(frames: dict[str, pd.DataFrame]) -> bool:
    return "bef" in frames or "cpr3_t_person" in frames


def _gp(tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The GP contacts persons takes clinics from (converted, or given keyed by pnr)."""
    gp = tables.get("gp_contacts")
    if gp is None or not {"pnr", "contact_date", "clinic_id"} <= set(gp.columns):
        return None
    return gp.assign(contact_date=pd.to_datetime(gp["contact_date"], errors="coerce"))


def _from_passthrough(modules: dict[str, ModuleType], table: str) -> bool:
    """True when the converter of `table` itself takes the contract table as given
    (municipal.py does for municipal_services and opt_outs)."""
    module = modules.get("municipal")
    return module is not None and table in getattr(module, "REGISTERS", ())


def _dates_of(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column] if column in frame.columns else pd.Series([], dtype="datetime64[s]")
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce")
    return values.dropna()


def _latest_dates(tables: dict[str, pd.DataFrame]) -> list[pd.Timestamp]:
    """The latest date of each column the extract date is derived from (events' starts,
    birth, death and emigration dates), where there is one."""
    latest = []
    for table, column in EVENT_DATES.items():
        if table in tables:
            latest.append(_dates_of(tables[table], column).max())
    for column in ("birth_date", "death_date", "emigration_date"):
        latest.append(_dates_of(tables["persons"], column).max())
    return [d for d in latest if pd.notna(d)]


def _derived_extract_date(found: list[pd.Timestamp]) -> date:
    """The contract's rule without a manifest: the day after the latest date other than an
    end date (`_latest_dates`, over every bucket)."""
    if not found:
        raise InputError("cannot derive the extract date from the data: give --extract-date")
    return (max(found) + timedelta(days=1)).date()


def _first_events(tables: dict[str, pd.DataFrame]) -> dict[str, pd.Timestamp]:
    """The first event date of each required event table that has events."""
    firsts = {}
    for table in HISTORY_TABLES:
        if table in tables:
            first = _dates_of(tables[table], EVENT_DATES[table]).min()
            if pd.notna(first):
                firsts[table] = first
    return firsts


def _history_start(firsts: dict[str, pd.Timestamp], extract_date: date) -> date:
    """The first day of the month from which every required event table has events (the
    latest of their first event months, `_first_events` over every bucket); the extract
    date when none has any."""
    if not firsts:
        return extract_date
    latest = max(firsts.values())
    return date(latest.year, latest.month, 1)


Keys = dict[str, tuple[np.ndarray, pd.Series]]  # table -> (row codes, distinct pnr)


def _only_known_persons(
    tables: dict[str, pd.DataFrame], changes: list[Change]
) -> tuple[dict[str, pd.DataFrame], Keys]:
    """Event rows of persons in the persons table; the others dropped with a count (no BEF
    row, or dropped as living outside the 98 municipalities). Also each table's keys as
    codes into its distinct `pnr` (the readers spelled them one way already), so the text
    work on keys is done once per person, not once per row."""
    persons = tables["persons"]
    if "pnr" not in persons.columns:
        raise InputError("persons: no person key (pnr or an SDS alias)")
    known = pd.Index(pseudonym.normalised(persons["pnr"]))
    out, keys = {}, {}
    for name, frame in tables.items():
        if "pnr" not in frame.columns:
            raise InputError(f"{name}: no person key (pnr or an SDS alias)")
        codes, distinct = pd.factorize(frame["pnr"])
        text = pseudonym.normalised(pd.Series(distinct))
        present = np.append(text.isin(known).fillna(False).to_numpy(dtype=bool), False)
        inside = present[codes]  # code -1 (a missing key) takes the appended False
        if name != "persons" and not inside.all():
            changes.append(
                Change(
                    name,
                    name,
                    "dropped",
                    "person not in persons (no BEF/CPR row, or living outside the 98 "
                    "municipalities)",
                    int((~inside).sum()),
                )
            )
            frame, codes = frame.loc[inside].reset_index(drop=True), codes[inside]
        out[name] = frame
        keys[name] = (codes, text)
    return out, keys


def _person_ids(tables: dict[str, pd.DataFrame], keys: Keys, key: bytes) -> dict[str, pa.Array]:
    """Each table's `person_id` column (Arrow strings, one per row)."""
    persons_pnr = pseudonym.normalised(tables["persons"]["pnr"])
    ids = pseudonym.person_ids(persons_pnr, key)
    if ids.duplicated().any() or persons_pnr.duplicated().any():
        raise InputError(
            "persons: a person is given twice (the same pnr, trimmed and without a dash)"
        )
    lookup = pd.Series(ids.to_numpy(), index=persons_pnr.to_numpy())
    out = {}
    for name in tables:
        codes, distinct = keys[name]
        mapped = distinct.map(lookup).to_numpy(dtype=object)
        of_distinct = pa.array(mapped, type=pa.string(), from_pandas=True)
        out[name] = of_distinct.take(pa.array(codes))
    return out


def _arrow(frame: pd.DataFrame, person_id: pa.Array) -> pa.Table:
    """A contract table as Arrow: `person_id` first and no `pnr`, datetimes as dates,
    nullable pandas types as Arrow's."""
    columns = {"person_id": person_id}
    for name in frame.columns:
        if name == "pnr":
            continue
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            days = values.to_numpy().astype("datetime64[D]")
            columns[name] = pa.array(days, type=pa.date32(), mask=np.isnat(days))
        else:
            columns[name] = pa.Array.from_pandas(values)
    return pa.table(columns)


def _unify_part_types(folder: Path) -> None:
    """Rewrite the parts of a table folder whose column is typed null (a bucket where the
    column, or the whole table, is empty) with the type the other parts give it, so that
    every part has one schema and any Parquet reader takes the folder as one table."""
    paths = sorted(folder.glob("part-*.parquet"))
    schemas = {path: pq.read_schema(path) for path in paths}
    typed: dict[str, pa.DataType] = {}
    for schema in schemas.values():
        for column in schema:
            if not pa.types.is_null(column.type):
                typed.setdefault(column.name, column.type)
    for path, schema in schemas.items():
        if any(pa.types.is_null(f.type) and f.name in typed for f in schema):
            table = pq.read_table(path)
            target = pa.schema(
                [
                    pa.field(f.name, typed[f.name])
                    if pa.types.is_null(f.type) and f.name in typed
                    else f
                    for f in table.schema
                ],
                metadata=table.schema.metadata,
            )
            pq.write_table(table.cast(target), path, compression="zstd")


def _finish(tmp: Path, result: ImportResult) -> None:
    """The manifest, the contract's validation of everything in `tmp` (refused: nothing is
    written) and the import report."""
    from riskstrat.registers.report import report_json, report_markdown

    manifest = {
        "contract_version": 1,
        "extract_date": result.extract_date.isoformat(),
        "history_start": result.history_start.isoformat(),
        "source": f"riskstrat import of register files ({result.layout} layout)",
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    report = validate_data_dir(tmp)
    if not report.ok:
        lines = "\n".join(f"- {f.message()}" for f in report.errors)
        raise InputError(
            f"the imported data would not meet input contract v1 "
            f"({len(report.errors)} problem(s)); nothing was written:\n{lines}"
        )
    result.warnings = [f.message() for f in report.warnings]
    (tmp / "import_report.json").write_text(report_json(result))
    (tmp / "import_report.md").write_text(report_markdown(result))
