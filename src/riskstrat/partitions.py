"""Person-level work, partition by partition: one process, a process pool, or Dask.

A data directory whose tables are person-aligned part folders (`DataDir.partitions`) is
processed one part at a time, so memory is bounded by the largest part; any other layout
is one partition. `fn` must be a pure, picklable function of one `Extract` (e.g. a
`functools.partial` of a library function), which is what lets the same code run serially,
over local processes (`workers > 1`) or through a Dask client (`client.map(run_partition, ...)`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from functools import partial
from pathlib import Path

import pandas as pd

from riskstrat.contract import Extract, open_data_dir, read_extract
from riskstrat.contract.reader import hash_partitions
from riskstrat.spec import ModelSpec

Progress = Callable[[int, int | None], None]


def run_partition(
    data_dir: str | Path,
    extract_date: date,
    partition: str | None,
    fn: Callable[[Extract], pd.DataFrame],
    columns: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Read one partition of `data_dir` (only `columns`, if given) and apply `fn` to it."""
    return fn(read_extract(data_dir, extract_date, partition, columns))


def partition_names(data_dir: str | Path, hash_buckets: int = 1) -> list[str | None]:
    """The person partitions of `data_dir`: its aligned parts, else `hash_buckets` hash buckets."""
    aligned = open_data_dir(data_dir).partitions
    if aligned:
        return list(aligned)
    return list(hash_partitions(hash_buckets)) if hash_buckets > 1 else [None]


def map_partitions(
    data_dir: str | Path,
    extract_date: date,
    fn: Callable[[Extract], pd.DataFrame],
    workers: int = 1,
    progress: Progress | None = None,
    hash_buckets: int = 1,
    columns: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Apply `fn` to every person partition of `data_dir` and concatenate the results in order.

    `hash_buckets` > 1 splits a layout that is not person-aligned into that many partitions
    by a hash of person_id: bounded memory at the price of reading each file once per bucket.
    """
    parts = partition_names(data_dir, hash_buckets)
    job = partial(run_partition, data_dir, extract_date, fn=fn, columns=columns)
    results: list[pd.DataFrame] = []
    if workers <= 1 or len(parts) == 1:
        for i, part in enumerate(parts):
            results.append(job(part))
            if progress:
                progress(i + 1, len(parts))
    else:
        # "spawn", not fork: a forked child of a process that has run LightGBM's OpenMP
        # threads (a loaded model) can hang forever
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for i, frame in enumerate(pool.map(job, parts)):
                results.append(frame)
                if progress:
                    progress(i + 1, len(parts))
    results = [r for r in results if len(r)] or results[:1]
    return pd.concat(results, ignore_index=True) if len(results) > 1 else results[0]


def features_for_data_dir(
    data_dir: str | Path,
    extract_date: date,
    spec: ModelSpec,
    index_dates: list[date],
    with_labels: bool = True,
    workers: int = 1,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Features (and labels) of `spec` at `index_dates` for every person, partition by partition.

    Rows are sorted by (index_date, person_id) across partitions.
    """
    from riskstrat.features import build_features
    from riskstrat.features.build import COLUMNS_READ

    fn = partial(build_features, spec=spec, index_dates=index_dates, with_labels=with_labels)
    table = map_partitions(data_dir, extract_date, fn, workers=workers, progress=progress,
                           columns=COLUMNS_READ)  # fmt: skip
    return table.sort_values(["index_date", "person_id"], kind="stable", ignore_index=True)
