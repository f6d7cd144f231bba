"""What a message may show of a value from the data: the one masking rule.

Every message riskstrat writes (errors, validation findings, log lines, what Prefect and
MLflow store) names the table, column, rule, count and row numbers of a problem. Of the
values themselves:

1. **A person identifier is never shown**, not even in part (`PERSON_IDENTIFIERS`: the
   contract's `person_id`). Clinic ids (`gp_clinic_id`, `clinic_id`) and hospital codes
   name organisations, not persons: they may be shown (a teams file naming a clinic that is
   not in the data says which), masked like any other text.
2. **Nothing shaped like a CPR number is shown, in any column or text** (`mask_cpr`): six
   digits, an optional separator (any dash: hyphen, en or em dash, minus sign, ...; or
   spaces), four digits, not inside a longer run of digits. Each such run becomes
   `CPR_MASK`. `InputError` applies this to every message it carries.
3. **A value that may be a misplaced identifier shows only its shape** (`shape`: digits as
   9, letters as A or a): one that equals a person id of the extract (a row whose values
   slid into the wrong column), or one of a rule that more than half of a file's rows break
   (`misplaced`: a swapped or shifted header puts a whole column of ids under another name).
4. Text from libraries that quote rows (pyarrow's CSV errors print the offending row) is
   rewritten, never passed on (`riskstrat.contract.source`).

Shown values are cut to `MAX_SHOWN` characters. The contract's rule against CPR-shaped
person ids (`CPR_SHAPED_SQL`) uses the same definition of the shape.
"""

from __future__ import annotations

import re

PERSON_IDENTIFIERS = frozenset({"person_id"})

# separators between the six and the four digits: dashes (hyphen-minus, soft hyphen,
# hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar, minus sign,
# small em dash, small and fullwidth hyphen-minus) with or without spaces around them
_DASHES = "-\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SPACES = " \u00a0\u2007\u2009\u202f"
_SEPARATOR = f"[{_SPACES}]{{0,2}}[{_DASHES}]?[{_SPACES}]{{0,2}}"
# a whole (trimmed) value shaped like a CPR number, for DuckDB's regexp_full_match
CPR_SHAPED_SQL = f"^[0-9]{{6}}{_SEPARATOR}[0-9]{{4}}$"
_CPR_RUN = re.compile(f"(?<![0-9])[0-9]{{6}}{_SEPARATOR}[0-9]{{4}}(?![0-9])")

CPR_MASK = "<CPR-shaped>"
MAX_SHOWN = 40


def is_person_identifier(column: str | None) -> bool:
    """True for a column whose values are never shown: a person identifier."""
    return column in PERSON_IDENTIFIERS


def is_cpr_shaped(value: object) -> bool:
    """True when the whole value (trimmed) is shaped like a CPR number."""
    return re.fullmatch(_CPR_RUN.pattern, str(value).strip()) is not None


def mask_cpr(text: str) -> str:
    """`text` with every run shaped like a CPR number replaced by `CPR_MASK`."""
    return _CPR_RUN.sub(CPR_MASK, text)


def shape(value: object) -> str:
    """The shape of a value: digits as 9, upper-case letters as A, other letters as a, the
    rest as it is (`P000123` -> `A999999`), cut to `MAX_SHOWN` characters."""
    text = "".join(
        "9" if c.isdigit() else ("A" if c.isupper() else "a") if c.isalpha() else c
        for c in str(value)
    )
    return _cut(text)


def shown_text(value: object) -> str:
    """A value as a message may show it: CPR-shaped runs masked, cut to `MAX_SHOWN`."""
    return _cut(mask_cpr(str(value)))


def example_value(value: object, *, as_shape: bool = False) -> str:
    """An example value of a (non-identifier) column in a finding: quoted like Python shows
    it (`'05/01/1950'`, `999`), masked and cut; with `as_shape`, only its shape
    (`shaped 'A999999'`)."""
    if as_shape:
        return f"shaped {shape(value)!r}"
    if isinstance(value, str):
        return repr(shown_text(value))
    return shown_text(repr(value))


def misplaced(failing: int, rows: int) -> bool:
    """True when a rule is broken by more than half of a file's rows: its values may be
    another column's (a swapped header), so only their shape is shown."""
    return failing * 2 > rows


def _cut(text: str) -> str:
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}… ({len(text):,} characters)"
