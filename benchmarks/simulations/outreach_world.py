"""The holdout end to end in the synthetic world, over several seeds: for each seed a
synthetic cluster, every citizen 65+ a candidate of their municipality's team (20 % held
out in blocks within team x risk band), everyone listed contacted, the following year
played with a planted 20 % reduction of the avoidable-admission hazard and without one.
Prints each follow-up's risk ratio with its interval, whether it covers the truth, the
largest within-strata SMD and the minimum detectable effect.

    uv run --frozen python benchmarks/simulations/outreach_world.py [--persons N] [--seeds K]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.evaluation.world import build_world, follow_up, ratio  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    started = time.perf_counter()
    covered = {0.2: 0, 0.0: 0}
    for seed in range(1, args.seeds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            world = build_world(root, args.persons, seed)
            for effect in (0.2, 0.0):
                ev, prevented = follow_up(world, root, effect, f"played-{effect}")
                r = ratio(ev)
                hit = r["ci_low"] < 1 - effect < r["ci_high"]
                covered[effect] += hit
                print(
                    f"seed {seed}, planted {effect:.0%}: {ev.persons['listed']} listed, "
                    f"{ev.persons['holdout']} held out, {prevented} admissions prevented; "
                    f"risk ratio {r['estimate']:.2f} ({r['ci_low']:.2f}-{r['ci_high']:.2f}), "
                    f"covers {1 - effect:.1f}: {hit}; max |SMD within| "
                    f"{ev.balance['smd_within'].abs().max():.3f}; "
                    f"MDE {ev.mde['avoidable_admission']:.0%}",
                    flush=True,
                )
                print(f"  {ev.sentence}", flush=True)
    print(
        f"covered: planted 20 % {covered[0.2]}/{args.seeds}, none {covered[0.0]}/{args.seeds}; "
        f"took {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
