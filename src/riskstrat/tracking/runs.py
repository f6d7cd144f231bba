"""MLflow runs: one training run (logged and registered), runs of aggregates, and reading a
run's metrics, tags and text files back.

Only aggregates go in: parameters, metrics, tags, figures and tables of aggregates, the
model card, the segment scheme, the fairness audit summary and the model bundle. A model's
input example is the bundle's synthetic row, never a person's.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from riskstrat.tracking.registry import BUNDLE_ARTIFACT, MODEL_ARTIFACT, register_version
from riskstrat.tracking.store import client, experiment_id, input_errors, quiet_mlflow

if TYPE_CHECKING:
    from riskstrat.spec import ModelSpec
    from riskstrat.training import TrainingResult

# What a bundle needs to be scored through pyfunc (pinned to this environment). Listing them
# skips MLflow's requirement inference, which pins the whole virtualenv and takes seconds.
_MODEL_REQUIREMENTS = (
    "mlflow",
    "lightgbm",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "pyyaml",
    "pydantic",
)


@dataclass(frozen=True)
class TrainingRecord:
    """A logged training run: its MLflow run id, the registered model name and the version
    it was registered as (alias `challenger`), and the numeric metrics logged on the run."""

    run_id: str
    model_name: str
    version: str
    metrics: dict[str, float]


# --- what a run holds ----------------------------------------------------------------------


def code_version() -> str:
    """`<package version>+<git describe>` of the source tree when available, else the package version."""
    from riskstrat import __version__

    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
            check=True,
        )
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


def numeric_metrics(metrics: dict) -> dict[str, float]:
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


# --- training runs -------------------------------------------------------------------------


def log_training(
    result: TrainingResult,
    spec: ModelSpec,
    *,
    data_fingerprint: str,
    extract_date: date,
    code_version: str | None = None,
    audit: dict | None = None,
    champion_metrics: dict[str, float] | None = None,
    champion_tags: dict[str, str] | None = None,
    run_name: str | None = None,
    data_description: str = "",
) -> TrainingRecord:
    """One MLflow run for one experiment; registers the model under `spec.name` with alias
    `challenger`. Person-level data (`result.test_scores`, `result.test_frame`) is never logged.

    Experiment `spec.name`; params: the flattened spec; metrics: every numeric metric plus
    `champion_metrics` (the current champion's `champion_test_*` on the same test rows, see
    `riskstrat.experiment.compare_with_champion`); tags: spec hash, code version, data
    extract date and fingerprint, riskstrat version, fairness verdict, `champion_tags`
    (`champion_version_compared` is "none" unless they say otherwise); artifacts:
    figures/*.png, tables/*.csv, model_card.md, segments.json, spec.yaml, fairness.json (if
    `audit`), and the pyfunc model wrapping the bundle. Returns the run, version and metrics.
    """
    metrics = {**numeric_metrics(result.metrics), **numeric_metrics(champion_metrics or {})}
    tags = _training_tags(
        result,
        spec,
        code_version or _code_version(),
        extract_date,
        data_fingerprint,
        data_description,
        audit,
        champion_tags or {},
    )
    mlflow = quiet_mlflow()
    with input_errors(f"logging the training run of {spec.name}"):
        mlflow.set_experiment(experiment_id=experiment_id(spec.name))
        with (
            mlflow.start_run(run_name=run_name or f"{spec.name}-{extract_date}") as run,
            tempfile.TemporaryDirectory() as tmp,
        ):
            mlflow.log_params(spec_params(spec))
            mlflow.log_metrics(metrics)
            mlflow.set_tags(tags)
            folder = Path(tmp) / "run"
            _write_run_artifacts(folder, result, spec, audit)
            mlflow.log_artifacts(str(folder))
            model = _log_model(mlflow, result, Path(tmp) / BUNDLE_ARTIFACT)
            run_id = run.info.run_id
    version = register_version(
        spec.name,
        spec.description or "",
        model.model_uri,
        model.model_id,
        run_id,
        _version_tags(tags, run_id, result, metrics),
    )
    return TrainingRecord(run_id, spec.name, version, metrics)


_code_version = code_version  # `log_training`'s keyword of the same name shadows it


def _training_tags(
    result,
    spec,
    code: str,
    extract_date: date,
    fingerprint: str,
    description: str,
    audit: dict | None,
    champion_tags: dict,
) -> dict[str, str]:
    from riskstrat import __version__

    tags = {
        "spec_hash": spec.fingerprint(),
        "code_version": code,
        "riskstrat_version": __version__,
        "data_extract_date": extract_date.isoformat(),
        "data_fingerprint": fingerprint,
        "label": spec.label,
        "code_list": spec.code_list,
        "beats_baselines": str(bool(result.beats_baselines)).lower(),
        "champion_version_compared": "none",
        **{k: str(v)[:5000] for k, v in champion_tags.items()},
    }
    if description:
        tags["data_description"] = description[:5000]
    if audit is not None:
        tags["fairness_passed"] = str(bool(audit.get("passed"))).lower()
        tags["fairness_flags"] = str(len(audit.get("flags") or []))
    return tags


def _version_tags(tags: dict, run_id: str, result, metrics: dict) -> dict[str, str]:
    """The run's tags, its id, the segment scheme and the headline metrics, on the version."""
    scheme = result.bundle.segments.to_dict()
    return {
        **tags,
        "run_id": run_id,
        "segments.tiers": json.dumps(scheme.get("tiers", []), sort_keys=True)[:5000],
        "segments.lowest_tier": str(scheme.get("lowest_tier", "")),
        "segments.needs": json.dumps(scheme.get("needs", []), sort_keys=True)[:5000],
        "test_auroc": f"{metrics.get('test_auroc', float('nan')):.4f}",
        "test_brier": f"{metrics.get('test_brier', float('nan')):.5f}",
    }


def _log_model(mlflow, result, bundle_dir: Path):
    """The bundle as a pyfunc model of the active run, with a synthetic input example."""
    from mlflow.models import infer_signature

    from riskstrat.tracking.pyfunc import RiskModel

    result.bundle.save(bundle_dir)
    example = result.bundle.input_example()  # synthetic rows, never a person's
    signature = infer_signature(example, result.bundle.predict_risk(example))
    return mlflow.pyfunc.log_model(
        name=MODEL_ARTIFACT,
        python_model=RiskModel(),
        artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
        signature=signature,
        input_example=example,
        pip_requirements=_requirements(),
    )


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


# --- runs of aggregates --------------------------------------------------------------------


def log_aggregates(
    experiment: str,
    run_name: str,
    metrics: dict[str, float],
    params: dict | None = None,
    artifacts: dict[str, bytes] | None = None,
    tags: dict | None = None,
) -> str:
    """A run of aggregates only (monthly counts, audits, promotion decisions); its run id."""
    mlflow = quiet_mlflow()
    with input_errors(f"logging {run_name!r} to {experiment!r}"):
        mlflow.set_experiment(experiment_id=experiment_id(experiment))
        with mlflow.start_run(run_name=run_name) as run, tempfile.TemporaryDirectory() as tmp:
            if params:
                mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})
            numeric = numeric_metrics(metrics or {})
            if numeric:
                mlflow.log_metrics(numeric)
            if tags:
                mlflow.set_tags({k: str(v)[:5000] for k, v in tags.items()})
            for name, payload in (artifacts or {}).items():
                (Path(tmp) / name).write_bytes(payload)
            if artifacts:
                mlflow.log_artifacts(tmp)
            return run.info.run_id


def finished_runs(experiment: str, tags: dict[str, str]) -> list[str]:
    """Ids of the runs of `experiment` that finished (not killed half-way) and carry every
    tag in `tags` with that value, newest first (none if the experiment is new)."""
    if any("'" in str(value) or not key.isidentifier() for key, value in tags.items()):
        raise ValueError(f"cannot search runs by tags {sorted(tags)!r}")
    mlflow = quiet_mlflow()
    where = [f"tags.{key} = '{value}'" for key, value in sorted(tags.items())]
    with input_errors(f"searching {experiment!r}"):
        runs = mlflow.search_runs(
            experiment_ids=[experiment_id(experiment)],
            filter_string=" and ".join([*where, "attributes.status = 'FINISHED'"]),
            order_by=["attributes.start_time DESC"],
            output_format="list",
        )
    return [run.info.run_id for run in runs]


# --- reading runs --------------------------------------------------------------------------


def _run_data(run_id: str):
    with input_errors(f"run {run_id}", missing=lambda: f"run {run_id} is not in the MLflow store"):
        return client().get_run(run_id).data


def run_metrics(run_id: str) -> dict[str, float]:
    """A run's metrics by name."""
    return dict(_run_data(run_id).metrics)


def run_tags(run_id: str) -> dict[str, str]:
    """A run's tags by name (MLflow's own `mlflow.*` tags included)."""
    return dict(_run_data(run_id).tags)


def load_run_text(run_id: str, path: str) -> str | None:
    """A text artifact of a run (e.g. `spec.yaml`), or None if it is missing."""
    mlflow = quiet_mlflow()
    try:
        return mlflow.artifacts.load_text(f"runs:/{run_id}/{path}")
    except Exception:  # noqa: BLE001 - MLflow raises several kinds for a missing file
        return None
