"""Validate a data directory against input contract v1 and report every problem class at once.

`validate_data_dir(path)` runs the declared rules in DuckDB and returns a `ValidationReport`:
one `Finding` per (table, column, rule) with its row count and up to five example rows.
Examples show values only as `riskstrat.redact` allows: never a person id (only its row
number), nothing shaped like a CPR number, and only the shape of a value that may be a
misplaced identifier (it equals a person id, or most of its column breaks the rule).

Each file is checked in one pass: a single aggregate query types its rows, joins them to
the persons (event tables) and computes every rule's count and first row numbers, the
rows, first and last event and unknown ICD-10 categories at once. Besides it, only narrow
reads: the offending values of at most five rows per failing rule, the distinct unknown
codes where there are some, and the persons' id, birth and death dates (kept for the
duplicate, orphan, after-death and age-band checks). Without a manifest, the dates are
read once more first, to derive the extract date.

`riskstrat.contract.record.validated` skips all of it for files that passed before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.contract.source import DataDir, TableFiles, open_data_dir, read_raw
from riskstrat.contract.sql import (
    Rule,
    column_rules,
    cpr_rule,
    q,
    raw_text,
    stored_text,
    typed_select,
)
from riskstrat.contract.tables import EVENT_TABLES, PERSONS, TABLES, Table
from riskstrat.dates import age_sql
from riskstrat.errors import InputError
from riskstrat.redact import example_value, is_person_identifier, misplaced, shape, shown_text
from riskstrat.reference import icd10_categories, municipalities

MAX_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 80  # a 5 MB value is shown by its start and its length
STALE_DAYS = 31  # a manifest extract date this far past the latest event is doubtful
T = TypeVar("T")


@dataclass
class Finding:
    """One problem class of a validation: `count` rows of `table` break `rule` (in `column`,
    or None for the table as a whole), with up to five example rows (row numbers, and the
    offending value where `riskstrat.redact` lets a message show it). An "error" fails the
    validation; a "warning" is reported and the rows are kept."""

    table: str
    column: str | None
    rule: str
    count: int
    examples: list[str] = field(default_factory=list)
    severity: str = "error"

    def message(self) -> str:
        """One line for people: where, which rule, how many rows and the examples."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        rows = "row" if self.count == 1 else "rows"
        text = f"{where}: {self.rule}: {self.count:,} {rows}"
        return text + (f" (e.g. {'; '.join(self.examples)})" if self.examples else "")


@dataclass
class ValidationReport:
    """The outcome of checking a data directory against the contract: its errors and
    warnings, and what it holds (rows per table, first and last event date per event table,
    persons alive at the extract date by age band).

    `extract_date` is None only when it could not be found (no manifest and no event dates),
    which is itself an error; `extract_date_source` says where it came from ("manifest" or
    "derived": the day after the latest event). A report without errors is a
    `PassingReport`, whose extract date is always set (`validated` returns one).
    """

    path: Path
    extract_date: date | None
    extract_date_source: str
    errors: list[Finding]
    warnings: list[Finding]
    rows: dict[str, int]
    date_ranges: dict[str, tuple[date | None, date | None]]
    persons_by_age_band: dict[str, int]
    # when the report comes from the record of an earlier validation of the same files
    # (riskstrat.contract.record), the time of that validation; None when the rules ran now
    from_record: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the data directory meets the contract (warnings allowed)."""
        return not self.errors

    @property
    def record_note(self) -> str | None:
        """What a command can print when the rules were skipped, else None."""
        if self.from_record is None:
            return None
        when = self.from_record.astimezone().strftime("%Y-%m-%d %H:%M")
        return f"validated earlier ({when}), files unchanged: rules skipped"


@dataclass
class PassingReport(ValidationReport):
    """The report of a data directory that meets the contract: no errors, and therefore an
    extract date (a missing one is an error). What `riskstrat.contract.validated` returns,
    so that callers read `extract_date` as a `date`."""

    extract_date: date

    @classmethod
    def of(cls, report: ValidationReport) -> PassingReport:
        """`report` as a passing report; raises `ContractError` when it has errors."""
        if not report.ok:
            raise ContractError(report)
        if report.extract_date is None:  # cannot happen: no extract date is an error
            raise ValueError(f"{report.path}: a report without errors has no extract date")
        return cls(**{f.name: getattr(report, f.name) for f in fields(report)})


class ContractError(InputError):
    """Raised with the report when a data directory breaks the input contract."""

    def __init__(self, report: ValidationReport):
        self.report = report
        lines = [f"{report.path} breaks input contract v1 ({len(report.errors)} problem classes):"]
        lines += [f"  - {f.message()}" for f in report.errors]
        super().__init__("\n".join(lines))


def _short(example: str) -> str:
    if len(example) <= MAX_EXAMPLE_CHARS:
        return example
    return f"{example[: MAX_EXAMPLE_CHARS - 20]}... ({len(example):,} characters)"


class _Collector:
    """Adds up findings of the same (table, column, rule) over the files of a table."""

    def __init__(self) -> None:
        self.found: dict[tuple, Finding] = {}

    def add(
        self,
        table: str,
        column: str | None,
        rule: str,
        count: int,
        examples: Sequence[str] = (),
        severity: str = "error",
    ) -> None:
        key = (table, column, rule, severity)
        f = self.found.setdefault(key, Finding(table, column, rule, 0, [], severity))
        f.count += count
        f.examples.extend(_short(e) for e in examples[: MAX_EXAMPLES - len(f.examples)])

    def of(self, severity: str) -> list[Finding]:
        return [f for f in self.found.values() if f.severity == severity]

    def merge(self, other: _Collector) -> None:
        for f in other.found.values():
            self.add(f.table, f.column, f.rule, f.count, f.examples, f.severity)


def validate_data_dir(path: str | Path) -> ValidationReport:
    """Check every table of the data directory at `path` against input contract v1."""
    data_dir = open_data_dir(path)
    out = _Collector()
    for name, table in TABLES.items():
        if table.required and name not in data_dir.tables:
            out.add(name, None, "missing required table (TABLE.parquet, TABLE.csv or TABLE/)", 1)
    con = duckdb.connect()
    extract, source = _extract_date(con, data_dir)
    rows: dict[str, int] = {}
    ranges: dict[str, tuple] = {}
    bands: dict[str, int] = {}
    if extract is None:
        out.add("persons", None, "no extract date: no manifest and no event dates", 1)
    elif "persons" in data_dir.tables:
        rows["persons"], bands = _check_persons(con, data_dir.tables["persons"], extract, out)
        if not rows["persons"]:
            out.add("persons", None, "the table has no rows: nobody to score, list or report", 0)
        for name in EVENT_TABLES:
            if name in data_dir.tables:
                rows[name], ranges[name] = _check_events(con, data_dir.tables[name], extract, out)
        if source == "manifest":
            _check_extract_date(extract, ranges, out)
    return ValidationReport(
        data_dir.path, extract, source, out.of("error"), out.of("warning"), rows, ranges, bands
    )


def _check_extract_date(extract: date, ranges: dict[str, tuple], out: _Collector) -> None:
    """A warning when the manifest's extract date lies more than STALE_DAYS past the latest
    event of every table: the time between would be read as a time without events."""
    lasts = {name: hi for name, (_, hi) in ranges.items() if hi is not None}
    if not lasts:
        return
    last = max(lasts.values())
    gap = (extract - last).days
    if gap > STALE_DAYS:
        out.add(
            "manifest.json",
            "extract_date",
            f"the latest event of any table is on {last}, {gap} days before the extract date "
            f"{extract}: is the extract date right? (the days between read as without events)",
            1,
            [f"{name} last event {day}" for name, day in sorted(lasts.items())],
            severity="warning",
        )


# -- reading a file -----------------------------------------------------------------------
#
# A Parquet file is scanned by DuckDB itself (`read_parquet`, row numbers from the reader),
# so that each query reads only the columns it needs, in parallel, without an Arrow copy.
# Its columns must then get the types that reading it with pyarrow would give them (the
# rules depend on the stored type); where they would not, or DuckDB cannot read the file,
# the file is read with pyarrow as before (`read_raw`), which also gives the same error for
# a file that cannot be read at all. CSV is always read with pyarrow, as text.


@dataclass(frozen=True)
class _File:
    relation: str  # SQL for a FROM clause: the raw columns and `__row` (1-based row number)
    types: dict[str, str]  # the raw columns' DuckDB types
    native: bool  # read by DuckDB's Parquet reader (else an Arrow table registered as `raw`)


def _scanned(
    con, tf: TableFiles, file: Path, run: Callable[[_File, _Collector], T], out: _Collector
) -> T:
    """`run` over the file as read by DuckDB where it can be, else as read by pyarrow; the
    findings of the run that succeeds go to `out`."""
    native = _native_file(con, file) if tf.layout != "csv" else None
    if native is not None:
        found = _Collector()
        try:
            result = run(native, found)
        except duckdb.InterruptException:
            raise
        except duckdb.Error:
            pass  # read it as before: the same result, or the same error
        else:
            out.merge(found)
            return result
    raw = read_raw(tf, file)
    n = raw.num_rows
    con.register("raw", raw.append_column("__row", pa.array(np.arange(1, n + 1, dtype=np.int64))))
    types = {r[0]: r[1] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "__row"}
    found = _Collector()
    result = run(_File("raw", types, native=False), found)
    out.merge(found)
    return result


def _native_file(con, file: Path) -> _File | None:
    path = "'" + str(file).replace("'", "''") + "'"
    relation = (
        f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS __row "
        f"FROM read_parquet({path}, file_row_number = true))"
    )
    try:
        native = {r[0]: r[1] for r in con.execute(f"DESCRIBE {relation}").fetchall()}
        con.register("raw_schema", pq.read_schema(file).empty_table())
        arrow = {r[0]: r[1] for r in con.execute("DESCRIBE raw_schema").fetchall()}
    except (duckdb.Error, pa.ArrowException, OSError):
        return None
    names = pq.read_schema(file).names
    if native.pop("__row", None) != "BIGINT" or native != arrow or len(set(names)) != len(names):
        return None  # read_raw reads it, or says why it cannot (e.g. a column named twice)
    return _File(relation, native, native=True)


def _usable(tf: TableFiles, file: Path, f: _File, out: _Collector) -> bool:
    """Report the required contract columns the file lacks; False if it has no person_id."""
    table = TABLES[tf.table]
    missing = [c for c in table.column_names if c not in f.types]
    for col in [c for c in missing if not table.column(c).nullable or c == "person_id"]:
        out.add(tf.table, col, "missing required column", 1, [tf.label(file)])
    return "person_id" not in missing


# -- the rules of one file, in one pass -----------------------------------------------------


def _rules_query(relation: str, rules: list[Rule], extra: list[str]) -> str:
    """One aggregate over `relation`: per rule its count and first row numbers (the rule's
    predicate computed once per row, as a flag), then the `extra` aggregates."""
    flags = "".join(f", ({r.predicate}) AS __r{i}" for i, r in enumerate(rules))
    aggs = []
    for i in range(len(rules)):
        aggs += [f"count_if(__r{i})", f"min(CASE WHEN __r{i} THEN __row END, {MAX_EXAMPLES})"]
    return f"SELECT {', '.join(aggs + extra) or 'NULL'} FROM (SELECT *{flags} FROM {relation})"


@dataclass(frozen=True)
class _Scan:
    """One file being checked: its stored rows (`raw`, SQL with `__row`), its typed rows,
    its number of rows, and a table of the person ids read before it (`known`)."""

    tf: TableFiles
    file: Path
    raw: str
    typed: str
    rows: int
    known: str

    @property
    def label(self) -> str:
        return "" if self.tf.layout != "parts" else f"{self.tf.label(self.file)} "


def _add_rules(con, scan: _Scan, rules: list[Rule], got: tuple, out: _Collector) -> None:
    """Findings from the counts and row numbers of `_rules_query`, with the offending values
    of the example rows where a rule shows them, as `riskstrat.redact` allows: never a
    person id, CPR-shaped runs masked, and only the shape of a value that may be a
    misplaced identifier."""
    failing = [
        (r, int(got[2 * i]), sorted(got[2 * i + 1])) for i, r in enumerate(rules) if got[2 * i]
    ]
    shown = [
        (r, rows) for r, _, rows in failing if r.show_value and not is_person_identifier(r.column)
    ]
    values = _example_values(con, scan, shown) if shown else {}
    for rule, n, rows in failing:
        j = next((k for k, (r, _) in enumerate(shown) if r is rule), None)
        if j is None:
            examples = [f"{scan.label}row {row}" for row in rows]
        else:
            whole = misplaced(n, scan.rows)
            examples = [
                f"{scan.label}row {row} = "
                + example_value(values[row][j][0], as_shape=whole or values[row][j][1])
                for row in rows
            ]
        out.add(scan.tf.table, rule.column, rule.rule, n, examples, rule.severity)


def _example_values(
    con, scan: _Scan, shown: list[tuple[Rule, list[int]]]
) -> dict[int, list[tuple[object, bool]]]:
    """Per example row, per rule of `shown`: the value to show (read for those rows only)
    and whether the stored value equals a person id of this file or of the persons read
    before (a value that slid into another column)."""
    wanted = sorted({row for _, rows in shown for row in rows})
    where = f"__row IN ({', '.join(map(str, wanted))})"
    exprs = ", ".join(r.value_expr or q(r.column) for r, _ in shown)
    values = {
        v[0]: v[1:]
        for v in con.execute(f"SELECT __row, {exprs} FROM {scan.typed} WHERE {where}").fetchall()
    }
    ids = f"(SELECT person_id FROM {scan.typed} UNION ALL SELECT person_id FROM {scan.known})"
    same = ", ".join(
        f"coalesce({stored_text(r.column)} IN (SELECT person_id FROM {ids}), false)"
        for r, _ in shown
    )
    is_id = {
        v[0]: v[1:]
        for v in con.execute(f"SELECT __row, {same} FROM {scan.raw} WHERE {where}").fetchall()
    }
    return {row: list(zip(values[row], is_id[row], strict=True)) for row in wanted}


def _extract_date(con, data_dir: DataDir) -> tuple[date | None, str]:
    if data_dir.manifest and data_dir.manifest.extract_date:
        return data_dir.manifest.extract_date, "manifest"
    latest: date | None = None
    for name in [n for n in TABLES if n in data_dir.tables]:
        tf, table = data_dir.tables[name], TABLES[name]

        def latest_in(f: _File, found: _Collector, table=table) -> date | None:
            cols = [
                c
                for c in table.columns
                if c.kind == "date" and c.date_role != "end" and c.name in f.types
            ]
            if not cols:
                return None
            sel = typed_select(Table(table.name, False, tuple(cols)), f.types)
            return con.execute(
                f"SELECT greatest({', '.join(f'max({q(c.name)})' for c in cols)}) "
                f"FROM (SELECT {sel} FROM {f.relation})"
            ).fetchall()[0][0]

        for file in tf.files:
            got = _scanned(con, tf, file, latest_in, _Collector())
            if got is not None and (latest is None or got > latest):
                latest = got
    return (latest + timedelta(days=1) if latest else None), "derived"


# -- persons --------------------------------------------------------------------------------


def _person_rules(present: set[str], extract: date) -> list[Rule]:
    rules = column_rules(PERSONS, present, extract)
    rules.append(cpr_rule("person_id"))
    if "municipality_code" in present:
        codes = ", ".join(str(c) for c in sorted(municipalities()["municipality_code"]))
        rules.append(
            Rule(
                "municipality_code",
                "unknown municipality code (not one of the 98)",
                f"municipality_code IS NOT NULL AND municipality_code NOT IN ({codes})",
                value_expr=raw_text("municipality_code"),
            )
        )
    return rules


def _check_persons(con, tf: TableFiles, extract: date, out: _Collector) -> tuple[int, dict]:
    """Per file one pass for the rules and one for the columns that other checks need
    (person_id, birth and death date, into `persons_all`); then duplicates, the persons
    known to the event tables and the age bands from `persons_all`."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE persons_all (person_id VARCHAR, birth_date DATE, "
        "death_date DATE, __file INTEGER, __row BIGINT)"
    )
    labels = []
    for k, file in enumerate(tf.files):

        def check(f: _File, found: _Collector, k=k, file=file) -> None:
            if not _usable(tf, file, f, found):
                return
            present = set(PERSONS.column_names) & set(f.types)
            rules = _person_rules(present, extract)
            typed = f"(SELECT __row, {typed_select(PERSONS, f.types)} FROM {f.relation})"
            got = con.execute(_rules_query(typed, rules, ["count(*)"])).fetchall()[0]
            scan = _Scan(tf, file, f.relation, typed, int(got[-1]), "persons_all")
            _add_rules(con, scan, rules, got, found)
            cols = [
                c if c in present else "CAST(NULL AS DATE)"
                for c in ("person_id", "birth_date", "death_date")
            ]
            con.execute(
                f"INSERT INTO persons_all SELECT {', '.join(cols)}, {k}, __row FROM {typed}"
            )

        _scanned(con, tf, file, check, out)
        labels.append(f"{tf.label(file)} " if tf.layout == "parts" else "")
    n_rows, n_dup = con.execute(
        "SELECT (SELECT count(*) FROM persons_all), (SELECT coalesce(sum(n), 0) FROM "
        "(SELECT count(*) AS n FROM persons_all WHERE person_id IS NOT NULL GROUP BY person_id) "
        "WHERE n > 1)"
    ).fetchall()[0]
    if n_dup:
        where = (
            "CASE __file "
            + " ".join(
                f"WHEN {k} THEN '{label.replace(chr(39), chr(39) * 2)}'"
                for k, label in enumerate(labels)
            )
            + " END || 'row ' || __row"
        )
        dup = con.execute(
            f"SELECT __where FROM (SELECT {where} AS __where, count(*) OVER (PARTITION BY "
            f"person_id) n FROM persons_all WHERE person_id IS NOT NULL) WHERE n > 1 "
            f"ORDER BY __where LIMIT {MAX_EXAMPLES}"
        ).fetchall()
        out.add("persons", "person_id", "duplicate person_id", int(n_dup), [r[0] for r in dup])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE persons_known AS SELECT DISTINCT person_id, death_date "
        "FROM persons_all WHERE person_id IS NOT NULL"
    )
    return int(n_rows), _age_bands(con, extract)


def _age_bands(con, extract: date) -> dict[str, int]:
    ex = f"DATE '{extract.isoformat()}'"
    rows = con.execute(
        f"SELECT CASE WHEN a < 18 THEN '0-17' WHEN a < 65 THEN '18-64' WHEN a < 75 THEN '65-74' "
        f"WHEN a < 85 THEN '75-84' ELSE '85+' END AS band, count(*) FROM "
        f"(SELECT {age_sql('birth_date', ex)} AS a FROM persons_all "
        f"WHERE birth_date IS NOT NULL AND (death_date IS NULL OR death_date >= {ex})) "
        f"GROUP BY band ORDER BY band"
    ).fetchall()
    return {band: int(n) for band, n in rows}


# -- event tables ---------------------------------------------------------------------------

UNKNOWN_CODE = "well-formed code of an ICD-10 category not in WHO ICD-10 2019 (counted, kept)"


def _check_events(con, tf: TableFiles, extract: date, out: _Collector) -> tuple[int, tuple]:
    """Per file one pass: every rule, the orphan and after-death checks (joined to
    `persons_known`), unknown ICD-10 categories, rows and the first and last event."""
    table = TABLES[tf.table]
    event_col = next(c.name for c in table.columns if c.date_role == "event")
    n_rows, first, last = 0, None, None
    for file in tf.files:

        def check(f: _File, found: _Collector, file=file) -> tuple | None:
            if not _usable(tf, file, f, found):
                return None
            present = set(table.column_names) & set(f.types)
            typed = f"(SELECT __row, {typed_select(table, f.types)} FROM {f.relation})"
            joined = (
                f"(SELECT t.*, k.person_id IS NOT NULL AS __known, k.death_date AS __death_date "
                f"FROM {typed} t LEFT JOIN persons_known k USING (person_id))"
            )
            rules = _event_rules(table, present, extract, event_col)
            codes = [
                c for c in table.columns if c.name in present and c.kind in ("icd10", "icd10_list")
            ]
            span = (
                [f"min({q(event_col)})", f"max({q(event_col)})"]
                if event_col in present
                else ["NULL", "NULL"]
            )
            extra = ["count(*)", *span, *(_unknown_count(c) for c in codes)]
            got = con.execute(_rules_query(joined, rules, extra)).fetchall()[0]
            n, lo, hi, *unknown = got[2 * len(rules) :]
            scan = _Scan(tf, file, f.relation, typed, int(n), "persons_known")
            _add_rules(con, scan, rules, got, found)
            for col, count in zip(codes, unknown, strict=True):
                if count:
                    examples = _unknown_examples(con, typed, col, misplaced(int(count), int(n)))
                    found.add(tf.table, col.name, UNKNOWN_CODE, int(count), examples, "warning")
            return n, lo, hi

        span = _scanned(con, tf, file, check, out)
        if span is None:
            continue
        n, lo, hi = span
        n_rows += n
        first = lo if first is None or (lo is not None and lo < first) else first
        last = hi if last is None or (hi is not None and hi > last) else last
    return n_rows, (first, last)


def _event_rules(table: Table, present: set[str], extract: date, event_col: str) -> list[Rule]:
    rules = column_rules(table, present, extract)
    # a CPR-shaped id of the persons table is its finding; here only those not in it (the
    # regular expression then runs on the orphans alone, not on every event)
    rules.append(cpr_rule("person_id", "NOT __known"))
    rules.append(
        Rule(
            "person_id",
            "person_id not in persons (orphan)",
            "person_id IS NOT NULL AND NOT __known",
            show_value=False,
        )
    )
    if event_col in present:
        rules.append(
            Rule(
                event_col,
                "after the person's death_date",
                f"{q(event_col)} > __death_date",
                severity="warning",
                show_value=False,
            )
        )
    return rules


@cache
def _icd_category_pattern() -> str:
    """A regular expression matching exactly the 4-character ICD-10 categories (`DJ18`)."""
    codes = sorted(set(icd10_categories()["code"].astype(str)))
    if not all(len(c) == 4 and c.isascii() and c.isalnum() for c in codes):
        raise ValueError("ICD-10 categories must be 4 letters or digits in SKS form (DJ18)")
    by_stem: dict[str, list[str]] = {}
    for c in codes:
        by_stem.setdefault(c[:3], []).append(c[3])
    return "(?:" + "|".join(f"{stem}[{''.join(last)}]" for stem, last in by_stem.items()) + ")"


def _unknown_count(col) -> str:
    """The diagnosis codes of a column (elements for a list column) whose first four
    characters are not an ICD-10 category.

    A typed list is `;`-joined non-empty codes, so its elements are its `;` plus one, and
    the known ones are the matches of `;` + category in `;` || list (5 bytes each, never
    overlapping): counted by bytes, without a per-element pass (a regular expression inside
    a list lambda costs several times more)."""
    c, pattern = q(col.name), _icd_category_pattern()
    if col.kind == "icd10_list":
        elements = f"strlen({c}) - strlen(replace({c}, ';', '')) + 1"
        known = (
            f"(strlen({c}) + 1 - strlen(regexp_replace(';' || {c}, ';{pattern}', '', 'g'))) // 5"
        )
        return f"coalesce(sum({elements} - {known}), 0)"
    return f"count_if({c} IS NOT NULL AND NOT regexp_full_match(substr({c}, 1, 4), '{pattern}'))"


def _unknown_examples(con, typed: str, col, as_shape: bool) -> list[str]:
    """The first distinct unknown codes of a column: only run when there are some, and reads
    that column only. Shown as `riskstrat.redact` allows (only their shape with `as_shape`:
    most of the column is not a known code, so it may hold another column's values)."""
    con.register("icd_categories", icd10_categories())
    c = q(col.name)
    codes = f"unnest(string_split({c}, ';'))" if col.kind == "icd10_list" else c
    return [
        f"shaped {shape(r[0])!r}" if as_shape else shown_text(r[0])
        for r in con.execute(
            f"SELECT DISTINCT code FROM (SELECT {codes} AS code FROM {typed}) WHERE code IS NOT NULL "
            f"AND substr(code, 1, 4) NOT IN (SELECT code FROM icd_categories) ORDER BY code "
            f"LIMIT {MAX_EXAMPLES}"
        ).fetchall()
    ]
