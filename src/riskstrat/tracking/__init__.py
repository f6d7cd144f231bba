"""The one package that talks to MLflow; nothing else in riskstrat imports it.

- `store`: where the store is (`tracking_uri`), experiments, MLflow imported quietly and
  its errors turned into `InputError` where they mean bad input;
- `runs`: log a training run (`log_training`) or a run of aggregates (`log_aggregates`),
  find finished runs by tags (`finished_runs`), read a run's metrics, tags and text files;
- `registry`: model versions and references, aliases, version tags, loading a bundle, the
  promotion ledger's runs; plain dataclasses in and out, never MLflow objects;
- `pyfunc`: the MLflow pyfunc wrapper of a model bundle (imports MLflow when imported).

Importing this package does not import MLflow; the first call that needs it does.
"""

from riskstrat.tracking.registry import (
    BUNDLE_ARTIFACT,
    CHALLENGER,
    CHAMPION,
    MODEL_ARTIFACT,
    LedgerRun,
    ModelInfo,
    VersionFacts,
    champion_version,
    ledger_runs,
    load_bundle,
    load_models,
    model_version,
    parse_ref,
    set_alias,
    tag_version,
    version_facts,
)
from riskstrat.tracking.runs import (
    TrainingRecord,
    code_version,
    finished_runs,
    load_run_text,
    log_aggregates,
    log_training,
    numeric_metrics,
    run_metrics,
    run_tags,
    spec_params,
)
from riskstrat.tracking.store import experiment_id, tracking_uri

__all__ = [
    "BUNDLE_ARTIFACT",
    "CHALLENGER",
    "CHAMPION",
    "MODEL_ARTIFACT",
    "LedgerRun",
    "ModelInfo",
    "TrainingRecord",
    "VersionFacts",
    "champion_version",
    "code_version",
    "experiment_id",
    "finished_runs",
    "ledger_runs",
    "load_bundle",
    "load_models",
    "load_run_text",
    "log_aggregates",
    "log_training",
    "model_version",
    "numeric_metrics",
    "parse_ref",
    "run_metrics",
    "run_tags",
    "set_alias",
    "spec_params",
    "tag_version",
    "tracking_uri",
    "version_facts",
]
