"""Cohorts, leakage-free features and labels as of an index date (interfaces.md, Labels v1).

`build_features(extract, spec, index_dates)` gives one row per person in the spec's
population at each index date: `person_id`, `index_date`, the feature columns (counts over
lookback windows, municipal services active at D, conditions, comorbidity indices,
medication), the audit columns the fairness checks group by, and the label columns.
Features read only rows that start before D; labels only the window [D, D + H months).
"""

from riskstrat.features.build import build_features, candidates, person_positions
from riskstrat.features.columns import (
    AUDIT_COLUMNS,
    CONDITIONS,
    OUTCOME_COLUMNS,
    RULE_COLUMNS,
    feature_columns,
    feature_groups,
)

__all__ = [
    "AUDIT_COLUMNS",
    "CONDITIONS",
    "OUTCOME_COLUMNS",
    "RULE_COLUMNS",
    "build_features",
    "person_positions",
    "candidates",
    "feature_columns",
    "feature_groups",
]
