"""Commands on models: train, promote, score."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat.cli.common import (
    REVALIDATE_HELP,
    WORKERS_HELP,
    checked_data,
    console,
    iso_date,
    print_json,
    progress_bar,
    styled,
    workers_option,
)
from riskstrat.errors import InputError


def register(app: typer.Typer) -> None:
    """Add the model commands (`train`, `promote`, `score`) to the CLI `app`."""
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
    workers: str = typer.Option("auto", help=WORKERS_HELP),
    revalidate: bool = typer.Option(False, "--revalidate", help=REVALIDATE_HELP),
    runs: Path | None = typer.Option(
        None,
        "--runs",
        help="Monthly output root: its evaluation assignments say who was exposed to outreach "
        "(the spec's `outreach` choice applies; default: none, no outreach recorded).",
    ),
) -> None:
    """One experiment: an MLflow run with everything needed to judge it; registers the
    model version with alias `challenger`.

    Out-of-time design from the spec's index dates; baselines, calibrated LightGBM, test
    metrics with bootstrap CIs, plots, model card and fairness audit go to MLflow
    (MLFLOW_TRACKING_URI, default SQLite under ./mlruns/).
    """
    from riskstrat.experiment import run_experiment
    from riskstrat.spec import load_spec

    model_spec = load_spec(spec, set_)
    report = checked_data(data, revalidate)
    with progress_bar(
        f"training {model_spec.name} (features, fit, evaluate)", enabled=not as_json
    ) as update:
        outcome = run_experiment(
            model_spec,
            data,
            workers=workers_option(workers),
            progress=update,
            report=report,
            runs=runs,
        )
    payload = {
        "run_id": outcome.run_id,
        "model_name": outcome.model_name,
        "version": outcome.version,
        "metrics": outcome.metrics,
    }
    if as_json:
        print_json(payload)
        return
    m = outcome.metrics
    console.print(
        f"registered {outcome.model_name} version {outcome.version} as challenger "
        f"(MLflow run {outcome.run_id})"
    )
    console.print(
        f"  test AUROC {m['test_auroc']:.3f} (95% CI {m['test_auroc_ci_low']:.3f}–"
        f"{m['test_auroc_ci_high']:.3f}), Brier {m['test_brier']:.4f}, O/E {m['test_oe_ratio']:.2f}"
    )
    for base in ("rule", "logistic"):
        if f"{base}_test_auroc" in m:
            console.print(f"  baseline {base}: AUROC {m[f'{base}_test_auroc']:.3f}")
    console.print(
        styled("  beats baselines: ", "yes")
        if outcome.beats_baselines
        else styled("  beats baselines: ", ("no", "bold red"), " (the gain's CI includes 0)")
    )
    flags = outcome.audit["flags"]
    console.print(
        styled("  fairness audit: ", "clean" if not flags else (f"{len(flags)} flags", "bold red"))
    )
    console.print(
        f"next: riskstrat promote {outcome.model_name}   (see runs: mlflow ui "
        f"--backend-store-uri {tracking_uri_hint()})"
    )


def tracking_uri_hint() -> str:
    """The MLflow tracking URI runs are logged to, for the `mlflow ui` hint after training."""
    from riskstrat.tracking import tracking_uri

    return tracking_uri()


def promote(
    name: str = typer.Argument(..., help="Registered model name (the spec's name)."),
    version: str | None = typer.Option(None, help="Version to promote (default: the challenger)."),
    override_reason: str | None = typer.Option(
        None, help="Promote despite failed gates; recorded."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Move alias `champion` to a version if its gates pass (or an override reason is given).

    Gates: not worse than the current champion on the same test data, fairness audit
    clean, beats its baselines. The decision is recorded on the version and in the ledger
    (MLflow experiment `riskstrat-promotions`); a refusal exits with code 2.
    """
    from riskstrat.promotion import promote as run_promotion

    decision = run_promotion(name, version, override_reason)
    if as_json:
        print_json(decision.as_dict())
        return
    console.print(
        f"{name} version {decision.version} is now champion"
        + (f" (was {decision.previous_champion})" if decision.previous_champion else "")
    )
    if decision.override_reason is not None:  # set only when gates failed and were overridden
        console.print("  promoted by override: " + decision.override_reason)
        for gate in decision.failed_gates:
            console.print(f"  - failed gate: {gate}")


def score(
    data: Path = typer.Option(..., help="Data directory in input contract v1."),
    as_of: str = typer.Option(..., help="Index date D (ISO date)."),
    model: str = typer.Option(..., help="NAME@ALIAS or NAME/VERSION of a registered model."),
    out: Path = typer.Option(..., help="Output folder for scores.parquet and manifest.json."),
    workers: str = typer.Option("auto", help=WORKERS_HELP),
    revalidate: bool = typer.Option(False, "--revalidate", help=REVALIDATE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Score everyone in the model's population at index date D.

    Writes OUT/scores.parquet (person_id, index_date, model_name, model_version, risk, tier,
    segment, reason_1..3) and OUT/manifest.json, atomically. Scores person partitions in
    worker processes, the same way `riskstrat monthly` does.
    """
    from riskstrat.partitions import score_data_dir
    from riskstrat.publishing import check_own_folder
    from riskstrat.scores_io import SCORES_FILES, write_scores
    from riskstrat.tracking import load_models

    check_own_folder(out, SCORES_FILES)  # before the work: never replaces what it did not write
    report = checked_data(data, revalidate)
    as_of_date = iso_date(as_of, "--as-of")
    if as_of_date > report.extract_date:
        raise InputError(
            f"--as-of {as_of_date} is after the data's extract date "
            f"{report.extract_date}: events up to it are not all in the data"
        )
    (loaded,) = load_models([model])
    name = loaded.bundle.model_name
    with progress_bar(f"scoring {name} v{loaded.version}", enabled=not as_json) as update:
        scorings = score_data_dir(
            data,
            report.extract_date,
            [loaded],
            as_of_date,
            workers=workers_option(workers),
            progress=update,
        )
    scoring = scorings[name]
    manifest = write_scores(out, scoring.scores, scoring.manifest)
    if as_json:
        print_json(manifest)
        return
    tiers = scoring.scores["tier"].value_counts()
    console.print(
        f"scored {manifest['rows']:,} persons with {loaded.uri} as of {as_of_date}: "
        + ", ".join(f"{t} {n:,}" for t, n in tiers.items())
    )
    console.print(f"wrote {Path(out) / 'scores.parquet'} and manifest.json")
