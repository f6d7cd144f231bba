"""Pseudonyms: the key file, stable ids, the refusal of a key inside the data directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest

from riskstrat.errors import InputError
from riskstrat.registers.pseudonym import (
    default_key_path,
    load_or_create_key,
    person_ids,
    pseudonym,
)


def test_new_key_file_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "riskstrat.key"
    key, created = load_or_create_key(path, tmp_path / "data")
    assert created and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_key(path, tmp_path / "data")
    assert again == key and not created_again


def test_same_key_same_ids_other_key_other_ids(tmp_path: Path) -> None:
    pnr = pd.Series(["0101401234", "010140-1234", " 0202502345 ", None])
    key, _ = load_or_create_key(tmp_path / "a.key", tmp_path / "data")
    other, _ = load_or_create_key(tmp_path / "b.key", tmp_path / "data")
    ids = person_ids(pnr, key)
    assert ids[0] == ids[1] != ids[2]  # a CPR number with or without its dash is one person
    assert pd.isna(ids[3])
    assert person_ids(pnr, key).equals(ids)
    assert pseudonym("0101401234", other) != ids[0]
    assert all(len(i) == 24 and "0101401234" not in i for i in ids.dropna())


def test_key_inside_the_data_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="inside the data directory"):
        load_or_create_key(tmp_path / "data" / "sub" / "k.key", tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_a_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "k.key").write_text("not a key\n")
    with pytest.raises(InputError, match="not a pseudonym key"):
        load_or_create_key(tmp_path / "k.key", tmp_path / "data")


def test_default_key_path_is_in_the_users_config(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert default_key_path() == tmp_path / "cfg" / "riskstrat" / "pseudonym.key"
