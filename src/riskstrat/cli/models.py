"""Commands on models: train, promote, score."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat.cli.common import not_built


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
    """Score everyone in the model's population at index date D."""
    not_built("score", "[monthly]")
