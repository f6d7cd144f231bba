"""Person-level work, partition by partition: one process, a process pool, or Dask.

A data directory whose tables are person-aligned part folders (`DataDir.partitions`) is
processed one part at a time, so memory is bounded by the largest part; any other layout
is one partition. `fn` must be a pure, picklable function of one `Extract` (e.g. a
`functools.partial` of a library function), which is what lets the same code run serially,
over local processes (`workers > 1`) or through a Dask client (`client.map(run_partition, ...)`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskstrat.contract import Extract, open_data_dir, read_extract
from riskstrat.contract.reader import PersonSelection, hash_partitions
from riskstrat.spec import ModelSpec

if TYPE_CHECKING:
    from riskstrat.population import Overview
    from riskstrat.scoring.population import LoadedModel, ModelScoring

Progress = Callable[[int, int | None], None]
# Peak memory of one partition worker on the national Denmark profile (30 parts of about
# 200,000 persons): 1.4-1.5 GiB measured (BENCHMARKS.md); planned with headroom.
WORKER_MEMORY_BYTES = 2 * 1024**3


def default_workers() -> int:
    """Worker processes this machine can run: one per core, as many as memory allows for
    partition workers (`WORKER_MEMORY_BYTES` each), at least one."""
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return max(1, cores)
    return max(1, min(cores, available // WORKER_MEMORY_BYTES))


def resolve_workers(workers: int | None) -> int:
    """`workers` as given, or the machine's default when None (`--workers auto`)."""
    return default_workers() if workers is None else max(1, int(workers))


def run_partition(
    data_dir: str | Path,
    extract_date: date,
    partition: str | None,
    fn: Callable[[Extract], pd.DataFrame],
    columns: dict[str, list[str]] | None = None,
    persons: PersonSelection | None = None,
) -> pd.DataFrame:
    """Read one partition of `data_dir` (only `columns` and the `persons` selected, if given)
    and apply `fn` to it."""
    return fn(read_extract(data_dir, extract_date, partition, columns, persons))


def limit_threads(threads: int) -> None:
    """Cap this process's BLAS, OpenMP (LightGBM) and DuckDB threads: in a pool of partition
    workers each gets its share of the cores, since threads beyond them only contend."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    os.environ["RISKSTRAT_THREADS"] = str(threads)


def partition_names(data_dir: str | Path, hash_buckets: int = 1) -> list[str | None]:
    """The person partitions of `data_dir`: its aligned parts, else `hash_buckets` hash buckets."""
    aligned = open_data_dir(data_dir).partitions
    if aligned:
        return list(aligned)
    return list(hash_partitions(hash_buckets)) if hash_buckets > 1 else [None]


def map_partitions(
    data_dir: str | Path,
    extract_date: date,
    fn: Callable[[Extract], Any],
    workers: int | None = 1,
    progress: Progress | None = None,
    hash_buckets: int = 1,
    columns: dict[str, list[str]] | None = None,
    persons: PersonSelection | None = None,
) -> Any:
    """Apply `fn` to every person partition of `data_dir` and concatenate the results in order
    (a frame; a tuple of frames, each concatenated, if `fn` returns tuples).

    `hash_buckets` > 1 splits a layout that is not person-aligned into that many partitions
    by a hash of person_id: bounded memory at the price of reading each file once per bucket.
    `columns` and `persons` limit what is read (see `read_extract`).
    """
    parts = partition_names(data_dir, hash_buckets)
    workers = resolve_workers(workers)
    job = partial(run_partition, data_dir, extract_date, fn=fn, columns=columns, persons=persons)
    results: list = []
    if workers <= 1 or len(parts) == 1:
        for i, part in enumerate(parts):
            results.append(job(part))
            if progress:
                progress(i + 1, len(parts))
    else:
        # "spawn", not fork: a forked child of a process that has run LightGBM's OpenMP
        # threads (a loaded model) can hang forever
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=limit_threads,
            initargs=(threads,),
        ) as pool:
            for i, frame in enumerate(pool.map(job, parts)):
                results.append(frame)
                if progress:
                    progress(i + 1, len(parts))
    return _combine(results)


def _combine(results: list) -> Any:
    """The partitions' results in order as one frame; a function that returns a tuple of
    frames per partition gets a tuple of frames, each concatenated."""
    if results and isinstance(results[0], tuple):
        return tuple(_combine([r[i] for r in results]) for i in range(len(results[0])))
    kept = [r for r in results if len(r)] or results[:1]
    return pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]


def features_for_data_dir(
    data_dir: str | Path,
    extract_date: date,
    spec: ModelSpec,
    index_dates: list[date],
    with_labels: bool = True,
    workers: int | None = 1,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Features (and labels) of `spec` at `index_dates` for every person, partition by partition.

    Rows are sorted by (index_date, person_id) across partitions. Only the columns features
    read and the persons who can be in the population are read.
    """
    from riskstrat.features import build_features, candidates
    from riskstrat.features.build import COLUMNS_READ

    fn = partial(build_features, spec=spec, index_dates=index_dates, with_labels=with_labels)
    table = map_partitions(
        data_dir,
        extract_date,
        fn,
        workers=workers,
        progress=progress,
        columns=COLUMNS_READ,
        persons=candidates(spec, index_dates),
    )
    return table.sort_values(["index_date", "person_id"], kind="stable", ignore_index=True)


def score_data_dir(
    data_dir: str | Path,
    extract_date: date,
    models: list[LoadedModel],
    as_of: date,
    workers: int | None = 1,
    progress: Progress | None = None,
    input_bins: bool = False,
) -> dict[str, ModelScoring]:
    """Everyone in each model's population at `as_of`, scored by that model (with
    `input_bins`, also each scoring's rows per input and training bin, for drift, counted in
    the same pass).

    Each person partition is read once and scored by every model in the same worker
    process (features built once per distinct feature setting), so scoring uses every core
    and only scores and the columns the audits need come back to this process. Reads only
    the columns features use and the persons who can be in one of the populations.
    """
    from riskstrat.features import candidates
    from riskstrat.features.build import COLUMNS_READ
    from riskstrat.scoring.population import score_partition, split_by_model

    for model in models:
        _ = model.bundle.tree_shap  # compiled once here; the workers receive it with the bundle
    persons = candidates([model.bundle.model_spec() for model in models], [as_of])
    fn = partial(score_partition, models=models, as_of=as_of, input_bins=input_bins)
    result = map_partitions(
        data_dir,
        extract_date,
        fn,
        workers=workers,
        progress=progress,
        columns=COLUMNS_READ,
        persons=persons,
    )
    if input_bins:
        table, bins = result
        return split_by_model(table, models, as_of, extract_date, bins)
    return split_by_model(result, models, as_of, extract_date)


def overview_for_data_dir(
    data_dir: str | Path,
    extract_date: date,
    workers: int | None = 1,
    progress: Progress | None = None,
) -> Overview:
    """The population overview of a (validated) data directory over the 12 months before
    its extract date, partition by partition."""
    from riskstrat.dates import add_months
    from riskstrat.population import overview_tables, person_flags

    window = (add_months(extract_date, -12), extract_date)
    fn = partial(person_flags, start=window[0], end=window[1])
    flags = map_partitions(data_dir, extract_date, fn, workers=workers, progress=progress)
    return overview_tables(flags, window)


def delivery_counts_for_data_dir(
    data_dir: str | Path, extract_date: date, as_of: date, workers: int | None = 1
) -> pd.DataFrame:
    """Rows per event table, municipality and month before `as_of` (`monthly.delivery`),
    partition by partition; reads only person ids, municipalities and event dates."""
    from riskstrat.monthly.delivery import DELIVERY_COLUMNS, add_counts, delivery_counts

    fn = partial(delivery_counts, as_of=as_of)
    table = map_partitions(data_dir, extract_date, fn, workers=workers, columns=DELIVERY_COLUMNS)
    return add_counts([table])
