"""score_population: risks, tiers, segments, reasons; bundles that round-trip exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.errors import InputError
from riskstrat.model import ModelBundle
from riskstrat.scoring import format_values, score_population
from tests.training.synthetic import feature_frame, trained

COLUMNS = [
    "person_id",
    "index_date",
    "model_name",
    "model_version",
    "risk",
    "tier",
    "segment",
    "reason_1",
    "reason_2",
    "reason_3",
]


@pytest.fixture(scope="module")
def bundle():
    return trained("nonlinear")[0].bundle


@pytest.fixture(scope="module")
def population():
    return feature_frame(1500, "2024-07-01", seed=40)


def _compact(value) -> str:
    """The reason-code value format, written out plainly."""
    if pd.isna(value):
        return "missing"
    if isinstance(value, str):
        return value
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def test_scores_have_the_contract_columns_and_order(bundle, population):
    scores = score_population(bundle, population, "3")
    assert list(scores.columns) == COLUMNS
    assert len(scores) == len(population) and set(scores["person_id"]) == set(
        population["person_id"]
    )
    assert (scores["model_version"] == "3").all() and (
        scores["model_name"] == bundle.model_name
    ).all()
    expected = scores.sort_values(["risk", "person_id"], ascending=[False, True])
    assert list(scores["person_id"]) == list(expected["person_id"])
    by_person = scores.set_index("person_id").loc[population["person_id"]]
    assert np.array_equal(by_person["risk"].to_numpy(), bundle.predict_risk(population))
    assert list(by_person["tier"]) == list(bundle.segments.tier(bundle.predict_risk(population)))


def test_reasons_are_the_top_positive_contributions_outside_the_lowest_tier(bundle, population):
    scores = score_population(bundle, population, "1").set_index("person_id")
    raised = scores["tier"] != bundle.segments.lowest_tier
    assert raised.any() and (~raised).any()
    assert scores.loc[~raised, ["reason_1", "reason_2", "reason_3"]].isna().all().all()
    rows = population.set_index("person_id").loc[scores.index[raised]]
    contrib = bundle.booster.predict(bundle.matrix(rows), pred_contrib=True)[:, :-1]
    names = list(bundle.feature_names)
    for person, row_contrib in zip(rows.index, contrib, strict=True):
        top = [j for j in np.argsort(-row_contrib, kind="stable")[:3] if row_contrib[j] > 0]
        expected = [f"{names[j]}={_compact(rows.loc[person, names[j]])}" for j in top]
        got = scores.loc[person, ["reason_1", "reason_2", "reason_3"]].dropna().tolist()
        assert got == expected


def test_contributions_are_computed_only_for_rows_outside_the_lowest_tier(
    bundle, population, monkeypatch
):
    calls = []
    predict = bundle.booster.predict

    def spy(data, *args, **kwargs):
        calls.append((len(data), bool(kwargs.get("pred_contrib"))))
        return predict(data, *args, **kwargs)

    monkeypatch.setattr(bundle.booster, "predict", spy)
    scores = score_population(bundle, population, "1")
    raised = int((scores["tier"] != bundle.segments.lowest_tier).sum())
    assert [n for n, contrib in calls if contrib] == [raised]


def test_values_are_written_compactly():
    values = pd.Series([3.0, 2.26, 12.04, np.nan, 0.0, 7.95])
    assert list(format_values(values)) == ["3", "2.3", "12", "missing", "0", "8"]
    levels = pd.Series(pd.Categorical(["basic", None], categories=["basic", "higher"]))
    assert list(format_values(levels)) == ["basic", "missing"]


def test_bundle_round_trip_gives_identical_risks_and_scores(bundle, population, tmp_path):
    bundle.save(tmp_path / "bundle")
    loaded = ModelBundle.load(tmp_path / "bundle")
    assert np.array_equal(loaded.predict_risk(population), bundle.predict_risk(population))
    pd.testing.assert_frame_equal(
        score_population(loaded, population, "2"), score_population(bundle, population, "2")
    )
    assert loaded.segments == bundle.segments and loaded.index_dates == bundle.index_dates
    assert loaded.spec == bundle.spec and loaded.model_spec().name == bundle.model_name


def test_unseen_category_levels_score_as_missing(bundle, population):
    odd = population.assign(education=pd.Categorical(["unheard_of"] * len(population)))
    missing = population.assign(
        education=pd.Categorical([None] * len(population), categories=["basic"])
    )
    assert np.array_equal(bundle.predict_risk(odd), bundle.predict_risk(missing))


def test_input_example_is_synthetic_and_scores(bundle):
    example = bundle.input_example()
    assert list(example.columns) == list(bundle.feature_names) and len(example) == 3
    train = trained("nonlinear")[1][0]
    assert example["age"].tolist() == [
        int(round(q)) for q in train["age"].quantile([0.25, 0.5, 0.75])
    ]
    assert (example["education"] == train["education"].mode()[0]).all()
    assert np.isfinite(bundle.predict_risk(example)).all()


def test_missing_inputs_are_a_clear_error(bundle, population):
    with pytest.raises(InputError, match="hfrs_score"):
        score_population(bundle, population.drop(columns="hfrs_score"), "1")


def test_an_empty_population_gives_an_empty_table(bundle, population):
    scores = score_population(bundle, population.iloc[:0], "1")
    assert list(scores.columns) == COLUMNS and len(scores) == 0
