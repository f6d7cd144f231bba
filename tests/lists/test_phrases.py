"""Reason phrases: every model input has one in Danish and English, with its value."""

from __future__ import annotations

import pytest

from riskstrat.features import feature_groups
from riskstrat.lists import phrase, reasons_text
from riskstrat.spec import load_spec

WINDOWED = [
    "acute_admissions",
    "planned_admissions",
    "bed_days",
    "ed_visits",
    "outpatient_contacts",
    "avoidable_admissions",
    "gp_contacts",
    "gp_home_visits",
    "gp_out_of_hours",
]
FLAGS = [
    "sex_male",
    "home_care_active",
    "home_nursing_active",
    "nursing_home",
    "rehabilitation_active",
    "training_active",
    "trilateral_12m",
    "cond_copd",
    "cond_heart_failure",
    "cond_diabetes",
    "cond_dementia",
    "cond_cancer",
    "cond_stroke",
    "cond_ckd",
    "cond_osteoporosis",
    "polypharmacy_5",
    "polypharmacy_10",
    "living_alone",
]
NUMBERS = [
    "age",
    "days_since_last_admission",
    "home_care_hours_per_week",
    "acute_team_12m",
    "preventive_home_visit_12m",
    "municipal_services_12m",
    "acute_admissions_trend",
    "gp_contacts_trend",
    "n_chronic_conditions",
    "charlson_index",
    "hfrs_score",
    "distinct_atc_12m",
    "income_quintile",
]
CATEGORIES = {"education": "tertiary", "origin": "danish", "rurality": "5"}
FEATURES = [f"{b}_{w}m" for b in WINDOWED for w in (3, 12, 36)] + FLAGS + NUMBERS + list(CATEGORIES)


def is_phrase(text: str | None) -> bool:
    return bool(text) and "=" not in text and "{" not in text and "_" not in text


@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize("name", FEATURES)
def test_every_feature_has_a_phrase_with_its_value(name: str, language: str) -> None:
    if name in FLAGS:
        assert is_phrase(phrase(f"{name}=1", language)), name
        assert is_phrase(phrase(f"{name}=0", language)), name
        assert phrase(f"{name}=1", language) != phrase(f"{name}=0", language)
        assert not any(
            ch.isdigit() for ch in phrase(f"{name}=1", language).replace("10", "").replace("5", "")
        )
    elif name in CATEGORIES:
        assert is_phrase(phrase(f"{name}={CATEGORIES[name]}", language)), name
    else:
        text = phrase(f"{name}=7", language)
        assert is_phrase(text) and "7" in text, (name, text)
    assert is_phrase(phrase(f"{name}=missing", language)), name


def test_every_input_the_shipped_models_build_has_a_phrase() -> None:
    for spec_file in ("models/avoidable_admission.yaml", "models/trilateral_need.yaml"):
        for names in feature_groups(load_spec(spec_file)).values():
            for name in names:
                for language in ("da", "en"):
                    assert is_phrase(phrase(f"{name}=1", language)), (spec_file, name, language)


def test_examples_read_naturally() -> None:
    assert phrase("acute_admissions_12m=3", "da") == "3 akutte indlæggelser seneste år"
    assert phrase("acute_admissions_12m=3", "en") == "3 acute admissions in the last year"
    assert phrase("acute_admissions_3m=1", "da") == "1 akut indlæggelse seneste 3 mdr."
    assert phrase("home_care_hours_per_week=12", "da") == "hjemmepleje 12 timer/uge"
    assert phrase("home_care_hours_per_week=2.5", "da") == "hjemmepleje 2,5 timer/uge"
    assert phrase("home_care_hours_per_week=2.5", "en") == "home care 2.5 hours/week"
    assert phrase("living_alone=1", "da") == "bor alene"
    assert phrase("sex_male=0", "en") == "female"
    assert phrase("acute_admissions_trend=2", "en") == "+2 acute admissions against the year before"
    assert phrase("gp_contacts_24m=4", "en") == "4 GP contacts in the last 2 years"
    assert phrase("education=basic", "da") == "uddannelse: grundskole"


def test_unknown_and_missing_reasons() -> None:
    assert phrase("new_feature=3", "da") == "new_feature=3"
    assert phrase(None, "da") is None and phrase(float("nan"), "en") is None
    assert reasons_text(["living_alone=1", None, "cond_copd=1"], "en") == "lives alone; COPD"
    assert reasons_text([None, None, None], "da") == ""
