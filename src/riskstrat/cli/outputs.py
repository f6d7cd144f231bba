"""Commands that publish: lists, fairness, follow-up, monthly, report, demo."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat.cli.common import console, print_json, progress_bar


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("lists")(lists)
    app.command("fairness")(fairness)
    app.command("follow-up")(follow_up)
    app.command("monthly")(monthly)
    app.command("report")(report)


def demo(
    out: Path = typer.Option(Path("demo-out"), help="Folder for the demo's data and outputs."),
    persons: int = typer.Option(228_000, help="Persons in the synthetic Randers-profile population."),
    seed: int = typer.Option(2026, help="Seed of the synthetic population."),
    workers: int = typer.Option(2, help="Processes for person partitions."),
) -> None:
    """The main job on embedded defaults, end to end (synthetic Randers-profile population).

    synthesise → validate → train and register both models → promote → monthly flow for two
    months (2025-01 and 2026-01, so the second follows up the first) → population overview.
    MLflow: MLFLOW_TRACKING_URI or ./mlruns; Prefect: local ephemeral server.
    """
    from riskstrat.demo import run_demo

    run_demo(out, persons=persons, seed=seed, workers=workers, console=console)


def lists(
    scores: list[Path] = typer.Option(..., help="A scores folder (repeatable, one per model)."),
    data: Path = typer.Option(..., help="Data directory (current attributes, deaths, opt-outs)."),
    teams: Path = typer.Option(..., help="teams.yaml"),
    month: str = typer.Option(..., help="YYYY-MM"),
    out: Path = typer.Option(..., help="Output root; lists go to OUT/MONTH/<team>/."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Target lists per team, within catchment and capacity, opt-outs excluded.

    Writes OUT/MONTH/<team>/target_list.xlsx, target_list.csv, manifest.json and
    OUT/MONTH/audit.jsonl. Re-running the same month on the same inputs changes no file.
    """
    from riskstrat.contract.reader import read_table
    from riskstrat.dates import earlier_month, parse_month
    from riskstrat.experiment import validated
    from riskstrat.lists import list_files, load_teams, publish_month
    from riskstrat.scores_io import read_scores

    report = validated(data)
    scorings = {}
    for folder in scores:
        frame, manifest = read_scores(folder)
        scorings[manifest["model_name"]] = (frame, manifest)
    team_config = load_teams(teams, known_models=set(scorings))
    as_of = parse_month(month)
    persons = read_table(data, "persons", report.extract_date)
    opt_outs = read_table(data, "opt_outs", report.extract_date)
    previous = out / earlier_month(month, 1)
    files, summary = list_files(team_config, scorings, persons, opt_outs, month, as_of,
                                previous if previous.exists() else None)  # fmt: skip
    record = {"month": month, "data_extract_date": report.extract_date.isoformat(), "teams": summary,
              "models": {n: m.get("model_uri") for n, (_, m) in scorings.items()}}  # fmt: skip
    result = publish_month(out / month, files, record)
    payload = {"folder": str(result.folder), "unchanged": result.unchanged, "teams": summary}
    if as_json:
        print_json(payload)
        return
    if result.unchanged:
        console.print(f"{month} is unchanged: every list in {result.folder} is already identical")
        return
    for team, facts in summary.items():
        console.print(f"  {team:<32} {facts['rows']:>4} persons ({facts['new_this_month']} new)")
    console.print(f"published {result.folder}")


def _scored_frame(scores: Path, data: Path, with_labels: bool):
    """A scoring with its population's features (and labels), rebuilt with the model's spec."""
    from riskstrat.experiment import validated
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.scores_io import read_scores
    from riskstrat.spec import ModelSpec

    report = validated(data)
    frame, manifest = read_scores(scores)
    spec = ModelSpec.model_validate(manifest["spec"])
    as_of = frame["index_date"].iloc[0].date() if len(frame) else report.extract_date
    features = features_for_data_dir(data, report.extract_date, spec, [as_of], with_labels=with_labels)
    merged = frame.drop(columns=["index_date"]).merge(features, on="person_id")
    return merged, manifest, spec, as_of, report


def _listed(lists_dir: Path | None, model_name: str) -> set[str]:
    from riskstrat.lists import listed_for_model

    return set() if lists_dir is None else listed_for_model(lists_dir, model_name)


def _write_report(out: Path, files: dict[str, bytes]) -> None:
    from riskstrat.io import atomic_folder

    with atomic_folder(out) as tmp:
        for name, payload in files.items():
            (tmp / name).write_bytes(payload)


def fairness(
    scores: Path = typer.Option(..., help="A scores folder."),
    data: Path = typer.Option(..., help="Data directory."),
    lists_dir: Path | None = typer.Option(None, "--lists", help="The month's lists folder."),
    out: Path = typer.Option(..., help="Output folder for report.html, report.md, groups.json."),
) -> None:
    """Fairness audit of one scoring: who is selected, by group, against observed need.

    Selections: the model's top tiers, and (with --lists) the persons on the lists of
    teams that use this model. Need is the spec's `fairness.need` rule over what was
    observed before the index date. Exit code 0 also when groups are flagged; see the report.
    """
    from riskstrat.fairness import audit_selection, render_report
    from riskstrat.model import evaluate_rule

    frame, manifest, spec, as_of, _ = _scored_frame(scores, data, with_labels=False)
    frame["need"] = evaluate_rule(spec.fairness.need, frame).astype(bool)
    frame["selected"] = frame["tier"] != spec.segments.lowest_tier
    audits = {f"{spec.name}: top tiers": audit_selection(frame, spec.fairness, selected="selected", need="need")}
    listed = _listed(lists_dir, spec.name)
    if listed:
        frame["listed"] = frame["person_id"].isin(listed)
        audits[f"{spec.name}: lists"] = audit_selection(frame, spec.fairness, selected="listed", need="need")
    files = render_report(audits, f"Fairness audit of {spec.name} v{manifest['model_version']}",
                          {"as of": as_of.isoformat(), "need": spec.fairness.need})  # fmt: skip
    _write_report(out, files)
    flags = sum(not a.passed for a in audits.values())
    console.print(f"fairness report: {out / 'report.html'} ({'no flags' if not flags else 'flags raised'})")


def follow_up(
    scores: Path = typer.Option(..., help="A scores folder from at least one horizon ago."),
    data: Path = typer.Option(..., help="Data directory whose extract covers the horizon."),
    lists_dir: Path | None = typer.Option(None, "--lists", help="That month's lists folder."),
    out: Path = typer.Option(..., help="Output folder for report.html, report.md, groups.json."),
) -> None:
    """Realised performance of an earlier scoring, overall and by group, with flags.

    Listed persons received outreach, so they are reported apart and flags are judged on
    the not-listed.
    """
    from riskstrat.dates import add_months
    from riskstrat.errors import InputError
    from riskstrat.fairness import follow_up as run_follow_up
    from riskstrat.fairness import render_report

    frame, manifest, spec, as_of, report = _scored_frame(scores, data, with_labels=True)
    if add_months(as_of, spec.horizon_months) > report.extract_date:
        raise InputError(
            f"the horizon of this scoring ends {add_months(as_of, spec.horizon_months)}, after the "
            f"data's extract date {report.extract_date}: outcomes are not yet known"
        )
    frame = frame[frame[spec.label_column].notna()].copy()
    frame["outcome"] = frame[spec.label_column].astype(float)
    frame["listed"] = frame["person_id"].isin(_listed(lists_dir, spec.name))
    audit = run_follow_up(frame, spec.fairness, risk="risk", outcome="outcome", listed="listed")
    files = render_report({spec.name: audit}, f"Follow-up of {spec.name} v{manifest['model_version']}",
                          {"scored as of": as_of.isoformat(), "persons listed": int(frame["listed"].sum())})  # fmt: skip
    _write_report(out, files)
    console.print(f"follow-up report: {out / 'report.html'} ({'no flags' if audit.passed else 'flags raised'})")


def monthly(
    data: Path = typer.Option(
        ..., help="Data directory whose extract reaches the month's first day."
    ),
    month: str = typer.Option(..., help="YYYY-MM"),
    teams: Path = typer.Option(Path("teams.yaml"), help="teams.yaml"),
    out: Path = typer.Option(Path("runs"), help="Monthly output root."),
    override_reason: str | None = typer.Option(
        None, help="Publish the lists even if the fairness audit raises flags; recorded."
    ),
    workers: int = typer.Option(1, help="Processes for person partitions."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """The monthly Prefect flow: validate, score each champion, lists, audit, follow-up, publish.

    Writes OUT/MONTH/ (scores/, lists/, fairness/, follow-up/, audit.jsonl) all at once; a
    month whose data fails validation publishes nothing. Runs as a Prefect flow (local
    ephemeral server unless PREFECT_API_URL points at one).
    """
    from pipelines.monthly import run_month

    with progress_bar(f"monthly flow {month} (Prefect)", enabled=not as_json) as update:
        update(0, None)
        summary = run_month(str(data), month, str(teams), str(out), override_reason, workers)
    if as_json:
        print_json(summary)
        return
    if summary["unchanged"]:
        console.print(f"{month} is unchanged: {summary['folder']} already holds identical outputs")
        return
    for team, facts in summary["teams"].items():
        console.print(f"  {team:<32} {facts['rows']:>4} persons ({facts['new_this_month']} new)")
    console.print(f"fairness audit: {'clean' if summary['fairness_passed'] else 'flags raised (override recorded)'}")
    if summary["follow_up"]:
        console.print(f"follow-up of earlier scorings: {', '.join(summary['follow_up'])}")
    console.print(f"published {summary['folder']}")


def report(
    data: Path = typer.Option(..., help="Data directory."),
    out: Path = typer.Option(..., help="Output HTML file; FILE.md and FILE.json are written beside it."),
    workers: int = typer.Option(1, help="Processes for person partitions."),
    as_json: bool = typer.Option(False, "--json", help="Print where the files are as JSON."),
) -> None:
    """The population overview for the cluster's steering group.

    Inhabitants and their contacts with hospital, GP and municipality over the 12 months
    before the extract date; acute and avoidable admissions by municipality and social
    group. Aggregates only; counts of 1-4 suppressed.
    """
    from riskstrat.contract import ContractError, validate_data_dir
    from riskstrat.io import atomic_write_bytes
    from riskstrat.population import build_overview, render

    checked = validate_data_dir(data)
    if not checked.ok:
        raise ContractError(checked)
    with progress_bar("population overview (person partitions)", enabled=not as_json) as update:
        overview = build_overview(data, checked.extract_date, workers=workers, progress=update)
    files = render(overview, "Population overview", f"{data} (extract date {checked.extract_date})")
    targets = {
        "report.html": out,
        "report.md": out.with_suffix(".md"),
        "tables.json": out.with_suffix(".json"),
    }
    for name, path in targets.items():
        atomic_write_bytes(path, files[name])
    if as_json:
        print_json({k: str(v) for k, v in targets.items()})
    else:
        console.print(f"population overview: {out} (also {targets['report.md'].name}, "
                      f"{targets['tables.json'].name})")
