"""The stepped wedge's estimators checked by simulation: the vectorised closed forms equal
the statsmodels fits a stepped-wedge report makes (strata calendar month × risk band,
errors clustered by team), and over a few hundred simulated wedges the cluster-jackknife
intervals with t on G - 1 degrees of freedom cover the truth and reject a true null at the
nominal rate, where errors that ignore the teams do not."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

from riskstrat.evaluation.estimates import (
    Evaluation,
    clustered_detectable_effect,
    complier_effect,
    itt_difference,
    itt_ratio,
    minimum_detectable_effect,
)
from riskstrat.evaluation.simulation import (
    SteppedWedgeDesign,
    draw_stepped_wedge,
    fe_difference,
    fe_difference_crv3,
    fe_log_ratio,
    fe_log_ratio_crv3,
    operating_characteristics,
    simulate_stepped_wedge,
)

TEAMS = 10


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # the fits here are small (900 x 28): threads only add overhead, and on a shared machine
    # OpenBLAS threads waiting for cores made one statsmodels fit take 0.2 s instead of 0.02 s
    with threadpool_limits(1):
        yield


def _design_of(effect: float, per_month: int, team_sd: float) -> SteppedWedgeDesign:
    return SteppedWedgeDesign(
        starts=np.arange(1, TEAMS + 1),
        band_shares=np.array([0.2, 0.4, 0.4]),
        band_risks=np.array([0.40, 0.30, 0.22]),
        per_month=per_month,
        team_sd=team_sd,
        contact_rate=0.7,
        effect=effect,
    )


def _frame(drawn: dict, i: int) -> pd.DataFrame:
    t = drawn["listed"][i]
    return pd.DataFrame(
        {
            "person_id": [f"P{k}" for k in range(t.size)],
            "arm": np.where(t > 0, "listed", "comparison"),
            "stratum": [f"s{s:02d}" for s in drawn["stratum"]],
            "team": [f"team{k}" for k in drawn["team"]],
            "y": drawn["outcome"][i],
            "contacted": drawn["contacted"][i],
        }
    )


def test_closed_forms_equal_the_statsmodels_fits_of_a_stepped_wedge() -> None:
    drawn = draw_stepped_wedge(_design_of(0.3, 10, 0.3), 2, np.random.default_rng(5))
    y, t, c = drawn["outcome"], drawn["listed"], drawn["contacted"]
    stratum, team = drawn["stratum"], drawn["team"]
    diff, crv1 = fe_difference(y, t, stratum, team)
    crv3 = fe_difference_crv3(y, t, stratum, team)
    log_rr, log_rr_crv1 = fe_log_ratio(y, t, stratum, team)
    log_rr_crv3 = fe_log_ratio_crv3(y, t, stratum, team)
    first, _ = fe_difference(c, t, stratum)
    wald = diff / first
    wald_crv3 = fe_difference_crv3(y - wald[:, None] * c, t, stratum, team) / np.abs(first)
    for i in range(2):
        frame = _frame(drawn, i)
        d, r = itt_difference(frame, "y", "team"), itt_ratio(frame, "y", "team")
        iv = complier_effect(frame, "y", "team")
        assert d is not None and r is not None and iv is not None
        assert diff[i] == pytest.approx(d["estimate"], abs=1e-10)
        assert crv3[i] == pytest.approx(d["se"], rel=1e-8)
        assert log_rr[i] == pytest.approx(r["log_ratio"], abs=1e-8)
        assert log_rr_crv3[i] == pytest.approx(r["se"], rel=1e-6)
        assert wald[i] == pytest.approx(iv["estimate"], abs=1e-10)
        assert wald_crv3[i] == pytest.approx(iv["se"], rel=1e-8)
        # the plain cluster-robust errors (CRV1) too: statsmodels' defaults
        x = np.column_stack([t[i], pd.get_dummies(frame["stratum"], dtype=float).to_numpy()])
        ols = sm.OLS(y[i], x).fit(cov_type="cluster", cov_kwds={"groups": team})
        glm = sm.GLM(y[i], x, family=sm.families.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": team}
        )
        assert crv1[i] == pytest.approx(ols.bse[0], rel=1e-8)
        assert log_rr_crv1[i] == pytest.approx(glm.bse[0], rel=1e-6)
        # the report's interval is t on G - 1 = 9 degrees of freedom around the estimate
        assert d["ci_high"] - d["estimate"] == pytest.approx(2.2621571627 * d["se"], rel=1e-8)
        assert math.log(r["ci_high"]) - r["log_ratio"] == pytest.approx(
            2.2621571627 * r["se"], rel=1e-8
        )


def _bands(replicates: int, share: float) -> tuple[float, float]:
    # four binomial standard errors of the replicate count either side (91.4-98.6 % for
    # coverage at 600 replicates): a fixed seed never flakes, and an error 20 % too small
    # (coverage about 90 % with t on 9 df) falls outside
    half = 4 * math.sqrt(share * (1 - share) / replicates)
    return share - half, share + half


@pytest.mark.parametrize("effect", [0.0, 0.3])
def test_jackknife_intervals_cover_and_reject_at_the_nominal_rate(effect: float) -> None:
    replicates = 600
    rng = np.random.default_rng(21 if effect == 0 else 22)
    results = simulate_stepped_wedge(_design_of(effect, 20, 0.3), replicates, rng)
    jackknife = {
        **results,
        **{k: results[k + "_crv3"] for k in ("difference_se", "log_ratio_se", "complier_se")},
    }
    figures = operating_characteristics(jackknife, df=TEAMS - 1)
    low, high = _bands(replicates, 0.95)
    for name in ("difference", "log_ratio", "complier"):
        assert low <= figures[f"coverage_{name}"] <= high, figures
    if effect == 0:
        low, high = _bands(replicates, 0.05)
        assert low <= figures["rejection"] <= high, figures
        assert low <= figures["rejection_ratio"] <= high, figures
    # CRV1 with normal quantiles (statsmodels' defaults) covers less, outside the band:
    # the band fails an interval too narrow for 10 teams
    plain = operating_characteristics(results)
    assert plain["coverage_difference"] < _bands(replicates, 0.95)[0], plain


def test_one_started_team_falls_back_to_crv1_and_one_team_gives_no_estimate() -> None:
    # three teams, one started before the others: leaving it out leaves no listed person,
    # so the jackknife is undefined and statsmodels' CRV1 with t on 2 df stands in
    design = SteppedWedgeDesign(
        starts=np.array([1, 3, 3]),
        band_shares=np.array([0.5, 0.5]),
        band_risks=np.array([0.4, 0.3]),
        per_month=40,
        months=4,
    )
    drawn = draw_stepped_wedge(design, 1, np.random.default_rng(8))
    frame = _frame(drawn, 0)
    d = itt_difference(frame, "y", "team")
    assert d is not None
    x = np.column_stack([drawn["listed"][0], pd.get_dummies(frame["stratum"], dtype=float)])
    crv1 = sm.OLS(drawn["outcome"][0], x).fit(
        cov_type="cluster", cov_kwds={"groups": drawn["team"]}, use_t=True
    )
    assert d["se"] == pytest.approx(crv1.bse[0], rel=1e-8)
    assert d["ci_high"] == pytest.approx(crv1.conf_int()[0][1], rel=1e-8)
    assert d["ci_high"] - d["estimate"] == pytest.approx(4.30265273 * d["se"], rel=1e-6)
    one_team = frame.assign(team="team0")
    assert itt_difference(one_team, "y", "team") is None
    assert itt_ratio(one_team, "y", "team") is None
    assert complier_effect(one_team, "y", "team") is None
    assert itt_difference(one_team, "y") is not None  # without the cluster: persons


def test_the_wedges_detectable_effect_is_the_one_simulation_finds_not_the_unclustered_one() -> None:
    # the benchmark's wedge (50 persons a team-month, team SD 0.15, everyone contacted)
    # detects a 25 % reduction with 80 % power in 2,000 simulated wedges (BENCHMARKS.md);
    # the report's figure, from one wedge's own jackknife error, must land near it, where
    # the formula for independent persons claims about 14 %
    design = SteppedWedgeDesign(
        starts=np.arange(1, TEAMS + 1),
        band_shares=np.array([0.2, 0.4, 0.4]),
        band_risks=np.array([0.40, 0.30, 0.22]),
        per_month=50,
        team_sd=0.15,
    )
    drawn = draw_stepped_wedge(design, 12, np.random.default_rng(31))
    clustered, independent = [], []
    for i in range(12):
        frame = _frame(drawn, i)
        clustered.append(clustered_detectable_effect(frame, "y", "team"))
        # the report's figure: the same, from the difference its effects table fitted
        report = Evaluation(frame, cluster="team", outcomes={"y": "binary"})
        assert report.mde["y"] == pytest.approx(clustered[-1], rel=1e-12)
        listed = int((frame["arm"] == "listed").sum())
        independent.append(
            minimum_detectable_effect(listed, len(frame) - listed, float(frame["y"].mean()))
        )
    assert None not in clustered and None not in independent
    assert 0.20 < float(np.mean(clustered)) < 0.32
    assert float(np.mean(independent)) < 0.17
