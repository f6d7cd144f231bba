"""The follow-up's estimates, each recomputed independently from the raw arrays."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from riskstrat.errors import InputError
from riskstrat.evaluation.estimates import (
    Evaluation,
    balance_table,
    complier_effect,
    itt_difference,
    itt_ratio,
    minimum_detectable_effect,
    plain_sentence,
    stratum_effects,
)


def trial(n: int = 3000, effect: float = 0.3, contact: float = 0.7, seed: int = 5) -> pd.DataFrame:
    """Persons in six strata, 20 % held out, risks 0.15-0.45, outreach lowering the risk of
    the contacted by `effect`, days in hospital following admissions."""
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, 6, n)
    arm = np.where(rng.random(n) < 0.2, "holdout", "listed")
    contacted = (arm == "listed") & (rng.random(n) < contact)
    risk = np.array([0.45, 0.3, 0.15, 0.4, 0.25, 0.2])[stratum]
    age = 80 + 3 * stratum + rng.normal(0, 5, n)
    y = rng.random(n) < risk * np.where(contacted, 1 - effect, 1)
    days = np.where(y, rng.poisson(6, n), rng.poisson(0.5, n)).astype(float)
    return pd.DataFrame(
        {
            "person_id": [f"P{i:05d}" for i in range(n)],
            "arm": arm,
            "stratum": [f"team{s % 2}|band{s // 2}" for s in stratum],
            "contacted": contacted.astype(float),
            "avoidable_admission": y.astype(float),
            "death": (rng.random(n) < 0.08).astype(float),
            "hospital_days": days,
            "age": age,
        }
    )


def test_one_stratum_gives_the_plain_difference_and_ratio() -> None:
    frame = trial().assign(stratum="all")
    listed = frame[frame["arm"] == "listed"]["avoidable_admission"]
    held = frame[frame["arm"] == "holdout"]["avoidable_admission"]
    d = itt_difference(frame, "avoidable_admission")
    r = itt_ratio(frame, "avoidable_admission")
    assert d is not None and r is not None
    assert d["estimate"] == pytest.approx(listed.mean() - held.mean(), abs=1e-12)
    # HC1 of a two-group mean difference: the unpooled variances, scaled by n / (n - 2)
    n = len(frame)
    hc0 = listed.var(ddof=0) / len(listed) + held.var(ddof=0) / len(held)
    assert d["se"] == pytest.approx(math.sqrt(hc0 * n / (n - 2)), rel=1e-9)
    assert r["estimate"] == pytest.approx(listed.mean() / held.mean(), rel=1e-9)
    # the robust log-ratio SE of two independent proportions (delta method, HC0)
    se = math.sqrt((1 - listed.mean()) / listed.sum() + (1 - held.mean()) / held.sum())
    assert r["se"] == pytest.approx(se, rel=1e-6)


def test_pooled_ratio_agrees_with_mantel_haenszel() -> None:
    frame = trial()
    tables = []
    for _, g in frame.groupby("stratum"):
        y, t = g["avoidable_admission"], g["arm"] == "listed"
        tables.append(np.array([[y[t].sum(), (1 - y[t]).sum()], [y[~t].sum(), (1 - y[~t]).sum()]]))
    mh = StratifiedTable(tables).riskratio_pooled
    r = itt_ratio(frame, "avoidable_admission")
    assert r is not None
    assert r["estimate"] == pytest.approx(mh, rel=0.01)
    assert r["ci_low"] < 1 - 0.3 * 0.7 < r["ci_high"]


def test_complier_effect_is_the_itt_effect_over_the_contact_rate() -> None:
    frame = trial()
    d = itt_difference(frame, "avoidable_admission")
    c = itt_difference(frame, "contacted")
    iv = complier_effect(frame, "avoidable_admission")
    assert d is not None and c is not None and iv is not None
    assert iv["estimate"] == pytest.approx(d["estimate"] / c["estimate"], rel=1e-12)
    assert iv["contact_listed"] == pytest.approx(
        frame.loc[frame["arm"] == "listed", "contacted"].mean()
    )
    assert iv["contact_holdout"] == 0
    # everyone listed contacted: the complier effect is the ITT effect, with its interval
    full = frame.assign(contacted=(frame["arm"] == "listed").astype(float))
    same = complier_effect(full, "avoidable_admission")
    assert same is not None
    assert same["estimate"] == pytest.approx(d["estimate"], rel=1e-12)
    assert same["se"] == pytest.approx(d["se"], rel=1e-9)
    assert complier_effect(frame.drop(columns="contacted"), "avoidable_admission") is None


def test_stratum_effects_recompute_from_counts() -> None:
    frame = trial()
    table = stratum_effects(frame, "avoidable_admission", "binary").set_index("stratum")
    for stratum, g in frame.groupby("stratum"):
        y, t = g["avoidable_admission"], g["arm"] == "listed"
        row = table.loc[stratum]
        assert row["n_listed"] == t.sum() and row["events_listed"] == y[t].sum()
        assert row["difference"] == pytest.approx(y[t].mean() - y[~t].mean())
        assert row["difference_low"] < row["difference"] < row["difference_high"]
        assert row["ratio"] == pytest.approx(y[t].mean() / y[~t].mean())
    days = stratum_effects(frame, "hospital_days", "count").set_index("stratum")
    g = frame[frame["stratum"] == "team0|band0"]
    t = g["arm"] == "listed"
    expected = stats.ttest_ind(
        g.loc[t, "hospital_days"], g.loc[~t, "hospital_days"], equal_var=False
    )
    low, high = expected.confidence_interval()
    assert days.loc["team0|band0", "difference_low"] == pytest.approx(low)
    assert days.loc["team0|band0", "difference_high"] == pytest.approx(high)


def test_balance_standardised_mean_differences() -> None:
    frame = trial()
    table = balance_table(frame, ["age"]).set_index("covariate")
    t = frame["arm"] == "listed"
    a1, a0 = frame.loc[t, "age"], frame.loc[~t, "age"]
    sd = math.sqrt((a1.var() + a0.var()) / 2)
    assert table.at["age", "smd"] == pytest.approx((a1.mean() - a0.mean()) / sd)
    within = [
        (
            len(g),
            g.loc[g["arm"] == "listed", "age"].mean() - g.loc[g["arm"] != "listed", "age"].mean(),
        )
        for _, g in frame.groupby("stratum")
    ]
    expected = sum(n * d for n, d in within) / sum(n for n, _ in within) / sd
    assert table.at["age", "smd_within"] == pytest.approx(expected)
    assert table.at["age", "balanced"]
    # an imbalanced covariate is flagged
    skewed = frame.assign(age=frame["age"] + np.where(t, 3.0, 0.0))
    assert not balance_table(skewed, ["age"]).iloc[0]["balanced"]


def test_minimum_detectable_effect_by_hand() -> None:
    n1, n0, p0 = 4800, 1200, 0.3
    h = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * math.sqrt(1 / n1 + 1 / n0)
    p1 = math.sin(math.asin(math.sqrt(p0)) - h / 2) ** 2
    assert minimum_detectable_effect(n1, n0, p0) == pytest.approx(1 - p1 / p0, rel=1e-4)
    # the evaluation notes: 10 teams x 50 a month for 12 months, 20 % held out: about 12-14 %
    assert 0.11 < minimum_detectable_effect(n1, n0, 0.35) < 0.16
    assert minimum_detectable_effect(n1, n0, 0.35) < minimum_detectable_effect(400, 100, 0.35)
    d = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * math.sqrt(1 / n1 + 1 / n0)
    assert minimum_detectable_effect(n1, n0, 2.0, "count", sd=4.0) == pytest.approx(
        d * 4 / 2, rel=1e-4
    )
    assert minimum_detectable_effect(1, 1, 0.3) is None
    assert minimum_detectable_effect(20, 5, 0.01) is None  # more than 100 %


def test_plain_sentences() -> None:
    assert plain_sentence({"estimate": 0.8, "ci_low": 0.7, "ci_high": 0.9}, 0.14).startswith(
        "Evidence of a reduction in avoidable admissions: 20 % fewer"
    )
    assert "increase" in plain_sentence({"estimate": 1.2, "ci_low": 1.1, "ci_high": 1.3}, 0.14)
    text = plain_sentence({"estimate": 0.95, "ci_low": 0.8, "ci_high": 1.1}, 0.14)
    assert text.startswith("No evidence of an effect on avoidable admissions so far")
    assert text.endswith("this design can detect a reduction of 14 % or more.")


def test_evaluation_gathers_everything() -> None:
    frame = trial()
    ev = Evaluation(frame, covariates=["age"])
    assert set(ev.effects["outcome"]) == {"avoidable_admission", "death", "hospital_days"}
    assert set(ev.effects["scale"]) == {"difference", "ratio"}
    assert ev.persons == {
        "listed": int((frame["arm"] == "listed").sum()),
        "holdout": int((frame["arm"] == "holdout").sum()),
    }
    assert ev.sentence.startswith("Evidence of a reduction in avoidable admissions")
    assert set(ev.complier["outcome"]) == set(ev.outcomes)
    assert ev.mde["avoidable_admission"] is not None and 0 < ev.mde["avoidable_admission"] < 1
    null = Evaluation(trial(effect=0.0, seed=8))
    assert null.sentence.startswith("No evidence of an effect")
    with pytest.raises(InputError, match="more than once"):
        Evaluation(pd.concat([frame, frame.head(1)]))
    with pytest.raises(InputError, match="none of the outcomes"):
        Evaluation(frame[["person_id", "arm", "stratum"]])
