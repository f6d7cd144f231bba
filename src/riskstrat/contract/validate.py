"""Validate a data directory against input contract v1 and report every problem class at once.

`validate_data_dir(path)` reads each file once (twice without a manifest, to derive the
extract date), runs the declared rules in DuckDB, and returns a `ValidationReport`: one
`Finding` per (table, column, rule) with its row count and up to five example rows.
Person identifiers are never echoed in examples, only row numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from riskstrat.contract.source import DataDir, TableFiles, open_data_dir, read_raw
from riskstrat.contract.sql import CPR_SHAPED, Rule, column_rules, q, typed_select
from riskstrat.contract.tables import EVENT_TABLES, PERSONS, TABLES, Table
from riskstrat.dates import age_sql
from riskstrat.errors import InputError
from riskstrat.reference import icd10_categories, municipalities

MAX_EXAMPLES = 5


@dataclass
class Finding:
    table: str
    column: str | None
    rule: str
    count: int
    examples: list[str] = field(default_factory=list)
    severity: str = "error"

    def message(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        rows = "row" if self.count == 1 else "rows"
        text = f"{where}: {self.rule}: {self.count:,} {rows}"
        return text + (f" (e.g. {'; '.join(self.examples)})" if self.examples else "")


@dataclass
class ValidationReport:
    path: Path
    extract_date: date | None
    extract_date_source: str
    errors: list[Finding]
    warnings: list[Finding]
    rows: dict[str, int]
    date_ranges: dict[str, tuple[date | None, date | None]]
    persons_by_age_band: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.errors


class ContractError(InputError):
    """Raised with the report when a data directory breaks the input contract."""

    def __init__(self, report: ValidationReport):
        self.report = report
        lines = [f"{report.path} breaks input contract v1 ({len(report.errors)} problem classes):"]
        lines += [f"  - {f.message()}" for f in report.errors]
        super().__init__("\n".join(lines))


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
        examples: list[str] = (),
        severity: str = "error",
    ) -> None:
        key = (table, column, rule, severity)
        f = self.found.setdefault(key, Finding(table, column, rule, 0, [], severity))
        f.count += count
        f.examples.extend(examples[: MAX_EXAMPLES - len(f.examples)])

    def of(self, severity: str) -> list[Finding]:
        return [f for f in self.found.values() if f.severity == severity]


def validate_data_dir(path: str | Path) -> ValidationReport:
    """Check every table of the data directory at `path` against input contract v1."""
    data_dir = open_data_dir(path)
    out = _Collector()
    for name, table in TABLES.items():
        if table.required and name not in data_dir.tables:
            out.add(name, None, "missing required table (TABLE.parquet, TABLE.csv or TABLE/)", 1)
    extract, source = _extract_date(data_dir)
    con = duckdb.connect()
    rows: dict[str, int] = {}
    ranges: dict[str, tuple] = {}
    bands: dict[str, int] = {}
    if extract is None:
        out.add("persons", None, "no extract date: no manifest and no event dates", 1)
    elif "persons" in data_dir.tables:
        rows["persons"], bands = _check_persons(con, data_dir.tables["persons"], extract, out)
        for name in EVENT_TABLES:
            if name in data_dir.tables:
                rows[name], ranges[name] = _check_events(con, data_dir.tables[name], extract, out)
    return ValidationReport(
        data_dir.path, extract, source, out.of("error"), out.of("warning"), rows, ranges, bands
    )


def _extract_date(data_dir: DataDir) -> tuple[date | None, str]:
    if data_dir.manifest and data_dir.manifest.extract_date:
        return data_dir.manifest.extract_date, "manifest"
    latest: date | None = None
    con = duckdb.connect()
    for tf, raw in _raw_files(data_dir, [n for n in TABLES if n in data_dir.tables]):
        table = TABLES[tf.table]
        cols = [
            c
            for c in table.columns
            if c.kind == "date" and c.date_role != "end" and c.name in raw.column_names
        ]
        if not cols:
            continue
        con.register("raw", raw)
        types = _raw_types(con)
        sel = typed_select(Table(table.name, False, tuple(cols)), types)
        got = con.execute(
            f"SELECT greatest({', '.join(f'max({q(c.name)})' for c in cols)}) "
            f"FROM (SELECT {sel} FROM raw)"
        ).fetchall()[0][0]
        if got is not None and (latest is None or got > latest):
            latest = got
    return (latest + timedelta(days=1) if latest else None), "derived"


def _raw_files(data_dir: DataDir, names: list[str]) -> Iterator[tuple[TableFiles, pa.Table]]:
    for name in names:
        tf = data_dir.tables[name]
        for file in tf.files:
            yield tf, read_raw(tf, file)


def _raw_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute("DESCRIBE raw").fetchall()}


def _prepare(con, tf: TableFiles, file: Path, out: _Collector) -> tuple[set[str], dict] | None:
    """Register a file as `raw` with a row number; report missing columns. None if unusable."""
    raw = read_raw(tf, file)
    table = TABLES[tf.table]
    missing = [c for c in table.column_names if c not in raw.column_names]
    required_missing = [c for c in missing if not table.column(c).nullable or c == "person_id"]
    for col in required_missing:
        out.add(tf.table, col, "missing required column", 1, [tf.label(file)])
    if "person_id" in missing:
        return None
    raw = raw.append_column("__row", pa.array(range(1, raw.num_rows + 1), pa.int64()))
    con.register("raw", raw)
    present = set(table.column_names) & set(raw.column_names)
    return present, _raw_types(con)


def _run_rules(con, tf: TableFiles, file: Path, rules: list[Rule], out: _Collector) -> None:
    if not rules:
        return
    counts = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {r.predicate})" for r in rules)
        + " FROM typed"
    ).fetchall()[0]
    for rule, n in zip(rules, counts, strict=True):
        if not n:
            continue
        value = f", {rule.value_expr or q(rule.column)}" if rule.show_value else ""
        ex = con.execute(
            f"SELECT __row{value} FROM typed WHERE {rule.predicate} "
            f"ORDER BY __row LIMIT {MAX_EXAMPLES}"
        ).fetchall()
        label = "" if tf.layout != "parts" else f"{tf.label(file)} "
        examples = [f"{label}row {r[0]}" + (f" = {r[1]!r}" if rule.show_value else "") for r in ex]
        out.add(tf.table, rule.column, rule.rule, int(n), examples, rule.severity)


def _check_persons(con, tf: TableFiles, extract: date, out: _Collector) -> tuple[int, dict]:
    typed_parts = []
    for file in tf.files:
        prepared = _prepare(con, tf, file, out)
        if prepared is None:
            continue
        present, types = prepared
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE typed AS SELECT __row, {typed_select(PERSONS, types)} FROM raw"
        )
        rules = column_rules(PERSONS, present, extract)
        rules.append(
            Rule(
                "person_id",
                "shaped like a CPR number (use a pseudonym)",
                f"regexp_full_match(person_id, '{CPR_SHAPED}')",
                show_value=False,
            )
        )
        if "municipality_code" in present:
            codes = ", ".join(str(c) for c in sorted(municipalities()["municipality_code"]))
            rules.append(
                Rule(
                    "municipality_code",
                    "unknown municipality code (not one of the 98)",
                    f"municipality_code IS NOT NULL AND municipality_code NOT IN ({codes})",
                )
            )
        _run_rules(con, tf, file, rules, out)
        cols = [
            c if c in present else f"CAST(NULL AS DATE) AS {c}"
            for c in ("person_id", "birth_date", "death_date")
        ]
        label = f"{tf.label(file)} " if tf.layout == "parts" else ""
        typed_parts.append(
            con.sql(
                f"SELECT {', '.join(cols)}, '{label}row ' || __row AS __where FROM typed"
            ).to_arrow_table()
        )
    if not typed_parts:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE persons_known (person_id VARCHAR, death_date DATE)"
        )
        return 0, {}
    persons = pa.concat_tables(typed_parts, promote_options="default")
    con.register("persons_all", persons)
    dup = con.execute(
        "SELECT __where FROM (SELECT __where, count(*) OVER (PARTITION BY person_id) n "
        "FROM persons_all WHERE person_id IS NOT NULL) WHERE n > 1 ORDER BY __where"
    ).fetchall()
    if dup:
        out.add(
            "persons",
            "person_id",
            "duplicate person_id",
            len(dup),
            [r[0] for r in dup[:MAX_EXAMPLES]],
        )
    death = "death_date" if "death_date" in persons.column_names else "CAST(NULL AS DATE)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE persons_known AS SELECT DISTINCT person_id, "
        f"{death} AS death_date FROM persons_all WHERE person_id IS NOT NULL"
    )
    bands = _age_bands(con, extract) if "birth_date" in persons.column_names else {}
    return persons.num_rows, bands


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


def _check_events(con, tf: TableFiles, extract: date, out: _Collector) -> tuple[int, tuple]:
    table = TABLES[tf.table]
    event_col = next(c.name for c in table.columns if c.date_role == "event")
    n_rows, first, last = 0, None, None
    for file in tf.files:
        prepared = _prepare(con, tf, file, out)
        if prepared is None:
            continue
        present, types = prepared
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE typed AS SELECT t.*, k.person_id IS NOT NULL AS __known, "
            f"k.death_date AS __death_date FROM (SELECT __row, {typed_select(table, types)} FROM raw) t "
            f"LEFT JOIN persons_known k USING (person_id)"
        )
        rules = column_rules(table, present, extract)
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
        _run_rules(con, tf, file, rules, out)
        _unknown_codes(con, tf, present, out)
        n, lo, hi = con.execute(
            f"SELECT count(*), min({q(event_col)}), max({q(event_col)}) FROM typed"
            if event_col in present
            else "SELECT count(*), NULL, NULL FROM typed"
        ).fetchall()[0]
        n_rows += n
        first = lo if first is None or (lo is not None and lo < first) else first
        last = hi if last is None or (hi is not None and hi > last) else last
    return n_rows, (first, last)


def _unknown_codes(con, tf: TableFiles, present: set[str], out: _Collector) -> None:
    """Well-formed diagnosis codes whose ICD-10 category is unknown: a counted warning."""
    con.register("icd_categories", icd10_categories())
    for col in TABLES[tf.table].columns:
        if col.name not in present or col.kind not in ("icd10", "icd10_list"):
            continue
        codes = (
            f"unnest(string_split({q(col.name)}, ';'))" if col.kind == "icd10_list" else q(col.name)
        )
        n = con.execute(
            f"SELECT count(*) FROM (SELECT {codes} AS code FROM typed) "
            f"WHERE code IS NOT NULL AND substr(code, 1, 4) NOT IN (SELECT code FROM icd_categories)"
        ).fetchall()[0][0]
        if n:
            ex = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT code FROM (SELECT {codes} AS code FROM typed) WHERE code IS NOT NULL "
                    f"AND substr(code, 1, 4) NOT IN (SELECT code FROM icd_categories) ORDER BY code "
                    f"LIMIT {MAX_EXAMPLES}"
                ).fetchall()
            ]
            out.add(
                tf.table,
                col.name,
                "well-formed code of an ICD-10 category not in WHO ICD-10 2019 (counted, kept)",
                int(n),
                ex,
                severity="warning",
            )


def validated(data_dir: str | Path) -> ValidationReport:
    """The data directory's validation report; ContractError if it breaks the contract."""
    report = validate_data_dir(data_dir)
    if not report.ok:
        raise ContractError(report)
    return report
