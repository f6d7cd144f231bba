"""`teams.yaml`: who gets a list, from which model, for which catchment, with what capacity.

Validated like any input: unknown keys, a malformed model reference, an unknown
municipality (not one of the 98 in the reference table), and, when the caller knows them,
an unknown model, segment, tier or GP clinic are errors. Every problem of every team is
reported at once, by team name. `check_teams_fit` checks a valid file against the month's
scorings and persons (models, segments and tiers of each team's own model, GP clinics);
every maker of lists (`list_files`: `riskstrat lists`, the monthly flow) runs it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from riskstrat.errors import InputError
from riskstrat.reference import municipalities
from riskstrat.spec import ModelSpec, read_yaml

TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MODEL_REF = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)(@[A-Za-z][A-Za-z0-9_-]*|/[1-9][0-9]*)$")


class TeamsError(InputError):
    """A teams file that cannot be used, with every problem listed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known(info: ValidationInfo, key: str) -> Collection[str] | None:
    return (info.context or {}).get(key)


def _unknown(
    values: list[str] | None, info: ValidationInfo, key: str
) -> tuple[list[str], list[str]]:
    """(the values not among those the caller knows under `key`, those known sorted); no
    values are unknown when the caller passed none (the teams file alone is checked)."""
    known = _known(info, key)
    if known is None:
        return [], []
    return [v for v in values or [] if v not in known], sorted(known)


class Catchment(_Strict):
    """Where a team works: municipality codes and/or GP clinics (both given: both must hold)."""

    municipalities: list[int] = []
    gp_clinics: list[str] = []

    @field_validator("gp_clinics", mode="before")
    @classmethod
    def _clinic_ids_as_text(cls, value: object) -> object:
        # a clinic id written without quotes in YAML (730001) is read as a number
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("municipalities")
    @classmethod
    def _known_municipalities(cls, codes: list[int]) -> list[int]:
        known = set(municipalities()["municipality_code"])
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(
                f"unknown municipality code(s) {unknown}: not among the 98 Danish municipalities"
            )
        return codes

    @field_validator("gp_clinics")
    @classmethod
    def _known_clinics(cls, clinics: list[str], info: ValidationInfo) -> list[str]:
        unknown, _ = _unknown(clinics, info, "clinics")
        if unknown:
            raise ValueError(f"GP clinic(s) {unknown} do not occur in the data")
        return clinics

    @model_validator(mode="after")
    def _something(self) -> Catchment:
        if not self.municipalities and not self.gp_clinics:
            raise ValueError("a catchment needs municipalities and/or gp_clinics")
        return self


class Eligibility(_Strict):
    """Who in the catchment may be listed: age range (completed years), segments, tiers."""

    min_age: int = Field(0, ge=0, le=130)
    max_age: int | None = Field(None, ge=0, le=130)
    exclude_segments: list[str] = []
    include_tiers: list[str] | None = None  # default: every tier

    @field_validator("exclude_segments")
    @classmethod
    def _known_segments(cls, segments: list[str], info: ValidationInfo) -> list[str]:
        unknown, known = _unknown(segments, info, "segments")
        if unknown:
            raise ValueError(f"unknown segment(s) {unknown}; the models have {known}")
        return segments

    @field_validator("include_tiers")
    @classmethod
    def _known_tiers(cls, tiers: list[str] | None, info: ValidationInfo) -> list[str] | None:
        unknown, known = _unknown(tiers, info, "tiers")
        if unknown:
            raise ValueError(f"unknown tier(s) {unknown}; the models have {known}")
        if tiers is not None and not tiers:
            raise ValueError(
                "include_tiers is empty: no one could be listed (leave it out for all)"
            )
        return tiers

    @model_validator(mode="after")
    def _age_range(self) -> Eligibility:
        if self.max_age is not None and self.max_age < self.min_age:
            raise ValueError(f"max_age {self.max_age} is below min_age {self.min_age}")
        return self


class FeedbackRules(_Strict):
    """What the team's answers do to its next lists (`riskstrat.lists.exclusions`), in
    months: not listed again for `cooldown_months` after being listed (unless in a higher
    tier), `already_known` / `enrolled` left out for `known_months`, `declined` treated
    like an opt-out for `declined_months`. 0 turns a rule off."""

    cooldown_months: int = Field(3, ge=0, le=120)
    known_months: int = Field(12, ge=0, le=120)
    declined_months: int = Field(12, ge=0, le=120)

    @property
    def history_months(self) -> int:
        """How many earlier months of lists and answers the rules (and a re-listed
        person's last status) look at."""
        return max(self.cooldown_months, self.known_months, self.declined_months, 12)


class Team(_Strict):
    """One team: `name` (folder-safe), `model` ('model_name@alias'), catchment, capacity
    (persons a month), eligibility, the language of its list ('da' or 'en') and the rules
    its feedback sets for its next lists (`feedback`, defaults in FeedbackRules)."""

    name: str
    model: str
    catchment: Catchment
    capacity: int = Field(ge=1, le=100_000)
    eligibility: Eligibility = Eligibility()
    language: Literal["da", "en"] = "da"
    feedback: FeedbackRules = FeedbackRules()

    @field_validator("name")
    @classmethod
    def _folder_safe(cls, name: str) -> str:
        if not TEAM_NAME.match(name):
            raise ValueError(
                f"{name!r} is not a folder-safe name: use lower-case letters, digits, '-' and '_' "
                "(at most 64, starting with a letter or digit)"
            )
        return name

    @field_validator("model")
    @classmethod
    def _model_ref(cls, model: str, info: ValidationInfo) -> str:
        match = MODEL_REF.match(model)
        if not match:
            raise ValueError(
                f"{model!r} is not a model reference: write model_name@alias, "
                "e.g. avoidable_admission@champion"
            )
        known = _known(info, "models")
        if known is not None and match["name"] not in known and model not in known:
            raise ValueError(f"unknown model {match['name']!r}; known: {sorted(known)}")
        return model

    @property
    def model_name(self) -> str:
        """The registered model's name (the part before '@')."""
        return re.split(r"[@/]", self.model)[0]


class Teams(_Strict):
    """Every team of a teams file, names unique."""

    teams: list[Team] = Field(min_length=1)
    # the `evaluation:` block as written; `riskstrat.evaluation.teams_evaluation` validates it
    # (the evaluation package builds on this one, so the block is read there)
    evaluation: dict | None = None

    @model_validator(mode="after")
    def _unique(self) -> Teams:
        names = [t.name for t in self.teams]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"team names must be unique: {', '.join(duplicated)}")
        return self

    def team(self, name: str) -> Team:
        """The team called `name` (KeyError if there is none)."""
        for team in self.teams:
            if team.name == name:
                return team
        raise KeyError(name)


def load_teams(
    path: str | Path,
    known_models: Collection[str] | None = None,
    known_segments: Collection[str] | None = None,
    known_clinics: Collection[str] | None = None,
    known_tiers: Collection[str] | None = None,
) -> Teams:
    """Read and validate a teams file into `Teams`.

    Municipalities are always checked against the reference table; models (names or full
    `name@alias` references), segments, tiers and GP clinics only when the caller passes
    what is known. Raises TeamsError (an InputError) listing every problem, by team.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise TeamsError(f"teams file {path} is a folder, not a file")
    raw = read_yaml(path, "teams file", TeamsError)
    context = {
        "models": known_models,
        "segments": known_segments,
        "clinics": known_clinics,
        "tiers": known_tiers,
    }
    teams, problems = _validate(raw, context)
    if teams is None:
        raise TeamsError(f"{path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return teams


def _validate(raw: object, context: dict) -> tuple[Teams | None, list[str]]:
    if not isinstance(raw, dict) or "teams" not in raw:
        return None, ["the file must hold a mapping with a 'teams:' list"]
    problems = [
        f"unknown top-level key {key!r} (only 'teams' and 'evaluation')"
        for key in raw
        if key not in ("teams", "evaluation")
    ]
    entries = raw["teams"]
    if not isinstance(entries, list) or not entries:
        return None, [*problems, "'teams' must be a non-empty list"]
    valid = []
    for i, entry in enumerate(entries, start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"team {name}" if isinstance(name, str) and name else f"team #{i}"
        try:
            valid.append(Team.model_validate(entry, context=context))
        except ValidationError as error:
            problems.extend(f"{where}: {_describe(e)}" for e in error.errors())
    names = [t.name for t in valid]
    problems.extend(
        f"team {n}: the name is used more than once"
        for n in sorted({n for n in names if names.count(n) > 1})
    )
    if problems:
        return None, problems
    block = raw.get("evaluation")
    if block is not None and not isinstance(block, dict):
        return None, ["evaluation: must be a mapping (design, holdout_share, seed, ...)"]
    return Teams(teams=valid, evaluation=block), []


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (a typo?)"
    elif error["type"] == "missing":
        message = "required but missing"
    return f"{where}: {message}" if where else message


def model_vocabulary(scores: pd.DataFrame, manifest: Mapping) -> tuple[set[str], set[str]]:
    """(segments, tiers) a scoring can give: those of its model's spec (from the scores
    manifest, when it carries the spec) and those that occur in its scores."""
    segments = set(scores["segment"].dropna().astype(str)) if "segment" in scores else set()
    tiers = set(scores["tier"].dropna().astype(str)) if "tier" in scores else set()
    if manifest.get("spec"):
        spec = ModelSpec.model_validate(manifest["spec"])
        segments |= {s.name for s in spec.segments.needs} | {"other"}
        tiers |= {t.name for t in spec.segments.tiers} | {spec.segments.lowest_tier}
    return segments, tiers


def check_teams_fit(
    teams: Teams,
    scorings: Mapping[str, tuple[pd.DataFrame, Mapping]],
    persons: pd.DataFrame,
) -> None:
    """TeamsError naming every team whose model has no scoring, whose excluded segments or
    included tiers its model does not have, or whose GP clinics do not occur among the
    persons. `scorings` maps a model name to (scores, scores manifest)."""
    problems = []
    clinics = set(persons["gp_clinic_id"].dropna().astype(str))
    for team in teams.teams:
        if team.model_name not in scorings:
            given = ", ".join(sorted(scorings)) or "none"
            problems.append(
                f"team {team.name}: no scoring of model {team.model_name} (given: {given})"
            )
            continue
        segments, tiers = model_vocabulary(*scorings[team.model_name])
        rules = team.eligibility
        bad = [s for s in rules.exclude_segments if s not in segments]
        if bad:
            problems.append(
                f"team {team.name}: eligibility.exclude_segments: unknown segment(s) {bad}; "
                f"{team.model_name} has {sorted(segments)}"
            )
        bad = [t for t in rules.include_tiers or [] if t not in tiers]
        if bad:
            problems.append(
                f"team {team.name}: eligibility.include_tiers: unknown tier(s) {bad}; "
                f"{team.model_name} has {sorted(tiers)}"
            )
        bad = [c for c in team.catchment.gp_clinics if c not in clinics]
        if bad:
            problems.append(
                f"team {team.name}: catchment.gp_clinics: GP clinic(s) {bad} do not occur "
                "in the data"
            )
    if problems:
        raise TeamsError(
            "the teams file does not fit the models and data:\n  - " + "\n  - ".join(problems)
        )
