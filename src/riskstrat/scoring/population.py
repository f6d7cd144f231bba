"""A population scored by one or more models at one as-of date: the one scoring path.

`score_partition` runs inside a partition worker: it builds each distinct feature setting
once and scores every model on it, returning one frame with `<model>::<column>` score
columns beside the columns the audits and segment rules read. `split_by_model` turns the
concatenated partitions back into one `ModelScoring` per model. `riskstrat score`,
`riskstrat monthly` and the benchmarks all score this way (`partitions.score_data_dir`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd

from riskstrat.features import AUDIT_COLUMNS, RULE_COLUMNS, build_features
from riskstrat.features.columns import BALANCE_COLUMNS
from riskstrat.model import ModelBundle
from riskstrat.model.inputs import input_bin_counts
from riskstrat.scoring.score import SCORE_COLUMNS, score_population
from riskstrat.spec import ModelSpec, check_expression

_SEPARATOR = "::"


@dataclass(frozen=True)
class LoadedModel:
    """A registered model version as scoring needs it: the bundle, its version and URI."""

    bundle: ModelBundle
    version: str
    uri: str


@dataclass(frozen=True)
class ModelScoring:
    """One model's scoring of a population: scores (person-level, in memory) and provenance."""

    model_name: str
    model_version: str
    model_uri: str
    scores: pd.DataFrame
    manifest: dict
    # the scored population's audit, rule and balance columns (not every input)
    features: pd.DataFrame
    # rows of the scored population per input and training bin (drift), when asked for
    input_bins: pd.DataFrame | None = None

    @property
    def spec(self) -> ModelSpec:
        """The model's spec as registered with it (fairness settings, segments, label)."""
        return ModelSpec.model_validate(self.manifest["spec"])


def scores_manifest(model: LoadedModel, as_of: date, extract_date: date) -> dict:
    """What a scoring's manifest.json says (row count and checksum are added when written)."""
    bundle = model.bundle
    return {
        "model_uri": model.uri,
        "model_name": bundle.model_name,
        "model_version": str(model.version),
        "as_of": as_of.isoformat(),
        "data_extract_date": extract_date.isoformat(),
        "label": bundle.label,
        "horizon_months": bundle.horizon_months,
        "spec": bundle.spec,
    }


def feature_key(spec: ModelSpec) -> str:
    """What a feature table depends on besides the data and date: specs that agree on it
    share one feature build (labels differ by spec and are built separately)."""
    return json.dumps(
        {
            "code_list": spec.code_list,
            "population": spec.population.model_dump(),
            "features": spec.features.model_dump(),
        },
        sort_keys=True,
    )


def rule_columns(spec: ModelSpec) -> set[str]:
    """Feature columns the spec's rules read (fairness need; the rule baseline's inputs)."""
    return check_expression(spec.fairness.need) | set(RULE_COLUMNS)


def features_by_setting(extract, models: list[LoadedModel], as_of: date) -> dict[str, pd.DataFrame]:
    """Each distinct feature setting's table (`feature_key`) of one partition at `as_of`:
    models that agree on it share one build."""
    built: dict[str, pd.DataFrame] = {}
    for model in models:
        spec = model.bundle.model_spec()
        key = feature_key(spec)
        if key not in built:
            built[key] = build_features(extract, spec, [as_of], with_labels=False)
    return built


def score_partition(
    extract, models: list[LoadedModel], as_of: date, input_bins: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """One partition of an extract scored by every model: `person_id`, `index_date`, the
    columns audits and segments read, and `<model>::<score column>` per model (null where a
    person is outside that model's population), and the evaluation's balance covariates
    (`features.columns.BALANCE_COLUMNS`). With `input_bins`, also the rows per model
    input and training bin of the same features (`model.inputs.input_bin_counts`, for drift)."""
    built = features_by_setting(extract, models, as_of)
    keep: set[str] = set(AUDIT_COLUMNS) | set(BALANCE_COLUMNS)
    scored = []
    bins = []
    for model in models:
        spec = model.bundle.model_spec()
        features = built[feature_key(spec)]
        if input_bins:
            bundle = model.bundle
            bins.append(
                input_bin_counts(
                    features, bundle.model_name, bundle.feature_names, bundle.input_summary
                )
            )
        keep |= set(model.bundle.segments.required_columns) | rule_columns(spec)
        scores = score_population(model.bundle, features, model.version).drop(
            columns=["index_date"]
        )
        prefix = f"{model.bundle.model_name}{_SEPARATOR}"
        scored.append(scores.set_index("person_id").add_prefix(prefix))
    everyone = pd.concat(
        [f[["person_id", "index_date", *sorted(keep & set(f.columns))]] for f in built.values()]
    )
    everyone = everyone.drop_duplicates("person_id").set_index("person_id")
    for frame in scored:
        everyone = everyone.join(frame, how="left")
    if input_bins:
        return everyone.reset_index(), pd.concat(bins, ignore_index=True)
    return everyone.reset_index()


def split_by_model(
    table: pd.DataFrame,
    models: list[LoadedModel],
    as_of: date,
    extract_date: date,
    bins: pd.DataFrame | None = None,
) -> dict[str, ModelScoring]:
    """The partitions' concatenated frame as one `ModelScoring` per model: its scores sorted
    by risk (ties by person_id), its population's audit columns and, given the partitions'
    `bins`, its rows per input and training bin summed over the partitions."""
    table = table.sort_values("person_id", kind="stable", ignore_index=True)
    out = {}
    for model in models:
        name = model.bundle.model_name
        prefix = f"{name}{_SEPARATOR}"
        mine = table[table[prefix + "risk"].notna()]
        scores = mine[["person_id", "index_date"]].copy()
        for column in [c for c in table.columns if c.startswith(prefix)]:
            scores[column.removeprefix(prefix)] = mine[column].to_numpy()
        scores = scores[SCORE_COLUMNS].sort_values(
            ["risk", "person_id"], ascending=[False, True], kind="mergesort", ignore_index=True
        )
        features = mine[[c for c in table.columns if _SEPARATOR not in c]].reset_index(drop=True)
        manifest = scores_manifest(model, as_of, extract_date)
        mine_bins = None
        if bins is not None:
            mine_bins = (
                bins[bins["model"] == name]
                .groupby(["model", "feature", "bin"], as_index=False)["n"]
                .sum()
            )
        out[name] = ModelScoring(
            name, str(model.version), model.uri, scores, manifest, features, mine_bins
        )
    return out
