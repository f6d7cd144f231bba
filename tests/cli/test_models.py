"""`riskstrat train --spec/--set` (src/riskstrat/cli/models.py): a spec is checked before any
data is read or anything trained."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.runner import invoke

# A regression that lets a command train would log into a temp store, never ./mlruns.
pytestmark = pytest.mark.usefixtures("mlflow_store")

SPEC = Path(__file__).resolve().parents[2] / "models" / "avoidable_admission.yaml"


def _spec_with(tmp_path: Path, old: str, new: str) -> Path:
    """The shipped avoidable-admission spec with `old` replaced by `new`."""
    text = SPEC.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {SPEC.name}"
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _train(spec: Path, data: Path, *sets: str):
    return invoke(
        ["train", "--spec", spec, "--data", data, *(a for s in sets for a in ("--set", s))]
    )


def test_an_unknown_key_in_the_spec_is_named(tmp_path: Path) -> None:
    spec = _spec_with(tmp_path, "seed: 42", "seed: 42\ncolour: blue")
    result = _train(spec, tmp_path / "no-data")
    assert result.exit_code == 2
    assert "colour is not a model spec key" in result.stderr
    assert "Traceback" not in result.output


def test_a_misspelt_key_in_the_spec_is_named(tmp_path: Path) -> None:
    spec = _spec_with(tmp_path, "horizon_months: 12", "horizon_month: 12")
    result = _train(spec, tmp_path / "no-data")
    assert result.exit_code == 2
    assert "horizon_month is not a model spec key; did you mean horizon_months?" in result.stderr


def test_set_overrides_are_validated_like_the_spec(tmp_path: Path) -> None:
    result = _train(SPEC, tmp_path / "no-data", "horizon_months=0")
    assert result.exit_code == 2
    assert "horizon_months: Input should be greater than or equal to 1" in result.stderr


def test_set_of_a_misspelt_nested_key_is_named(tmp_path: Path) -> None:
    result = _train(SPEC, tmp_path / "no-data", "learner.param.n_estimators=5")
    assert result.exit_code == 2
    assert "learner.param is not a key of this section; did you mean params?" in result.stderr


@pytest.mark.parametrize("item", ["horizon_months", "learner.params.n_estimators"])
def test_set_without_equals_is_bad_input(tmp_path: Path, item: str) -> None:
    result = _train(SPEC, tmp_path / "no-data", item)
    assert result.exit_code == 2
    assert f"--set expects key=value, got {item!r}" in result.stderr


def test_a_valid_set_passes_the_spec_and_the_command_goes_on_to_the_data(tmp_path: Path) -> None:
    missing = tmp_path / "no-data"
    result = _train(SPEC, missing, "learner.params.n_estimators=20", "horizon_months=6")
    assert result.exit_code == 2
    assert f"data directory {missing} does not exist" in result.stderr
    assert "model spec" not in result.stderr


def test_a_valid_set_is_what_the_experiment_uses(tiny_data: Path) -> None:
    # With a 24-month horizon the test date (extract - 12m) has no fully observed label
    # window, which only a spec carrying the override can find.
    result = _train(SPEC, tiny_data, "horizon_months=24")
    assert result.exit_code == 2
    assert "the test label window ends 2027-01-01, after the extract date 2026-01-01" in (
        result.stderr
    )


@pytest.mark.parametrize("item", ["[/x]=1", "learner.[/x]=1"])
def test_a_set_key_or_value_that_looks_like_markup_is_printed_as_text(tmp_path, item) -> None:
    result = _train(SPEC, tmp_path / "no-data", item)
    assert result.exit_code == 2, result.output
    assert "[/x]" in result.stderr
    assert "MarkupError" not in result.output and "internal error" not in result.output
