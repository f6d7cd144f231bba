"""One evaluated month in the synthetic world, end to end: a synthetic cluster, each
municipality's team ranking its citizens 65+ by a simple risk score, the holdout drawn,
the teams' feedback played, the following year played with a planted effect, and the
follow-up estimated. Used by tests/evaluation/test_world.py and
benchmarks/simulations/outreach_world.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from riskstrat.evaluation.assignment import assign_month
from riskstrat.evaluation.estimates import Evaluation
from riskstrat.evaluation.outcomes import entries_of, follow_up_frame, window_outcomes
from riskstrat.evaluation.settings import evaluation_settings
from riskstrat.partitions import features_for_data_dir
from riskstrat.spec import load_spec
from riskstrat.synth.generate import generate
from riskstrat.synth.outreach import play_outreach, synthetic_feedback

SPEC = Path(__file__).resolve().parents[2] / "models" / "avoidable_admission.yaml"
MONTH, AS_OF = "2025-01", date(2025, 1, 1)
COVARIATES = ("age", "acute_admissions_12m", "n_chronic_conditions", "hfrs_score")


@dataclass
class World:
    data: Path
    features: pd.DataFrame
    assignments: pd.DataFrame
    feedback: pd.DataFrame


def build_world(root: Path, persons: int, seed: int, share_listed: float = 1.0) -> World:
    """A synthetic cluster whose extract ends on the list month's first day, its candidates'
    features and the month's assignment (every eligible person a candidate, teams taking
    `share_listed` of their candidates)."""
    data = root / "data"
    generate("tiny", seed, data, persons=persons, extract_date=AS_OF, years=3, workers=1)
    spec = load_spec(SPEC)
    features = features_for_data_dir(data, AS_OF, spec, [AS_OF], with_labels=False, workers=1)
    table, on_list = list_year(features, None, seed, MONTH, share_listed)
    feedback = synthetic_feedback(on_list, MONTH, 1.0, seed)
    return World(data, features, table, feedback)


def follow_up(world: World, root: Path, effect: float, name: str) -> tuple[Evaluation, int]:
    """Play the year after the list month with `effect` among the contacted, and estimate."""
    played = root / name
    _, prevented = play_outreach(world.data, played, 12, world.feedback, effect)
    spec = load_spec(SPEC)
    labels = features_for_data_dir(played, date(2026, 1, 1), spec, [AS_OF], workers=1)
    hospital = pd.read_parquet(played / "hospital_contacts")
    window = window_outcomes(entries_of(world.assignments), hospital, 12)
    frame = follow_up_frame(world.assignments, labels, window, world.feedback, COVARIATES)
    return Evaluation(frame, covariates=COVARIATES), prevented


def ratio(ev: Evaluation, outcome: str = "avoidable_admission") -> dict:
    rows = ev.effects[(ev.effects["outcome"] == outcome) & (ev.effects["scale"] == "ratio")]
    return rows.iloc[0].to_dict()


def list_year(
    features: pd.DataFrame,
    previous: pd.DataFrame | None,
    seed: int,
    month: str,
    share_listed: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A year's lists in the world: every person in `features` (citizens 65+ at the month's
    first day) a candidate of their municipality's team, ranked by a simple score, teams
    taking `share_listed` of their candidates, assigned with the real `assign_month` given
    `previous` (the earlier years' table, so arms are sticky; None in the first year).
    Returns (the assignment table so far, the month's on-list persons: person_id, team)."""
    score = (
        0.6 * features["acute_admissions_12m"].clip(upper=3)
        + 0.05 * (features["age"] - 65)
        + 0.2 * features["n_chronic_conditions"]
        + 0.1 * features["hfrs_score"].fillna(0)
    )
    candidates = pd.DataFrame(
        {
            "person_id": features["person_id"].astype(str),
            "team": "team-" + features["municipality_code"].astype(str),
            "score": score,
        }
    ).sort_values(["team", "score", "person_id"], ascending=[True, False, True])
    candidates["rank"] = candidates.groupby("team").cumcount() + 1
    pct = candidates.groupby("team")["score"].rank(pct=True, ascending=False)
    candidates["risk_band"] = np.where(pct <= 0.2, "high", np.where(pct <= 0.5, "middle", "low"))
    sizes = candidates.groupby("team").size()
    capacity = {t: max(1, int(share_listed * 0.8 * n)) for t, n in sizes.items()}
    settings = evaluation_settings({"design": "holdout", "holdout_share": 0.2, "seed": seed})
    assert settings is not None
    result = assign_month(candidates, previous, settings, month, capacity)
    on_list = result.month_arms[result.month_arms["on_list"]]
    return result.table, on_list[["person_id", "team"]].reset_index(drop=True)
