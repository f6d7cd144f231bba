"""Model specs: the shipped ones load, and every kind of mistake is a SpecError that says what
is wrong (and, for a misspelt key, what was probably meant)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from riskstrat.dates import add_months
from riskstrat.spec import (
    LEARNER_PARAMS,
    LightGBMParams,
    ModelSpec,
    SpecError,
    load_spec,
)
from riskstrat.training.learner import lightgbm_params

MODELS = Path(__file__).resolve().parents[1] / "models"
SHIPPED = sorted(MODELS.glob("*.yaml"))
AVOIDABLE = MODELS / "avoidable_admission.yaml"


def _raw() -> dict:
    return yaml.safe_load(AVOIDABLE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: dict | str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw), encoding="utf-8")
    return path


def _problems(tmp_path: Path, raw: dict | str, overrides: list[str] | None = None) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(_write(tmp_path, raw), overrides)
    return str(caught.value)


# --- the shipped specs ---------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_specs_load(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name == path.stem and spec.learner.kind == "lightgbm"


# The LightGBM parameters the shipped specs gave lgb.train before learner parameters were
# typed: a change here changes the trained models.
SHIPPED_LIGHTGBM = {
    "num_threads": 2,
    "deterministic": True,
    "force_col_wise": True,
    "verbosity": -1,
    "seed": 42,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": 6,
    "min_child_samples": 100,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "objective": "binary",
    "metric": "binary_logloss",
}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_lightgbm_params_of_shipped_specs_are_unchanged(path: Path) -> None:
    spec = load_spec(path)
    params, rounds = lightgbm_params(spec.learner.params, spec.seed)
    assert rounds == 600
    assert list(params.items()) == list(SHIPPED_LIGHTGBM.items())  # values and order
    assert [type(v) for v in params.values()] == [type(v) for v in SHIPPED_LIGHTGBM.values()]


def test_lightgbm_params_map_sklearn_names_and_rounds() -> None:
    params, rounds = lightgbm_params(
        {"n_jobs": 4, "random_state": 3, "verbose": 1, "num_trees": 7, "bagging_fraction": 0.5},
        seed=5,
    )
    assert rounds == 7
    assert params == {
        "num_threads": 4,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": 1,
        "seed": 3,
        "subsample": 0.5,
        "objective": "binary",
        "metric": "binary_logloss",
    }


def test_lightgbm_params_default_to_the_schema_and_the_spec_seed() -> None:
    params, rounds = lightgbm_params({}, seed=5)
    assert rounds == LightGBMParams.model_fields["n_estimators"].default == 100
    assert params == {
        "num_threads": 2,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
        "seed": 5,
        "objective": "binary",
        "metric": "binary_logloss",
    }


def test_lightgbm_params_reject_an_unknown_parameter() -> None:
    with pytest.raises(SpecError, match="learner.params.num_leafs is not a LightGBM parameter"):
        lightgbm_params({"num_leafs": 63}, seed=5)


def test_learner_kind_selects_its_parameter_model() -> None:
    learner = load_spec(AVOIDABLE).learner
    typed = learner.typed_params()
    assert LEARNER_PARAMS[learner.kind] is LightGBMParams and isinstance(typed, LightGBMParams)
    assert typed.num_leaves == 31 and typed.num_threads == 2  # from the spec; the default


# --- unknown keys --------------------------------------------------------------------------


def test_unknown_top_level_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    raw = _raw()
    raw["horizon"] = 6
    assert "horizon is not a model spec key; did you mean horizon_months?" in _problems(
        tmp_path, raw
    )


def test_unknown_nested_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    raw = _raw()
    raw["learner"]["early_stoping_rounds"] = 10
    message = _problems(tmp_path, raw)
    assert "learner.early_stoping_rounds is not a key of this section" in message
    assert "did you mean early_stopping_rounds?" in message


def test_misspelt_lightgbm_parameter_names_the_key_and_the_suggestion(tmp_path: Path) -> None:
    raw = _raw()
    raw["learner"]["params"]["num_leafs"] = 63
    assert (
        "learner.params.num_leafs is not a LightGBM parameter; did you mean num_leaves?"
        in _problems(tmp_path, raw)
    )


def test_lightgbm_parameter_a_spec_may_not_set_says_why(tmp_path: Path) -> None:
    raw = _raw()
    raw["learner"]["params"]["objective"] = "regression"
    assert (
        "learner.params.objective is a LightGBM parameter that a spec may not set: "
        "the learner fixes it (binary)" in _problems(tmp_path, raw)
    )


def test_two_names_for_one_lightgbm_parameter_are_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["learner"]["params"]["num_trees"] = 50  # n_estimators is set too
    assert "learner.params.num_trees names the same parameter as n_estimators" in _problems(
        tmp_path, raw
    )


def test_lightgbm_names_are_lightgbms_own() -> None:
    """Each field accepts exactly LightGBM's names for one parameter (checked against the
    installed LightGBM, so an upgrade that renames one fails here)."""
    from lightgbm.basic import _ConfigAliases

    groups = [set(names) for names in _ConfigAliases._get_all_param_aliases().values()]
    for field in LightGBMParams.model_fields:
        names = {k for k, v in LightGBMParams.accepted_names().items() if v == field}
        assert names in groups, field


# --- values --------------------------------------------------------------------------------


def test_lightgbm_parameter_of_the_wrong_type_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["learner"]["params"]["num_leaves"] = "31"
    assert "learner.params.num_leaves: Input should be a valid integer" in _problems(tmp_path, raw)


def test_lightgbm_parameter_out_of_bounds_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["learner"]["params"]["subsample"] = 1.5
    assert "learner.params.subsample: Input should be less than or equal to 1" in _problems(
        tmp_path, raw
    )


def test_lightgbm_parameter_set_to_null_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["learner"]["params"]["seed"] = None
    assert "seed: null is not a value" in _problems(tmp_path, raw)


def test_lightgbm_float_in_exponent_notation_is_a_number(tmp_path: Path) -> None:
    text = AVOIDABLE.read_text(encoding="utf-8").replace(
        "learning_rate: 0.05", "learning_rate: 1e-2"
    )
    spec = load_spec(_write(tmp_path, text))
    assert spec.learner.typed_params().learning_rate == 0.01


def test_bad_relative_date_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["index_dates"]["test"] = "extract - 12w"
    message = _problems(tmp_path, raw)
    assert "index_dates.test" in message and "'extract - 12w' is neither an ISO date" in message


def test_unquoted_iso_date_is_read_as_the_date(tmp_path: Path) -> None:
    text = AVOIDABLE.read_text(encoding="utf-8").replace(
        'test: "extract - 12m"', "test: 2024-01-01"
    )
    assert load_spec(_write(tmp_path, text)).index_dates.test == "2024-01-01"


def test_unordered_tiers_are_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["segments"]["tiers"] = [{"name": "high", "top": 0.05}, {"name": "very_high", "top": 0.01}]
    assert "tiers must be listed from the top" in _problems(tmp_path, raw)


def test_repeated_tier_name_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["segments"]["lowest_tier"] = "high"
    assert "tier names must be unique: high repeated" in _problems(tmp_path, raw)


def test_unsafe_segment_rule_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["segments"]["needs"][0]["when"] = "__import__('os')"
    message = _problems(tmp_path, raw)
    assert "segments.needs.0.when" in message and "may only compare features" in message


def test_intersection_of_an_attribute_not_audited_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["fairness"]["intersections"] = [["rurality", "educaton"]]
    assert "educaton is not among the audited attributes; did you mean education?" in _problems(
        tmp_path, raw
    )


def test_max_age_below_min_age_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["population"]["max_age"] = 60
    assert "max_age 60 is below min_age 65" in _problems(tmp_path, raw)


def test_tolerance_band_must_contain_one(tmp_path: Path) -> None:
    raw = _raw()
    raw["fairness"]["tolerances"]["oe"] = [1.25, 0.8]
    assert "fairness.tolerances.oe" in _problems(tmp_path, raw)


# --- --set overrides -----------------------------------------------------------------------


def test_set_overrides_a_learner_parameter() -> None:
    spec = load_spec(AVOIDABLE, ["learner.params.learning_rate=0.1"])
    assert spec.learner.params["learning_rate"] == 0.1
    assert lightgbm_params(spec.learner.params, spec.seed)[0]["learning_rate"] == 0.1


def test_set_adds_a_new_nested_key(tmp_path: Path) -> None:
    raw = _raw()
    del raw["promotion"]
    spec = load_spec(_write(tmp_path, raw), ["promotion.max_auroc_loss=0.01"])
    assert spec.promotion.max_auroc_loss == 0.01


def test_set_a_misspelt_key_is_an_unknown_key(tmp_path: Path) -> None:
    message = _problems(tmp_path, _raw(), ["learner.params.num_leafs=63"])
    assert "learner.params.num_leafs is not a LightGBM parameter" in message


def test_set_without_equals_is_rejected() -> None:
    with pytest.raises(SpecError, match="--set expects key=value, got 'learner.params.seed'"):
        load_spec(AVOIDABLE, ["learner.params.seed"])


def test_set_through_a_non_section_is_rejected() -> None:
    with pytest.raises(SpecError, match="--set name.first: name is not a section"):
        load_spec(AVOIDABLE, ["name.first=x"])


def test_set_with_an_empty_key_part_is_rejected() -> None:
    with pytest.raises(SpecError, match="the key must be dotted names"):
        load_spec(AVOIDABLE, ["learner..seed=1"])


def test_set_value_that_is_not_yaml_is_rejected() -> None:
    with pytest.raises(SpecError, match="--set learner.params.seed: the value is not valid YAML"):
        load_spec(AVOIDABLE, ["learner.params.seed=[1"])


# --- files ---------------------------------------------------------------------------------


def test_yaml_that_is_not_valid_is_rejected(tmp_path: Path) -> None:
    assert "is not valid YAML" in _problems(tmp_path, "name: [avoidable\nlabel: x\n")


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    assert "is not a mapping of keys to values" in _problems(tmp_path, "- name\n- label\n")


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nowhere.yaml")


# --- index dates ---------------------------------------------------------------------------


def _spec(train: list[str], validation: str, test: str) -> ModelSpec:
    raw = _raw()
    raw["index_dates"] = {"train": train, "validation": validation, "test": test}
    return ModelSpec.model_validate(raw)


def test_resolve_dates_turns_relative_dates_into_dates() -> None:
    dates = load_spec(AVOIDABLE).resolve_dates(date(2025, 3, 1), history_start=date(2015, 1, 1))
    assert dates.train == [date(2021, 3, 1), date(2021, 9, 1), date(2022, 3, 1)]
    assert (dates.validation, dates.test) == (date(2023, 3, 1), date(2024, 3, 1))


@pytest.mark.parametrize(
    ("train", "validation", "test", "problem"),
    [
        (["2022-06-01"], "2023-01-01", "2024-01-01", "after the validation index date 2023-01-01"),
        (["2021-01-01"], "2023-06-01", "2024-01-01", "after the test index date 2024-01-01"),
        (["2021-01-01"], "2022-01-01", "2024-06-01", "its outcomes are not yet observed"),
    ],
    ids=["train-overlaps-validation", "validation-overlaps-test", "test-not-observed"],
)
def test_resolve_dates_rejects_windows_that_are_not_out_of_time(
    train: list[str], validation: str, test: str, problem: str
) -> None:
    with pytest.raises(SpecError, match=problem):
        _spec(train, validation, test).resolve_dates(date(2025, 1, 1))


def test_resolve_dates_rejects_training_before_the_history_starts() -> None:
    spec = _spec(["2019-01-01"], "2022-01-01", "2023-01-01")
    with pytest.raises(SpecError, match=r"before the data's history starts \(2020-01-01\)"):
        spec.resolve_dates(date(2025, 1, 1), history_start=date(2020, 1, 1))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_dumped_spec_validates_to_the_same_spec(path: Path) -> None:
    """A bundle carries its spec as JSON and scoring validates it again."""
    spec = load_spec(path)
    again = ModelSpec.model_validate(spec.model_dump(mode="json"))
    assert again == spec and again.fingerprint() == spec.fingerprint()


def test_a_key_given_twice_in_a_spec_is_rejected(tmp_path: Path) -> None:
    text = (MODELS / "avoidable_admission.yaml").read_text(encoding="utf-8")
    assert "the key 'horizon_months' is given twice" in _problems(
        tmp_path, text + "horizon_months: 3\n"
    )


def test_index_dates_whose_lookback_reaches_before_the_history_are_named() -> None:
    spec = load_spec("models/avoidable_admission.yaml")
    dates = spec.resolve_dates(date(2026, 1, 1), history_start=date(2021, 1, 1))
    longest = max(spec.features.windows_months)
    expected = [
        d
        for d in sorted({*dates.train, dates.validation, dates.test, *dates.refit_train})
        if add_months(d, -longest) < date(2021, 1, 1)
    ]
    assert dates.short_history == expected and expected  # the shipped specs' first dates
    warning = dates.history_warning(spec, date(2021, 1, 1))
    assert (
        warning is not None
        and expected[0].isoformat() in warning
        and f"{longest} months" in warning
    )


def test_no_history_warning_without_a_known_history_start() -> None:
    spec = load_spec("models/avoidable_admission.yaml")
    dates = spec.resolve_dates(date(2026, 1, 1))
    assert dates.short_history == [] and dates.history_warning(spec, None) is None


def test_the_refit_dates_are_the_training_dates_one_validation_to_test_gap_later() -> None:
    spec = load_spec("models/avoidable_admission.yaml")
    dates = spec.resolve_dates(date(2026, 1, 1))
    assert dates.refit_train == [add_months(d, 12) for d in dates.train]
    # the refit's last label window ends on the test date, where it is calibrated
    assert add_months(dates.refit_train[-1], spec.horizon_months) == dates.test
    off = spec.model_copy(update={"refit": False})
    assert off.resolve_dates(date(2026, 1, 1)).refit_train == []
