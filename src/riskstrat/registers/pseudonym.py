"""Pseudonyms: `person_id` = HMAC-SHA-256 of `pnr` under a key kept outside the data.

The key file holds 32 random bytes (`secrets`) as hex text and is created with mode 0600.
The same key gives the same ids every month, so lists, feedback and follow-up line up;
without the key the ids cannot be traced back to a `pnr` (only recomputed from one, by
`riskstrat reidentify` in the environment that holds the key). A key file inside the data
directory would travel with the data, so it is refused there.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from riskstrat.errors import InputError
from riskstrat.io import absolute

KEY_BYTES = 32
# 24 hex digits (96 bits): collisions among 6 million persons have a chance of about 1e-16,
# and the importer checks anyway
ID_HEX_DIGITS = 24
_CPR_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]")
_KEY_TEXT = re.compile(r"^[0-9a-f]{64}$")


def default_key_path() -> Path:
    """Where a new key goes when `--pseudonym-key` is not given: the user's own config
    folder (`$XDG_CONFIG_HOME/riskstrat/` or `~/.config/riskstrat/`), never the data."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "riskstrat" / "pseudonym.key"


def check_key_location(path: Path, data_dir: Path) -> None:
    """Refuse (InputError) a key file inside `data_dir`, or one that exists but is no file."""
    path, data_dir = absolute(path), absolute(data_dir)
    if path == data_dir or data_dir in path.parents:
        raise InputError(
            f"--pseudonym-key {path} is inside the data directory {data_dir}: keep the key "
            "outside it, or anyone with the data could recompute the ids"
        )
    if path.exists() and not path.is_file():
        raise InputError(f"--pseudonym-key {path} is not a file")


def load_or_create_key(path: Path, data_dir: Path) -> tuple[bytes, bool]:
    """The key in `path` and whether it was created now. A missing file gets a new random
    key (mode 0600, its folder created 0700); a key file inside `data_dir`, or one that is
    not a key written here, is refused (InputError)."""
    check_key_location(path, data_dir)
    path = absolute(path)
    if path.exists():
        return read_key(path), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return key, True


def read_key(path: Path) -> bytes:
    """The key in the key file `path` (InputError when it is not one written here)."""
    text = Path(path).read_text(encoding="ascii", errors="replace").strip()
    if not _KEY_TEXT.match(text):
        raise InputError(f"--pseudonym-key {path} is not a pseudonym key (64 hex digits expected)")
    return bytes.fromhex(text)


def normalise_pnr(pnr: str) -> str:
    """A `pnr` as hashed: trimmed, and a CPR number without its separator
    (`010101-1234` and `0101011234` are one person); other keys (SDS's encrypted ones)
    only trimmed."""
    text = pnr.strip()
    bare = _CPR_SEPARATORS.sub("", text)
    return bare if len(bare) == 10 and bare.isdigit() else text


def normalised(pnr: pd.Series) -> pd.Series:
    """`normalise_pnr` over a column (text; missing stays missing)."""
    text = pnr.astype("string").str.strip()
    bare = text.str.replace(_CPR_SEPARATORS, "", regex=True)
    return bare.where(bare.str.fullmatch(r"\d{10}").fillna(False), text)


def normalised_keys(pnr: pd.Series) -> pd.Series:
    """`normalised` for a long column: the text work done once per distinct key."""
    codes, distinct = pd.factorize(pnr)
    keys = np.append(normalised(pd.Series(distinct)).to_numpy(dtype=object), [None])
    # the reader's own text type where it has one (pandas' default `str` otherwise)
    dtype = pnr.dtype if isinstance(pnr.dtype, pd.StringDtype) else "str"
    return pd.Series(keys[codes], index=pnr.index, dtype=dtype)


def person_ids(pnr: pd.Series, key: bytes) -> pd.Series:
    """The pseudonym of each `pnr` (hex text, ID_HEX_DIGITS long), same index; a missing
    pnr stays missing. Each distinct pnr is hashed once."""
    text = pnr.astype("string")
    distinct = text.dropna().unique()
    ids = {value: pseudonym(value, key) for value in distinct}
    return text.map(ids).astype("string")


def pseudonym(pnr: str, key: bytes) -> str:
    """The pseudonym of one `pnr` under `key`."""
    digest = hmac.new(key, normalise_pnr(pnr).encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:ID_HEX_DIGITS]
