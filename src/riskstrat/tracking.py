"""The one module that talks to MLflow: experiment runs, the model registry, aliases.

Default store: SQLite at `./mlruns/mlflow.db` with artifacts beside it in
`./mlruns/artifacts` (any `MLFLOW_TRACKING_URI` works instead, e.g. a `mlflow server`).
Only aggregates go in: parameters, metrics, tags, figures and tables of aggregates, the
model card, the segment scheme and the model bundle. A model's input example is the
bundle's synthetic row, never a person's.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from riskstrat.errors import InputError

if TYPE_CHECKING:
    from riskstrat.scoring import ModelBundle
    from riskstrat.spec import ModelSpec
    from riskstrat.training import TrainingResult

CHALLENGER, CHAMPION = "challenger", "champion"
MODEL_ARTIFACT = "model"
_QUIET = ("mlflow", "alembic", "urllib3")


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI`, else SQLite under `./mlruns/` (`RISKSTRAT_HOME` if set)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    root = Path(os.environ.get("RISKSTRAT_HOME", ".")).resolve() / "mlruns"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def _artifact_root(uri: str) -> str | None:
    """Artifacts beside a local SQLite store (else the server decides)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
    return None


def _mlflow():
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow.*")
    warnings.filterwarnings("ignore", message=".*Operation with range is deprecated.*")
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow


def client():
    mlflow = _mlflow()
    return mlflow.MlflowClient(tracking_uri=tracking_uri(), registry_uri=tracking_uri())


def experiment_id(name: str) -> str:
    mlflow = _mlflow()
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    root = _artifact_root(tracking_uri())
    location = f"{root}/{name}" if root else None
    return mlflow.create_experiment(name, artifact_location=location)


@dataclass(frozen=True)
class TrainingRecord:
    run_id: str
    model_name: str
    version: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    uri: str
    run_id: str
    tags: dict[str, str] = field(default_factory=dict)


def code_version() -> str:
    """`git describe` of the working tree when available, else the package version."""
    from riskstrat import __version__

    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
            timeout=5, cwd=Path(__file__).parent, check=True,
        )  # fmt: skip
        return f"{__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = json.dumps(value) if isinstance(value, list | tuple) else value


def spec_params(spec: ModelSpec) -> dict[str, str]:
    flat: dict = {}
    _flatten("", spec.model_dump(mode="json", exclude={"description"}), flat)
    return {k: str(v)[:6000] for k, v in flat.items()}


def champion_comparison(result: TrainingResult, name: str) -> tuple[dict[str, float], str | None]:
    """The current champion's metrics on this run's test data (same rows, same bootstrap)."""
    try:
        bundle, info = load_bundle(f"{name}@{CHAMPION}")
    except InputError:
        return {}, None
    metrics = result.evaluate_on(bundle)
    keep = {k: v for k, v in metrics.items() if k.startswith("test_") and "gain_over" not in k}
    return {f"champion_{k}": float(v) for k, v in keep.items()}, info.version


def log_training(
    result: TrainingResult,
    spec: ModelSpec,
    *,
    data_fingerprint: str,
    extract_date: date,
    data_description: str = "",
    audit: dict | None = None,
    run_name: str | None = None,
) -> TrainingRecord:
    """One MLflow run for one experiment; registers the model with alias `challenger`."""
    mlflow = _mlflow()
    from mlflow.models import infer_signature

    from riskstrat.scoring import RiskModel

    champion, champion_version = champion_comparison(result, spec.name)
    metrics = {k: float(v) for k, v in result.metrics.items() if v is not None}
    metrics.update(champion)
    tags = {
        "spec_hash": spec.fingerprint(),
        "code_version": code_version(),
        "data_extract_date": extract_date.isoformat(),
        "data_fingerprint": data_fingerprint,
        "label": spec.label,
        "code_list": spec.code_list,
        "beats_baselines": str(bool(result.beats_baselines)).lower(),
        "champion_version_compared": champion_version or "none",
    }
    if audit is not None:
        tags["fairness_passed"] = str(bool(audit.get("passed"))).lower()
    mlflow.set_experiment(experiment_id=experiment_id(spec.name))
    with mlflow.start_run(run_name=run_name or f"{spec.name}-{extract_date}") as run, \
            tempfile.TemporaryDirectory() as tmp:  # fmt: skip
        mlflow.log_params(spec_params(spec))
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        folder = Path(tmp)
        for name, payload in result.figures.items():
            (folder / "figures").mkdir(exist_ok=True)
            (folder / "figures" / name).write_bytes(payload)
        for name, table in result.tables.items():
            (folder / "tables").mkdir(exist_ok=True)
            table.to_csv(folder / "tables" / name, index=False)
        (folder / "model_card.md").write_text(result.model_card, encoding="utf-8")
        (folder / "segments.json").write_text(
            json.dumps(result.bundle.segments.to_dict(), indent=2, sort_keys=True), encoding="utf-8"
        )
        (folder / "spec.yaml").write_text(
            yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
        if audit is not None:
            (folder / "fairness.json").write_text(json.dumps(audit, indent=2, sort_keys=True, default=str))
        mlflow.log_artifacts(str(folder))
        bundle_dir = folder / "bundle"
        result.bundle.save(bundle_dir)
        example = result.bundle.input_example()
        signature = infer_signature(example, result.bundle.predict_risk(example))
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT, python_model=RiskModel(), artifacts={"bundle": str(bundle_dir)},
            signature=signature, input_example=example,
        )  # fmt: skip
        run_id = run.info.run_id
    c = client()
    try:
        c.get_registered_model(spec.name)
    except Exception:  # noqa: BLE001 - MLflow raises its own RestException subclasses
        c.create_registered_model(spec.name, description=spec.description.strip() or None)
    # model_id links the logged model (models:/m-<id>): a tracking server's REST registry
    # refuses the source without it
    version = c.create_model_version(spec.name, info.model_uri, run_id=run_id, tags=tags,
                                     model_id=info.model_id)  # fmt: skip
    scheme = result.bundle.segments.to_dict()
    version_tags = {
        "run_id": run_id,
        "segments.tiers": json.dumps(scheme.get("tiers", scheme), sort_keys=True)[:5000],
        "segments.needs": json.dumps(scheme.get("needs", []), sort_keys=True)[:5000],
        "test_auroc": f"{metrics.get('test_auroc', float('nan')):.4f}",
    }
    for key, value in version_tags.items():
        c.set_model_version_tag(spec.name, version.version, key, value)
    c.set_registered_model_alias(spec.name, CHALLENGER, version.version)
    return TrainingRecord(run_id, spec.name, str(version.version), metrics)


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """'NAME@ALIAS', 'NAME/VERSION' or 'models:/NAME@ALIAS' -> (name, alias, version)."""
    text = ref.removeprefix("models:/")
    if "@" in text:
        name, alias = text.split("@", 1)
        return name, alias, None
    if "/" in text:
        name, version = text.split("/", 1)
        return name, None, version
    return text, CHAMPION, None


def model_version(ref: str):
    """The registry's ModelVersion for a reference; InputError naming what exists."""
    name, alias, version = parse_ref(ref)
    c = client()
    try:
        if alias:
            return c.get_model_version_by_alias(name, alias)
        return c.get_model_version(name, version)
    except Exception as error:  # noqa: BLE001
        known = sorted(m.name for m in c.search_registered_models())
        detail = f"registered models: {', '.join(known)}" if known else "no model is registered yet (run `riskstrat train`)"
        raise InputError(f"model {ref!r} not found in {tracking_uri()}; {detail}") from error


def load_bundle(ref: str) -> tuple[ModelBundle, ModelInfo]:
    """Download a registered version's bundle and load it."""
    from riskstrat.scoring import ModelBundle

    mv = model_version(ref)
    mlflow = _mlflow()
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{mv.name}/{mv.version}",
                                                         dst_path=tmp))  # fmt: skip
        bundle = ModelBundle.load(local / "artifacts" / "bundle")
    uri = f"models:/{mv.name}/{mv.version}"
    return bundle, ModelInfo(mv.name, str(mv.version), uri, mv.run_id or "", dict(mv.tags))


def run_metrics(run_id: str) -> dict[str, float]:
    return dict(client().get_run(run_id).data.metrics)


def log_aggregates(experiment: str, run_name: str, metrics: dict[str, float], params: dict | None = None,
                   artifacts: dict[str, bytes] | None = None, tags: dict | None = None) -> str:  # fmt: skip
    """A run of aggregates only (monthly counts, audits, promotion decisions)."""
    mlflow = _mlflow()
    mlflow.set_experiment(experiment_id=experiment_id(experiment))
    with mlflow.start_run(run_name=run_name) as run, tempfile.TemporaryDirectory() as tmp:
        if params:
            mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})
        if metrics:
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        if tags:
            mlflow.set_tags(tags)
        for name, payload in (artifacts or {}).items():
            (Path(tmp) / name).write_bytes(payload)
        if artifacts:
            mlflow.log_artifacts(tmp)
        return run.info.run_id
