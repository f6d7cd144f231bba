"""The model card: what a model is, what it was trained on, how well it works, and where not.

Markdown, built only from the spec, the bundle and aggregate tables, so it can be logged
and shared. The lead's MLflow module may append the fairness audit as a further section.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
from scipy.stats import beta

from riskstrat.disclosure import min_cell_of
from riskstrat.model.bundle import ModelBundle
from riskstrat.spec import ModelSpec

LABELS = {
    "avoidable_admission": "at least one acute inpatient admission with an action diagnosis on the "
    "avoidable-admission code list ({code_list}), at an age the list covers",
    "trilateral": "contact with all three sectors (a hospital contact, a GP contact and a municipal "
    "service period)",
    "new_trilateral": "contact with all three sectors, for persons who were not trilateral in the "
    "12 months before the index date",
}
PERFORMANCE = [
    ("auroc", "AUROC"),
    ("auprc", "AUPRC (average precision)"),
    ("brier", "Brier score"),
    ("calibration_slope", "Calibration slope"),
    ("calibration_intercept", "Calibration intercept (slope fixed at 1)"),
    ("oe_ratio", "Observed / expected events"),
    ("precision_top1pct", "Precision, top 1 %"),
    ("recall_top1pct", "Recall, top 1 %"),
    ("precision_top5pct", "Precision, top 5 %"),
    ("recall_top5pct", "Recall, top 5 %"),
    ("precision_capacity", "Precision at capacity ({capacity} persons)"),
    ("recall_capacity", "Recall at capacity ({capacity} persons)"),
]
LIMITATIONS = [
    "Person attributes (municipality, living alone, education, income, origin) are a snapshot as "
    "of the extract date, also for past index dates; features built from them describe the "
    "person as they are now, not as they were.",
    "Evaluated on one later index date; performance and calibration drift with changes in "
    "coding, services and case mix. The monthly follow-up checks realised performance.",
    "Reason codes are the largest contributions to the model's score (TreeSHAP), not causes: "
    "they say why the model ranks a person high, not what will prevent an admission.",
    "Persons who receive outreach because of a list may avoid the outcome; later labels of "
    "listed persons are not comparable with those of persons not listed.",
    "Bootstrap intervals resample the test persons only; they do not include the variation "
    "from re-training the model.",
    "Counts from 1 to {last_small} are suppressed in every table, with further cells where a "
    "total would reveal a suppressed one.",
]


def render_model_card(
    spec: ModelSpec,
    bundle: ModelBundle,
    metrics: dict[str, float],
    tables: dict[str, pd.DataFrame],
    beats_baselines: bool,
    data_description: str | None = None,
) -> str:
    """The model card in Markdown."""
    sections = [
        _header(spec, bundle),
        _data(bundle, metrics, data_description),
        _population_and_label(spec),
        _model(spec, bundle),
        _refit(bundle, metrics),
        _performance(spec, metrics),
        _calibration_at_top(tables),
        _baselines(spec, metrics, beats_baselines),
        _segments(bundle, tables),
        "## Subgroups (test date)\n\n" + markdown_table(tables["subgroups.csv"]),
        "## Limitations\n\n"
        + "\n".join(f"- {item.format(last_small=min_cell_of(spec) - 1)}" for item in LIMITATIONS),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def markdown_table(table: pd.DataFrame) -> str:
    """A Markdown table; numbers to 4 significant digits, blanks for suppressed cells."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "---|" * len(table.columns)
    rows = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def _cell(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.4g}"
    return "" if value is None else str(value)


def _header(spec: ModelSpec, bundle: ModelBundle) -> str:
    lines = [f"# Model card: {spec.name}"]
    if spec.description.strip():
        lines.append(spec.description.strip())
    refit = "refit_train" in bundle.index_dates
    fitted = (
        f"refitted on {', '.join(bundle.index_dates['refit_train'])} with the evaluated "
        f"model's {bundle.best_iteration} boosting rounds, calibrated on "
        f"{bundle.index_dates['refit_calibration']}"
        if refit
        else f"with {bundle.best_iteration} boosting rounds (early stopping on the validation date)"
    )
    lines.append(
        f"- Spec fingerprint: `{bundle.spec_fingerprint}`\n"
        f"- Learner: LightGBM {fitted}, {spec.calibration} calibration{_top_step(bundle)}\n"
        f"- Inputs: {len(bundle.feature_names)}"
    )
    return "\n\n".join(lines)


def _top_step(bundle: ModelBundle) -> str:
    """The highest risk the calibration gives, with its 95 % interval and its evidence.

    The interval of a shrunk step is a posterior under the smooth fit's prior, so for a
    step of a few persons it is mostly the smooth fit's certainty; the step's own exact
    interval is given beside it, so a reader sees how little the step itself shows."""
    calibrator = bundle.calibrator
    if not calibrator.n:
        return ""
    top = np.array([calibrator.x[-1]])
    low, high = calibrator.interval(top)
    events, n = calibrator.events[-1], calibrator.n[-1]
    own_low, own_high = _exact_interval(events, n)
    prior = " under the shrinkage prior" if calibrator.method == "shrunk_isotonic" else ""
    # a step of events only has an exact upper bound of 100 %, which would read as a risk
    # of 100 %: its lower bound is what it shows
    own = (
        f"exact 95 % lower bound {own_low:.1%}"
        if events == n
        else f"exact 95 % interval {own_low:.1%}-{own_high:.1%}"
    )
    return (
        f"; highest risk {calibrator.predict(top)[0]:.1%} (95 % interval {low[0]:.1%}-"
        f"{high[0]:.1%}{prior}; its calibration step alone: {events:.0f} events among "
        f"{n:.0f} persons, {own}); the rank follows the model's full-resolution score"
    )


def _exact_interval(events: float, n: float) -> tuple[float, float]:
    """Clopper-Pearson 95 % interval of events / n."""
    low = beta.ppf(0.025, events, n - events + 1) if events > 0 else 0.0
    high = beta.ppf(0.975, events + 1, n - events) if events < n else 1.0
    return float(low), float(high)


def _data(bundle: ModelBundle, metrics: dict[str, float], description: str | None) -> str:
    dates = bundle.index_dates
    rows = [
        ("training", ", ".join(dates["train"]), "train"),
        ("validation", dates["validation"], "validation"),
        ("test", dates["test"], "test"),
    ]
    table = pd.DataFrame(
        [
            (
                role,
                when,
                metrics[f"n_{key}"],
                metrics[f"events_{key}"],
                metrics[f"dropped_unlabelled_{key}"],
            )
            for role, when, key in rows
        ],
        columns=["role", "index dates", "persons", "events", "dropped (label unknown)"],
    )
    if "refit_train" in dates and "n_refit_train" in metrics:
        table.loc[len(table)] = (
            "refit training (registered model)",
            ", ".join(dates["refit_train"]),
            metrics["n_refit_train"],
            metrics["events_refit_train"],
            metrics["dropped_unlabelled_refit_train"],
        )
    return (
        f"## Data\n\nExtract: {description or 'not given'}.\n\n{markdown_table(table)}\n\n"
        "Out-of-time: every training label window ends on or before the validation index date, "
        "and the validation window on or before the test index date."
    )


def _refit(bundle: ModelBundle, metrics: dict[str, float]) -> str:
    """Which model is registered, and why the test figures below are its backtest."""
    dates = bundle.index_dates
    if "refit_train" not in dates:
        return (
            "## Registered model\n\nThe evaluated model itself (the spec says `refit: false`): "
            "it was fitted on the oldest dates of the extract."
        )
    return (
        "## Registered model and its backtest\n\n"
        f"The model that is registered and scores is the evaluated learner (same "
        f"parameters, {bundle.best_iteration} rounds) refitted on the most recent fully "
        f"observed index dates, {', '.join(dates['refit_train'])} "
        f"({metrics.get('n_refit_train', float('nan')):,.0f} person-dates), and calibrated, "
        f"with its tier cut-points, on {dates['refit_calibration']}, which the refit did not "
        "see. The evaluated model is that same procedure run one validation-to-test gap "
        f"earlier: fitted on {', '.join(dates['train'])}, calibrated on "
        f"{dates['validation']} and tested on {dates['test']}. The test figures below are "
        "therefore the backtest of the registered model's procedure (refit as of the "
        "validation date, tested one gap later); the registered model itself has no later "
        "date to be tested on until the monthly follow-up."
    )


def _calibration_at_top(tables: dict[str, pd.DataFrame]) -> str:
    if "calibration_top.csv" not in tables:
        return ""
    return (
        "## Calibration at the top (test date)\n\nWhere lists are drawn: the persons ranked "
        "in the top 1 %, 1-5 % and 5-20 % by risk, observed against expected events, with exact "
        "95 % intervals.\n\n" + markdown_table(tables["calibration_top.csv"])
    )


def _population_and_label(spec: ModelSpec) -> str:
    population = spec.population
    extra = ""
    if population.max_age is not None:
        extra += f", aged at most {population.max_age}"
    if population.exclude_nursing_home:
        extra += ", not living in a nursing home"
    label = LABELS[spec.label].format(code_list=spec.code_list)
    return (
        "## Population\n\nEveryone alive and resident on the index date, born before it and aged "
        f"{population.min_age} or more{extra}.\n\n"
        f"## Label\n\n`{spec.label_column}` = 1 for {label} within {spec.horizon_months} months "
        "after the index date; else 0. Persons whose window is not fully observed have no label "
        "and are not used."
    )


def _model(spec: ModelSpec, bundle: ModelBundle) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(spec.learner.params.items()))
    inputs = ", ".join(f"`{n}`" for n in bundle.feature_names)
    return (
        f"## Model\n\nLightGBM ({params or 'defaults'}), early stopping after "
        f"{spec.learner.early_stopping_rounds} rounds without improvement on the validation "
        f"date, seed {spec.seed}.\n\nInputs: {inputs}."
    )


def _performance(spec: ModelSpec, metrics: dict[str, float]) -> str:
    rows = []
    for key, title in PERFORMANCE:
        name = f"test_{key}"
        rows.append(
            (
                title.format(capacity=spec.capacity_for_metrics),
                metrics[name],
                metrics[f"{name}_ci_low"],
                metrics[f"{name}_ci_high"],
            )
        )
    table = pd.DataFrame(rows, columns=["metric", "estimate", "95 % CI low", "95 % CI high"])
    return "## Performance on the test date\n\n" + markdown_table(table)


def _baselines(spec: ModelSpec, metrics: dict[str, float], beats: bool) -> str:
    rows = []
    for name in spec.baselines:
        gain = f"test_auroc_gain_over_{name}"
        rows.append(
            (
                name,
                metrics[f"{name}_test_auroc"],
                metrics[f"{name}_test_auprc"],
                metrics[gain],
                metrics[f"{gain}_ci_low"],
                metrics[f"{gain}_ci_high"],
            )
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "baseline",
            "AUROC",
            "AUPRC",
            "AUROC gain of LightGBM",
            "gain CI low",
            "gain CI high",
        ],
    )
    verdict = (
        "LightGBM beats every baseline on the test date (the 95 % interval of its AUROC gain lies above zero)."
        if beats
        else "**Warning: LightGBM does not beat every baseline on the test date** (the 95 % interval "
        "of its AUROC gain does not lie wholly above zero for at least one baseline). Prefer the "
        "simpler model or improve the features before promoting this one."
    )
    rule = (
        "`rule`: most acute admissions in the last 12 months first, the oldest first among equals. "
    )
    logistic = "`logistic`: L2-regularised logistic regression on the same inputs."
    return f"## Baselines\n\n{rule}{logistic}\n\n{markdown_table(table)}\n\n{verdict}"


def _segments(bundle: ModelBundle, tables: dict[str, pd.DataFrame]) -> str:
    rules = "\n".join(
        f"{i}. `{name}`: `{rule}`" for i, (name, rule) in enumerate(bundle.segments.needs, 1)
    )
    cuts = ", ".join(
        f"{name} {cut:.4f}"
        for name, cut in zip(bundle.segments.tier_names, bundle.segments.cut_points, strict=True)
    )
    return (
        "## Segments\n\nRisk tiers by fixed cut-points on the calibrated risk, set on the "
        f"population of the date the model is calibrated on (registered model: {cuts}); the "
        "evaluated model's, set on the validation date:\n\n"
        + markdown_table(tables["tiers.csv"])
        + "\n\nNeeds segments (first "
        f"matching rule wins; `other` if none):\n\n{rules}\n\n"
        + markdown_table(tables["segments.csv"])
    )
