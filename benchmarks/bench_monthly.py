"""Monthly scoring of a whole extract: read → features → score → lists, beside a plain read.

    MLFLOW_TRACKING_URI=sqlite:////path/mlruns/mlflow.db \
    uv run python benchmarks/bench_monthly.py --data /path/to/denmark-profile --month 2026-01

Needs champions of the teams' models in the tracking store (e.g. from `riskstrat demo`).
Each measurement runs in a fresh process, so its peak memory (the process and its largest
partition worker) is its own. Two read baselines, both partition by partition over the
same number of workers: every column of every table read once into typed, normalised
frames by the contract reader (what the goal is measured against), and, as a floor, every
Parquet file merely decoded by pyarrow into pandas (no typing, no normalisation).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from functools import partial


def _peaks() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return round(own, 2), round(child, 2)


def _rows(extract) -> int:
    return sum(len(t) for t in extract.tables.values())


def read_only(data: str, workers: int) -> dict:
    from riskstrat.experiment import validated
    from riskstrat.partitions import map_partitions

    report = validated(data)
    clock = time.perf_counter()
    table = map_partitions(data, report.extract_date, partial(_count_rows), workers=workers)
    wall = time.perf_counter() - clock
    return {"seconds": round(wall, 1), "rows": int(table["rows"].sum()), "peaks": _peaks()}


def raw_read(data: str, workers: int) -> dict:
    from concurrent.futures import ProcessPoolExecutor

    from riskstrat.contract import open_data_dir

    tables = open_data_dir(data).tables
    files = [str(f) for tf in tables.values() for f in tf.files]
    clock = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = sum(pool.map(_decode, files))
    wall = time.perf_counter() - clock
    return {"seconds": round(wall, 1), "rows": rows, "peaks": _peaks()}


def _decode(file: str) -> int:
    import pyarrow.parquet as pq

    return len(pq.read_table(file).to_pandas())


def _count_rows(extract):
    import pandas as pd

    return pd.DataFrame({"rows": [_rows(extract)]})


def full(data: str, month: str, teams: str, workers: int) -> dict:
    from riskstrat.contract import validated
    from riskstrat.contract.reader import read_table
    from riskstrat.lists import load_teams
    from riskstrat.monthly import MonthContext, month_lists
    from riskstrat.partitions import score_data_dir
    from riskstrat.tracking import load_models

    ctx = MonthContext.of(data, month, validated(data).extract_date)
    team_config = load_teams(teams)
    models = load_models(sorted({t.model for t in team_config.teams}))
    clock = time.perf_counter()
    scorings = score_data_dir(data, ctx.extract_date, models, ctx.as_of, workers=workers)
    scored = time.perf_counter() - clock
    persons = read_table(data, "persons", ctx.extract_date)
    opt_outs = read_table(data, "opt_outs", ctx.extract_date)
    files, summary, *_ = month_lists(ctx, team_config, scorings, persons, opt_outs, {})
    wall = time.perf_counter() - clock
    return {
        "seconds": round(wall, 1),
        "scoring_seconds": round(scored, 1),
        "scored": {n: len(s.scores) for n, s in scorings.items()},
        "listed": sum(t["rows"] for t in summary.values()),
        "peaks": _peaks(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--month", default="2026-01")
    parser.add_argument("--teams", default="teams.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", choices=["raw", "read", "full"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "raw":
        print(json.dumps(raw_read(args.data, args.workers)))
        return
    if args.child == "read":
        print(json.dumps(read_only(args.data, args.workers)))
        return
    if args.child == "full":
        print(json.dumps(full(args.data, args.month, args.teams, args.workers)))
        return
    results = {}
    for child in ("raw", "read", "full"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                child,
                "--data",
                args.data,
                "--month",
                args.month,
                "--teams",
                args.teams,
                "--workers",
                str(args.workers),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        results[child] = json.loads(out.stdout.strip().splitlines()[-1])
    raw, read, whole = results["raw"], results["read"], results["full"]
    print(f"machine: {platform.machine()}, workers {args.workers}, month {args.month}")
    print(
        f"pyarrow decode of every file: {raw['seconds']:7.1f} s  ({raw['rows']:,} rows), "
        f"peak {raw['peaks'][0]:.2f} GiB main / {raw['peaks'][1]:.2f} GiB worker"
    )
    print(
        f"read every table once: {read['seconds']:7.1f} s  ({read['rows']:,} rows), "
        f"peak {read['peaks'][0]:.2f} GiB main / {read['peaks'][1]:.2f} GiB worker"
    )
    print(
        f"read → features → score → lists: {whole['seconds']:7.1f} s (scoring {whole['scoring_seconds']} s), "
        f"scored {whole['scored']}, listed {whole['listed']}, peak {whole['peaks'][0]:.2f} GiB main / "
        f"{whole['peaks'][1]:.2f} GiB worker"
    )
    print(
        f"ratio to the typed read: {whole['seconds'] / read['seconds']:.2f}x; "
        f"to the pyarrow decode: {whole['seconds'] / raw['seconds']:.2f}x"
    )


if __name__ == "__main__":
    main()
