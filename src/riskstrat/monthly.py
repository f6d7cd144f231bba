"""One month of unattended scoring, as plain steps that the Prefect flow wires together.

validate → score each champion as of the month's first day → target lists → fairness audit
→ follow-up of the scoring one horizon back → publish. Every step but `publish` returns
values and writes nothing; `publish` swaps the whole month into place at once, so a failed
or interrupted run leaves the previous state of `runs/` untouched, and re-running a month on
the same inputs changes no file at all.

Output layout (interfaces.md): `runs/YYYY-MM/scores/<model>/`, `runs/YYYY-MM/lists/<team>/`,
`runs/YYYY-MM/fairness/`, `runs/YYYY-MM/follow-up/<model>/`, `runs/YYYY-MM/audit.jsonl`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from riskstrat.dates import add_months, earlier_month, parse_month
from riskstrat.errors import InputError


@dataclass(frozen=True)
class ModelScoring:
    """One champion's scoring of the month: scores (person-level, in memory) and provenance."""

    model_name: str
    model_version: str
    model_uri: str
    scores: pd.DataFrame
    manifest: dict
    features: pd.DataFrame  # the scored population's features: need measures and audit columns

    @property
    def spec(self):
        """The model's spec as registered with it (fairness settings, segments, label)."""
        from riskstrat.spec import ModelSpec

        return ModelSpec.model_validate(self.manifest["spec"])


def month_as_of(month: str, extract_date: date) -> date:
    """The month's first day, the index date of its scoring; InputError unless the extract
    reaches it (every event before that day must be in the data)."""
    as_of = parse_month(month)
    if extract_date < as_of:
        raise InputError(
            f"the data's extract date is {extract_date}: it does not reach {as_of}, the first "
            f"day of {month}; bring an extract whose extract date is {as_of} or later"
        )
    return as_of


def scores_manifest(bundle, model_version: str, model_uri: str, as_of: date, extract_date: date) -> dict:
    """What a scoring's manifest.json says (row count and checksum are added when written)."""
    return {
        "model_uri": model_uri,
        "model_name": bundle.model_name,
        "model_version": str(model_version),
        "as_of": as_of.isoformat(),
        "data_extract_date": extract_date.isoformat(),
        "label": bundle.label,
        "horizon_months": bundle.horizon_months,
        "spec": bundle.spec,
    }


def score_champion(
    data_dir: str | Path,
    extract_date: date,
    bundle,
    model_version: str,
    model_uri: str,
    as_of: date,
    workers: int = 1,
    progress=None,
) -> ModelScoring:
    """Score everyone in the model's population at `as_of` with a loaded model bundle.

    Features are built partition by partition with the bundle's own spec, without labels.
    """
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.scoring import score_population

    spec = bundle.model_spec()
    features = features_for_data_dir(
        data_dir, extract_date, spec, [as_of], with_labels=False, workers=workers, progress=progress
    )
    scores = score_population(bundle, features, model_version)
    manifest = scores_manifest(bundle, model_version, model_uri, as_of, extract_date)
    return ModelScoring(
        bundle.model_name, str(model_version), model_uri, scores, manifest, features
    )


# ---------------------------------------------------------------------- the month's steps
MONTHLY_EXPERIMENT = "riskstrat-monthly"


@dataclass(frozen=True)
class MonthContext:
    data_dir: str
    month: str
    as_of: date
    extract_date: date
    out_root: Path

    @property
    def folder(self) -> Path:
        return self.out_root / self.month


def prepare_month(data_dir: str | Path, month: str, out_root: str | Path) -> MonthContext:
    """Validate the extract (ContractError: nothing is published) and fix the month's as-of date."""
    from riskstrat.experiment import validated

    report = validated(data_dir)
    return MonthContext(str(data_dir), month, month_as_of(month, report.extract_date),
                        report.extract_date, Path(out_root))  # fmt: skip


def load_month_teams(teams_path: str | Path):
    from riskstrat.lists import load_teams

    return load_teams(teams_path)


def feature_key(spec) -> str:
    """What a feature table depends on besides the data and date: specs that agree on it
    share one feature build (labels differ by spec and are built separately)."""
    import json as _json

    return _json.dumps({"code_list": spec.code_list, "population": spec.population.model_dump(),
                        "features": spec.features.model_dump()}, sort_keys=True)  # fmt: skip


def score_models(ctx: MonthContext, refs: list[str], workers: int = 1) -> dict[str, ModelScoring]:
    """Score the month with several registered models.

    Each person partition is read once and scored by every model in the same worker
    process (features built once per distinct feature setting), so scoring uses every
    core and only scores and the columns the audits need come back to this process."""
    from functools import partial

    from riskstrat.features import candidates
    from riskstrat.features.build import COLUMNS_READ
    from riskstrat.partitions import map_partitions
    from riskstrat.tracking import load_bundle

    loaded = [load_bundle(ref) for ref in refs]
    for bundle, _ in loaded:
        _ = bundle.tree_shap  # compiled once here; the workers receive it with the bundle
    bundles = [(bundle, str(info.version)) for bundle, info in loaded]
    persons = candidates([bundle.model_spec() for bundle, _ in loaded], [ctx.as_of])
    table = map_partitions(ctx.data_dir, ctx.extract_date, partial(_score_partition, bundles=bundles,
                                                                  as_of=ctx.as_of),
                           workers=workers, columns=COLUMNS_READ, persons=persons)  # fmt: skip
    table = table.sort_values("person_id", kind="stable", ignore_index=True)
    out = {}
    for bundle, info in loaded:
        prefix = f"{bundle.model_name}::"
        mine = table[table[prefix + "risk"].notna()]
        scores = mine[["person_id", "index_date"]].copy()
        for column in [c for c in table.columns if c.startswith(prefix)]:
            scores[column.removeprefix(prefix)] = mine[column].to_numpy()
        from riskstrat.scoring import SCORE_COLUMNS

        scores = scores[SCORE_COLUMNS].sort_values(["risk", "person_id"], ascending=[False, True],
                                                    kind="mergesort", ignore_index=True)  # fmt: skip
        features = mine[[c for c in table.columns if "::" not in c]].reset_index(drop=True)
        manifest = scores_manifest(bundle, info.version, info.uri, ctx.as_of, ctx.extract_date)
        out[bundle.model_name] = ModelScoring(bundle.model_name, str(info.version), info.uri, scores, manifest, features)
    return out


def _score_partition(extract, bundles, as_of: date) -> pd.DataFrame:
    """One partition scored by every bundle: person_id, index_date, the columns audits and
    segments read, and `<model>::<score column>` per model (null where outside its population)."""
    from riskstrat.features import AUDIT_COLUMNS, build_features
    from riskstrat.scoring import score_population

    built: dict[str, pd.DataFrame] = {}
    keep: set[str] = set(AUDIT_COLUMNS)
    scored = []
    for bundle, version in bundles:
        spec = bundle.model_spec()
        key = feature_key(spec)
        if key not in built:
            built[key] = build_features(extract, spec, [as_of], with_labels=False)
        features = built[key]
        keep |= set(bundle.segments.required_columns) | spec_rule_columns(spec)
        scores = score_population(bundle, features, version).drop(columns=["index_date"])
        scored.append(scores.set_index("person_id").add_prefix(f"{bundle.model_name}::"))
    everyone = pd.concat([f[["person_id", "index_date", *sorted(keep & set(f.columns))]]
                          for f in built.values()]).drop_duplicates("person_id").set_index("person_id")  # fmt: skip
    for frame in scored:
        everyone = everyone.join(frame, how="left")
    return everyone.reset_index()


def spec_rule_columns(spec) -> set[str]:
    """Feature columns the spec's rules read (fairness need; the rule baseline's inputs)."""
    from riskstrat.spec import check_expression

    return check_expression(spec.fairness.need) | {"acute_admissions_12m", "age"}


def month_scores_files(scorings: dict[str, ModelScoring]) -> dict[str, bytes]:
    from riskstrat.scores_io import scores_files

    files = {}
    for name, scoring in scorings.items():
        for file, payload in scores_files(scoring.scores, scoring.manifest).items():
            files[f"scores/{name}/{file}"] = payload
    return files


def month_lists(ctx: MonthContext, teams, scorings: dict[str, ModelScoring]) -> tuple[dict[str, bytes], dict, dict]:
    """(files, summary, listed ids per team) of every team's list for the month."""
    from riskstrat.contract.reader import read_table
    from riskstrat.lists import list_files

    persons = read_table(ctx.data_dir, "persons", ctx.extract_date)
    opt_outs = read_table(ctx.data_dir, "opt_outs", ctx.extract_date)
    _check_teams(teams, scorings, persons)
    previous = ctx.out_root / earlier_month(ctx.month, 1) / "lists"
    by_model = {name: (s.scores, s.manifest) for name, s in scorings.items()}
    files, summary = list_files(teams, by_model, persons, opt_outs, ctx.month, ctx.as_of,
                                previous if previous.exists() else None, prefix="lists/")  # fmt: skip
    listed = {}
    for team in teams.teams:
        csv = files[f"lists/{team.name}/target_list.csv"].decode()
        listed[team.name] = {line.split(",")[1] for line in csv.splitlines()[1:] if line}
    return files, summary, listed


def _check_teams(teams, scorings: dict[str, ModelScoring], persons: pd.DataFrame) -> None:
    from riskstrat.lists import TeamsError

    problems = []
    clinics = set(persons["gp_clinic_id"].dropna().unique())
    for team in teams.teams:
        scoring = scorings.get(team.model_name)
        if scoring is None:
            problems.append(f"team {team.name}: no scoring of model {team.model_name}")
            continue
        segments = set(scoring.scores["segment"].dropna().unique()) | {
            s.name for s in scoring.spec.segments.needs
        }
        bad = [s for s in team.eligibility.exclude_segments if s not in segments]
        if bad:
            problems.append(f"team {team.name}: unknown segment(s) {bad}; the model has {sorted(segments)}")
        unknown = [c for c in team.catchment.gp_clinics if c not in clinics]
        if unknown:
            problems.append(f"team {team.name}: GP clinic(s) {unknown} do not occur in the data")
    if problems:
        raise TeamsError("the teams file does not fit the models and data:\n  - " + "\n  - ".join(problems))


def month_fairness(ctx: MonthContext, teams, scorings: dict[str, ModelScoring], listed: dict) -> tuple[dict[str, bytes], dict]:
    """Selection against need for each model's top tiers and each team's list (aggregates)."""
    from riskstrat.contract.reader import read_table
    from riskstrat.fairness import audit_selection, render_report
    from riskstrat.lists import eligible_by_rules, in_catchment
    from riskstrat.model import evaluate_rule

    clinics = read_table(ctx.data_dir, "persons", ctx.extract_date)[["person_id", "gp_clinic_id"]]
    audits = {}
    for name, scoring in scorings.items():
        frame = scoring.features.merge(scoring.scores[["person_id", "tier", "segment"]], on="person_id")
        frame = frame.merge(clinics, on="person_id", how="left")
        fairness = scoring.spec.fairness
        frame["selected"] = frame["tier"] != scoring.spec.segments.lowest_tier
        frame["need"] = evaluate_rule(fairness.need, frame).astype(bool)
        audits[f"{name}: top tiers"] = audit_selection(frame, fairness, selected="selected", need="need")
        for team in teams.teams:
            if team.model_name != name:
                continue
            # need among the persons the team may list (catchment, age, segments): a list of
            # citizens 75+ is not under-selecting the 65-74-year-olds it may not take
            inside = frame[in_catchment(team, frame) & eligible_by_rules(team, frame)]
            inside = inside.assign(selected=inside["person_id"].isin(listed.get(team.name, set())))
            audits[f"team {team.name}"] = audit_selection(inside, fairness, selected="selected", need="need")
    context = {"month": ctx.month, "as of": ctx.as_of.isoformat(), "data extract date": ctx.extract_date.isoformat(),
               "need (observed before the as-of date, never predicted)": "; ".join(
                   f"{n}: {s.spec.fairness.need}" for n, s in scorings.items()),
               "models": ", ".join(f"{n} v{s.model_version}" for n, s in scorings.items())}  # fmt: skip
    files = render_report(audits, f"Fairness audit {ctx.month}", context)
    passed = all(a.passed for a in audits.values())
    flags = [{"scope": scope, **f} for scope, a in audits.items() for f in a.summary()["flags"]]
    return {f"fairness/{k}": v for k, v in files.items()}, {"passed": passed, "flags": flags}


def month_follow_up(ctx: MonthContext, scorings: dict[str, ModelScoring]) -> dict[str, bytes]:
    """Realised performance of each model's scoring one horizon back, if it was published
    and its horizon has passed: listed and not-listed persons apart."""
    from riskstrat.fairness import follow_up, render_report
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.scores_io import read_scores

    files: dict[str, bytes] = {}
    labelled_cache: dict = {}
    for name, scoring in scorings.items():
        horizon = int(scoring.manifest.get("horizon_months", 12))
        back = earlier_month(ctx.month, horizon)
        folder = ctx.out_root / back / "scores" / name
        if not folder.exists():
            continue
        old, manifest = read_scores(folder)
        as_of = date.fromisoformat(manifest["as_of"])
        if add_months(as_of, horizon) > ctx.extract_date:
            continue
        from riskstrat.spec import ModelSpec

        spec = ModelSpec.model_validate(manifest["spec"]) if manifest.get("spec") else scoring.spec
        cache_key = (feature_key(spec), spec.horizon_months, spec.code_list, as_of)
        if cache_key not in labelled_cache:
            labelled_cache[cache_key] = features_for_data_dir(ctx.data_dir, ctx.extract_date, spec, [as_of],
                                                              with_labels=True)  # fmt: skip
        labelled = labelled_cache[cache_key]
        frame = old[["person_id", "risk"]].merge(labelled, on="person_id")
        frame = frame[frame[spec.label_column].notna()]
        from riskstrat.lists import listed_for_model

        listed = listed_for_model(ctx.out_root / back / "lists", name)
        frame["listed"] = frame["person_id"].isin(listed)
        frame["outcome"] = frame[spec.label_column].astype(float)
        audit = follow_up(frame, spec.fairness, risk="risk", outcome="outcome", listed="listed")
        context = {"model": f"{name} v{manifest['model_version']}", "scored as of": as_of.isoformat(),
                   "outcomes observed until": add_months(as_of, horizon).isoformat(),
                   "persons listed that month": len(listed & set(frame["person_id"]))}  # fmt: skip
        report = render_report({name: audit}, f"Follow-up of {back} ({name})", context)
        files.update({f"follow-up/{name}/{k}": v for k, v in report.items()})
    return files


def month_aggregates(scorings: dict[str, ModelScoring], min_cell: int = 5) -> dict[str, float]:
    """Counts per model, tier and municipality for MLflow; cells of 1-4 are left out."""
    metrics = {}
    for name, scoring in scorings.items():
        frame = scoring.scores[["tier"]].assign(municipality_code=scoring.features.set_index("person_id")
                                                .loc[scoring.scores["person_id"], "municipality_code"].to_numpy())  # fmt: skip
        for (tier, code), n in frame.value_counts(["tier", "municipality_code"]).items():
            if n >= min_cell:
                metrics[f"{name}.{tier}.{code}"] = float(n)
        metrics[f"{name}.scored"] = float(len(frame))
    return metrics


def publish_month_outputs(ctx: MonthContext, files: dict[str, bytes], audit_record: dict):
    from riskstrat.lists import publish_month

    return publish_month(ctx.folder, files, audit_record)
