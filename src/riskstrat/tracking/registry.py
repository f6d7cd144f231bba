"""The model registry: model versions, aliases, version tags, bundles, the promotion ledger.

A registered version is a pyfunc model (`riskstrat.tracking.pyfunc.RiskModel`) wrapping the
bundle folder. `load_bundle` reads the bundle files directly (no pickle); loading the
pyfunc with `mlflow.pyfunc.load_model` needs `riskstrat` importable in that environment.

Every function returns plain values or dataclasses, never MLflow objects; an unknown
model, version or alias, and an unreachable store, raise `InputError` naming what exists.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from riskstrat.errors import InputError
from riskstrat.tracking.store import (
    client,
    error_code,
    experiment_id,
    input_errors,
    is_missing,
    quiet_mlflow,
    tracking_uri,
)

if TYPE_CHECKING:
    from riskstrat.model import ModelBundle
    from riskstrat.scoring.population import LoadedModel

CHALLENGER, CHAMPION = "challenger", "champion"
MODEL_ARTIFACT = "model"
BUNDLE_ARTIFACT = "bundle"


@dataclass(frozen=True)
class ModelInfo:
    """One registered version: `uri` is `models:/NAME/VERSION`; `tags` are the version's."""

    name: str
    version: str
    uri: str
    run_id: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionFacts:
    """What the promotion gates read about a version: its training run's metrics and
    parameters, and its tags (the run's, overlaid by the version's own)."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]


@dataclass(frozen=True)
class LedgerRun:
    """One run of a ledger experiment (one promotion decision): when, parameters, metrics."""

    run_id: str
    started: datetime  # UTC
    params: dict[str, str]
    metrics: dict[str, float]


# --- references ------------------------------------------------------------------------------


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


def model_version(ref: str) -> ModelInfo:
    """The registered version a reference points at; InputError naming what exists."""
    name, alias, version = parse_ref(ref)
    c = client()
    with input_errors(f"model {ref!r}", missing=lambda: _not_found(c, ref, name)):
        mv = (
            c.get_model_version_by_alias(name, alias)
            if alias
            else c.get_model_version(name, version)
        )
    return ModelInfo(
        mv.name,
        str(mv.version),
        f"models:/{mv.name}/{mv.version}",
        mv.run_id or "",
        dict(mv.tags or {}),
    )


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
        return (
            f"model {ref!r} not found in {where}: {name} has versions "
            f"{', '.join(map(str, versions)) or 'none'} and aliases {aliases}"
        )
    try:
        known = sorted(m.name for m in c.search_registered_models())
    except MlflowException as error:
        return f"model {ref!r}: cannot read the registry at {where} ({error})"
    detail = (
        f"registered models: {', '.join(known)}"
        if known
        else "no model is registered yet (run `riskstrat train`)"
    )
    return f"model {ref!r} not found in {where}; {detail}"


def champion_version(name: str) -> str | None:
    """The version alias `champion` of model `name` points at; None if there is none (or no
    such model)."""
    from mlflow.exceptions import MlflowException

    with input_errors(f"the champion of {name!r}"):
        try:
            return str(client().get_model_version_by_alias(name, CHAMPION).version)
        except MlflowException as error:
            if is_missing(error):
                return None
            raise


def version_facts(name: str, version: str) -> VersionFacts:
    """The metrics, parameters and tags of version `version` of model `name` (see
    `VersionFacts`); InputError if the version does not exist."""
    info = model_version(f"{name}/{version}")
    with input_errors(
        f"the training run of {name} version {version}",
        missing=lambda: (
            f"{name} version {version}: its training run {info.run_id} is not in {tracking_uri()}"
        ),
    ):
        data = client().get_run(info.run_id).data
    return VersionFacts(
        info.name,
        info.version,
        info.run_id,
        {**dict(data.tags), **info.tags},
        dict(data.metrics),
        dict(data.params),
    )


def set_alias(name: str, alias: str, version: str) -> None:
    """Point alias `alias` of model `name` at `version` (moving it if it points elsewhere)."""
    c = client()
    with input_errors(
        f"setting {name}@{alias}", missing=lambda: _not_found(c, f"{name}/{version}", name)
    ):
        c.set_registered_model_alias(name, alias, str(version))


def tag_version(name: str, version: str, tags: dict[str, str]) -> None:
    """Set tags on a model version (values cut at 5,000 characters)."""
    c = client()
    with input_errors(
        f"tagging {name} version {version}",
        missing=lambda: _not_found(c, f"{name}/{version}", name),
    ):
        for key, value in tags.items():
            c.set_model_version_tag(name, str(version), key, str(value)[:5000])


def register_version(
    name: str,
    description: str,
    model_uri: str,
    model_id: str | None,
    run_id: str,
    tags: dict[str, str],
) -> str:
    """Register a logged model as a new version of `name` (the registered model is created
    with `description` if new), tag it and point alias `challenger` at it; the version."""
    c = client()
    with input_errors(f"registering {name}"):
        _ensure_registered_model(c, name, description)
        # model_id links the logged model (models:/m-<id>): a tracking server's REST
        # registry refuses the source without it
        version = c.create_model_version(
            name, model_uri, run_id=run_id, tags=tags, model_id=model_id
        )
        c.set_registered_model_alias(name, CHALLENGER, version.version)
    return str(version.version)


def _ensure_registered_model(c, name: str, description: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        c.get_registered_model(name)
        return
    except MlflowException as error:
        if not is_missing(error):
            raise
    try:
        c.create_registered_model(name, description=description.strip() or None)
    except MlflowException as error:  # registered by another process in between
        if "ALREADY_EXISTS" not in error_code(error):
            raise


# --- bundles -------------------------------------------------------------------------------


def load_bundle(ref: str) -> tuple[ModelBundle, ModelInfo]:
    """Download a registered version's bundle ('NAME@ALIAS', 'NAME/VERSION',
    'models:/NAME@ALIAS') and load it; `info.uri` is `models:/NAME/VERSION`."""
    from riskstrat.model import ModelBundle

    info = model_version(ref)
    mlflow = quiet_mlflow()
    with tempfile.TemporaryDirectory() as tmp, input_errors(f"downloading {info.uri}"):
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=info.uri, dst_path=tmp))
        folder = local / "artifacts" / BUNDLE_ARTIFACT
        if not (folder / "bundle.json").exists():
            raise InputError(
                f"{info.uri} holds no riskstrat model bundle (artifacts/{BUNDLE_ARTIFACT})"
            )
        bundle = ModelBundle.load(folder)
    return bundle, info


# --- the promotion ledger ----------------------------------------------------------------------


def ledger_runs(experiment: str, model: str) -> list[LedgerRun]:
    """The runs of ledger experiment `experiment` tagged `model` = `model`, oldest first."""
    mlflow = quiet_mlflow()
    with input_errors(f"reading the ledger {experiment!r}"):
        runs = mlflow.search_runs(
            experiment_ids=[experiment_id(experiment)],
            filter_string=f"tags.model = '{model}'",
            order_by=["attributes.start_time ASC"],
            output_format="list",
            max_results=50_000,
        )
    return [
        LedgerRun(
            run.info.run_id,
            datetime.fromtimestamp(run.info.start_time / 1000, UTC),
            dict(run.data.params),
            dict(run.data.metrics),
        )
        for run in runs
    ]


def load_models(refs: list[str]) -> list[LoadedModel]:
    """Registered versions ('NAME@ALIAS', 'NAME/VERSION') loaded for scoring, in order."""
    from riskstrat.scoring.population import LoadedModel

    loaded = []
    for ref in refs:
        bundle, info = load_bundle(ref)
        loaded.append(LoadedModel(bundle, str(info.version), info.uri))
    return loaded
