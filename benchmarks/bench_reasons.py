"""Per-person contributions: riskstrat's vectorised TreeSHAP beside LightGBM's pred_contrib.

    MLFLOW_TRACKING_URI=sqlite:////path/mlruns/mlflow.db \
    uv run python benchmarks/bench_reasons.py --data DIR --model avoidable_admission@champion --rows 10000

Builds the model's features at the extract date for the first person partition of DIR,
takes the first `--rows` persons of the population, and times both methods on one thread
(in a month's scoring each partition worker has one core). Prints the largest absolute
difference between the two, which should be rounding (about 1e-15).
"""

from __future__ import annotations

import argparse
import platform
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument(
        "--model", nargs="+", default=["avoidable_admission@champion", "trilateral_need@champion"]
    )
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args()

    import numpy as np
    from threadpoolctl import threadpool_limits

    from riskstrat.contract import open_data_dir, read_extract
    from riskstrat.experiment import validated
    from riskstrat.features import build_features
    from riskstrat.features.build import COLUMNS_READ
    from riskstrat.model.treeshap import TreeShap
    from riskstrat.tracking import load_bundle

    threadpool_limits(1)
    report = validated(args.data)
    parts = open_data_dir(args.data).partitions
    extract = read_extract(
        args.data, report.extract_date, parts[0] if parts else None, COLUMNS_READ
    )
    print(f"machine: {platform.machine()}, one thread, {args.rows:,} rows of {args.data}")
    for ref in args.model:
        bundle, info = load_bundle(ref)
        features = build_features(
            extract, bundle.model_spec(), [report.extract_date], with_labels=False
        )
        matrix = bundle.matrix(features.iloc[: args.rows])
        clock = time.perf_counter()
        compiled = TreeShap.compile(bundle.booster)
        compile_s = time.perf_counter() - clock
        if compiled is None:
            print(
                f"{ref} v{info.version}: not covered by TreeShap (categorical splits or deep paths)"
            )
            continue
        clock = time.perf_counter()
        mine = compiled.contributions(matrix)
        mine_s = time.perf_counter() - clock
        clock = time.perf_counter()
        theirs = bundle.booster.predict(matrix, pred_contrib=True, num_threads=1)
        theirs_s = time.perf_counter() - clock
        print(
            f"{ref} v{info.version} ({bundle.booster.num_trees()} trees, {len(matrix):,} rows): "
            f"TreeShap {mine_s:.2f} s (+ compile once {compile_s:.2f} s), pred_contrib {theirs_s:.2f} s, "
            f"{theirs_s / mine_s:.1f}x; largest difference {np.abs(mine - theirs).max():.1e}"
        )


if __name__ == "__main__":
    main()
