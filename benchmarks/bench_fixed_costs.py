"""What every command pays before it reads a row: interpreter and CLI start-up, the MLflow
and LightGBM imports, and an empty Prefect flow on the default ephemeral server (what
`riskstrat monthly` starts unless PREFECT_API_URL names a running server).

    uv run --frozen python benchmarks/bench_fixed_costs.py [--repeat 2]

Each measurement runs in a fresh process (the environment's own Python), with a fresh
PREFECT_HOME so no earlier server or database is reused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EMPTY_FLOW = """
from prefect import flow

@flow
def empty():
    return 1

empty()
"""

MEASUREMENTS = {
    "python start": [sys.executable, "-c", "pass"],
    "riskstrat --help": [str(Path(sys.executable).parent / "riskstrat"), "--help"],
    "import mlflow": [sys.executable, "-c", "import mlflow"],
    "import mlflow.lightgbm, lightgbm, pandas": [
        sys.executable,
        "-c",
        "import mlflow.lightgbm, lightgbm, pandas",
    ],
    "empty Prefect flow (ephemeral server)": [sys.executable, "-c", EMPTY_FLOW],
}


def timed(command: list[str]) -> float:
    home = tempfile.mkdtemp(prefix="fixed_costs_prefect_")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        PREFECT_HOME=home,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
    )
    try:
        clock = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        return time.perf_counter() - clock
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; each figure in a fresh process, {args.repeat} runs")
    print("| measurement | " + " | ".join(f"run {i + 1}" for i in range(args.repeat)) + " |")
    print("|---|" + "---|" * args.repeat)
    for name, command in MEASUREMENTS.items():
        runs = [timed(command) for _ in range(args.repeat)]
        print(f"| {name} | " + " | ".join(f"{r:.2f} s" for r in runs) + " |")


if __name__ == "__main__":
    main()
