"""Model specs (`models/*.yaml`): what a data scientist edits, loaded into a validated object.

Unknown keys are rejected, so a typo fails loudly instead of being ignored, and the message
names the closest valid keys. The learner's parameters are typed by the learner's kind
(`LEARNER_PARAMS`; for `kind: lightgbm`, `LightGBMParams`). Every default of a spec lives here
or in `models/*.yaml`. Index dates are absolute (`2024-01-01`) or relative to the data's
extract date (`extract - 12m`, `extract - 2y`); `ModelSpec.resolve_dates(extract_date,
history_start)` turns them into dates and checks the out-of-time design of interfaces.md.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import re
from collections.abc import Hashable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError, core_schema

from riskstrat.dates import add_months
from riskstrat.errors import InputError

# A spec's `label` and the features-table column it predicts (a features table carries all
# of them, and the window flags: `riskstrat.features.OUTCOME_COLUMNS`).
LABEL_COLUMN = {
    "avoidable_admission": "y_avoidable_admission",
    "trilateral": "y_trilateral",
    "new_trilateral": "y_new_trilateral",
}
LABEL_NAMES = tuple(LABEL_COLUMN)
# The avoidable-admission code list a spec uses unless it names another (docs/code-lists.md).
DEFAULT_CODE_LIST = "dk_avoidable_65plus_working_v1"
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
    """A section of a spec: unknown keys are errors that name the closest valid keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # How an unknown key is described: "<path> is not <_unknown_what>; did you mean ...?"
    _unknown_what: ClassVar[str] = "a key of this section"

    @classmethod
    @cache
    def accepted_names(cls) -> dict[str, str]:
        """Every key this section accepts (field names and their aliases) -> its field."""
        return {name: field for field in cls.model_fields for name in cls._names_of(field)}

    @classmethod
    def _names_of(cls, field: str) -> list[str]:
        """A field's names: its own first, then its aliases (the main one first)."""
        alias = cls.model_fields[field].validation_alias
        if isinstance(alias, AliasChoices):
            return [str(name) for name in alias.choices]
        if isinstance(alias, str) and alias:
            return [alias]
        return [field]  # no alias (no section uses an AliasPath)

    @classmethod
    def _unknown_key(cls, key: str, data: dict) -> str:
        """Why `key` is not accepted here, and what to write instead (for an error message)."""
        names = cls.accepted_names()
        if key in names:  # another name of a field that is set under a different name too
            others = [k for k in data if k != key and names.get(k) == names[key]]
            return f"names the same parameter as {' and '.join(others)}; give it once"
        return f"is not {cls._unknown_what}{cls._did_you_mean(key)}"

    @classmethod
    def _did_you_mean(cls, key: str) -> str:
        """'; did you mean a or b?' with the valid keys closest to `key`, one per field."""
        names = cls.accepted_names()
        close: dict[str, str] = {}
        for name in closest(key, list(names)):
            close.setdefault(names[name], cls._shown_name(name))
        return did_you_mean(list(close.values()))

    @classmethod
    def _shown_name(cls, name: str) -> str:
        """How a suggestion shows a key that matched: as its field's own name."""
        return cls.accepted_names()[name]

    @model_validator(mode="wrap")
    @classmethod
    def _name_unknown_keys(cls, data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            errors = exc.errors()
            if not any(e["type"] == "extra_forbidden" and len(e["loc"]) == 1 for e in errors):
                raise
            raise ValidationError.from_exception_data(
                exc.title, [_line_error(cls, e, data) for e in errors]
            ) from None


_PYDANTIC_ERRORS = set(get_args(core_schema.ErrorType))


def closest(key: str, names: list[str], cutoff: float = 0.7) -> list[str]:
    """The names most like `key`, best first: difflib's ratio at least `cutoff` and within 0.1
    of the best, or (for keys of four letters or more) a name that starts with `key`."""
    scored = sorted(
        ((difflib.SequenceMatcher(None, key, name).ratio(), name) for name in names),
        key=lambda pair: -pair[0],
    )
    best = scored[0][0] if scored else 0.0
    close = [name for score, name in scored if score >= max(cutoff, best - 0.1)]
    if not close and len(key) >= 4:
        close = [name for _, name in scored if name.startswith(key)]
    return close


def did_you_mean(names: list[str]) -> str:
    """'; did you mean a or b?' (empty without names)."""
    return f"; did you mean {' or '.join(names)}?" if names else ""


def _line_error(model: type[_Strict], error: ErrorDetails, data: Any) -> InitErrorDetails:
    """One error of a failed validation, for `ValidationError.from_exception_data`; an unknown
    key of `model` itself becomes an `unknown_key` error that says what to write instead."""
    loc, msg = error["loc"], error["msg"]
    if error["type"] == "extra_forbidden" and len(loc) == 1:
        text = model._unknown_key(str(loc[0]), data if isinstance(data, dict) else {})
        return {"type": _message("unknown_key", text), "loc": loc, "input": error["input"]}
    if error["type"] in _PYDANTIC_ERRORS:
        same: InitErrorDetails = {"type": error["type"], "loc": loc, "input": error["input"]}
        if "ctx" in error:
            same["ctx"] = error["ctx"]
        return same
    return {"type": _message(error["type"], msg), "loc": loc, "input": error["input"]}


def _message(kind: str, text: str) -> PydanticCustomError:
    return PydanticCustomError(kind, "{text}", {"text": text})


class Population(_Strict):
    """`population` of a spec: who is scored and trained on at an index date, besides being
    alive and resident then: aged `min_age` to `max_age` (none: no upper limit), and with
    `exclude_nursing_home` not living in a nursing home."""

    min_age: int = Field(65, ge=0, le=120)
    max_age: int | None = Field(None, ge=0, le=130)
    exclude_nursing_home: bool = False

    @model_validator(mode="after")
    def _ages_ordered(self) -> Population:
        if self.max_age is not None and self.max_age < self.min_age:
            raise ValueError(f"max_age {self.max_age} is below min_age {self.min_age}")
        return self


class IndexDates(_Strict):
    """`index_dates` of a spec, as written: the training dates (one or more), the validation
    date and the test date, each an ISO date or relative to the extract date (`extract - 12m`);
    `ModelSpec.resolve_dates` turns them into dates for one extract."""

    train: list[str] = Field(min_length=1)
    validation: str
    test: str

    @field_validator("train", "validation", "test", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted 2024-01-01 as a date: the same date as the text "2024-01-01".
        if isinstance(value, list):
            return [v.isoformat() if isinstance(v, date) else v for v in value]
        return value.isoformat() if isinstance(value, date) else value

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
    """`features` of a spec: the feature groups that are model inputs, the look-back windows
    (months) of the counting features, and whether the social attributes are inputs too
    (they are audited either way)."""

    groups: list[Literal[FEATURE_GROUPS]] = list(FEATURE_GROUPS[:-1])  # type: ignore[valid-type]
    windows_months: list[Annotated[int, Field(ge=1)]] = [3, 12, 36]
    # Social attributes are audited always; as model inputs only when a spec says so.
    social_inputs: bool = False


def _names(*names: str) -> AliasChoices:
    """The names a spec may give one LightGBM parameter: the field's own name (the one LightGBM
    is given) first, then LightGBM's main name and its aliases (`lightgbm.basic._ConfigAliases`)."""
    return AliasChoices(*names)


# Parameters LightGBM has that a spec may not set, and why (the rest: not supported).
_LIGHTGBM_MANAGED = {
    "objective": "the learner fixes it (binary)",
    "metric": "the learner fixes it (binary_logloss)",
    "early_stopping_round": "set learner.early_stopping_rounds instead",
}


class LightGBMParams(_Strict):
    """`learner.params` of `kind: lightgbm`: the LightGBM parameters a spec may set, typed.

    Each field is one LightGBM parameter under the name LightGBM is given (sklearn-style where
    the specs use it: `subsample` for `bagging_fraction`, `n_jobs` becomes `num_threads`).
    A spec may also use LightGBM's main name or any alias, one name per parameter. None leaves
    LightGBM's default; the defaults set here make a fit deterministic and quiet, and `seed`
    None means the spec's `seed`. `n_estimators` is the number of boosting rounds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    _unknown_what: ClassVar[str] = "a LightGBM parameter"

    n_estimators: int = Field(
        100,
        ge=1,
        validation_alias=_names(
            "n_estimators",
            "num_iterations",
            "num_iteration",
            "n_iter",
            "num_tree",
            "num_trees",
            "num_round",
            "num_rounds",
            "nrounds",
            "num_boost_round",
            "max_iter",
        ),
    )
    learning_rate: float | None = Field(
        None, gt=0, le=1, validation_alias=_names("learning_rate", "shrinkage_rate", "eta")
    )
    num_leaves: int | None = Field(
        None,
        ge=2,
        le=131072,
        validation_alias=_names(
            "num_leaves", "num_leaf", "max_leaves", "max_leaf", "max_leaf_nodes"
        ),
    )
    max_depth: int | None = Field(None, ge=-1)  # <= 0: no limit
    min_child_samples: int | None = Field(
        None,
        ge=0,
        validation_alias=_names(
            "min_child_samples",
            "min_data_in_leaf",
            "min_data_per_leaf",
            "min_data",
            "min_samples_leaf",
        ),
    )
    min_child_weight: float | None = Field(
        None,
        ge=0,
        validation_alias=_names(
            "min_child_weight",
            "min_sum_hessian_in_leaf",
            "min_sum_hessian_per_leaf",
            "min_sum_hessian",
            "min_hessian",
        ),
    )
    subsample: float | None = Field(
        None,
        gt=0,
        le=1,
        validation_alias=_names("subsample", "bagging_fraction", "sub_row", "bagging"),
    )
    subsample_freq: int | None = Field(
        None, ge=0, validation_alias=_names("subsample_freq", "bagging_freq")
    )
    colsample_bytree: float | None = Field(
        None,
        gt=0,
        le=1,
        validation_alias=_names("colsample_bytree", "feature_fraction", "sub_feature"),
    )
    colsample_bynode: float | None = Field(
        None,
        gt=0,
        le=1,
        validation_alias=_names(
            "colsample_bynode", "feature_fraction_bynode", "sub_feature_bynode"
        ),
    )
    reg_alpha: float | None = Field(
        None, ge=0, validation_alias=_names("reg_alpha", "lambda_l1", "l1_regularization")
    )
    reg_lambda: float | None = Field(
        None,
        ge=0,
        validation_alias=_names("reg_lambda", "lambda_l2", "lambda", "l2_regularization"),
    )
    min_split_gain: float | None = Field(
        None, ge=0, validation_alias=_names("min_split_gain", "min_gain_to_split")
    )
    max_delta_step: float | None = Field(
        None, validation_alias=_names("max_delta_step", "max_tree_output", "max_leaf_output")
    )  # <= 0: no limit
    extra_trees: bool | None = Field(None, validation_alias=_names("extra_trees", "extra_tree"))
    path_smooth: float | None = Field(None, ge=0)
    max_bin: int | None = Field(None, ge=2, validation_alias=_names("max_bin", "max_bins"))
    min_data_in_bin: int | None = Field(None, ge=1)
    scale_pos_weight: float | None = Field(None, gt=0)
    is_unbalance: bool | None = Field(
        None, validation_alias=_names("is_unbalance", "unbalance", "unbalanced_sets")
    )
    cat_smooth: float | None = Field(None, ge=0)
    cat_l2: float | None = Field(None, ge=0)
    max_cat_to_onehot: int | None = Field(None, ge=1)
    max_cat_threshold: int | None = Field(None, ge=1)
    min_data_per_group: int | None = Field(None, ge=1)
    # Reproducibility: the same data and seed give the same model.
    num_threads: int = Field(
        2,
        ge=-1,  # <= 0: OpenMP's default
        validation_alias=_names("num_threads", "num_thread", "nthread", "nthreads", "n_jobs"),
    )
    seed: int | None = Field(None, validation_alias=_names("seed", "random_seed", "random_state"))
    deterministic: bool = True
    force_col_wise: bool = True
    verbosity: int = Field(-1, validation_alias=_names("verbosity", "verbose"))

    @field_validator("*", mode="before")
    @classmethod
    def _exponent_floats(cls, value: Any, info: ValidationInfo) -> Any:
        # YAML reads 1e-2 (no dot) as text; LightGBM reads it as a number, and so does this.
        annotation = cls.model_fields[str(info.field_name)].annotation
        if isinstance(value, str) and float in (get_args(annotation) or (annotation,)):
            try:
                float(value)
            except ValueError:
                return value
            return float(value)
        return value

    @model_validator(mode="after")
    def _no_nulls(self) -> LightGBMParams:
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(
                f"{', '.join(nulls)}: null is not a value (leave a parameter out for its default)"
            )
        return self

    @classmethod
    def _shown_name(cls, name: str) -> str:
        # LightGBM's main name as written (bagging_fraction), an alias as the field (subsample).
        return name if name in _lightgbm_aliases() else super()._shown_name(name)

    @classmethod
    def _unknown_key(cls, key: str, data: dict) -> str:
        if key in cls.accepted_names():
            return super()._unknown_key(key, data)
        main = next((m for m, names in _lightgbm_aliases().items() if key in names), None)
        if main is None:
            return super()._unknown_key(key, data)
        why = _LIGHTGBM_MANAGED.get(main, "riskstrat does not support it")
        alias = "" if main == key else f" (an alias of {main})"
        return f"is a LightGBM parameter{alias} that a spec may not set: {why}"


@cache
def _lightgbm_aliases() -> dict[str, list[str]]:
    """LightGBM's parameters, each with all its names; empty if this LightGBM cannot say."""
    try:
        from lightgbm.basic import _ConfigAliases

        return _ConfigAliases._get_all_param_aliases()
    except Exception:  # a private API, used only for friendlier messages
        return {}


# Each learner kind and the model of its `params`.
LEARNER_PARAMS: dict[str, type[_Strict]] = {"lightgbm": LightGBMParams}


class Learner(_Strict):
    """`learner` of a spec: the kind of learner (LightGBM), its parameters as written, and
    how many boosting rounds without improvement on the validation data stop the fit."""

    kind: Literal[tuple(LEARNER_PARAMS)] = "lightgbm"  # type: ignore[valid-type]
    # As the spec gives them (so fingerprints and logged parameters show what was written),
    # checked against LEARNER_PARAMS[kind]; `typed_params()` has them typed, defaults filled.
    params: dict[str, Any] = {}
    early_stopping_rounds: int = Field(50, ge=1)

    @field_validator("params")
    @classmethod
    def _params_of_kind(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("kind")
        if kind in LEARNER_PARAMS:
            LEARNER_PARAMS[kind].model_validate(value)
        return value

    def typed_params(self) -> BaseModel:
        """`params` as the learner kind's parameter model (defaults filled in)."""
        return LEARNER_PARAMS[self.kind].model_validate(self.params)


class Tier(_Strict):
    """One risk tier: its name and the cumulative share of the population from the top that
    it reaches (0.05: the highest 5 % of risks, tiers above included)."""

    name: str
    top: float = Field(gt=0, lt=1)  # cumulative share of the population from the top


class NeedsSegment(_Strict):
    """One needs-based segment: its name and the rule over feature columns that puts a person
    in it (`n_chronic_conditions >= 2`); the first matching segment of a spec wins."""

    name: str
    when: str  # boolean expression over feature names, e.g. "n_chronic_conditions >= 2"

    @field_validator("when")
    @classmethod
    def _safe_expression(cls, value: str) -> str:
        check_expression(value)
        return value


class Segments(_Strict):
    """`segments` of a spec: the risk tiers from the top (cut-points are set at training), the
    name of the tier below them, and the needs-based segments in order of precedence."""

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

    @model_validator(mode="after")
    def _names_unique(self) -> Segments:
        tiers = [t.name for t in self.tiers] + [self.lowest_tier]
        for what, names in (("tier", tiers), ("needs segment", [n.name for n in self.needs])):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{what} names must be unique: {', '.join(twice)} repeated")
        return self


class Tolerances(_Strict):
    """`fairness.tolerances` of a spec: the bands a group's observed/expected ratio and
    selection-to-need ratio must not lie wholly outside, how far its AUROC may fall short of the
    AUROC expected for its case mix, the family-wise significance level of the flags, and the
    smallest count shown besides zero in any aggregate."""

    oe: tuple[float, float] = (0.8, 1.25)
    selection_to_need: tuple[float, float] = (0.8, 1.25)
    # equal opportunity at capacity: the share of a group's events a list of the team's size
    # captures, over the share the model's own risks expect for the group's case mix
    equal_opportunity: tuple[float, float] = (0.8, 1.25)
    # the tolerated shortfall of a group's AUROC below the AUROC expected for its case mix
    # (model-based concordance, riskstrat.fairness.audit); it once meant the drop below the
    # overall AUROC, which flagged sound models in groups defined by a predictor (age bands)
    auroc_max_drop: float = Field(0.05, ge=0)
    alpha: float = Field(0.05, gt=0, lt=1)
    # the smallest count shown besides zero, in every aggregate (riskstrat.disclosure)
    min_cell: int = Field(5, ge=1)

    @field_validator("oe", "selection_to_need", "equal_opportunity")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 < low <= 1 <= high:
            raise ValueError(f"a band is [low, high] with 0 < low <= 1 <= high, not {list(value)}")
        return value


class Fairness(_Strict):
    """`fairness` of a spec: the attributes (and pairs of them) the audits report groups of,
    their tolerances, and the rule for need that selection audits compare the selected with."""

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

    @model_validator(mode="after")
    def _intersections_of_attributes(self) -> Fairness:
        for a, b in self.intersections:
            unknown = [x for x in (a, b) if x not in self.attributes]
            if unknown:
                raise ValueError(
                    f"intersection [{a}, {b}]: {', '.join(unknown)} is not among the audited "
                    f"attributes{did_you_mean(closest(unknown[0], self.attributes))}"
                )
            if a == b:
                raise ValueError(f"intersection [{a}, {b}] needs two different attributes")
        return self


class Promotion(_Strict):
    """`promotion` of a spec: how much worse than the champion, on the same test data, a
    challenger may be and still be promoted (test AUROC lost, test Brier score gained)."""

    # A challenger must not be worse than the champion by more than this on the same test data.
    max_auroc_loss: float = 0.0
    max_brier_increase: float = 0.0


class ModelSpec(_Strict):
    """A model spec (`models/*.yaml`), validated: what to predict (label, horizon, code list)
    for whom (population), trained and tested at which index dates, on which features with
    which learner, how risks become tiers and segments, and how the model is audited and
    promoted. Every default lives here."""

    _unknown_what: ClassVar[str] = "a model spec key"

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    label: Literal[LABEL_NAMES]  # type: ignore[valid-type]
    code_list: str = DEFAULT_CODE_LIST
    horizon_months: int = Field(12, ge=1, le=60)
    population: Population = Population()
    index_dates: IndexDates
    features: Features = Features()
    learner: Learner = Learner()
    baselines: list[Literal["rule", "logistic"]] = ["rule", "logistic"]
    calibration: Literal["isotonic", "platt", "shrunk_isotonic"] = "shrunk_isotonic"
    segments: Segments
    fairness: Fairness = Fairness()
    promotion: Promotion = Promotion()
    capacity_for_metrics: int = Field(40, ge=1)  # a team's monthly capacity, for precision@capacity
    # after evaluation, refit the registered model on the most recent fully observed dates
    # (same parameters and rounds), calibrated on the test date it did not see
    refit: bool = True
    # rows exposed to outreach in their label window: riskstrat.training.outreach (safe default)
    outreach: Literal["reweight_holdout", "exclude_exposed", "ignore"] = "reweight_holdout"
    seed: int = 42

    @property
    def label_column(self) -> str:
        return LABEL_COLUMN[self.label]

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
        gap = (test.year - validation.year) * 12 + test.month - validation.month
        refit = [add_months(d, gap) for d in train] if self.refit else []
        every = sorted({*train, validation, test, *refit})
        return ResolvedDates(
            train=train,
            validation=validation,
            test=test,
            short_history=self._short_history(every, history_start),
            refit_train=refit,
        )

    def _short_history(self, dates: list[date], history_start: date | None) -> list[date]:
        """The index dates whose longest lookback window starts before the data's history:
        their features count less past than the same person's would later (a warning, said
        in the model card; the date itself is allowed)."""
        if history_start is None:
            return []
        longest = max(self.features.windows_months)
        return [d for d in dates if add_months(d, -longest) < history_start]


class ResolvedDates(BaseModel):
    """A spec's index dates as dates for one extract (`ModelSpec.resolve_dates`): training
    dates in order, then the validation and the test date, and those of them whose lookback
    windows reach before the data's history (`short_history`)."""

    train: list[date]
    validation: date
    test: date
    short_history: list[date] = []
    # the registered model's training dates: the training dates moved forward by the gap
    # from validation to test, so its last label window ends on the test date, where it is
    # calibrated (empty when the spec says `refit: false`)
    refit_train: list[date] = []

    def history_warning(self, spec: ModelSpec, history_start: date | None) -> str | None:
        """The model card's sentence about index dates with too short a history, or None."""
        if not self.short_history:
            return None
        when = ", ".join(d.isoformat() for d in self.short_history)
        return (
            f"Warning: {len(self.short_history)} index date(s) ({when}) have lookback windows of "
            f"{max(spec.features.windows_months)} months that start before the data's history "
            f"({history_start}): their features undercount the past."
        )


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (the
    safe loader silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path, what: str, error: type[InputError] = InputError) -> Any:
    """The YAML document in the file at `path` (`what` names it in messages: "model spec",
    "teams file"); `error` naming the problem when it is missing, unreadable, not UTF-8
    (the encoding the file must have), not valid YAML, or gives a key twice in a mapping."""
    path = Path(path)
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} {path} is not UTF-8 text (byte 0x{payload[exc.start]:02x} at position "
            f"{exc.start}); it must be saved as UTF-8 (it may be in Windows-1252/cp1252 or "
            "Latin-1: re-save it as UTF-8)"
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise error(f"{what} {path} is not valid YAML: {exc}") from None


def load_spec(path: str | Path, overrides: list[str] | None = None) -> ModelSpec:
    """Read and validate a model spec; `overrides` are `key.sub=value` strings (from --set)."""
    path = Path(path)
    raw = read_yaml(path, "model spec", SpecError)
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise SpecError(f"model spec {path} is not a mapping of keys to values")
    for item in overrides or []:
        _apply_override(raw, item)
    try:
        return ModelSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(
            f"model spec {path} is not valid:\n  - " + "\n  - ".join(describe_errors(exc))
        ) from None


def describe_errors(exc: ValidationError, prefix: str = "") -> list[str]:
    """One line per problem: `learner.params.num_leafs is not a LightGBM parameter; did you
    mean num_leaves?`, `horizon_months: Input should be less than or equal to 60`."""
    lines = []
    for error in exc.errors():
        path = ".".join([prefix, *map(str, error["loc"])] if prefix else map(str, error["loc"]))
        sep = " " if error["type"] == "unknown_key" else ": "
        lines.append(f"{path or '(the spec)'}{sep}{error['msg']}")
    return lines


def _apply_override(raw: dict, item: str) -> None:
    """`a.b.c=value` (value read as YAML): sets raw[a][b][c], creating sections on the way."""
    if "=" not in item:
        raise SpecError(f"--set expects key=value, got {item!r}")
    key, value = item.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise SpecError(f"--set {item!r}: the key must be dotted names, like learner.params.seed")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise SpecError(f"--set {key}: the value is not valid YAML: {exc}") from None
    target = raw
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise SpecError(f"--set {key}: {part} is not a section")
    target[parts[-1]] = parsed
