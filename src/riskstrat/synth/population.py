"""Who lives in the synthetic cluster: persons and their attributes on the history's first day.

Attributes follow params.yaml's `population` block (age pyramid tilted older in rural
municipalities, sex, origin, education, income quintile, living alone, GP clinic). The
social disadvantage score that drives disease and admissions is derived here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskstrat.contract.tables import EDUCATION as CONTRACT_EDUCATION
from riskstrat.contract.tables import ORIGIN as CONTRACT_ORIGIN

# the contract's vocabularies, in its order (the generator draws indices into them)
EDUCATION = np.array(CONTRACT_EDUCATION, dtype=object)
ORIGIN = np.array(CONTRACT_ORIGIN, dtype=object)
RANDERS_CLUSTER = (730, 710, 707, 706)


@dataclass
class Persons:
    """One chunk of persons as parallel arrays (index = position in the chunk)."""

    person_id: np.ndarray  # str
    age0: np.ndarray  # age in years (float) on the history's first day
    male: np.ndarray  # bool
    municipality: np.ndarray  # int
    group: np.ndarray  # DST municipality group 1..5
    region_code: np.ndarray  # int
    clinic: np.ndarray  # str
    education: np.ndarray  # index into EDUCATION, -1 = null
    income_quintile: np.ndarray  # 1..5, 0 = null
    origin: np.ndarray  # index into ORIGIN
    alone: np.ndarray  # bool
    disadvantage: np.ndarray  # float

    def __len__(self) -> int:
        return len(self.person_id)


def municipality_weights(municipalities: pd.DataFrame, codes: list[int] | None) -> pd.DataFrame:
    """The profile's municipalities with their population weights."""
    table = (
        municipalities
        if codes is None
        else municipalities[municipalities["municipality_code"].isin(codes)]
    )
    table = table.sort_values("municipality_code").reset_index(drop=True)
    return table.assign(weight=table["population"] / table["population"].sum())


def clinics_per_municipality(weights: pd.DataFrame, n_persons: int, per_clinic: int) -> dict:
    """Clinic ids (`<kommunekode><nn>`, six digits like a ydernummer) per municipality."""
    out = {}
    for code, w in zip(weights["municipality_code"], weights["weight"], strict=True):
        n = max(1, int(round(w * n_persons / per_clinic)))
        out[int(code)] = np.array(
            [f"{int(code):03d}{k:03d}" for k in range(1, n + 1)], dtype=object
        )
    return out


def draw_persons(
    p: dict,
    weights: pd.DataFrame,
    clinics: dict,
    income_cuts: np.ndarray,
    first_index: int,
    n: int,
    rng: np.random.Generator,
    id_width: int,
) -> Persons:
    """Draw one chunk of `n` persons on the history's first day, with ids `P<number>` from
    `first_index` (zero-padded to `id_width` digits): municipality by population `weights`,
    then age, sex, origin, living alone, education, national income quintile (`income_cuts`,
    from `national_income_cuts`), GP clinic (from `clinics`) and the social disadvantage
    score, following the `population` and `social` blocks of the parameters `p`."""
    pop = p["population"]
    idx = rng.choice(len(weights), size=n, p=weights["weight"].to_numpy())
    municipality = weights["municipality_code"].to_numpy()[idx].astype(np.int64)
    group = weights["rurality"].to_numpy()[idx].astype(np.int64)
    region = weights["region_code"].to_numpy()[idx].astype(np.int64)
    in_cluster = np.isin(municipality, RANDERS_CLUSTER)
    age0 = _draw_ages(pop, group, in_cluster, rng)
    male = rng.random(n) < np.interp(age0, pop["male_share_ages"], pop["male_share"])
    origin = _draw_origin(pop, age0, group, rng)
    alone = _draw_alone(pop, age0, male, rng)
    education = _draw_education(pop, age0, group, origin, rng)
    latent = income_latent(pop, education, origin, group, alone, rng)
    quintile = (np.searchsorted(income_cuts, latent) + 1).astype(np.int64)
    quintile[age0 < 18] = 0  # children: no own income quintile (null)
    clinic = np.empty(n, dtype=object)
    for code in np.unique(municipality):
        rows = np.flatnonzero(municipality == code)
        options = clinics[int(code)]
        clinic[rows] = options[rng.integers(0, len(options), size=rows.size)]
    person_id = np.array(
        [f"P{i:0{id_width}d}" for i in range(first_index, first_index + n)], dtype=object
    )
    persons = Persons(
        person_id=person_id,
        age0=age0,
        male=male,
        municipality=municipality,
        group=group,
        region_code=region,
        clinic=clinic,
        education=education,
        income_quintile=quintile,
        origin=origin,
        alone=alone,
        disadvantage=np.zeros(n),
    )
    persons.disadvantage = disadvantage(p["social"], persons)
    return persons


def _draw_ages(pop: dict, group: np.ndarray, in_cluster: np.ndarray, rng) -> np.ndarray:
    bands = np.asarray(pop["age_bands"], dtype=float)
    base = np.asarray(pop["age_thousands"], dtype=float)
    old = bands >= 65
    ages = np.empty(group.size)
    for g in np.unique(group):
        for cluster in (False, True):
            rows = np.flatnonzero((group == g) & (in_cluster == cluster))
            if not rows.size:
                continue
            tilt = pop["old_age_tilt"] * (g - 3) + (
                pop["old_age_extra_randers_cluster"] if cluster else 0
            )
            w = base * np.where(old, np.exp(tilt), 1.0)
            band = rng.choice(len(bands), size=rows.size, p=w / w.sum())
            ages[rows] = bands[band] + rng.random(rows.size) * 5
    return ages


def _draw_origin(pop: dict, age: np.ndarray, group: np.ndarray, rng) -> np.ndarray:
    ages = pop["origin_ages"]
    factor = np.asarray(pop["immigrant_by_group"])[group - 1]
    shares = np.stack([np.interp(age, ages, pop[name]) * factor for name in ORIGIN[1:]], axis=1)
    shares = np.minimum(shares, 0.9 / max(1, shares.shape[1]))
    cum = np.cumsum(shares, axis=1)
    below = (rng.random(age.size)[:, None] >= cum).sum(axis=1)
    return np.where(below < shares.shape[1], below + 1, 0).astype(np.int64)


def _draw_alone(pop: dict, age: np.ndarray, male: np.ndarray, rng) -> np.ndarray:
    share = np.interp(age, pop["alone_ages"], pop["alone_share"])
    share = share + np.where((~male) & (age >= 80), pop["alone_female_extra_80plus"], 0.0)
    return rng.random(age.size) < share


def _draw_education(pop: dict, age: np.ndarray, group: np.ndarray, origin: np.ndarray, rng):
    ages = pop["education_ages"]
    basic = np.interp(age, ages, pop["education_basic"])
    upper = np.interp(age, ages, pop["education_upper_secondary"])
    tertiary = np.interp(age, ages, pop["education_tertiary"])
    shift = pop["education_tertiary_shift_per_group"] * (group - 3)
    tertiary = np.clip(tertiary + shift, 0.02, None)
    basic = np.clip(basic - shift, 0.02, None)
    unknown = np.clip(1 - basic - upper - tertiary, 0.0, None)
    probs = np.stack([basic, upper, tertiary, unknown], axis=1)
    non_western = np.isin(origin, (2, 4))
    probs[non_western] *= 1 - pop["non_western_unknown_education"]
    probs[non_western, 3] += pop["non_western_unknown_education"]
    probs /= probs.sum(axis=1, keepdims=True)
    u = rng.random(age.size)[:, None]
    education = (u >= np.cumsum(probs, axis=1)).sum(axis=1).clip(0, 3).astype(np.int64)
    education[age < 18] = -1
    return education


def income_latent(pop, education, origin, group, alone, rng) -> np.ndarray:
    """Each person's latent income score (higher = richer), whose national quintiles are the
    income quintiles: effects of education, non-western origin, municipality group and
    living alone from the `population` parameters `pop`, plus standard normal noise."""
    effect = pop["income_education_effect"]
    edu = np.array([effect[e] for e in EDUCATION] + [0.0])[education]  # -1 (child) -> 0.0
    return (
        edu
        + pop["income_non_western_effect"] * np.isin(origin, (2, 4))
        + pop["income_group_effect"] * (group - 3)
        + pop["income_alone_effect"] * alone
        + rng.normal(size=education.size)
    )


def disadvantage(social: dict, persons: Persons) -> np.ndarray:
    """Each person's social disadvantage score (higher = more disadvantaged), the sum of the
    `social` parameters' effects of education, origin, income quintile below the middle,
    living alone and municipality group towards rural; it drives disease and admissions."""
    edu = np.array([social["education"][e] for e in EDUCATION] + [0.0])[persons.education]
    origin = np.array([social["origin"][o] for o in ORIGIN])[persons.origin]
    quintile = np.where(persons.income_quintile > 0, 3 - persons.income_quintile, 0)
    return (
        edu
        + origin
        + social["per_income_quintile_below_3"] * quintile
        + social["living_alone"] * persons.alone
        + social["per_group_towards_rural"] * (persons.group - 3)
    )


def national_income_cuts(p: dict, municipalities: pd.DataFrame) -> np.ndarray:
    """Quintile cut-points of the income score in a fixed national reference sample, so that
    quintiles are national ones whatever the profile (a rural cluster has more in the lowest)."""
    rng = np.random.default_rng(20210101)
    weights = municipality_weights(municipalities, None)
    n = 200_000
    pop = p["population"]
    idx = rng.choice(len(weights), size=n, p=weights["weight"].to_numpy())
    group = weights["rurality"].to_numpy()[idx].astype(np.int64)
    in_cluster = np.isin(weights["municipality_code"].to_numpy()[idx], RANDERS_CLUSTER)
    age = _draw_ages(pop, group, in_cluster, rng)
    male = rng.random(n) < 0.5
    origin = _draw_origin(pop, age, group, rng)
    alone = _draw_alone(pop, age, male, rng)
    education = _draw_education(pop, age, group, origin, rng)
    latent = income_latent(pop, education, origin, group, alone, rng)
    return np.quantile(latent[age >= 18], [0.2, 0.4, 0.6, 0.8])
