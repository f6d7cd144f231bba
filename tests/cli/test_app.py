"""The `riskstrat` app (src/riskstrat/cli/__init__.py): help, and errors mapped to exit codes."""

from __future__ import annotations

import pytest

import riskstrat.cli.data
from tests.cli.runner import invoke

# The first sentence of each command's help, as a user should read it.
PURPOSES = {
    "synth": "Write a synthetic population in input contract v1",
    "validate": "Check a data directory against input contract v1",
    "features": "The cohort, features and labels of one model spec at one index date",
    "train": "One experiment: an MLflow run with everything needed to judge it",
    "promote": "Move alias `champion` to a version if its gates pass",
    "score": "Score everyone in the model's population at index date D",
    "demo": "The main job on embedded defaults, end to end",
    "lists": "Target lists per team, within catchment and capacity, opt-outs excluded",
    "feedback": "Store a team's statuses on its list of a month",
    "fairness": "Fairness audit of one scoring",
    "follow-up": "Realised performance of an earlier scoring",
    "monthly": "The monthly Prefect flow",
    "report": "The population overview for the cluster's steering group",
}


def _words(text: str) -> str:
    """Text with line wrapping undone (help is wrapped to the terminal's width)."""
    return " ".join(text.split())


@pytest.mark.parametrize("command", sorted(PURPOSES))
def test_help_of_every_command_states_its_purpose(command: str) -> None:
    result = invoke([command, "--help"])
    assert result.exit_code == 0, result.output
    assert PURPOSES[command] in _words(result.stdout)


def test_help_of_the_app_lists_every_command() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0, result.output
    assert "Risk stratification, segments and target lists" in _words(result.stdout)
    # a command's row starts its panel line; wrapped descriptions are indented under it
    rows = [line[2:] for line in result.stdout.splitlines() if line.startswith("│ ")]
    listed = {row.split()[0] for row in rows if not row.startswith(" ")}
    assert set(PURPOSES) <= listed


def test_a_missing_option_is_a_usage_error_with_exit_code_2() -> None:
    result = invoke(["validate"])
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr and "Traceback" not in result.output


def _fail_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the library function behind `validate` fail as a bug would."""

    def broken(data_dir):
        raise RuntimeError("boom in the validator")

    monkeypatch.setattr(riskstrat.cli.data, "validate_and_record", broken)


def test_an_internal_error_exits_1_with_a_short_message(monkeypatch, tmp_path) -> None:
    _fail_inside(monkeypatch)
    result = invoke(["validate", tmp_path])
    assert result.exit_code == 1
    assert "internal error: RuntimeError: boom in the validator" in result.stderr
    assert "RISKSTRAT_DEBUG=1" in result.stderr
    assert "Traceback" not in result.output and result.exception is None


def test_an_internal_error_shows_its_traceback_with_riskstrat_debug(monkeypatch, tmp_path) -> None:
    _fail_inside(monkeypatch)
    result = invoke(["validate", tmp_path], env={"RISKSTRAT_DEBUG": "1"})
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: boom in the validator" in result.stderr
    assert "internal error" not in result.stderr


# --- output paths the user can fix: exit 2 with the path and what is wrong --------------------


@pytest.fixture()
def small_data(tmp_path):
    from tests.contract.extracts import valid_tables, write_extract

    return write_extract(tmp_path / "data", valid_tables())


def test_a_folder_where_the_output_file_should_be_exits_2(small_data, tmp_path) -> None:
    out = tmp_path / "overview.html"
    out.mkdir()
    result = invoke(["report", "--data", small_data, "--out", out])
    assert result.exit_code == 2, result.output
    assert f"{out} is a folder" in result.stderr and "Nothing was written" in result.stderr


def test_a_file_where_the_output_folder_should_be_exits_2(small_data, tmp_path) -> None:
    (tmp_path / "reports").write_text("not a folder")
    out = tmp_path / "reports" / "overview.html"
    result = invoke(["report", "--data", small_data, "--out", out])
    assert result.exit_code == 2, result.output
    assert f"cannot use {tmp_path / 'reports'}: a file is where a folder is expected" in (
        result.stderr
    )


def test_a_read_only_output_folder_exits_2(small_data, tmp_path, monkeypatch) -> None:
    import errno
    import os
    import tempfile

    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: the kernel's answer to anyone else
        real = tempfile.mkstemp

        def refused(*args, **kwargs):
            if str(kwargs.get("dir")) == str(folder):
                raise PermissionError(errno.EACCES, "Permission denied", str(folder))
            return real(*args, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", refused)
    result = invoke(["report", "--data", small_data, "--out", folder / "overview.html"])
    folder.chmod(0o755)
    assert result.exit_code == 2, result.output
    assert f"cannot use {folder}: no permission (a read-only folder or file?)" in result.stderr
    assert not list(folder.iterdir())
