"""Features and labels at one index date: wall time and peak memory by population size.

    uv run python benchmarks/bench_features.py --persons 50000 200000 1000000
    uv run python benchmarks/bench_features.py --data /path/to/denmark-profile --workers 2

Sizes are synthetic randers-profile extracts generated first (not timed). Each measurement
runs in a fresh process so peak memory (the process and its partition workers) is its own.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def measure(data: str, workers: int, index_date: str, spec: str) -> dict:
    from riskstrat.contract import validate_data_dir
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.spec import load_spec

    report = validate_data_dir(data)
    clock = time.perf_counter()
    table = features_for_data_dir(
        data, report.extract_date, load_spec(spec), [date.fromisoformat(index_date)], workers=workers
    )
    wall = time.perf_counter() - clock
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return {"rows": len(table), "persons": sum(report.persons_by_age_band.values()) if report.persons_by_age_band else None,
            "seconds": round(wall, 1), "peak_main_gib": round(own, 2), "peak_worker_gib": round(child, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, nargs="*", default=[])
    parser.add_argument("--data", nargs="*", default=[])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--index-date", default="2025-01-01")
    parser.add_argument("--spec", default="models/avoidable_admission.yaml")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.workers, args.index_date, args.spec)))
        return
    from riskstrat.synth import generate

    print(f"machine: {platform.processor() or platform.machine()}; index date {args.index_date}; "
          f"workers {args.workers}; spec {args.spec}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        targets = list(args.data)
        for n in args.persons:
            out = Path(tmp) / f"p{n}"
            generate("randers", seed=1, out_dir=out, persons=n)
            targets.append(str(out))
        for data in targets:
            result = subprocess.run(
                [sys.executable, __file__, "--child", data, "--workers", str(args.workers),
                 "--index-date", args.index_date, "--spec", args.spec],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"{Path(data).name:>12}: {figures['rows']:>10,} persons in the population, "
                  f"{figures['seconds']:7.1f} s, peak {figures['peak_main_gib']:.2f} GiB main / "
                  f"{figures['peak_worker_gib']:.2f} GiB largest worker")  # fmt: skip


if __name__ == "__main__":
    main()
