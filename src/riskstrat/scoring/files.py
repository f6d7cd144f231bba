"""A scoring's files as bytes: `scores.parquet` and its `manifest.json`.

Both are byte-deterministic for the same scores, so re-running a month rewrites nothing.
"""

from __future__ import annotations

import hashlib
import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def scores_files(scores: pd.DataFrame, manifest: dict) -> dict[str, bytes]:
    """The bytes of `scores.parquet` and `manifest.json` (row count and checksum filled in)."""
    table = pa.Table.from_pandas(scores, preserve_index=False)
    table = table.replace_schema_metadata(None)  # pandas metadata would carry the index layout
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    payload = buffer.getvalue()
    full = {**manifest, "rows": len(scores), "sha256": hashlib.sha256(payload).hexdigest()}
    text = json.dumps(full, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    return {"scores.parquet": payload, "manifest.json": text.encode("utf-8")}
