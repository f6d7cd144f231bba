"""The evaluation report: three formats from one content, small counts hidden with the
figures that would reveal them, no person ids, the same bytes every time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from riskstrat.disclosure import is_small
from riskstrat.evaluation.estimates import Evaluation
from riskstrat.evaluation.report import render_report, report_content
from tests.evaluation.test_estimates import trial


def _with_a_small_stratum() -> pd.DataFrame:
    frame = trial(n=2000, seed=3)
    rng = np.random.default_rng(1)
    small = pd.DataFrame(
        {
            "person_id": [f"S{i:03d}" for i in range(40)],
            "arm": ["holdout"] * 8 + ["listed"] * 32,
            "stratum": "team9|band9",
            "contacted": [0.0] * 8 + [1.0] * 32,
            # 3 events among the 8 held out: a small count
            "avoidable_admission": [1.0] * 3 + [0.0] * 5 + [1.0] * 10 + [0.0] * 22,
            "death": 0.0,
            "hospital_days": rng.poisson(2, 40).astype(float),
            "age": rng.normal(85, 5, 40),
        }
    )
    return pd.concat([frame, small], ignore_index=True)


def test_small_counts_and_their_complements_are_hidden() -> None:
    ev = Evaluation(_with_a_small_stratum(), covariates=["age"])
    content = report_content(ev, {"month": "2026-01"})
    rows = [r for r in content["strata"] if r["outcome"] == "avoidable_admission"]
    mine = next(r for r in rows if r["stratum"] == "team9|band9")
    assert mine["events_holdout"] is None and mine["difference"] is None and mine["ratio"] is None
    assert mine["difference_low"] is None and mine["suppressed"]
    # the hidden count cannot be recovered from the pooled total: another cell is hidden too
    others = [r for r in rows if r is not mine and r["events_holdout"] is None]
    assert others
    for row in content["strata"]:
        for key in ("n_listed", "n_holdout", "events_listed", "events_holdout"):
            if row.get(key) is not None:
                assert not is_small(row[key]), (row, key)
    # the pooled death count of the small stratum is zero, so deaths' pooled row shows
    assert all(r.get("suppressed") is not True for r in content["effects"])


def test_three_formats_one_content_no_person_ids_same_bytes() -> None:
    frame = _with_a_small_stratum()
    ev = Evaluation(frame, covariates=["age"])
    files = render_report(ev, {"month": "2026-01", "design": "holdout"})
    assert set(files) == {"report.json", "report.md", "report.html"}
    content = json.loads(files["report.json"])
    assert content["sentence"] == ev.sentence
    assert ev.sentence.encode() in files["report.md"]
    assert b"<table>" in files["report.html"] and b"By team and risk band" in files["report.md"]
    everything = b"".join(files.values()).decode()
    assert not any(pid in everything for pid in frame["person_id"])
    assert (
        render_report(
            Evaluation(frame, covariates=["age"]), {"month": "2026-01", "design": "holdout"}
        )
        == files
    )


def test_pooled_rows_with_a_small_count_are_hidden() -> None:
    frame = trial(n=400, seed=2)
    frame["death"] = 0.0
    frame.loc[frame.index[:2], "death"] = 1.0  # two deaths in all
    content = report_content(Evaluation(frame), {})
    deaths = [r for r in content["effects"] if r["outcome"] == "death"]
    assert deaths and all(r["suppressed"] and r["estimate"] is None for r in deaths)
    assert content["minimum_detectable_effect"]["death"] is None
    assert not [r for r in content["complier"] if r["outcome"] == "death"]
    # a primary outcome with a small count: the sentence quotes no figure
    few = Evaluation(frame.assign(avoidable_admission=frame["death"]))
    content = report_content(few, {})
    assert content["sentence"].startswith("No estimate of the effect on avoidable admissions yet")
    assert "%" not in content["sentence"]
    assert all(r["events_listed"] is None or not is_small(r["events_listed"]) for r in deaths)


def test_the_context_states_how_persons_were_randomised() -> None:
    from riskstrat.evaluation.report import randomisation_note
    from riskstrat.evaluation.settings import evaluation_settings

    plain = evaluation_settings({"design": "holdout", "holdout_share": 0.25, "seed": 1})
    limited = evaluation_settings({"design": "holdout", "seed": 1, "balance_limit": 0.1})
    assert plain is not None and limited is not None
    assert randomisation_note(plain) == (
        "blocked randomisation within team × risk band (1 of every 4 new candidates to usual care)"
    )
    note = randomisation_note(limited)
    assert "rerandomised until every baseline covariate's within-strata SMD < 0.1" in note
    assert "Morgan & Rubin 2012" in note and "intervals are conservative" in note
    files = render_report(
        Evaluation(_with_a_small_stratum(), covariates=["age"]),
        {"month": "2026-01", "design": "holdout", "randomisation": note},
    )
    assert note in json.loads(files["report.json"])["context"]["randomisation"]
    assert note.encode() in files["report.md"]


def test_the_method_paragraph_names_the_designs_errors() -> None:
    frame = _with_a_small_stratum()
    ev = Evaluation(frame, covariates=["age"])
    holdout = render_report(ev, {"month": "2026-01", "design": "holdout"})
    wedge = render_report(ev, {"month": "2026-01", "design": "stepped_wedge"})
    for name in ("report.md", "report.html"):
        assert b"robust (HC1) errors" in holdout[name] and b"jackknife" not in holdout[name]
        assert b"cluster jackknife over teams" in wedge[name] and b"HC1" not in wedge[name]
        assert b"secondary, with no correction for multiple comparisons" in wedge[name]
        assert b"secondary, with no correction for multiple comparisons" in holdout[name]
