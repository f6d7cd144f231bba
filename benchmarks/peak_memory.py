"""Peak memory of a command and all its child processes together, sampled.

    uv run python benchmarks/peak_memory.py -- uv run python benchmarks/bench_features.py --data DIR

Worker pools make the peak of the whole job more than any one process's peak; this polls the
summed resident memory of the process tree every 0.2 s and prints its maximum.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def tree_rss(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            pages = int((proc / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(proc.name))
        rss[int(proc.name)] = pages * 4096
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    proc = subprocess.Popen(args)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.2)
    print(
        f"peak resident memory of the whole process tree: {peak / 2**30:.2f} GiB ({peak / 1e9:.2f} GB)"
    )
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
