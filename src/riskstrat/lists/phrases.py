"""Reason codes (`acute_admissions_12m=3`) as short phrases in a team's language.

The phrase table is `riskstrat/data/phrases.yaml`; its header explains the entries. A code
whose feature has no entry is shown as it is (`name=value`), so a new model input never
breaks a list, and a test keeps the table complete for the features the models build.
"""

from __future__ import annotations

import re
from functools import cache

import yaml

from riskstrat.reference import data_path

LANGUAGES = ("da", "en")
_WINDOWED = re.compile(r"^(?P<base>[a-z_]+)_(?P<months>\d+)m$")
_MISSING = {"missing", "nan", "None", "<NA>", ""}


@cache
def phrase_table() -> dict:
    """The parsed phrase table (see the header of data/phrases.yaml)."""
    return yaml.safe_load(data_path("phrases.yaml").read_text(encoding="utf-8"))


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value else None


def _shown_number(value: float, language: str, signed: bool) -> str:
    text = str(int(value)) if value == int(value) else f"{value:.1f}"
    if language == "da":
        text = text.replace(".", ",")
    return f"+{text}" if signed and value > 0 else text


def _lookup(name: str, language: str) -> tuple[dict | None, str | None]:
    """(entry, window text) of a feature name; (None, None) if the table has no entry."""
    table = phrase_table()
    if name in table["features"]:
        return table["features"][name], None
    match = _WINDOWED.match(name)
    if match and match["base"] in table["windowed"]:
        months = int(match["months"])
        windows = table["windows"]
        window = windows[language].get(months) or windows["other"][language].format(months=months)
        return table["windowed"][match["base"]], window
    return None, None


def phrase(code: str | None, language: str) -> str | None:
    """One reason code as a phrase in `language` ('da' or 'en'); None for a missing reason.

    Numbers keep the person's value ("3 akutte indlæggelser seneste år"); a 0/1 flag is
    named alone when 1 and by its opposite when 0 ("bor alene", "bor ikke alene"); a code
    without an entry in the table comes back unchanged (`name=value`).
    """
    if code is None or not isinstance(code, str) or code == "":
        return None
    name, sep, raw = code.partition("=")
    entry, window = _lookup(name, language)
    if entry is None or not sep:
        return code
    if raw in _MISSING:
        if "missing" in entry:
            return entry["missing"][language]
        if entry.get("flag"):
            return f"{entry[language]}: {phrase_table()['unknown'][language]}"
        return entry[language].format(value="?", window=window)
    value = _number(raw)
    if entry.get("flag"):
        if value == 1:
            return entry[language]
        if value == 0 and "zero" in entry:
            return entry["zero"][language]
        return code
    if "values" in entry:
        shown = entry["values"][language].get(raw, raw)
    elif value is not None:
        if value == 1 and "one" in entry:
            return entry["one"][language].format(window=window)
        shown = _shown_number(value, language, bool(entry.get("signed")))
    else:
        shown = raw
    return entry[language].format(value=shown, window=window)


def reasons_text(codes: list[str | None], language: str) -> str:
    """A person's reason codes as phrases joined with '; ' (missing reasons left out)."""
    return "; ".join(p for p in (phrase(c, language) for c in codes) if p)


def label(kind: str, code: object, language: str) -> object:
    """A column value ('tiers', 'segments' or 'sex') in `language`; unknown codes unchanged."""
    if code is None or not isinstance(code, str):
        return code
    return phrase_table().get(kind, {}).get(language, {}).get(code, code)
