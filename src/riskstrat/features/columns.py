"""The names of the feature, audit and label columns (the features table's public shape)."""

from __future__ import annotations

from riskstrat.spec import AUDIT_ATTRIBUTES, ModelSpec

CONDITIONS = (
    "copd",
    "heart_failure",
    "diabetes",
    "dementia",
    "cancer",
    "stroke",
    "ckd",
    "osteoporosis",
)
AUDIT_COLUMNS = list(AUDIT_ATTRIBUTES)  # carried for the fairness audit, inputs only if a spec says
# The outcome columns of a features table: every label and the window flags.
OUTCOME_COLUMNS = [
    "y_avoidable_admission",
    "y_trilateral",
    "y_new_trilateral",
    "died_in_window",
    "emigrated_in_window",
]
AGE_BANDS = ["<65", "65-74", "75-84", "85+"]  # the audited `age_band`
# The rule baseline's inputs (training) and columns every scoring keeps for it.
RULE_COLUMNS = ("acute_admissions_12m", "age")
# Baseline covariates of the randomised evaluation's balance (besides the team's risk):
# every scoring keeps them for the holdout's rerandomisation and the balance table.
BALANCE_COLUMNS = (
    "age",
    "sex_male",
    "acute_admissions_12m",
    "bed_days_12m",
    "gp_contacts_12m",
    "n_chronic_conditions",
    "charlson_index",
    "hfrs_score",
)
# Social attributes that a spec may use as model inputs (`features.social_inputs`).
SOCIAL_INPUTS = ["living_alone", "education", "income_quintile", "origin", "rurality"]
HOSPITAL_COUNTS = (
    "acute_admissions",
    "planned_admissions",
    "bed_days",
    "ed_visits",
    "outpatient_contacts",
    "avoidable_admissions",
)
GP_COUNTS = ("gp_contacts", "gp_home_visits", "gp_out_of_hours")
MUNICIPAL = [
    "home_care_active",
    "home_care_hours_per_week",
    "home_nursing_active",
    "nursing_home",
    "rehabilitation_active",
    "training_active",
    "acute_team_12m",
    "preventive_home_visit_12m",
    "municipal_services_12m",
    "trilateral_12m",
]


def windows(spec: ModelSpec) -> list[int]:
    """Lookback windows in months; 12 is always computed (baselines and trends use it)."""
    return sorted(set(spec.features.windows_months) | {12})


def feature_groups(spec: ModelSpec, built: bool = True) -> dict[str, list[str]]:
    """Every feature column, by group (all are built; the spec chooses the model inputs).
    With `built=False`, only the lookback windows the spec lists (its model inputs); the
    12-month counts are built in any case (trends and baselines read them)."""
    w = windows(spec) if built else sorted(set(spec.features.windows_months))
    return {
        "demographics": ["age", "sex_male"],
        "hospital": [f"{name}_{m}m" for name in HOSPITAL_COUNTS for m in w]
        + ["days_since_last_admission"],
        "gp": [f"{name}_{m}m" for name in GP_COUNTS for m in w],
        "municipal": list(MUNICIPAL),
        "trajectory": ["acute_admissions_trend", "gp_contacts_trend"],
        "conditions": [f"cond_{c}" for c in CONDITIONS]
        + ["n_chronic_conditions", "charlson_index", "hfrs_score"],
        "medication": ["distinct_atc_12m", "polypharmacy_5", "polypharmacy_10"],
        "social": list(SOCIAL_INPUTS),
    }


def feature_columns(spec: ModelSpec) -> list[str]:
    """The model inputs of `spec`, in order: its feature groups; the social group only when
    the spec says social attributes are inputs (by default they are audited, not used)."""
    groups = feature_groups(spec, built=False)
    chosen = [g for g in groups if g in spec.features.groups and g != "social"]
    if spec.features.social_inputs or "social" in spec.features.groups:
        chosen.append("social")
    return [name for g in chosen for name in groups[g]]


def built_columns(spec: ModelSpec) -> list[str]:
    """Every non-audit feature column the table holds (inputs or not), in order."""
    groups = feature_groups(spec)
    return [name for g, names in groups.items() if g != "social" for name in names]
