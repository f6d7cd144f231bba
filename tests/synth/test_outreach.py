"""The synthetic world where outreach works: the planted effect acts on exactly the
avoidable admissions of contacted persons from their contact date, and without an effect
the played world is the generator's own world at the later extract date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from riskstrat.errors import InputError
from riskstrat.reference import code_list
from riskstrat.spec import DEFAULT_CODE_LIST
from riskstrat.synth.generate import generate
from riskstrat.synth.outreach import play_outreach, synthetic_feedback

PERSONS, SEED = 3000, 5


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("outreach")
    generate(
        "tiny",
        SEED,
        root / "data",
        persons=PERSONS,
        extract_date=date(2025, 1, 1),
        years=3,
        workers=1,
    )
    persons = pd.read_parquet(root / "data" / "persons")
    old = persons[
        (persons["birth_date"] < pd.Timestamp("1950-01-01").date()) & persons["death_date"].isna()
    ]
    listed = pd.DataFrame(
        {"person_id": old["person_id"], "team": "team-" + old["municipality_code"].astype(str)}
    )
    return root, synthetic_feedback(listed, "2025-01", 0.8, SEED)


def _avoidable(hospital: pd.DataFrame) -> pd.Series:
    prefixes = tuple(code_list(DEFAULT_CODE_LIST)["code_prefix"])
    return (
        (hospital["contact_type"] == "inpatient")
        & hospital["acute"]
        & hospital["action_diagnosis"].astype(str).str.startswith(prefixes)
    )


def test_feedback_is_reproducible_and_follows_the_rate(world) -> None:
    root, feedback = world
    again = synthetic_feedback(
        feedback[["person_id", "team"]].sample(frac=1, random_state=1), "2025-01", 0.8, SEED
    )
    pd.testing.assert_frame_equal(feedback, again)
    assert 0.75 < feedback["contacted"].mean() < 0.85
    days = pd.to_datetime(feedback.loc[feedback["contacted"], "contact_date"])
    assert days.min() >= pd.Timestamp("2025-01-01") and days.max() < pd.Timestamp("2025-01-29")
    assert feedback.loc[~feedback["contacted"], "contact_date"].isna().all()
    with pytest.raises(InputError, match="no contact rate"):
        synthetic_feedback(feedback[["person_id", "team"]], "2025-01", {"x": 0.5}, SEED)


def test_a_full_effect_prevents_every_avoidable_admission_after_contact(world, tmp_path) -> None:
    root, feedback = world
    _, prevented = play_outreach(root / "data", tmp_path / "played", 12, feedback, 1.0)
    hospital = pd.read_parquet(tmp_path / "played" / "hospital_contacts")
    contact = feedback[feedback["contacted"]].set_index("person_id")["contact_date"]
    when = hospital["person_id"].map(contact)
    after = when.notna() & (pd.to_datetime(hospital["start_date"]) >= pd.to_datetime(when))
    assert prevented > 0
    assert not (after & _avoidable(hospital)).any()
    # other acute admissions of the contacted continue, and others' avoidable ones too
    assert (after & hospital["acute"] & ~_avoidable(hospital)).any()
    assert (
        when.isna()
        & _avoidable(hospital)
        & (pd.to_datetime(hospital["start_date"]) >= "2025-01-01")
    ).any()


def test_without_an_effect_the_played_world_is_the_generators(world, tmp_path) -> None:
    root, feedback = world
    _, prevented = play_outreach(root / "data", tmp_path / "played", 12, feedback, 0.0)
    generate(
        "tiny",
        SEED,
        tmp_path / "plain",
        persons=PERSONS,
        extract_date=date(2026, 1, 1),
        years=4,
        workers=1,
    )
    assert prevented == 0
    for table in (
        "persons",
        "hospital_contacts",
        "gp_contacts",
        "municipal_services",
        "prescriptions",
        "opt_outs",
    ):
        played = sorted((tmp_path / "played" / table).iterdir())
        plain = sorted((tmp_path / "plain" / table).iterdir())
        assert [p.read_bytes() for p in played] == [p.read_bytes() for p in plain], table


def test_the_effect_by_segment_and_bad_input(world, tmp_path) -> None:
    root, feedback = world
    with pytest.raises(InputError, match="segment"):
        play_outreach(root / "data", tmp_path / "x", 12, feedback, {"frail": 0.5})
    with pytest.raises(InputError, match="between 0 and 1"):
        play_outreach(root / "data", tmp_path / "x", 12, feedback, 1.5)
    with pytest.raises(InputError, match="not a synthetic data directory"):
        play_outreach(tmp_path, tmp_path / "x", 12, feedback, 0.2)
    assert not (tmp_path / "x").exists()
    segments = feedback.assign(segment="healthy")
    _, prevented = play_outreach(root / "data", tmp_path / "seg", 12, segments, {"frail": 1.0})
    assert prevented == 0  # the effect was planted in another segment only
