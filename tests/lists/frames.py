"""Small hand-made scores, persons and teams for the list tests."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from riskstrat.lists import Team

AS_OF = date(2026, 1, 1)
MUNICIPALITIES = [730, 710, 707, 706]
CLINICS = ["730001", "730002", "710001", "707001", "706001"]


def people(n: int = 400, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(persons, scores) of `n` persons in the four Randers-cluster municipalities."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:05d}" for i in range(n)]
    persons = pd.DataFrame(
        {
            "person_id": pd.Series(ids, dtype="str"),
            "birth_date": pd.to_datetime(rng.integers(-20000, -5000, n), unit="D").astype(
                "datetime64[s]"
            ),
            "sex": rng.choice(["F", "M"], n),
            "municipality_code": rng.choice(MUNICIPALITIES, n),
            "gp_clinic_id": pd.Series(rng.choice(CLINICS, n), dtype="str"),
            "death_date": pd.Series([pd.NaT] * n, dtype="datetime64[s]"),
            "emigration_date": pd.Series([pd.NaT] * n, dtype="datetime64[s]"),
        }
    )
    scores = pd.DataFrame(
        {
            "person_id": pd.Series(ids, dtype="str"),
            "index_date": pd.Timestamp(AS_OF),
            "model_name": "avoidable_admission",
            "model_version": "3",
            "risk": np.round(rng.random(n), 2),
            "tier": rng.choice(["very_high", "high", "elevated", "low"], n),
            "segment": rng.choice(["nursing_home", "multimorbid", "largely_healthy"], n),
            "reason_1": "acute_admissions_12m=3",
            "reason_2": "living_alone=1",
            "reason_3": pd.Series([None] * n, dtype="str"),
        }
    )
    return persons, scores


def team(**changes) -> Team:
    """A valid team (Randers, capacity 25, 70+, Danish) with `changes` applied."""
    raw = {
        "name": "t1",
        "model": "avoidable_admission@champion",
        "catchment": {"municipalities": [730]},
        "capacity": 25,
        "eligibility": {"min_age": 70},
        "language": "da",
    }
    raw.update(changes)
    return Team.model_validate(raw)


NO_OPT_OUTS = pd.DataFrame(
    {"person_id": pd.Series([], dtype="str"), "opt_out_date": pd.Series([], dtype="datetime64[s]")}
)
SCORES_MANIFEST = {
    "model_uri": "models:/avoidable_admission/3",
    "model_version": "3",
    "data_extract_date": "2026-01-01",
}
