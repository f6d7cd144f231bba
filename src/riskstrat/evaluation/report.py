"""`evaluation/report.md`, `report.json` and `report.html` of one follow-up of the randomised
evaluation, as file bytes (the runs layout decides where they go).

Aggregates only, and every count of persons passes `riskstrat.disclosure` first: counts of
1 to `min_cell - 1` are hidden, with complementary suppression within each outcome's table
of strata against the pooled totals published above it; a figure that would reveal a hidden
count (a risk, a difference, an interval) is hidden with it. Deterministic: the same
evaluation and context give the same bytes.
"""

from __future__ import annotations

import html
import json
import math

import pandas as pd

from riskstrat.disclosure import MIN_CELL, hidden_in_table, is_small
from riskstrat.evaluation.estimates import LABELS, Evaluation, plain_sentence
from riskstrat.evaluation.settings import EvaluationSettings

HIDDEN = "·"
TITLE = "Evaluation of the lists: does outreach change admissions?"
STRATUM_FIGURES = {
    "binary": {
        "n_listed": ["n_listed"],
        "events_listed": ["events_listed"],
        "n_holdout": ["n_holdout"],
        "events_holdout": ["events_holdout"],
        "difference": ["n_listed", "events_listed", "n_holdout", "events_holdout"],
        "ratio": ["n_listed", "events_listed", "n_holdout", "events_holdout"],
    },
    "count": {
        "n_listed": ["n_listed"],
        "mean_listed": ["n_listed"],
        "n_holdout": ["n_holdout"],
        "mean_holdout": ["n_holdout"],
        "difference": ["n_listed", "n_holdout"],
    },
}
INTERVALS = {
    "difference": ("difference_low", "difference_high"),
    "ratio": ("ratio_low", "ratio_high"),
}


def randomisation_note(settings: EvaluationSettings) -> str:
    """The report context's line on how persons were randomised (`settings`: the teams
    file's evaluation block)."""
    if settings.design == "stepped_wedge":
        return "stepped wedge: teams (or municipalities) start in scheduled months"
    holdouts, persons = settings.block
    note = (
        f"blocked randomisation within team × risk band ({holdouts} of every {persons} new "
        "candidates to usual care)"
    )
    if settings.balance_limit is None:
        return note
    return (
        f"{note}, rerandomised until every baseline covariate's within-strata SMD < "
        f"{settings.balance_limit:g} (Morgan & Rubin 2012); intervals are conservative under "
        "rerandomisation"
    )


def report_content(evaluation: Evaluation, context: dict, min_cell: int = MIN_CELL) -> dict:
    """The report as a JSON-ready dict (every count suppressed): {title, context, sentence,
    persons, effects, complier, minimum_detectable_effect, balance, strata, min_cell}."""
    persons = {arm: _count(n, min_cell) for arm, n in evaluation.persons.items()}
    effects = [_pooled_row(r, min_cell) for r in _records(evaluation.effects)]
    hidden = {r["outcome"] for r in effects if r.get("suppressed")}
    primary = next(iter(evaluation.outcomes))
    sentence = evaluation.sentence
    if primary in hidden:
        # the sentence quotes the ratio and the detectable effect: both would give counts away
        sentence = plain_sentence(None, None, primary)
    return {
        "title": TITLE,
        "context": context,
        "sentence": sentence,
        "persons": persons,
        "effects": effects,
        "complier": [r for r in _records(evaluation.complier) if r["outcome"] not in hidden],
        "minimum_detectable_effect": {
            k: (None if k in hidden else v) for k, v in evaluation.mde.items()
        },
        "balance": _records(evaluation.balance),
        "strata": _strata(evaluation, min_cell),
        "min_cell": min_cell,
    }


def render_report(
    evaluation: Evaluation, context: dict, min_cell: int = MIN_CELL
) -> dict[str, bytes]:
    """{'report.json', 'report.md', 'report.html': bytes} of one follow-up."""
    return render_content(report_content(evaluation, context, min_cell))


def render_content(content: dict) -> dict[str, bytes]:
    """{'report.json', 'report.md', 'report.html': bytes} of `report_content`'s result."""
    return {
        "report.json": (json.dumps(_clean(content), indent=2, sort_keys=True) + "\n").encode(),
        "report.md": _markdown(content).encode(),
        "report.html": _html(content).encode(),
    }


# ------------------------------------------------------------------ suppression
def _count(n: int | None, min_cell: int) -> int | None:
    return None if n is None or is_small(n, min_cell) else int(n)


def _pooled_row(row: dict, min_cell: int) -> dict:
    counts = ["n_listed", "n_holdout", "events_listed", "events_holdout"]
    small = [c for c in counts if row.get(c) is not None and is_small(row[c], min_cell)]
    if not small:
        return row
    hidden = dict.fromkeys(small)
    # a figure computed from a hidden count would give it away
    hidden.update(dict.fromkeys(["estimate", "ci_low", "ci_high", "se", "p_value", "log_ratio"]))
    hidden.update(dict.fromkeys(["mean_listed", "mean_holdout"]))
    return {**row, **hidden, "suppressed": True}


def _strata(evaluation: Evaluation, min_cell: int) -> list[dict]:
    out = []
    for outcome, kind in evaluation.outcomes.items():
        table = evaluation.strata[evaluation.strata["outcome"] == outcome].set_index("stratum")
        if table.empty:
            continue
        figures = STRATUM_FIGURES[kind]
        cells = table[["n_listed", "n_holdout"]].copy()
        row_sums: list[list[str]] = []
        if kind == "binary":
            cells["events_listed"] = table["events_listed"]
            cells["events_holdout"] = table["events_holdout"]
            cells["none_listed"] = table["n_listed"] - table["events_listed"]
            cells["none_holdout"] = table["n_holdout"] - table["events_holdout"]
            row_sums = [
                ["n_listed", "events_listed", "none_listed"],
                ["n_holdout", "events_holdout", "none_holdout"],
            ]
        hidden = hidden_in_table(cells, figures, row_sums=row_sums, min_cell=min_cell)
        for stratum, row in table.iterrows():
            record = {"outcome": outcome, "stratum": stratum}
            for figure in figures:
                names = [figure, *INTERVALS.get(figure, ())]
                for name in names:
                    value = row.get(name)
                    value = _plain(value)
                    if name.startswith(("n_", "events_")) and value is not None:
                        value = int(value)
                    record[name] = None if hidden.at[stratum, figure] else value
            record["suppressed"] = bool(hidden.loc[stratum].any())
            out.append(record)
    return out


# ------------------------------------------------------------------ formats
def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return _plain(value)


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return HIDDEN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _whole(value) -> str:
    return HIDDEN if value is None else str(int(round(value)))


def _interval(row: dict, low: str = "ci_low", high: str = "ci_high") -> str:
    if row.get(low) is None or row.get(high) is None:
        return HIDDEN
    return f"{row[low]:.3f} to {row[high]:.3f}"


def _tables(content: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, columns, rows of text) of every table of the report."""
    effects = [
        [
            LABELS.get(r["outcome"], r["outcome"]),
            r["scale"],
            _fmt(r["estimate"]),
            _interval(r),
            _fmt(r["p_value"]),
            _whole(r["n_listed"]),
            _whole(r["n_holdout"]),
            _whole(r["events_listed"]) if r["kind"] == "binary" else _fmt(r["mean_listed"]),
            _whole(r["events_holdout"]) if r["kind"] == "binary" else _fmt(r["mean_holdout"]),
        ]
        for r in content["effects"]
    ]
    complier = [
        [
            LABELS.get(r["outcome"], r["outcome"]),
            _fmt(r["estimate"]),
            _interval(r),
            _fmt(r["contact_listed"], 2),
            _fmt(r["contact_holdout"], 2),
        ]
        for r in content["complier"]
    ]
    mde = [
        [LABELS.get(k, k), HIDDEN if v is None else f"{100 * v:.0f} %"]
        for k, v in content["minimum_detectable_effect"].items()
    ]
    balance = [
        [
            r["covariate"],
            _fmt(r["mean_listed"]),
            _fmt(r["mean_holdout"]),
            _fmt(r["smd"]),
            _fmt(r["smd_within"]),
            _fmt(r["max_abs_stratum"]),
            _fmt(r["balanced"]),
        ]
        for r in content["balance"]
    ]
    strata = [
        [
            LABELS.get(r["outcome"], r["outcome"]),
            str(r["stratum"]),
            _whole(r.get("n_listed")),
            _whole(r.get("n_holdout")),
            _whole(r["events_listed"]) if "events_listed" in r else _fmt(r.get("mean_listed")),
            _whole(r["events_holdout"]) if "events_holdout" in r else _fmt(r.get("mean_holdout")),
            _fmt(r.get("difference")),
            _interval(r, "difference_low", "difference_high"),
            _fmt(r.get("ratio")),
        ]
        for r in content["strata"]
    ]
    arms = ["persons listed", "persons held out", "events (mean) listed", "events (mean) held out"]
    return [
        (
            "Intention to treat, pooled over teams, risk bands and months",
            ["outcome", "scale", "estimate", "95 % CI", "p", *arms],
            effects,
        ),
        (
            "Among those contacted (assignment as the instrument)",
            ["outcome", "difference", "95 % CI", "contacted, listed", "contacted, held out"],
            complier,
        ),
        (
            "Smallest detectable reduction (80 % power, two-sided 5 %)",
            ["outcome", "reduction"],
            mde,
        ),
        (
            "Balance of baseline covariates (standardised mean differences)",
            [
                "covariate",
                "mean listed",
                "mean held out",
                "SMD",
                "SMD within strata",
                "largest absolute SMD in a stratum",
                "balanced",
            ],
            balance,
        ),
        (
            "By team and risk band",
            ["outcome", "stratum", *arms, "difference", "95 % CI", "ratio"],
            strata,
        ),
    ]


def _markdown(content: dict) -> str:
    lines = [f"# {content['title']}", "", f"**{content['sentence']}**", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(content["context"].items())]
    lines += [
        f"- persons followed up: {_fmt(content['persons']['listed'])} listed, "
        f"{_fmt(content['persons']['holdout'])} held out",
        f"- counts of 1 to {content['min_cell'] - 1} are hidden ({HIDDEN}), with figures that "
        "would reveal them",
        "",
    ]
    for heading, columns, rows in _tables(content):
        lines += [f"## {heading}", "", _md_row(columns), "|" + "---|" * len(columns)]
        lines += [_md_row(row) for row in rows]
        lines.append("")
    lines += [_method(content), ""]
    return "\n".join(lines)


def _md_row(cells: list[str]) -> str:
    # a stratum is written team|band: a bare pipe would split the cell
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


# four outcomes on two scales: by chance alone about one in twenty of the secondary
# comparisons shows p < 0.05 in a world without any effect
_MULTIPLICITY = (
    "Avoidable admission is the primary outcome; acute admissions, deaths and days in "
    "hospital are secondary, with no correction for multiple comparisons: read them as "
    "exploratory. "
)
_METHOD = (
    "Method: each person counts once, from the month they were randomised, with the "
    "outcomes of the horizon that followed. Differences: linear model with a fixed effect "
    "per stratum (team × risk band), robust (HC1) errors. Ratios: Poisson model with the "
    "same fixed effects, robust (HC0) errors. Among those contacted: the Wald (instrumental "
    "variable) estimator, delta-method interval. " + _MULTIPLICITY + "Never compare before "
    "with after: only the randomised comparison is evidence."
)
_METHOD_WEDGE = (
    "Method: each person counts once, from the month they were first considered, with the "
    "outcomes of the horizon that followed. Differences: linear model with a fixed effect "
    "per stratum (calendar month × risk band), errors by the cluster jackknife over teams "
    "(CRV3) with Student's t on teams - 1 degrees of freedom. Ratios: Poisson model with the "
    "same fixed effects and the same jackknife. Among those contacted: the Wald "
    "(instrumental variable) estimator. The smallest detectable reduction comes from the "
    "jackknife error of the difference. " + _MULTIPLICITY + "Never compare before with "
    "after: only the "
    "comparison of started and not yet started teams in the same month is evidence."
)


def _method(content: dict) -> str:
    """The method paragraph of the report's design."""
    wedge = content["context"].get("design") == "stepped_wedge"
    return _METHOD_WEDGE if wedge else _METHOD


def _html(content: dict) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(content['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
        "padding:.2em .5em;text-align:right}th{background:#eee}</style></head><body>",
        f"<h1>{e(content['title'])}</h1>",
        f"<p><strong>{e(content['sentence'])}</strong></p><ul>",
    ]
    parts += [f"<li>{e(str(k))}: {e(str(v))}</li>" for k, v in sorted(content["context"].items())]
    parts.append(
        f"<li>persons followed up: {e(_fmt(content['persons']['listed']))} listed, "
        f"{e(_fmt(content['persons']['holdout']))} held out</li>"
        f"<li>counts of 1 to {content['min_cell'] - 1} are hidden ({HIDDEN})</li></ul>"
    )
    for heading, columns, rows in _tables(content):
        parts.append(f"<h2>{e(heading)}</h2><table><tr>")
        parts += [f"<th>{e(c)}</th>" for c in columns]
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>")
        parts.append("</table>")
    parts.append(f"<p>{e(_method(content))}</p></body></html>\n")
    return "".join(parts)
