"""Commands that publish: lists, fairness, follow-up, report (`monthly` and `demo` run
Prefect flows and are added by `pipelines.cli`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from riskstrat.cli.common import (
    REVALIDATE_HELP,
    WORKERS_HELP,
    checked_data,
    console,
    print_json,
    progress_bar,
    show_recovered,
    workers_option,
)

REPORT_FILES = ("report.html", "report.md", "groups.json")

if TYPE_CHECKING:
    import pandas as pd

    from riskstrat.lists import Teams


def register(app: typer.Typer) -> None:
    """Add the output commands (`lists`, `fairness`, `follow-up`, `report`) to the CLI `app`."""
    app.command("lists")(lists)
    app.command("fairness")(fairness)
    app.command("follow-up")(follow_up)
    app.command("report")(report)


def lists(
    scores: list[Path] = typer.Option(..., help="A scores folder (repeatable, one per model)."),
    data: Path = typer.Option(..., help="Data directory (current attributes, deaths, opt-outs)."),
    teams: Path = typer.Option(..., help="teams.yaml"),
    month: str = typer.Option(..., help="YYYY-MM"),
    out: Path = typer.Option(..., help="Monthly output root; lists go to OUT/MONTH/lists/<team>/."),
    revalidate: bool = typer.Option(False, "--revalidate", help=REVALIDATE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Target lists per team, within catchment and capacity, opt-outs excluded.

    The teams' answers on earlier lists (RUNS/feedback/, and feedback.xlsx files saved in
    the list folders, imported first) leave persons out by the rules in the teams file.

    Writes OUT/MONTH/lists/<team>/target_list.xlsx, target_list.csv, manifest.json and a
    line in OUT/MONTH/audit.jsonl (the layout of `riskstrat monthly`); the month's other
    files are left as they are. Re-running the same month on the same inputs changes no file.
    """
    from riskstrat.contract.reader import read_table
    from riskstrat.dates import parse_month
    from riskstrat.errors import InputError
    from riskstrat.feedback_store import histories, import_dropped
    from riskstrat.lists import check_teams_fit, list_files, load_teams
    from riskstrat.runs import LISTS, RunsLayout

    as_of = parse_month(month)
    report = checked_data(data, revalidate)
    scorings = _month_scorings(scores, month, as_of, report.extract_date)
    team_config = load_teams(teams, known_models=set(scorings))
    if team_config.evaluation is not None:
        # the holdout's lots are drawn and stored by the monthly flow; lists made here would
        # list held-out persons
        raise InputError(
            f"{teams} configures a randomised evaluation (evaluation:): its lists are composed "
            "by `riskstrat monthly`, which draws and stores the assignments; nothing was written"
        )
    runs = RunsLayout(out)
    persons = read_table(data, "persons", report.extract_date)
    opt_outs = read_table(data, "opt_outs", report.extract_date)
    check_teams_fit(team_config, scorings, persons)
    _check_versions(team_config, scorings)
    # the teams' answers on earlier lists, as the monthly flow reads them (feedback rules)
    import_dropped(runs, month, team_config.teams, date.today())
    files, summary, _ = list_files(
        team_config,
        scorings,
        persons,
        opt_outs,
        month,
        as_of,
        runs.previous_lists(month),
        prefix=f"{LISTS}/",
        histories=histories(runs, month, team_config.teams),
    )
    record = {
        "data_extract_date": report.extract_date.isoformat(),
        "teams": summary,
        "models": {n: m.get("model_uri") for n, (_, m) in scorings.items()},
    }
    result = runs.publish(month, files, record, owned=(f"{LISTS}/",))
    show_recovered(result.recovered)
    payload = {"folder": str(result.folder), "unchanged": result.unchanged, "teams": summary}
    if as_json:
        print_json(payload)
        return
    if result.unchanged:
        console.print(f"{month} is unchanged: every list in {result.folder} is already identical")
        return
    for team, facts in summary.items():
        console.print(f"  {team:<32} {facts['rows']:>4} persons ({facts['new_this_month']} new)")
    console.print(f"published {runs.lists(month)}")


def _month_scorings(
    folders: list[Path], month: str, as_of: date, extract_date: date
) -> dict[str, tuple[pd.DataFrame, dict]]:
    """The scorings given to `lists`, by model name; InputError if one was scored as of
    another day than the month's first, on another extract than `--data`, or a model is
    given twice."""
    from riskstrat.errors import InputError
    from riskstrat.scores_io import read_scores

    scorings: dict[str, tuple[pd.DataFrame, dict]] = {}
    for folder in folders:
        frame, manifest = read_scores(folder)
        name = str(manifest.get("model_name"))
        if name in scorings:
            raise InputError(f"--scores: two scorings of model {name} given; give one per model")
        scored = manifest.get("as_of") or (
            frame["index_date"].iloc[0].date().isoformat() if len(frame) else None
        )
        if scored is not None and scored != as_of.isoformat():
            raise InputError(
                f"{folder} holds scores as of {scored}, not of {month} (as of {as_of}): "
                f"score the month first (riskstrat score --as-of {as_of})"
            )
        extract = manifest.get("data_extract_date")
        if extract is not None and extract != extract_date.isoformat():
            raise InputError(
                f"{folder} was scored on an extract dated {extract}, but --data is the extract "
                f"of {extract_date}: score again on this data, or give the data it was scored on"
            )
        scorings[name] = (frame, manifest)
    return scorings


def _check_versions(teams: Teams, scorings: dict[str, tuple[pd.DataFrame, dict]]) -> None:
    """InputError unless every team's model reference points at the version its scoring was
    made with (what the monthly flow would score): `name/version` is compared with the
    scores' manifest directly, `name@alias` is looked up in the registry."""
    from riskstrat.errors import InputError
    from riskstrat.tracking import model_version, parse_ref

    for ref in sorted({t.model for t in teams.teams}):
        name, alias, version = parse_ref(ref)
        if alias is not None:
            info = model_version(ref)
            name, version = info.name, info.version
        scored = str(scorings[name][1].get("model_version"))
        if version != scored:
            raise InputError(
                f"{ref} is version {version}, but the scores given for {name} are of version "
                f"{scored}: score with {ref} again, or write {name}/{scored} in the teams file"
            )


def _scored_frame(
    scores: Path, data: Path, with_labels: bool, workers: int | None, revalidate: bool
):
    """A scoring with its population's features (and labels), rebuilt with the model's spec."""
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.scores_io import read_scores
    from riskstrat.spec import ModelSpec

    report = checked_data(data, revalidate)
    frame, manifest = read_scores(scores)
    spec = ModelSpec.model_validate(manifest["spec"])
    as_of = frame["index_date"].iloc[0].date() if len(frame) else report.extract_date
    features = features_for_data_dir(
        data, report.extract_date, spec, [as_of], with_labels=with_labels, workers=workers
    )
    merged = frame.drop(columns=["index_date"]).merge(features, on="person_id")
    return merged, manifest, spec, as_of, report


def _listed(lists_dir: Path | None, model_name: str) -> set[str]:
    from riskstrat.publishing import listed_for_model

    return set() if lists_dir is None else listed_for_model(lists_dir, model_name)


def _check_report_folder(out: Path) -> None:
    """Before any work: `--out` may be new, or a folder holding only an earlier report."""
    from riskstrat.publishing import check_own_folder

    check_own_folder(out, REPORT_FILES)


def _write_report(out: Path, files: dict[str, bytes]) -> None:
    from riskstrat.publishing import write_own_folder

    write_own_folder(out, files)


def fairness(
    scores: Path = typer.Option(..., help="A scores folder."),
    data: Path = typer.Option(..., help="Data directory."),
    lists_dir: Path | None = typer.Option(None, "--lists", help="The month's lists folder."),
    out: Path = typer.Option(..., help="Output folder for report.html, report.md, groups.json."),
    workers: str = typer.Option("auto", help=WORKERS_HELP),
    revalidate: bool = typer.Option(False, "--revalidate", help=REVALIDATE_HELP),
) -> None:
    """Fairness audit of one scoring, before its outcomes are known (the monthly gate).

    The gate: the model's selection rule (its top tiers) applied to its population one
    horizon before the scoring's index date, judged against the model's own label now
    observed (O/E among the selected and the not-selected, by group). The scoring's top
    tiers and (with --lists) the lists of teams that use this model are compared with the
    spec's proxy need rule for information only. Exit code 0 also when groups are flagged;
    see the report. OUT is new or holds only an earlier report (report.html, report.md,
    groups.json): anything else there is refused (exit code 2) and left as it is.
    """
    from riskstrat.fairness import audit_selection, judge_jointly, render_report
    from riskstrat.model import evaluate_rule

    _check_report_folder(out)

    frame, manifest, spec, as_of, report = _scored_frame(
        scores, data, False, workers_option(workers), revalidate
    )
    frame["need"] = evaluate_rule(spec.fairness.need, frame).astype(bool)
    frame["selected"] = frame["tier"] != spec.segments.lowest_tier
    audits = _own_label_gate(manifest, spec, as_of, data, report, workers_option(workers))
    audits[f"{spec.name}: top tiers"] = audit_selection(
        frame, spec.fairness, selected="selected", need="need", judged=False
    )
    listed = _listed(lists_dir, spec.name)
    if listed:
        frame["listed"] = frame["person_id"].isin(listed)
        audits[f"{spec.name}: lists"] = audit_selection(
            frame, spec.fairness, selected="listed", need="need", judged=False
        )
    audits = {**audits, **judge_jointly({k: a for k, a in audits.items() if len(a.tests)})}
    files = render_report(
        audits,
        f"Fairness audit of {spec.name} v{manifest['model_version']}",
        {
            "as of": as_of.isoformat(),
            "need (the gate)": "the model's own label over its most recent fully observed "
            "window, on the population of that time, selected by the model's rule (top tiers)",
            "proxy need (information only)": spec.fairness.need,
        },
    )
    _write_report(out, files)
    flags = sum(not a.passed for a in audits.values())
    console.print(
        f"fairness report: {out / 'report.html'} ({'no flags' if not flags else 'flags raised'})"
    )


def _own_label_gate(manifest: dict, spec, as_of, data: Path, report, workers) -> dict:
    """The monthly gate's audit for one scoring (riskstrat.monthly.fairness): empty when the
    data hold no population one horizon back (the report then shows only the proxy)."""
    from riskstrat.fairness import audit_need_met
    from riskstrat.monthly import recent_need, recent_window
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.tracking.registry import load_bundle

    bundle, _ = load_bundle(f"{manifest['model_name']}/{manifest['model_version']}")
    since = recent_window(as_of, spec.horizon_months)
    labelled = features_for_data_dir(
        data, report.extract_date, spec, [since], with_labels=True, workers=workers
    )
    if not len(labelled):
        return {}
    recent = recent_need(bundle, labelled)
    name = f"{spec.name}: selection against its own label, {since} to {as_of}"
    return {
        name: audit_need_met(
            recent, spec.fairness, risk="risk", outcome="outcome", selected="selected"
        )
    }


def follow_up(
    scores: Path = typer.Option(..., help="A scores folder from at least one horizon ago."),
    data: Path = typer.Option(..., help="Data directory whose extract covers the horizon."),
    lists_dir: Path | None = typer.Option(None, "--lists", help="That month's lists folder."),
    out: Path = typer.Option(..., help="Output folder for report.html, report.md, groups.json."),
    workers: str = typer.Option("auto", help=WORKERS_HELP),
    revalidate: bool = typer.Option(False, "--revalidate", help=REVALIDATE_HELP),
) -> None:
    """Realised performance of an earlier scoring, overall and by group, with flags.

    Listed persons received outreach, so they are reported apart and flags are judged on
    the not-listed. OUT is new or holds only an earlier report: anything else there is
    refused (exit code 2) and left as it is.
    """
    from riskstrat.dates import add_months
    from riskstrat.errors import InputError
    from riskstrat.fairness import follow_up as run_follow_up
    from riskstrat.fairness import render_report

    _check_report_folder(out)

    frame, manifest, spec, as_of, report = _scored_frame(
        scores, data, True, workers_option(workers), revalidate
    )
    if add_months(as_of, spec.horizon_months) > report.extract_date:
        raise InputError(
            f"the horizon of this scoring ends {add_months(as_of, spec.horizon_months)}, after the "
            f"data's extract date {report.extract_date}: outcomes are not yet known"
        )
    frame = frame[frame[spec.label_column].notna()].copy()
    frame["outcome"] = frame[spec.label_column].astype(float)
    frame["listed"] = frame["person_id"].isin(_listed(lists_dir, spec.name))
    audit = run_follow_up(frame, spec.fairness, risk="risk", outcome="outcome", listed="listed")
    files = render_report(
        {spec.name: audit},
        f"Follow-up of {spec.name} v{manifest['model_version']}",
        {"scored as of": as_of.isoformat(), "persons listed": int(frame["listed"].sum())},
    )
    _write_report(out, files)
    console.print(
        f"follow-up report: {out / 'report.html'} ({'no flags' if audit.passed else 'flags raised'})"
    )


def report(
    data: Path = typer.Option(..., help="Data directory."),
    out: Path = typer.Option(
        ..., help="Output HTML file; FILE.md and FILE.json are written beside it."
    ),
    workers: str = typer.Option("auto", help=WORKERS_HELP),
    revalidate: bool = typer.Option(False, "--revalidate", help=REVALIDATE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print where the files are as JSON."),
) -> None:
    """The population overview for the cluster's steering group.

    Inhabitants and their contacts with hospital, GP and municipality over the 12 months
    before the extract date; acute and avoidable admissions by municipality and social
    group. Aggregates only; counts of 1-4 suppressed. FILE, FILE.md and FILE.json are
    replaced only if they are an earlier population overview: anything else (a folder,
    another file, a path inside a published month) is refused (exit code 2) and left alone.
    """
    from riskstrat.io import atomic_write_bytes
    from riskstrat.partitions import overview_for_data_dir
    from riskstrat.population import render

    targets = _report_targets(out)
    checked = checked_data(data, revalidate)
    with progress_bar("population overview (person partitions)", enabled=not as_json) as update:
        overview = overview_for_data_dir(
            data, checked.extract_date, workers=workers_option(workers), progress=update
        )
    files = render(overview, "Population overview", f"{data} (extract date {checked.extract_date})")
    _check_earlier_report(targets, files)
    for name, path in targets.items():
        atomic_write_bytes(path, files[name])
    if as_json:
        print_json({k: str(v) for k, v in targets.items()})
    else:
        console.print(
            f"population overview: {out} (also {targets['report.md'].name}, "
            f"{targets['tables.json'].name})"
        )


def _report_targets(out: Path) -> dict[str, Path]:
    """FILE, FILE.md and FILE.json of `report`: three different paths, none a folder, none in
    a published month (else InputError)."""
    from riskstrat.errors import InputError
    from riskstrat.publishing import refuse_inside_month

    targets = {
        "report.html": out,
        "report.md": out.with_suffix(".md"),
        "tables.json": out.with_suffix(".json"),
    }
    if len(set(targets.values())) < len(targets):
        raise InputError(
            f"--out {out}: give the HTML file (for example overview.html); FILE.md and "
            "FILE.json are written beside it, so --out cannot end in .md or .json. Nothing was "
            "written."
        )
    for path in targets.values():
        refuse_inside_month(path)
        if path.is_dir():
            raise InputError(
                f"--out: {path} is a folder; report writes the files FILE, FILE.md and "
                "FILE.json and never replaces a folder. Nothing was written."
            )
    return targets


def _check_earlier_report(targets: dict[str, Path], files: dict[str, bytes]) -> None:
    """InputError if an existing target is not an earlier population overview."""
    from riskstrat.errors import InputError

    for name, path in targets.items():
        if path.exists() and not _same_kind(path, files[name]):
            raise InputError(
                f"--out: {path} exists and is not an earlier population overview; report "
                "replaces only its own files. Nothing was written: choose another --out."
            )


def _same_kind(path: Path, payload: bytes) -> bool:
    """Whether the file at `path` is an earlier version of `payload`: the same HTML title,
    the same first Markdown line, or a JSON object with the same keys."""
    import json
    import re

    if not path.is_file() or path.stat().st_size > 64 << 20:
        return False
    existing = path.read_bytes()
    if path.suffix == ".json":
        try:
            old, new = json.loads(existing), json.loads(payload)
        except ValueError:
            return False
        return isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys()
    if payload.startswith(b"<!doctype html>"):
        title = re.compile(rb"<title>(.*?)</title>")
        found, wanted = title.search(existing[:65536]), title.search(payload[:65536])
        return bool(found and wanted and found.group(1) == wanted.group(1))
    return existing.split(b"\n", 1)[0] == payload.split(b"\n", 1)[0]
