"""`teams.yaml`: who gets a list, from which model, for which catchment, with what capacity."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from riskstrat.errors import InputError
from riskstrat.reference import municipalities


class TeamsError(InputError):
    """A teams file that cannot be used, with every problem listed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Catchment(_Strict):
    municipalities: list[int] = []
    gp_clinics: list[str] = []

    @model_validator(mode="after")
    def _something(self) -> Catchment:
        if not self.municipalities and not self.gp_clinics:
            raise ValueError("a catchment needs municipalities and/or gp_clinics")
        return self


class Eligibility(_Strict):
    min_age: int = Field(0, ge=0, le=130)
    max_age: int | None = Field(None, ge=0, le=130)
    exclude_segments: list[str] = []
    include_tiers: list[str] | None = None  # default: every tier


class Team(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    model: str = Field(pattern=r"^[a-z][a-z0-9_]*(@[A-Za-z0-9_-]+|/\d+)$")
    catchment: Catchment
    capacity: int = Field(ge=1, le=100_000)
    eligibility: Eligibility = Eligibility()
    language: Literal["da", "en"] = "da"

    @property
    def model_name(self) -> str:
        return re.split(r"[@/]", self.model)[0]


class Teams(_Strict):
    teams: list[Team] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Teams:
        names = [t.name for t in self.teams]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"team names must be unique: {', '.join(duplicated)}")
        return self


def load_teams(path: str | Path, known_models: set[str] | None = None,
               known_segments: set[str] | None = None, known_clinics: set[str] | None = None) -> Teams:  # fmt: skip
    """Read and validate a teams file; TeamsError lists every problem, by team."""
    path = Path(path)
    if not path.exists():
        raise TeamsError(f"teams file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        teams = Teams.model_validate(raw)
    except yaml.YAMLError as error:
        raise TeamsError(f"{path} is not valid YAML: {error}") from None
    except ValidationError as error:
        lines = []
        for e in error.errors():
            where = _where(raw, e["loc"])
            lines.append(f"{where}: {e['msg']}")
        raise TeamsError(f"{path} has {len(lines)} problem(s):\n  - " + "\n  - ".join(lines)) from None
    problems = []
    codes = set(municipalities()["municipality_code"])
    for team in teams.teams:
        unknown = [m for m in team.catchment.municipalities if m not in codes]
        if unknown:
            problems.append(f"team {team.name}: unknown municipality code(s) {unknown}")
        if known_models is not None and team.model_name not in known_models:
            problems.append(f"team {team.name}: model {team.model_name!r} is not one of {sorted(known_models)}")
        if known_segments is not None:
            bad = [s for s in team.eligibility.exclude_segments if s not in known_segments]
            if bad:
                problems.append(f"team {team.name}: unknown segment(s) {bad}; known: {sorted(known_segments)}")
        if known_clinics is not None:
            bad = [c for c in team.catchment.gp_clinics if c not in known_clinics]
            if bad:
                problems.append(f"team {team.name}: GP clinic(s) {bad} not in the data")
    if problems:
        raise TeamsError(f"{path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return teams


def _where(raw, loc) -> str:
    parts = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            node = node[key]
            name = node.get("name") if isinstance(node, dict) else None
            parts.append(f"team {name}" if name else f"[{key}]")
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return " ".join(p for p in parts if p != "teams") or "teams"
