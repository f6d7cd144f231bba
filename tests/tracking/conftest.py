"""Trained models shared by the tracking tests (trained once per session, in memory)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.training.synthetic import FEATURES, design, small_spec


@dataclass(frozen=True)
class Trained:
    spec: object
    good: object  # TrainingResult: nonlinear signal, every input
    worse: object  # TrainingResult: two inputs only, on the same rows
    person_ids: frozenset[str]  # every person id in the training, validation and test frames


@pytest.fixture(scope="session")
def trained_models() -> Trained:
    from riskstrat.training import train_model

    train, validation, test = design(3000, signal="nonlinear", seed=3)
    spec = small_spec()
    good = train_model(spec, train, validation, test, FEATURES, n_boot=30)
    worse = train_model(spec, train, validation, test, ["age", "sex_male"], n_boot=30)
    ids = frozenset(str(i) for frame in (train, validation, test) for i in frame["person_id"])
    return Trained(spec, good, worse, ids)
