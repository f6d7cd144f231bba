"""A publisher in its own process, for the tests of locking and of crashes (`kill -9`).

    python -m tests.publishing_worker ROOT MONTH VARIANT [--slow S] [--crash POINT]
        [--lock-timeout T] [--go FILE]

Publishes a small month (a list and a scores file whose bytes depend on VARIANT) as
ROOT/MONTH through `riskstrat.publishing.publish_month`, which `RunsLayout.publish` calls for
every command (imported alone: a worker starts in a second, not three), and prints the
result as JSON. `--slow S` makes the writer sleep S seconds before writing its files;
`--go FILE` prints "ready" and waits for FILE to exist before publishing (so that several
workers start together); `--crash POINT` kills the process with SIGKILL at a marked point:

- `writing`: after the first file of the new copy is written;
- `before-renames`: when the new copy is complete, before the month is moved aside;
- `between-renames`: after the month is moved aside, before the new copy takes its place;
- `after-renames`: after the new copy is in place, before the previous copy is removed;
- `before-log`: after the publish returned, before the month would be logged to MLflow.

Exit code 2 with the message on stderr for an InputError (a refused lock), as the CLI does.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

POINTS = ("writing", "before-renames", "between-renames", "after-renames", "before-log")


def month_files(variant: str) -> dict[str, bytes]:
    return {
        "lists/t1/target_list.csv": f"rank,person_id\n1,P{variant}\n".encode(),
        "lists/t1/manifest.json": json.dumps({"model": "m@champion", "variant": variant}).encode(),
        "scores/m/scores.parquet": f"scores of variant {variant}".encode(),
    }


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_crash(point: str, slow: float) -> None:
    """Patch the writer so that it sleeps `slow` seconds and dies at `point`."""
    from riskstrat import io, publishing

    write_files = publishing.write_files

    def slow_writer(folder: Path, files: dict[str, bytes]) -> None:
        time.sleep(slow)
        if point == "writing" and files:
            first = dict(sorted(files.items())[:1])
            write_files(folder, first)
            die()
        write_files(folder, files)

    publishing.write_files = slow_writer
    replace, rmtree, calls = os.replace, io.shutil.rmtree, []

    def dying_replace(src, dst):
        calls.append(src)
        if (point, len(calls)) in (("before-renames", 1), ("between-renames", 2)):
            die()
        replace(src, dst)

    def dying_rmtree(path, *args, **kwargs):
        if point == "after-renames" and str(path).endswith(".old"):
            die()
        rmtree(path, *args, **kwargs)

    io.os.replace = dying_replace  # type: ignore[assignment]
    io.shutil.rmtree = dying_rmtree  # type: ignore[assignment]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("month")
    parser.add_argument("variant")
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--crash", choices=POINTS)
    parser.add_argument("--lock-timeout", type=float)
    parser.add_argument("--go")
    args = parser.parse_args()

    from riskstrat.errors import InputError
    from riskstrat.publishing import publish_month

    install_crash(args.crash or "", args.slow)
    if args.go:
        print("ready", flush=True)
        while not Path(args.go).exists():
            time.sleep(0.01)
    record = {"variant": args.variant, "month": args.month}
    try:
        result = publish_month(
            Path(args.root) / args.month,
            month_files(args.variant),
            record,
            lock_timeout=args.lock_timeout,
        )
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.crash == "before-log":
        die()
    print(
        json.dumps(
            {
                "unchanged": result.unchanged,
                "audit_sha256": result.audit_sha256,
                "recovered": list(result.recovered),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
