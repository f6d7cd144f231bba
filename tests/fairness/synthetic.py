"""Generated populations for the audit tests: calibrated risks, outcomes drawn from them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.spec import Fairness

FAIR = Fairness(attributes=["municipality_code", "education", "sex", "age_band"])
EDUCATION = ["basic", "upper_secondary", "tertiary", "unknown"]


def population(n: int, seed: int, municipalities: int = 4) -> pd.DataFrame:
    """One row per person: audit attributes, a calibrated `risk`, the outcome `y` ~ Bernoulli(risk)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "person_id": [f"P{seed:03d}{i:07d}" for i in range(n)],
            "municipality_code": rng.integers(0, municipalities, n) + 700,
            "education": rng.choice(EDUCATION, n),
            "sex": rng.choice(["F", "M"], n),
            "age_band": rng.choice(["65-74", "75-84", "85+"], n),
        }
    )
    frame["risk"] = rng.beta(1.2, 18, n)
    frame["y"] = (rng.random(n) < frame["risk"]).astype(int)
    return frame


def top(frame: pd.DataFrame, k: int) -> np.ndarray:
    """The k persons of highest risk (ties by position), as a boolean mask."""
    return (frame["risk"].rank(ascending=False, method="first") <= k).to_numpy()
