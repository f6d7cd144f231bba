"""Rerandomisation of the holdout (`balance_limit`): the accepted draw meets the limit where
the plain randomisation does not, past months re-run to the same draw, draw 0 is the plain
randomisation, every person keeps about the holdout share, and old tables still load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.errors import InputError
from riskstrat.evaluation.assignment import assign_month, draw_key
from riskstrat.evaluation.draws import draw_keys
from riskstrat.evaluation.estimates import balance_table, within_strata_smd
from riskstrat.evaluation.settings import EvaluationError, evaluation_settings
from riskstrat.evaluation_store import read_assignments, store_month
from riskstrat.io import write_parquet_atomic
from tests.evaluation.test_assignment import CAPACITY, MONTHS, candidates

COVARIATES = ["x1", "x2", "x3", "x4"]


def covariates(seed: int = 0, n: int = 400) -> pd.DataFrame:
    """Baseline covariates of every person the candidates can hold (P00000 on): two
    correlated normals, a skewed count and a binary, with a few missing values."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(70, 10, n)
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i:05d}" for i in range(n)],
            "x1": x1,
            "x2": 0.5 * (x1 - 70) / 10 + rng.normal(size=n),
            "x3": rng.poisson(1.5, n).astype(float),
            "x4": rng.integers(0, 2, n).astype(float),
        }
    )
    frame.loc[frame.index[::37], "x3"] = np.nan
    return frame


def limited(limit: float = 0.1, draws: int = 2000, seed: int = 2026):
    return evaluation_settings(
        {
            "design": "holdout",
            "holdout_share": 0.2,
            "seed": seed,
            "balance_limit": limit,
            "max_draws": draws,
        }
    )


def smd_by_hand(table: pd.DataFrame, cov: pd.DataFrame, month: str) -> dict[str, float]:
    """The within-strata SMD of every covariate among `month`'s new persons, recomputed with
    pandas: the size-weighted mean of the strata's differences in means over the pooled SD."""
    new = table[table["month"] == month].merge(cov, on="person_id")
    out = {}
    for name in COVARIATES:
        arms = new.groupby("arm")[name]
        sd = np.sqrt((arms.var().loc["listed"] + arms.var().loc["holdout"]) / 2)
        means = new.groupby(["stratum", "arm"])[name].mean().unstack("arm").dropna()
        sizes = new.groupby("stratum").size().loc[means.index]
        within = ((means["listed"] - means["holdout"]) * sizes).sum() / sizes.sum()
        out[name] = within / sd
    return out


def test_settings_take_a_balance_limit_for_the_holdout_only() -> None:
    settings = limited(0.1, 500)
    assert settings is not None and settings.balance_limit == 0.1 and settings.max_draws == 500
    plain = evaluation_settings({"design": "holdout", "seed": 1})
    assert plain is not None and plain.balance_limit is None and plain.max_draws == 1000
    bad = [
        ({"balance_limit": 0}, "greater than 0"),
        ({"balance_limit": 1.5}, "less than or equal to 1"),
        ({"max_draws": 50}, "max_draws belongs to balance_limit"),
        ({"balance_limit": 0.1, "max_draws": 0}, "greater than or equal to 1"),
        ({"balance_limt": 0.1}, "balance_limt: unknown key"),
    ]
    for extra, message in bad:
        with pytest.raises(EvaluationError, match=message):
            evaluation_settings({"design": "holdout", "seed": 1, **extra})
    with pytest.raises(EvaluationError, match="balance_limit belongs to design holdout"):
        evaluation_settings(
            {
                "design": "stepped_wedge",
                "seed": 1,
                "start_months": {"east": "2025-01"},
                "balance_limit": 0.1,
            }
        )


def test_the_accepted_draw_meets_the_limit_where_the_plain_draw_does_not() -> None:
    cov = covariates()
    plain = assign_month(
        candidates(0),
        None,
        limited(seed=3).model_copy(update={"balance_limit": None}),
        "2025-01",
        CAPACITY,
    )
    before = smd_by_hand(plain.table, cov, "2025-01")
    assert max(abs(v) for v in before.values()) > 0.1  # the plain draw is out of balance
    result = assign_month(candidates(0), None, limited(seed=3), "2025-01", CAPACITY, None, cov)
    after = smd_by_hand(result.table, cov, "2025-01")
    assert result.balance.met and result.balance.draw > 0
    assert max(abs(v) for v in after.values()) < 0.1
    assert max(abs(v) for v in after.values()) == pytest.approx(result.balance.largest_smd)
    assert (result.table["draw"] == result.balance.draw).all()
    # the accepted draw is blocked like draw 0: one in five per block, the smallest key of
    # that draw held out
    base = np.array([draw_key(3, "2025-01", p) for p in result.table["person_id"]], np.uint64)
    draw = result.balance.draw
    key = dict(
        zip(result.table["person_id"], draw_keys(base, range(draw, draw + 1))[0], strict=True)
    )
    for block, rows in result.table.groupby("block"):
        smallest = min(rows["person_id"], key=key.__getitem__)
        assert rows.set_index("person_id").at[smallest, "arm"] == "holdout", block
        assert (rows["arm"] == "holdout").sum() == 1
    # the team still gets its capacity from the listed arm
    for team, cap in CAPACITY.items():
        assert len(result.listed(team)) == cap


def test_without_a_balanced_draw_the_most_balanced_is_kept_and_said(caplog) -> None:
    cov = covariates()
    result = assign_month(candidates(0), None, limited(0.001, 100), "2025-01", CAPACITY, None, cov)
    best = result.balance
    assert best.met is False and best.tried == 100 and best.largest_smd is not None
    found = smd_by_hand(result.table, cov, "2025-01")
    assert max(abs(v) for v in found.values()) == pytest.approx(best.largest_smd)
    assert (result.table["draw"] == best.draw).all()
    assert f"none of 100 draws met the balance limit 0.00; kept draw {best.draw}" in caplog.text
    # no draw among the 100 is better: a limit just above the kept one accepts it first
    above = limited(best.largest_smd + 1e-12, 100)
    again = assign_month(candidates(0), None, above, "2025-01", CAPACITY, None, cov)
    assert again.balance.met and again.balance.draw == best.draw


def test_rerunning_past_months_with_a_limit_reproduces_every_assignment() -> None:
    cov = covariates()
    settings = limited()
    table, results = None, {}
    for k, month in enumerate(MONTHS):
        results[month] = assign_month(candidates(k), table, settings, month, CAPACITY, None, cov)
        table = results[month].table
    assert table is not None
    draws = table.groupby("month")["draw"].unique()
    assert all(len(d) == 1 for d in draws) and (table["draw"] > 0).any()
    for k, month in enumerate(MONTHS):
        again = assign_month(candidates(k), table, settings, month, CAPACITY, None, cov)
        pd.testing.assert_frame_equal(again.month_arms, results[month].month_arms)
        pd.testing.assert_frame_equal(
            again.table, table[table["month"] <= month].reset_index(drop=True)
        )
        # sticky persons keep their arm; only new persons count in the criterion
        found = smd_by_hand(again.table, cov, month)
        assert max(abs(v) for v in found.values()) < 0.1


def test_draw_zero_is_the_plain_randomisation() -> None:
    plain = evaluation_settings({"design": "holdout", "holdout_share": 0.2, "seed": 2026})
    a = assign_month(candidates(0), None, plain, "2025-01", CAPACITY)
    b = assign_month(candidates(0), None, limited(1.0), "2025-01", CAPACITY, None, covariates())
    assert b.balance.draw == 0 and b.balance.met
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.table["draw"] == 0).all()
    keys = draw_keys(np.array([draw_key(1, "m", "p")], np.uint64), range(3))[:, 0]
    assert keys[0] == draw_key(1, "m", "p") and len(set(keys.tolist())) == 3


def test_a_limit_needs_the_covariates() -> None:
    with pytest.raises(InputError, match="needs the candidates' baseline covariates"):
        assign_month(candidates(0), None, limited(), "2025-01", CAPACITY)
    text = covariates().assign(x4="yes")
    with pytest.raises(InputError, match="not numeric: x4"):
        assign_month(candidates(0), None, limited(), "2025-01", CAPACITY, None, text)


def test_the_smd_of_many_draws_is_balance_tables_smd_within_of_each() -> None:
    rng = np.random.default_rng(4)
    n, draws = 60, 5
    x = np.column_stack([rng.normal(size=n), np.where(rng.random(n) < 0.2, np.nan, rng.random(n))])
    stratum = rng.integers(0, 4, n)
    arm = rng.random((draws, n)) < 0.7
    included = rng.random((draws, n)) < 0.8
    many = within_strata_smd(x, arm, stratum, included)
    for d in range(draws):
        frame = pd.DataFrame(
            {
                "arm": np.where(arm[d], "listed", "holdout"),
                "stratum": stratum,
                "a": x[:, 0],
                "b": x[:, 1],
            }
        )[included[d]]
        table = balance_table(frame, ["a", "b"])
        np.testing.assert_allclose(many[d], table["smd_within"], rtol=1e-10, atol=1e-12)


def test_every_person_keeps_about_the_holdout_share() -> None:
    """Over many seeds, each new person is held out about 1 time in 5 (binomial bands),
    also those with the most extreme covariates."""
    frame = candidates(0, 60)
    frame = frame[frame["team"] == "east"]
    cov = covariates(1)
    seeds = 200
    held = pd.Series(0, index=frame["person_id"])
    for seed in range(seeds):
        settings = limited(0.15, 300, seed)
        result = assign_month(frame, None, settings, "2025-01", {"east": 200}, None, cov)
        table = result.table
        held += table.set_index("person_id")["arm"].eq("holdout").reindex(held.index).astype(int)
    share = held / seeds
    band = 4.5 * np.sqrt(0.2 * 0.8 / seeds)
    assert share.between(0.2 - band, 0.2 + band).all(), share.describe()
    assert share.mean() == pytest.approx(0.2, abs=0.01)


def test_old_tables_without_a_draw_column_still_load(tmp_path) -> None:
    plain = evaluation_settings({"design": "holdout", "holdout_share": 0.2, "seed": 2026})
    first = assign_month(candidates(0), None, plain, "2025-01", CAPACITY)
    old = first.table.drop(columns="draw")
    write_parquet_atomic(old, tmp_path / "evaluation" / "assignments.parquet")
    stored = read_assignments(tmp_path)
    assert (stored["draw"] == 0).all() and len(stored) == len(old)
    # a re-run of the stored month is the same month; the next month builds on it
    assert store_month(tmp_path, "2025-01", first).unchanged
    second = assign_month(candidates(1), old, plain, "2025-02", CAPACITY)
    assert store_month(tmp_path, "2025-02", second).persons > 0
    assert (read_assignments(tmp_path)["draw"] == 0).all()
