"""The one module that talks to MLflow: experiment runs, the model registry, aliases.

Default store: SQLite at `./mlruns/mlflow.db` with artifacts beside it in
`./mlruns/artifacts` (`RISKSTRAT_HOME/mlruns/` if set; any `MLFLOW_TRACKING_URI` works
instead, e.g. a `mlflow server`). The URI is read on every call, so tests and commands can
point at another store without restarting the process.

Only aggregates go in: parameters, metrics, tags, figures and tables of aggregates, the
model card, the segment scheme, the fairness audit summary and the model bundle. A model's
input example is the bundle's synthetic row, never a person's.

A registered version is a pyfunc model (`riskstrat.tracking.pyfunc.RiskModel`) wrapping the
bundle folder. `load_bundle` reads the bundle files directly (no pickle); loading the
pyfunc with `mlflow.pyfunc.load_model` needs `riskstrat` importable in that environment.
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
    from riskstrat.model import ModelBundle
    from riskstrat.scoring.population import LoadedModel
    from riskstrat.spec import ModelSpec
    from riskstrat.training import TrainingResult

CHALLENGER, CHAMPION = "challenger", "champion"
MODEL_ARTIFACT = "model"
BUNDLE_ARTIFACT = "bundle"
_QUIET = ("mlflow", "alembic", "urllib3")
# What a bundle needs to be scored through pyfunc (pinned to this environment). Listing them
# skips MLflow's requirement inference, which pins the whole virtualenv and takes seconds.
_MODEL_REQUIREMENTS = (
    "mlflow", "lightgbm", "numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "pyyaml", "pydantic",
)  # fmt: skip


# --- store -------------------------------------------------------------------------------


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI`, else SQLite under `./mlruns/` (`$RISKSTRAT_HOME/mlruns/` if set)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    root = Path(os.environ.get("RISKSTRAT_HOME", ".")).resolve() / "mlruns"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def _artifact_root(uri: str) -> str | None:
    """Artifacts beside a local SQLite store (`<db folder>/artifacts`); else the server decides."""
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
        return (db.resolve().parent / "artifacts").as_uri()
    return None


def _mlflow():
    """MLflow, pointed at `tracking_uri()` and quiet (no INFO lines, no URLs on stdout)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # a tracking server makes MLflow print "View run ... at: URL" on stdout, which would
    # break `--json` output
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    warnings.filterwarnings("ignore", module="mlflow.*")
    warnings.filterwarnings("ignore", message=".*Operation with range is deprecated.*")
    import mlflow  # configures its own loggers at import: quieten them afterwards

    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.ERROR)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow


def client():
    """An `MlflowClient` on the current store (tracking and registry)."""
    mlflow = _mlflow()
    uri = tracking_uri()
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _error_code(error: Exception) -> str:
    return str(getattr(error, "error_code", ""))


def experiment_id(name: str) -> str:
    """The experiment called `name`, created with its artifacts beside a SQLite store."""
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    root = _artifact_root(tracking_uri())
    location = f"{root}/{name}" if root else None
    try:
        return mlflow.create_experiment(name, artifact_location=location)
    except MlflowException as error:  # another process created it in between
        found = mlflow.get_experiment_by_name(name)
        if found is None or "ALREADY_EXISTS" not in _error_code(error):
            raise
        return found.experiment_id


# --- records -----------------------------------------------------------------------------


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
    """`<package version>+<git describe>` of the source tree when available, else the package version."""
    from riskstrat import __version__

    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
            timeout=5, cwd=Path(__file__).parent, check=True,
        )  # fmt: skip
        described = out.stdout.strip()
        return f"{__version__}+{described}" if described else __version__
    except (OSError, subprocess.SubprocessError):
        return __version__


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = json.dumps(value) if isinstance(value, list | tuple) else value


def spec_params(spec: ModelSpec) -> dict[str, str]:
    """The spec flattened to `a.b.c` keys (lists as JSON): label, code list, horizon, index
    dates, feature groups, learner parameters, segments, fairness, promotion limits..."""
    flat: dict = {}
    _flatten("", spec.model_dump(mode="json", exclude={"description"}), flat)
    return {k: str(v)[:6000] for k, v in flat.items()}


def _numeric(metrics: dict) -> dict[str, float]:
    """The metrics MLflow can hold: numbers (booleans as 0/1); None and text are left out."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            out[key] = float(value)
        elif hasattr(value, "__float__"):  # int, float, numpy numbers
            try:
                out[key] = float(value)
            except (TypeError, ValueError):
                continue
    return out


# --- champion comparison -----------------------------------------------------------------


def evaluate_champion(
    result: TrainingResult, spec: ModelSpec
) -> tuple[dict[str, float], dict[str, str]]:
    """The current champion's `test_*` metrics on this run's test rows, as `champion_test_*`.

    Same rows, same bootstrap replicates as the challenger's own metrics, so promotion
    compares like with like. Returns (metrics, tags); the tags say which champion version
    was compared (`champion_version_compared`, "none" if there is no champion or it could
    not be evaluated on these rows, with `champion_comparison_error` saying why).
    """
    try:
        bundle, info = load_bundle(f"{spec.name}@{CHAMPION}")
    except InputError:
        return {}, {"champion_version_compared": "none"}
    try:
        metrics = result.evaluate_on(bundle)
    except Exception as error:  # noqa: BLE001 - e.g. the champion needs inputs this run lacks
        return {}, {
            "champion_version_compared": "none",
            "champion_comparison_error": f"champion v{info.version}: {type(error).__name__}: {error}"[
                :5000
            ],
        }
    keep = {
        k: v for k, v in _numeric(metrics).items() if k.startswith("test_") and "gain_over" not in k
    }
    return {f"champion_{k}": v for k, v in keep.items()}, {
        "champion_version_compared": str(info.version)
    }


# --- training runs -----------------------------------------------------------------------


def log_training(
    result: TrainingResult,
    spec: ModelSpec,
    *,
    data_fingerprint: str,
    extract_date: date,
    code_version: str | None = None,
    audit: dict | None = None,
    run_name: str | None = None,
    data_description: str = "",
) -> TrainingRecord:
    """One MLflow run for one experiment; registers the model under `spec.name` with alias
    `challenger`. Person-level data (`result.test_scores`, `result.test_frame`) is never logged.

    Experiment `spec.name`; params: the flattened spec; metrics: every numeric metric plus
    the current champion's on the same test rows (`champion_test_*`); tags: spec hash, code
    version, data extract date and fingerprint, riskstrat version, fairness verdict;
    artifacts: figures/*.png, tables/*.csv, model_card.md, segments.json, spec.yaml,
    fairness.json (if `audit`), and the pyfunc model wrapping the bundle.
    """
    from riskstrat import __version__

    mlflow = _mlflow()
    from mlflow.models import infer_signature

    from riskstrat.tracking.pyfunc import RiskModel

    champion_metrics, champion_tags = evaluate_champion(result, spec)
    metrics = _numeric(result.metrics)
    metrics.update(champion_metrics)
    tags = {
        "spec_hash": spec.fingerprint(),
        "code_version": code_version or _code_version(),
        "riskstrat_version": __version__,
        "data_extract_date": extract_date.isoformat(),
        "data_fingerprint": data_fingerprint,
        "label": spec.label,
        "code_list": spec.code_list,
        "beats_baselines": str(bool(result.beats_baselines)).lower(),
        **champion_tags,
    }
    if data_description:
        tags["data_description"] = data_description[:5000]
    if audit is not None:
        tags["fairness_passed"] = str(bool(audit.get("passed"))).lower()
        tags["fairness_flags"] = str(len(audit.get("flags") or []))
    mlflow.set_experiment(experiment_id=experiment_id(spec.name))
    with mlflow.start_run(run_name=run_name or f"{spec.name}-{extract_date}") as run, \
            tempfile.TemporaryDirectory() as tmp:  # fmt: skip
        mlflow.log_params(spec_params(spec))
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        folder = Path(tmp) / "run"
        _write_run_artifacts(folder, result, spec, audit)
        mlflow.log_artifacts(str(folder))
        bundle_dir = Path(tmp) / BUNDLE_ARTIFACT
        result.bundle.save(bundle_dir)
        example = result.bundle.input_example()  # synthetic rows, never a person's
        signature = infer_signature(example, result.bundle.predict_risk(example))
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT, python_model=RiskModel(), artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
            signature=signature, input_example=example, pip_requirements=_requirements(),
        )  # fmt: skip
        run_id = run.info.run_id
    c = client()
    _ensure_registered_model(c, spec)
    scheme = result.bundle.segments.to_dict()
    version_tags = {
        **tags,
        "run_id": run_id,
        "segments.tiers": json.dumps(scheme.get("tiers", []), sort_keys=True)[:5000],
        "segments.lowest_tier": str(scheme.get("lowest_tier", "")),
        "segments.needs": json.dumps(scheme.get("needs", []), sort_keys=True)[:5000],
        "test_auroc": f"{metrics.get('test_auroc', float('nan')):.4f}",
        "test_brier": f"{metrics.get('test_brier', float('nan')):.5f}",
    }
    # model_id links the logged model (models:/m-<id>): a tracking server's REST registry
    # refuses the source without it
    version = c.create_model_version(spec.name, info.model_uri, run_id=run_id, tags=version_tags,
                                     model_id=info.model_id)  # fmt: skip
    c.set_registered_model_alias(spec.name, CHALLENGER, version.version)
    return TrainingRecord(run_id, spec.name, str(version.version), metrics)


_code_version = code_version  # `log_training`'s keyword of the same name shadows it


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in _MODEL_REQUIREMENTS:
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            out.append(name)
    return out


def _write_run_artifacts(
    folder: Path, result: TrainingResult, spec: ModelSpec, audit: dict | None
) -> None:
    """The run's files: aggregates only."""
    (folder / "figures").mkdir(parents=True)
    (folder / "tables").mkdir()
    for name, payload in result.figures.items():
        (folder / "figures" / _with_suffix(name, ".png")).write_bytes(payload)
    for name, table in result.tables.items():
        table.to_csv(folder / "tables" / _with_suffix(name, ".csv"), index=False)
    (folder / "model_card.md").write_text(result.model_card, encoding="utf-8")
    (folder / "segments.json").write_text(
        json.dumps(result.bundle.segments.to_dict(), indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    (folder / "spec.yaml").write_text(
        yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    if audit is not None:
        text = json.dumps(audit, indent=2, sort_keys=True, default=str, allow_nan=True)
        (folder / "fairness.json").write_text(text + "\n", encoding="utf-8")


def _with_suffix(name: str, suffix: str) -> str:
    name = Path(name).name  # no folders from a result's keys
    return name if name.endswith(suffix) else name + suffix


def _ensure_registered_model(c, spec: ModelSpec) -> None:
    from mlflow.exceptions import MlflowException

    try:
        c.get_registered_model(spec.name)
        return
    except MlflowException as error:
        if "RESOURCE_DOES_NOT_EXIST" not in _error_code(error):
            raise
    try:
        c.create_registered_model(spec.name, description=(spec.description or "").strip() or None)
    except MlflowException as error:  # registered by another process in between
        if "ALREADY_EXISTS" not in _error_code(error):
            raise


# --- registry ------------------------------------------------------------------------------


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """'NAME@ALIAS', 'NAME/VERSION', 'models:/NAME@ALIAS' or 'NAME' (its champion) ->
    (name, alias, version)."""
    text = ref.strip().removeprefix("models:/")
    if "@" in text:
        name, alias = text.split("@", 1)
        if not name or not alias:
            raise InputError(f"model reference {ref!r}: expected NAME@ALIAS or NAME/VERSION")
        return name, alias, None
    if "/" in text:
        name, version = text.split("/", 1)
        if not name or not version.isdigit():
            raise InputError(
                f"model reference {ref!r}: expected NAME/VERSION with a version number"
            )
        return name, None, version
    if not text:
        raise InputError("empty model reference: expected NAME@ALIAS or NAME/VERSION")
    return text, CHAMPION, None


def model_version(ref: str):
    """The registry's ModelVersion for a reference; InputError naming what exists."""
    from mlflow.exceptions import MlflowException

    name, alias, version = parse_ref(ref)
    c = client()
    try:
        if alias:
            return c.get_model_version_by_alias(name, alias)
        return c.get_model_version(name, version)
    except MlflowException as error:
        raise InputError(_not_found(c, ref, name)) from error


def _not_found(c, ref: str, name: str) -> str:
    from mlflow.exceptions import MlflowException

    where = tracking_uri()
    try:
        model = c.get_registered_model(name)
    except MlflowException:
        model = None
    if model is not None:
        aliases = (
            ", ".join(f"{a}→v{v}" for a, v in sorted(dict(model.aliases or {}).items())) or "none"
        )
        versions = sorted(int(v.version) for v in c.search_model_versions(f"name = '{name}'"))
        return (f"model {ref!r} not found in {where}: {name} has versions "
                f"{', '.join(map(str, versions)) or 'none'} and aliases {aliases}")  # fmt: skip
    try:
        known = sorted(m.name for m in c.search_registered_models())
    except MlflowException as error:
        return f"model {ref!r}: cannot read the registry at {where} ({error})"
    detail = (f"registered models: {', '.join(known)}" if known
              else "no model is registered yet (run `riskstrat train`)")  # fmt: skip
    return f"model {ref!r} not found in {where}; {detail}"


def load_bundle(ref: str) -> tuple[ModelBundle, ModelInfo]:
    """Download a registered version's bundle ('NAME@ALIAS', 'NAME/VERSION',
    'models:/NAME@ALIAS') and load it; `info.uri` is `models:/NAME/VERSION`."""
    from riskstrat.model import ModelBundle

    mv = model_version(ref)
    mlflow = _mlflow()
    uri = f"models:/{mv.name}/{mv.version}"
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
        folder = local / "artifacts" / BUNDLE_ARTIFACT
        if not (folder / "bundle.json").exists():
            raise InputError(f"{uri} holds no riskstrat model bundle (artifacts/{BUNDLE_ARTIFACT})")
        bundle = ModelBundle.load(folder)
    return bundle, ModelInfo(mv.name, str(mv.version), uri, mv.run_id or "", dict(mv.tags or {}))


def run_metrics(run_id: str) -> dict[str, float]:
    return dict(client().get_run(run_id).data.metrics)


def run_tags(run_id: str) -> dict[str, str]:
    return dict(client().get_run(run_id).data.tags)


def load_run_text(run_id: str, path: str) -> str | None:
    """A text artifact of a run (e.g. `spec.yaml`), or None if it is missing."""
    mlflow = _mlflow()
    try:
        return mlflow.artifacts.load_text(f"runs:/{run_id}/{path}")
    except Exception:  # noqa: BLE001 - MLflow raises several kinds for a missing file
        return None


def log_aggregates(experiment: str, run_name: str, metrics: dict[str, float], params: dict | None = None,
                   artifacts: dict[str, bytes] | None = None, tags: dict | None = None) -> str:  # fmt: skip
    """A run of aggregates only (monthly counts, audits, promotion decisions)."""
    mlflow = _mlflow()
    mlflow.set_experiment(experiment_id=experiment_id(experiment))
    with mlflow.start_run(run_name=run_name) as run, tempfile.TemporaryDirectory() as tmp:
        if params:
            mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})
        numeric = _numeric(metrics or {})
        if numeric:
            mlflow.log_metrics(numeric)
        if tags:
            mlflow.set_tags({k: str(v)[:5000] for k, v in tags.items()})
        for name, payload in (artifacts or {}).items():
            (Path(tmp) / name).write_bytes(payload)
        if artifacts:
            mlflow.log_artifacts(tmp)
        return run.info.run_id


def load_models(refs: list[str]) -> list[LoadedModel]:
    """Registered versions ('NAME@ALIAS', 'NAME/VERSION') loaded for scoring, in order."""
    from riskstrat.scoring.population import LoadedModel

    loaded = []
    for ref in refs:
        bundle, info = load_bundle(ref)
        loaded.append(LoadedModel(bundle, str(info.version), info.uri))
    return loaded
