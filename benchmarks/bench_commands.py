"""Commands as a user runs them: `riskstrat validate`, `score` and `monthly`, each in a fresh
process with its default settings (validation included), beside a raw pyarrow read of the
same Parquet files.

    uv run python benchmarks/bench_commands.py --data DIR [--month 2026-01] [--teams teams.yaml]

Needs champions of the teams' models in the tracking store (e.g. from `riskstrat demo`).
Every command's wall time and the peak resident memory of its whole process tree (workers
included) are printed, with the ratio to the raw read. The validation record is cleared
first, so `validate` runs the rules; `score` and `monthly` then find the record and skip
them, as a user's second command would; `score (cold)` clears the record again first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak_memory import tree_rss  # noqa: E402

RAW_READ = """
import sys, time, pyarrow.parquet as pq
from pathlib import Path
clock = time.perf_counter()
rows = 0
for path in sorted(Path(sys.argv[1]).rglob("*.parquet")):
    rows += pq.read_table(path).num_rows
print(f"{rows} {time.perf_counter() - clock:.2f}")
"""


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak GiB of the process tree, last output line) of one command."""
    clock = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.2)
    wall = time.perf_counter() - clock
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{output[-3000:]}")
    lines = [line for line in output.splitlines() if line.strip()]
    return wall, peak / 2**30, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--month", default="2026-01")
    parser.add_argument("--teams", default="teams.yaml")
    parser.add_argument("--model", default="avoidable_admission@champion")
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    out = Path(tempfile.mkdtemp(prefix="bench-out-"))
    env = {**os.environ, "RISKSTRAT_CACHE": str(cache), "PREFECT_LOGGING_LEVEL": "WARNING"}
    riskstrat = (
        [sys.executable, "-m", "pipelines.cli"]
        if shutil.which("riskstrat") is None
        else ["riskstrat"]
    )
    as_of = f"{args.month}-01"
    results = {}
    _, raw_peak, raw = timed([sys.executable, "-c", RAW_READ, args.data], env)
    rows, raw_seconds = raw.split()
    results["pyarrow read of every Parquet file"] = (float(raw_seconds), raw_peak)
    score = [
        *riskstrat,
        "score",
        "--data",
        args.data,
        "--as-of",
        as_of,
        "--model",
        args.model,
        "--out",
    ]
    monthly = [
        *riskstrat,
        "monthly",
        "--data",
        args.data,
        "--month",
        args.month,
        "--teams",
        args.teams,
    ]
    runs = [
        ("riskstrat validate", [*riskstrat, "validate", args.data], False),
        ("riskstrat score", [*score, str(out / "scores")], False),
        (
            "riskstrat monthly",
            [*monthly, "--out", str(out / "runs"), "--override-reason", "benchmark"],
            False,
        ),
        ("riskstrat score (cold: no validation record)", [*score, str(out / "scores-cold")], True),
    ]
    for name, command, cold in runs:
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        wall, peak, _ = timed(command, env)
        results[name] = (wall, peak)
    base = results["pyarrow read of every Parquet file"][0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; data {args.data} ({int(rows):,} rows); "
        f"month {args.month}"
    )
    print("| command | wall time | × raw read | peak memory (process tree) |")
    print("|---|---|---|---|")
    for name, (wall, peak) in results.items():
        print(f"| {name} | {wall:.1f} s | {wall / base:.1f}× | {peak:.2f} GiB |")
    print(
        json.dumps(
            {k: {"seconds": round(v[0], 1), "peak_gib": round(v[1], 2)} for k, v in results.items()}
        )
    )
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
