"""What the randomised evaluation adds to a month: the holdout step of composing the lists
and the follow-up (`evaluation/report.*`), timed on the output of `riskstrat demo`.

    uv run python benchmarks/bench_evaluation.py --demo demo-out --month 2026-01

Reads the demo's data, its teams file (with the `evaluation:` block), the month's published
scores and the stored assignments; composes the month's lists without and with the holdout
step (the assignments of earlier months as `previous`), and builds the month's follow-up.
Prints the timings (seconds) and the follow-up's pooled figures, as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

from riskstrat.contract import validated
from riskstrat.contract.reader import read_table
from riskstrat.evaluation.settings import teams_evaluation
from riskstrat.evaluation_store import evaluation_input, read_assignments
from riskstrat.lists import compose_lists, load_teams
from riskstrat.monthly import HoldoutStep, MonthContext, month_evaluation
from riskstrat.runs import RunsLayout
from riskstrat.scores_io import read_scores
from riskstrat.spec import load_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default="demo-out")
    parser.add_argument("--month", default="2026-01")
    args = parser.parse_args()
    demo = Path(args.demo)
    data, runs = demo / "data", RunsLayout(demo / "runs")
    extract_date = validated(data).extract_date
    ctx = MonthContext.of(str(data), args.month, extract_date)
    teams = load_teams(demo / "teams.yaml")
    settings = teams_evaluation(teams)
    assert settings is not None, "the demo's teams file has no evaluation block"
    persons = read_table(data, "persons", extract_date)
    opt_outs = read_table(data, "opt_outs", extract_date)
    models = sorted({t.model_name for t in teams.teams})
    scorings = {m: read_scores(runs.scores(args.month, m)) for m in models}
    timings = {}

    clock = time.perf_counter()
    compose_lists(teams, scorings, persons, opt_outs, args.month, ctx.as_of, {})
    timings["lists_without_holdout_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    capacity = {t.name: t.capacity for t in teams.teams}
    step = HoldoutStep(settings, read_assignments(runs.root), args.month, capacity)
    compose_lists(teams, scorings, persons, opt_outs, args.month, ctx.as_of, {}, holdout=step)
    timings["lists_with_holdout_s"] = time.perf_counter() - clock

    specs = {m: SimpleNamespace(spec=load_spec(f"models/{m}.yaml")) for m in models}
    clock = time.perf_counter()
    found = evaluation_input(runs, ctx, specs, {t.name: t.model_name for t in teams.teams})
    timings["follow_up_inputs_s"] = time.perf_counter() - clock
    figures = {}
    if found is not None:
        clock = time.perf_counter()
        _, figures = month_evaluation(
            settings, args.month, found.months, found.horizon, found.follow_up, 5
        )
        timings["estimates_and_report_s"] = time.perf_counter() - clock
    print(
        json.dumps(
            {"timings": {k: round(v, 2) for k, v in timings.items()}, "figures": figures},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
