"""Commands on models: train, promote, score."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer

from riskstrat.cli.common import console, iso_date, not_built, print_json, progress_bar
from riskstrat.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("promote")(promote)
    app.command("score")(score)


def train(
    spec: Path = typer.Option(..., "--spec", "--model-spec", help="Model spec (models/*.yaml)."),
    data: Path = typer.Option(..., help="Data directory in input contract v1."),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a spec value: key.sub=value (repeatable)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print {run_id, model_name, version, metrics}."
    ),
) -> None:
    """One experiment: an MLflow run with everything needed to judge it; registers the
    model version with alias `challenger`."""
    not_built("train", "[train]")


def promote(
    name: str = typer.Argument(..., help="Registered model name (the spec's name)."),
    version: str | None = typer.Option(None, help="Version to promote (default: the challenger)."),
    override_reason: str | None = typer.Option(
        None, help="Promote despite failed gates; recorded."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Move alias `champion` to a version if its gates pass (or an override reason is given)."""
    not_built("promote", "[train]")


def score(
    data: Path = typer.Option(..., help="Data directory in input contract v1."),
    as_of: str = typer.Option(..., help="Index date D (ISO date)."),
    model: str = typer.Option(..., help="NAME@ALIAS or NAME/VERSION of a registered model."),
    out: Path = typer.Option(..., help="Output folder for scores.parquet and manifest.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Score everyone in the model's population at index date D.

    Writes OUT/scores.parquet (person_id, index_date, model_name, model_version, risk, tier,
    segment, reason_1..3) and OUT/manifest.json, atomically.
    """
    if importlib.util.find_spec("riskstrat.tracking") is None:
        not_built("score", "[train]")
    from riskstrat.contract import ContractError, validate_data_dir
    from riskstrat.monthly import score_champion
    from riskstrat.scores_io import write_scores
    from riskstrat.tracking import load_bundle

    report = validate_data_dir(data)
    if not report.ok:
        raise ContractError(report)
    as_of_date = iso_date(as_of, "--as-of")
    if as_of_date > report.extract_date:
        raise InputError(
            f"--as-of {as_of_date} is after the data's extract date "
            f"{report.extract_date}: events up to it are not all in the data"
        )
    bundle, info = load_bundle(model)
    with progress_bar(
        f"scoring {bundle.model_name} v{info.version}", enabled=not as_json
    ) as update:
        scoring = score_champion(
            data,
            report.extract_date,
            bundle,
            str(info.version),
            info.uri,
            as_of_date,
            progress=update,
        )
    manifest = write_scores(out, scoring.scores, scoring.manifest)
    if as_json:
        print_json(manifest)
        return
    tiers = scoring.scores["tier"].value_counts()
    console.print(
        f"scored {manifest['rows']:,} persons with {info.uri} as of {as_of_date}: "
        + ", ".join(f"{t} {n:,}" for t, n in tiers.items())
    )
    console.print(f"wrote {Path(out) / 'scores.parquet'} and manifest.json")
