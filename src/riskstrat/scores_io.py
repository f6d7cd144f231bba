"""A scoring on disk: `scores.parquet` and its `manifest.json` (interfaces.md, "Scores"),
written atomically and read back with its checksum checked."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from riskstrat.errors import InputError
from riskstrat.publishing import write_own_folder
from riskstrat.scoring.files import scores_files

SCORES_FILES = ("scores.parquet", "manifest.json")


def write_scores(folder: str | Path, scores: pd.DataFrame, manifest: dict) -> dict:
    """Write a scoring into `folder` atomically; returns the manifest as written. An existing
    `folder` is replaced only if it holds nothing but an earlier scoring's files
    (`riskstrat.publishing.write_own_folder`; else InputError and nothing changes)."""
    files = scores_files(scores, manifest)
    write_own_folder(folder, files)
    return json.loads(files["manifest.json"])


def read_scores(folder: str | Path) -> tuple[pd.DataFrame, dict]:
    """A scoring folder's scores frame and manifest; InputError if it is missing or altered."""
    folder = Path(folder)
    path, meta = folder / "scores.parquet", folder / "manifest.json"
    if not path.exists() or not meta.exists():
        raise InputError(
            f"{folder} is not a scores folder (needs scores.parquet and manifest.json)"
        )
    manifest = json.loads(meta.read_text(encoding="utf-8"))
    payload = path.read_bytes()
    if manifest.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise InputError(f"{path} does not match the checksum in its manifest.json")
    scores = pq.read_table(io.BytesIO(payload)).to_pandas()
    scores["index_date"] = pd.to_datetime(scores["index_date"]).astype("datetime64[s]")
    return scores, manifest
