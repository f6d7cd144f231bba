"""Generation time and memory of the synthetic profiles, beside pyarrow's own write time.

    uv run python benchmarks/bench_synth.py --profile randers
    uv run python benchmarks/bench_synth.py --profile denmark

Prints wall time, rows per second, peak memory (this process and its worker processes),
and the time pyarrow alone needs to write the same tables (read back, written again with
the same compression) — the floor any generator writing Parquet has to pay.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from riskstrat.synth import generate


def _peak_gib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return own, children


def _pyarrow_write_seconds(data: Path, scratch: Path) -> float:
    total = 0.0
    for table_dir in sorted(p for p in data.iterdir() if p.is_dir()):
        for part in sorted(table_dir.glob("*.parquet")):
            table = pq.read_table(part)
            clock = time.perf_counter()
            pq.write_table(table, scratch / f"{table_dir.name}-{part.name}", compression="zstd")
            total += time.perf_counter() - clock
            (scratch / f"{table_dir.name}-{part.name}").unlink()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="randers", choices=["tiny", "randers", "denmark"])
    parser.add_argument("--persons", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the output")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_synth_"))
    out = args.keep or root / "data"
    try:
        clock = time.perf_counter()
        result = generate(args.profile, seed=args.seed, out_dir=out, persons=args.persons)
        wall = time.perf_counter() - clock
        own, children = _peak_gib()
        rows = sum(result.rows.values())
        arrow = _pyarrow_write_seconds(out, root)
        size = sum(p.stat().st_size for p in out.rglob("*.parquet")) / 2**20
        print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}")
        print(
            f"profile {args.profile}: {result.persons:,} persons, {rows:,} rows, {size:,.0f} MiB Parquet"
        )
        for table, n in result.rows.items():
            print(f"  {table:<20} {n:>13,}")
        print(f"wall time           {wall:8.1f} s  ({rows / wall:,.0f} rows/s)")
        print(f"peak RSS            main {own:.2f} GiB, largest worker {children:.2f} GiB")
        print(f"pyarrow write alone {arrow:8.1f} s  (generator / pyarrow = {wall / arrow:.1f}x)")
        print(
            f"calibration         {result.calibration['passed']} of {result.calibration['total']} figures pass"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
