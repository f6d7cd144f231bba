"""Model specs (`models/*.yaml`): what a data scientist edits, loaded into a validated object.

Unknown keys are rejected, so a typo fails loudly instead of being ignored. Index dates are
absolute (`2024-01-01`) or relative to the data's extract date (`extract - 12m`, `extract - 2y`);
`ModelSpec.resolve_dates(extract_date, history_start)` turns them into dates and checks the
out-of-time design of interfaces.md.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from riskstrat.dates import add_months
from riskstrat.disclosure import MIN_CELL
from riskstrat.errors import InputError

LABEL_COLUMNS = {
    "avoidable_admission": "y_avoidable_admission",
    "trilateral": "y_trilateral",
    "new_trilateral": "y_new_trilateral",
}
FEATURE_GROUPS = (
    "demographics",
    "hospital",
    "gp",
    "municipal",
    "conditions",
    "medication",
    "trajectory",
    "social",
)
AUDIT_ATTRIBUTES = (
    "municipality_code",
    "rurality",
    "education",
    "income_quintile",
    "origin",
    "sex",
    "age_band",
    "living_alone",
)
_RELATIVE = re.compile(r"^extract\s*(?:-\s*(\d+)\s*([my]))?$")


class SpecError(InputError):
    """A model spec that cannot be used, with every problem listed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Population(_Strict):
    min_age: int = Field(65, ge=0, le=120)
    max_age: int | None = Field(None, ge=0, le=130)
    exclude_nursing_home: bool = False


class IndexDates(_Strict):
    train: list[str] = Field(min_length=1)
    validation: str
    test: str

    @field_validator("train", "validation", "test")
    @classmethod
    def _well_formed(cls, value: Any) -> Any:
        for v in value if isinstance(value, list) else [value]:
            if not _RELATIVE.match(v.strip()) and not _is_iso(v):
                raise ValueError(
                    f"{v!r} is neither an ISO date nor 'extract - Nm' / 'extract - Ny'"
                )
        return value


class Features(_Strict):
    groups: list[Literal[FEATURE_GROUPS]] = list(FEATURE_GROUPS[:-1])  # type: ignore[valid-type]
    windows_months: list[int] = [3, 12, 36]
    # Social attributes are audited always; as model inputs only when a spec says so.
    social_inputs: bool = False


class Learner(_Strict):
    kind: Literal["lightgbm"] = "lightgbm"
    params: dict[str, Any] = {}
    early_stopping_rounds: int = Field(50, ge=1)


class Tier(_Strict):
    name: str
    top: float = Field(gt=0, lt=1)  # cumulative share of the population from the top


class NeedsSegment(_Strict):
    name: str
    when: str  # boolean expression over feature names, e.g. "n_chronic_conditions >= 2"

    @field_validator("when")
    @classmethod
    def _safe_expression(cls, value: str) -> str:
        check_expression(value)
        return value


class Segments(_Strict):
    tiers: list[Tier] = [
        Tier(name="very_high", top=0.01),
        Tier(name="high", top=0.05),
        Tier(name="elevated", top=0.20),
    ]
    lowest_tier: str = "low"
    needs: list[NeedsSegment]

    @model_validator(mode="after")
    def _ordered(self) -> Segments:
        tops = [t.top for t in self.tiers]
        if tops != sorted(tops) or len(set(tops)) != len(tops):
            raise ValueError("tiers must be listed from the top with increasing cumulative shares")
        return self


class Tolerances(_Strict):
    oe: tuple[float, float] = (0.8, 1.25)
    selection_to_need: tuple[float, float] = (0.8, 1.25)
    auroc_max_drop: float = 0.05
    alpha: float = 0.05
    min_cell: int = MIN_CELL  # the smallest count shown besides zero: riskstrat.disclosure


class Fairness(_Strict):
    attributes: list[Literal[AUDIT_ATTRIBUTES]] = list(AUDIT_ATTRIBUTES)  # type: ignore[valid-type]
    intersections: list[tuple[str, str]] = []
    tolerances: Tolerances = Tolerances()
    # Need, for selection audits before outcomes are known: a rule over features observed
    # before the index date (never the model's own risk).
    need: str = "acute_admissions_12m >= 1"

    @field_validator("need")
    @classmethod
    def _safe_need(cls, value: str) -> str:
        check_expression(value)
        return value


class Promotion(_Strict):
    # A challenger must not be worse than the champion by more than this on the same test data.
    max_auroc_loss: float = 0.0
    max_brier_increase: float = 0.0


class ModelSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    label: Literal["avoidable_admission", "trilateral", "new_trilateral"]
    code_list: str = "dk_avoidable_65plus_working_v1"
    horizon_months: int = Field(12, ge=1, le=60)
    population: Population = Population()
    index_dates: IndexDates
    features: Features = Features()
    learner: Learner = Learner()
    baselines: list[Literal["rule", "logistic"]] = ["rule", "logistic"]
    calibration: Literal["isotonic", "platt"] = "isotonic"
    segments: Segments
    fairness: Fairness = Fairness()
    promotion: Promotion = Promotion()
    capacity_for_metrics: int = Field(40, ge=1)  # a team's monthly capacity, for precision@capacity
    seed: int = 42

    @property
    def label_column(self) -> str:
        return LABEL_COLUMNS[self.label]

    def fingerprint(self) -> str:
        """A short hash of the spec's content (for tags and reproducibility)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def resolve_dates(self, extract_date: date, history_start: date | None = None) -> ResolvedDates:
        """Index dates as dates; SpecError unless the design is out-of-time and fits the data."""
        train = sorted(resolve_date(d, extract_date) for d in self.index_dates.train)
        validation = resolve_date(self.index_dates.validation, extract_date)
        test = resolve_date(self.index_dates.test, extract_date)
        h = self.horizon_months
        problems = []
        if add_months(train[-1], h) > validation:
            problems.append(
                f"the last training label window ends {add_months(train[-1], h)}, "
                f"after the validation index date {validation}"
            )
        if add_months(validation, h) > test:
            problems.append(
                f"the validation label window ends {add_months(validation, h)}, "
                f"after the test index date {test}"
            )
        if add_months(test, h) > extract_date:
            problems.append(
                f"the test label window ends {add_months(test, h)}, after the "
                f"extract date {extract_date}: its outcomes are not yet observed"
            )
        if history_start is not None and train[0] < history_start:
            problems.append(
                f"the first training index date {train[0]} is before the data's "
                f"history starts ({history_start})"
            )
        if problems:
            raise SpecError(
                f"spec {self.name}: index dates do not fit this extract "
                f"(extract date {extract_date}):\n  - " + "\n  - ".join(problems)
            )
        return ResolvedDates(train=train, validation=validation, test=test)


class ResolvedDates(BaseModel):
    train: list[date]
    validation: date
    test: date


def resolve_date(text: str, extract_date: date) -> date:
    """'2024-01-01' or 'extract - 12m' / 'extract - 2y' / 'extract' -> a date."""
    match = _RELATIVE.match(text.strip())
    if not match:
        return date.fromisoformat(text.strip())
    n, unit = match.groups()
    months = 0 if n is None else int(n) * (12 if unit == "y" else 1)
    return add_months(extract_date, -months)


def _is_iso(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
        return True
    except ValueError:
        return False


_ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.Compare,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
)


def check_expression(text: str) -> set[str]:
    """The feature names a segment rule uses; ValueError if it is more than comparisons."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"segment rule {text!r} is not a valid expression: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ValueError(
                f"segment rule {text!r} may only compare features with numbers "
                f"using and/or/not (found {type(node).__name__})"
            )
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {"True", "False"}


def load_spec(path: str | Path, overrides: list[str] | None = None) -> ModelSpec:
    """Read and validate a model spec; `overrides` are `key.sub=value` strings (from --set)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SpecError(f"model spec {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"model spec {path} is not valid YAML: {exc}") from None
    for item in overrides or []:
        _apply_override(raw, item)
    try:
        return ModelSpec.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SpecError(f"model spec {path} is not valid:\n  - " + "\n  - ".join(lines)) from None


def _apply_override(raw: dict, item: str) -> None:
    if "=" not in item:
        raise SpecError(f"--set expects key=value, got {item!r}")
    key, value = item.split("=", 1)
    target = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise SpecError(f"--set {key}: {part} is not a section")
    target[parts[-1]] = yaml.safe_load(value)
