"""Learning curve: test AUROC of LightGBM and its baselines as the training set grows.

    uv run python benchmarks/learning_curve.py --data DIR [--spec models/avoidable_admission.yaml]

Trains on random shares of the training persons (all their training index dates), always
evaluated on the same out-of-time test date; prints one row per share with 95% CIs.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--spec", default="models/avoidable_admission.yaml")
    parser.add_argument("--shares", type=float, nargs="*", default=[0.05, 0.1, 0.25, 0.5, 1.0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from riskstrat.experiment import experiment_data
    from riskstrat.features import feature_columns
    from riskstrat.spec import load_spec
    from riskstrat.training import train_model

    spec = load_spec(args.spec)
    data = experiment_data(spec, args.data, workers=args.workers)
    persons = np.sort(data.train["person_id"].unique())
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(persons)
    print(f"{spec.name}: {len(persons):,} training persons, test date {data.dates.test}")
    print("share  persons  rows      LightGBM AUROC (95% CI)   rule AUROC   logistic AUROC")
    for share in args.shares:
        chosen = set(order[: max(50, int(share * len(order)))])
        train = data.train[data.train["person_id"].isin(chosen)]
        result = train_model(
            spec, train, data.validation, data.test, feature_columns(spec), n_boot=100
        )
        m = result.metrics
        print(
            f"{share:5.2f}  {len(chosen):7,}  {len(train):8,}  {m['test_auroc']:.3f} "
            f"({m['test_auroc_ci_low']:.3f}–{m['test_auroc_ci_high']:.3f})    "
            f"{m.get('rule_test_auroc', float('nan')):.3f}        {m.get('logistic_test_auroc', float('nan')):.3f}"
        )


if __name__ == "__main__":
    main()
