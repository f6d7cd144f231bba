"""SQL for one table file: typing and normalising the raw columns, and the contract's rules.

Every rule is a predicate that is true for a *bad* row, so one aggregate query over a file
counts all of its problems and keeps the first example rows of each at once.
Column kinds come from `riskstrat.contract.tables`; nothing here knows a table by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from riskstrat.contract.tables import Column, Table
from riskstrat.redact import CPR_SHAPED_SQL

SKS_CODE = r"^D[A-Z][0-9]{2}[0-9A-Z]{0,4}$"
# ATC levels have 1, 3, 4, 5 or 7 characters (A, A10, A10B, A10BA, A10BA02).
ATC_CODE = r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$"
CPR_RULE = "shaped like a CPR number (use a pseudonym)"


@dataclass(frozen=True)
class Rule:
    """One contract rule for the rows of a file: `predicate` is SQL over the typed row that
    is true where the row breaks it; `rule` and `column` name it in the finding."""

    column: str
    rule: str
    predicate: str  # SQL, true for a row that breaks the rule
    severity: str = "error"  # or "warning"
    show_value: bool = True  # False where the value itself is an identifier
    value_expr: str | None = None  # what to show as the offending value (default: the column)


def q(name: str) -> str:
    """`name` as a quoted SQL identifier (a column name may hold any character)."""
    return '"' + name.replace('"', '""') + '"'


def _text(expr: str) -> str:
    return f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"


def _sks(expr: str) -> str:
    code = f"upper(replace(replace({expr}, '.', ''), ' ', ''))"
    return f"(CASE WHEN regexp_matches({code}, '^D[A-Z][0-9]') THEN {code} ELSE 'D' || {code} END)"


_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}


def _is_number(raw_type: str) -> bool:
    return (
        raw_type in _INTEGER_TYPES
        or raw_type in ("FLOAT", "DOUBLE", "REAL")
        or raw_type.startswith("DECIMAL")
    )


def typed_expr(col: Column, raw_type: str) -> str:
    """SQL that turns the raw column into its contract type (NULL where it cannot)."""
    raw = q(col.name)
    raw_type = raw_type.upper()
    if col.kind == "date":
        return _typed_date(raw, raw_type)
    # numbers stored as numbers are cast directly: a round trip through text costs more
    # than the rest of a table's typing and gives the same values
    if col.kind == "int":
        return _typed_int(raw, raw_type)
    if col.kind == "float":
        return f"TRY_CAST({raw if _is_number(raw_type) else _text(raw)} AS DOUBLE)"
    if col.kind == "bool":
        return _typed_bool(raw, raw_type)
    if col.kind == "category":
        txt = _text(raw)
        whens = " ".join(f"WHEN '{c.lower()}' THEN '{c}'" for c in col.categories)
        return f"(CASE lower({txt}) {whens} ELSE {txt} END)"
    if col.kind == "icd10":
        return _sks(_text(raw))
    if col.kind == "icd10_list":
        parts = f"list_filter(string_split({_text(raw)}, ';'), lambda x: trim(x) <> '')"
        return f"NULLIF(array_to_string(list_transform({parts}, lambda x: {_sks('trim(x)')}), ';'), '')"
    if col.kind == "atc":
        return f"upper(replace({_text(raw)}, ' ', ''))"
    return _text(raw)


def _typed_date(raw: str, raw_type: str) -> str:
    """A date column: dates as they are, timestamps as their (Copenhagen) day, text parsed
    as an ISO date; any other stored type is NULL."""
    if raw_type == "DATE":
        return raw
    if raw_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"CAST(timezone('Europe/Copenhagen', {raw}) AS DATE)"
    if raw_type.startswith("TIMESTAMP"):
        return f"CAST({raw} AS DATE)"
    if raw_type == "VARCHAR":
        return f"TRY_CAST({_text(raw)} AS DATE)"
    return "CAST(NULL AS DATE)"


def _typed_int(raw: str, raw_type: str) -> str:
    """A whole-number column: integers as they are; other numbers and text only where the
    value is whole."""
    if raw_type in _INTEGER_TYPES:
        return f"TRY_CAST({raw} AS BIGINT)"
    num = f"TRY_CAST({raw if _is_number(raw_type) else _text(raw)} AS DOUBLE)"
    # NaN, infinity and numbers beyond BIGINT are not whole numbers (a plain CAST would fail
    # the whole query on them)
    return (
        f"(CASE WHEN isfinite({num}) AND {num} = floor({num}) THEN TRY_CAST({num} AS BIGINT) END)"
    )


def _typed_bool(raw: str, raw_type: str) -> str:
    """A true/false column: booleans as they are; text as true/t/1/yes or false/f/0/no."""
    if raw_type == "BOOLEAN":
        return raw
    txt = f"lower({_text(raw)})"
    return (
        f"(CASE WHEN {txt} IN ('true', 't', '1', 'yes') THEN true "
        f"WHEN {txt} IN ('false', 'f', '0', 'no') THEN false END)"
    )


def _is_native(raw_type: str) -> bool:
    """A stored type whose values are never blank as text: there `__raw_<col>` can be the raw
    column itself (null exactly where its text would be), not a text copy of every value."""
    raw_type = raw_type.upper()
    return (
        _is_number(raw_type) or raw_type in ("DATE", "BOOLEAN") or raw_type.startswith("TIMESTAMP")
    )


def typed_select(table: Table, raw_types: dict[str, str]) -> str:
    """SELECT list of the typed columns plus `__raw_<col>` for those whose typing can fail:
    the trimmed text (null if blank) of a text column, the column itself otherwise. Rules
    read it only as null or not, and show it as text (`raw_text`)."""
    items = []
    for col in table.columns:
        if col.name not in raw_types:
            continue
        items.append(f"{typed_expr(col, raw_types[col.name])} AS {q(col.name)}")
        if col.kind in ("date", "int", "float", "bool"):
            raw = q(col.name) if _is_native(raw_types[col.name]) else _text(q(col.name))
            items.append(f"{raw} AS {q('__raw_' + col.name)}")
    return ", ".join(items)


def raw_text(name: str) -> str:
    """The raw value of a column as `typed_select` gives it, as trimmed text."""
    return _text(q("__raw_" + name))


def stored_text(name: str) -> str:
    """A column of the file as stored, as trimmed text (null if blank)."""
    return _text(q(name))


def column_rules(table: Table, present: set[str], extract_date: date) -> list[Rule]:
    """The per-row rules of every present column of `table`."""
    rules: list[Rule] = []
    for col in table.columns:
        if col.name not in present:
            continue
        rules += _type_rules(col)
        rules += _value_rules(col)
        rules += _finite_rules(col)
        rules += _date_rules(col, extract_date)
    for start, end in table.periods:
        if {start, end} <= present:
            rules.append(Rule(end, f"{end} before {start}", f"{q(end)} < {q(start)}"))
    return rules


def _type_rules(col: Column) -> list[Rule]:
    """A value that does not have the column's type (dates, numbers, true/false), and a
    missing value where the column is not nullable."""
    rules: list[Rule] = []
    c = q(col.name)
    wrong = f"({q('__raw_' + col.name)} IS NOT NULL AND {c} IS NULL)"
    if col.kind in ("date", "int", "float", "bool"):
        rules.append(
            Rule(
                col.name,
                f"wrong type (expected {_type_word(col)})",
                wrong,
                value_expr=raw_text(col.name),
            )
        )
        missing = f"{q('__raw_' + col.name)} IS NULL"
    else:
        missing = f"{c} IS NULL"
    if not col.nullable:
        rules.append(Rule(col.name, "missing value", missing, show_value=False))
    return rules


def cpr_rule(column: str, where: str | None = None) -> Rule:
    """A person identifier shaped like a CPR number (any dash, spaces or none between the
    six and the four digits: `riskstrat.redact`), checked where the SQL `where` holds (all
    rows by default). Never shows the value."""
    match = f"regexp_full_match({q(column)}, '{CPR_SHAPED_SQL}')"
    return Rule(
        column, CPR_RULE, match if where is None else f"({where}) AND {match}", show_value=False
    )


def _value_rules(col: Column) -> list[Rule]:
    """A value outside the column's categories or range, or a malformed diagnosis or ATC
    code."""
    rules: list[Rule] = []
    c = q(col.name)
    if col.categories:
        allowed = ", ".join(f"'{v}'" for v in col.categories)
        rules.append(
            Rule(
                col.name,
                f"unknown category (allowed: {', '.join(col.categories)})",
                f"{c} IS NOT NULL AND {c} NOT IN ({allowed})",
            )
        )
    # a number is shown as stored (text keeps the leading zeros of, say, a CPR number)
    stored = raw_text(col.name)
    if col.min_value is not None:
        rules.append(
            Rule(
                col.name,
                f"below minimum {col.min_value:g}",
                f"{c} < {col.min_value}",
                value_expr=stored,
            )
        )
    if col.max_value is not None:
        rules.append(
            Rule(
                col.name,
                f"above maximum {col.max_value:g}",
                f"{c} > {col.max_value}",
                value_expr=stored,
            )
        )
    if col.kind == "icd10":
        rules.append(
            Rule(
                col.name,
                "malformed diagnosis code (SKS form DXnn...)",
                f"{c} IS NOT NULL AND NOT regexp_full_match({c}, '{SKS_CODE}')",
            )
        )
    if col.kind == "icd10_list":
        bad = (
            f"list_filter(string_split({c}, ';'), lambda x: NOT regexp_full_match(x, '{SKS_CODE}'))"
        )
        rules.append(
            Rule(
                col.name,
                "malformed diagnosis code (SKS form DXnn...)",
                f"{c} IS NOT NULL AND len({bad}) > 0",
            )
        )
    if col.kind == "atc":
        rules.append(
            Rule(
                col.name,
                "malformed ATC code",
                f"{c} IS NOT NULL AND NOT regexp_full_match({c}, '{ATC_CODE}')",
            )
        )
    return rules


def _finite_rules(col: Column) -> list[Rule]:
    """A number column holding NaN or infinity (text 'nan', 'inf' or a stored float): no
    register counts hours or doses that way, and every comparison with it is meaningless."""
    if col.kind != "float":
        return []
    c = q(col.name)
    return [
        Rule(
            col.name,
            "not a finite number (NaN or infinity)",
            f"{c} IS NOT NULL AND NOT isfinite({c})",
        )
    ]


def _date_rules(col: Column, extract_date: date) -> list[Rule]:
    """Dates against the extract date: events before it, end dates on or after it read as
    ongoing (a warning), attributes (birth, death, emigration) not after it: an extract
    cannot know a death that has not happened yet."""
    rules: list[Rule] = []
    c = q(col.name)
    ex = f"DATE '{extract_date.isoformat()}'"
    if col.date_role == "event":
        rules.append(
            Rule(col.name, f"date on or after the extract date {extract_date}", f"{c} >= {ex}")
        )
    if col.date_role == "end":
        rules.append(
            Rule(
                col.name,
                f"after the extract date {extract_date} (read as ongoing)",
                f"{c} >= {ex}",
                severity="warning",
            )
        )
    if col.date_role == "attribute":
        rules.append(Rule(col.name, f"after the extract date {extract_date}", f"{c} > {ex}"))
    return rules


def _type_word(col: Column) -> str:
    return {
        "date": "an ISO date",
        "int": "a whole number",
        "float": "a number",
        "bool": "true/false",
    }[col.kind]
