"""Reason codes (`acute_admissions_12m=3`) as short phrases in a team's language."""

from __future__ import annotations

import re
from functools import cache

import yaml

from riskstrat.reference import data_path

_WINDOWED = re.compile(r"^(?P<base>[a-z_]+)_(?P<months>\d+)m$")


@cache
def phrase_table() -> dict:
    return yaml.safe_load(data_path("phrases.yaml").read_text(encoding="utf-8"))


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value == int(value) else round(value, 1)


def phrase(code: str | None, language: str) -> str | None:
    """One reason code as a phrase; None for a missing reason or a flag that is not set."""
    if code is None or code == "" or code != code:  # missing (None or NaN)
        return None
    name, _, raw = str(code).partition("=")
    table = phrase_table()
    value = _number(raw)
    entry = table["features"].get(name)
    window = None
    if entry is None:
        match = _WINDOWED.match(name)
        if match and match["base"] in table["windowed"]:
            entry = table["windowed"][match["base"]]
            window = table["windows"][language].get(int(match["months"]), f"{match['months']} mdr.")
    if entry is None:
        return f"{name}={raw}"
    if entry.get("flag"):
        return entry[language] if value == 1 else None
    shown = entry.get("values", {}).get(language, {}).get(raw, value)
    try:
        return entry[language].format(value=shown, window=window)
    except (ValueError, KeyError):
        return entry[language].replace("{value:+}", str(shown)).format(value=shown, window=window)


def reasons_text(codes: list, language: str) -> str:
    """The phrases of a person's reason codes, joined with '; '."""
    return "; ".join(p for p in (phrase(c, language) for c in codes) if p)
