"""Complementary suppression across what a month publishes: its MLflow counts per model, tier
and municipality (`month_aggregates`) beside `fairness/groups.json` (the top-tier audit's
persons and selected per municipality). An attacker who reads both and subtracts must not
recover a small cell that either hides.

The attacker here is written out by hand, independent of `riskstrat.disclosure`: the sums
that tie the two outputs together, solved by substitution until nothing more follows. It
knows every figure both outputs show; a count MLflow leaves out may be zero or hidden, which
it cannot tell (the engine assumes it can: it protects against a stronger attacker).

The promise is about small cells (1 to min_cell - 1): a larger count hidden only as a
complement may follow from the other output where no small cell follows with it."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd

from riskstrat.disclosure import suppressed_counts
from riskstrat.lists import Teams
from riskstrat.monthly import MonthContext, month_aggregates, month_fairness
from riskstrat.scoring.population import ModelScoring
from riskstrat.spec import load_spec

TIERS = ["very_high", "high", "elevated", "low"]
UPPER = TIERS[:-1]
CODES = ["730", "710", "707", "706"]


def _scoring(cells: dict[tuple[str, str], int], seed: int = 0) -> ModelScoring:
    """A model's scoring of persons with `cells[(municipality, tier)]` persons each."""
    rng = np.random.default_rng(seed)
    keys = [key for key, n in cells.items() for _ in range(n)]
    n = len(keys)
    features = pd.DataFrame(
        {
            "person_id": [f"Q{i:06d}" for i in range(n)],
            "municipality_code": [int(code) for code, _ in keys],
            "sex": rng.choice(["F", "M"], n),
            "acute_admissions_12m": rng.integers(0, 2, n),
        }
    )
    scores = pd.DataFrame(
        {"person_id": features["person_id"], "tier": [t for _, t in keys], "segment": "any"}
    )
    spec = load_spec(
        "models/avoidable_admission.yaml",
        ["fairness.attributes=[municipality_code, sex]", "fairness.intersections=[]"],
    )
    manifest = {"spec": spec.model_dump(mode="json")}
    return ModelScoring("m", "1", "models:/m/1", scores, manifest, features)


def _month(scoring: ModelScoring) -> tuple[list[dict], dict[str, float], dict]:
    """(the groups.json records of the model's top tiers, its MLflow metrics, top-tier audits)."""
    ctx = MonthContext("data", "2025-01", date(2025, 1, 1), date(2025, 3, 1))
    teams = Teams.model_validate(
        {
            "teams": [
                {
                    "name": "other",
                    "model": "other@champion",
                    "catchment": {"municipalities": [730]},
                    "capacity": 5,
                }
            ]
        }
    )
    clinics = pd.DataFrame({"person_id": scoring.features["person_id"], "gp_clinic_id": "C1"})
    files, _, top_tiers = month_fairness(ctx, teams, {"m": scoring}, {}, clinics)
    groups = json.loads(files["fairness/groups.json"])
    records = [r for r in groups if r["scope"] == "m: top tiers"]
    return records, month_aggregates({"m": scoring}, top_tiers), top_tiers


def _truth(cells: dict[tuple[str, str], int], scoring: ModelScoring) -> dict[tuple, int]:
    """Every quantity either output publishes or hides, by name."""
    truth: dict[tuple, int] = {("c", t, g): cells.get((g, t), 0) for t in TIERS for g in CODES}
    persons = scoring.features.merge(scoring.scores, on="person_id")
    selected = persons["tier"] != "low"
    truth[("n", "overall", "all")] = len(persons)
    truth[("s", "overall", "all")] = int(selected.sum())
    for attribute in ("municipality_code", "sex"):
        labels = persons[attribute].astype(str)
        for group in labels.unique():
            inside = labels == group
            truth[("n", attribute, group)] = int(inside.sum())
            truth[("s", attribute, group)] = int((inside & selected).sum())
    return truth


def _relations(truth: dict[tuple, int]) -> list[tuple[tuple, list[tuple]]]:
    """(total, parts) for every sum an attacker can use across the two outputs."""
    out = [(("n", "overall", "all"), [("c", t, g) for t in TIERS for g in CODES])]
    out.append((("s", "overall", "all"), [("c", t, g) for t in UPPER for g in CODES]))
    for g in CODES:
        n, s = ("n", "municipality_code", g), ("s", "municipality_code", g)
        if n in truth:
            out += [(n, [("c", t, g) for t in TIERS]), (s, [("c", t, g) for t in UPPER])]
            out.append((n, [s, ("c", "low", g)]))
    for q in ("n", "s"):
        for attribute in ("municipality_code", "sex"):
            parts = [k for k in truth if k[0] == q and k[1] == attribute]
            out.append(((q, "overall", "all"), parts))
    return out


def _published(records: list[dict], metrics: dict[str, float], truth) -> dict[tuple, int]:
    """What a reader of both outputs knows without subtracting."""
    known: dict[tuple, int] = {}
    for name, value in metrics.items():
        _, tier, *code = name.split(".")
        known[("n", "overall", "all") if tier == "scored" else ("c", tier, *code)] = int(value)
    for r in records:
        for q, figure in (("n", "n"), ("s", "selected")):
            if r[figure] is not None:
                known[(q, r["attribute"], r["group"])] = int(r[figure])
    return known


def _attack(known: dict[tuple, int], relations) -> dict[tuple, int]:
    """Everything that follows from `known` by subtraction over `relations`."""
    known = dict(known)
    progress = True
    while progress:
        progress = False
        for total, parts in relations:
            terms = [total, *parts]
            missing = [k for k in terms if k not in known]
            if len(missing) != 1:
                continue
            rest = sum(known[p] for p in parts if p in known)
            known[missing[0]] = known[total] - rest if missing[0] != total else rest
            progress = True
    return known


def _small_cells_recovered(cells, records, metrics) -> list[tuple]:
    scoring = _scoring(cells)
    truth = _truth(cells, scoring)
    known = _published(records, metrics, truth)
    recovered = _attack(known, _relations(truth))
    for k, v in recovered.items():
        assert truth[k] == v, (k, v, truth[k])  # the attacker's arithmetic is right
    hidden = [k for k in truth if k not in known]
    return [k for k in hidden if 0 < truth[k] < 5 and k in recovered]


# 20 high and 4 low in Randers: the low count is small; Norddjurs selects 3 (small too)
CELLS = {
    ("730", "very_high"): 6,
    ("730", "high"): 20,
    ("730", "elevated"): 10,
    ("730", "low"): 4,
    ("710", "elevated"): 3,
    ("710", "low"): 30,
    ("707", "high"): 7,
    ("707", "elevated"): 12,
    ("707", "low"): 25,
    ("706", "very_high"): 5,
    ("706", "elevated"): 9,
    ("706", "low"): 40,
}


def test_outputs_suppressed_each_on_its_own_give_a_small_cell_away() -> None:
    """The attack: the MLflow counts as suppressed before (against their total only)
    beside the published groups.json recover a hidden small cell by subtraction."""
    scoring = _scoring(CELLS)
    records, _, _ = _month(scoring)
    persons = scoring.features.merge(scoring.scores, on="person_id")
    alone = suppressed_counts(persons, ["tier", "municipality_code"], 5)
    metrics = {f"m.{t}.{g}": float(n) for (t, g), n in alone.cells.items()}
    metrics["m.scored"] = float(alone.total or 0)
    assert _small_cells_recovered(CELLS, records, metrics)


def test_no_small_cell_of_either_output_can_be_recovered_from_the_other() -> None:
    scoring = _scoring(CELLS)
    records, metrics, _ = _month(scoring)
    assert not _small_cells_recovered(CELLS, records, metrics)
    assert "m.low.730" not in metrics and metrics["m.scored"] == sum(CELLS.values())


def test_no_small_cell_is_recovered_in_random_months() -> None:
    rng = np.random.default_rng(14)
    for _ in range(25):
        cells = {
            (g, t): int(rng.choice([0, 1, 2, 3, 4, 6, 9, 15, 40])) for g in CODES for t in TIERS
        }
        cells = {k: v for k, v in cells.items() if v}
        records, metrics, _ = _month(_scoring(cells))
        assert not _small_cells_recovered(cells, records, metrics), cells
