"""report.html, report.md and groups.json of one or more group audits.

Rendered only from the suppressed records (`GroupAudit.records`), so a small count (or a
figure that would reveal one) can never reach a page; every chart is drawn from the table
printed under it. The output is deterministic: the same audits and context give the same
bytes (no timestamps unless the caller puts one in `context`).
"""

from __future__ import annotations

import html
import json
import math

from riskstrat.fairness.audit import MIN_AUROC_CLASS, GroupAudit
from riskstrat.spec import Tolerances

HIDDEN = "·"
COLUMNS = {
    "selection": [
        "group",
        "n",
        "selected",
        "needy",
        "selection_rate",
        "need_rate",
        "selection_to_need",
        "stn_ci_low",
        "stn_ci_high",
        "flagged",
        "reason",
    ],
    "outcomes": [
        "group",
        "n",
        "events",
        "expected",
        "oe_ratio",
        "oe_ci_low",
        "oe_ci_high",
        "calibration_slope",
        "auroc",
        "auroc_ci_low",
        "auroc_ci_high",
        "auroc_expected",
        "auroc_vs_overall",
        "selection_rate",
        "tpr",
        "tpr_expected",
        "eo_ratio",
        "eo_ci_low",
        "eo_ci_high",
        "flagged",
        "reason",
    ],
    "need": [
        "group",
        "n",
        "events",
        "expected",
        "oe_ratio",
        "oe_ci_low",
        "oe_ci_high",
        "selected",
        "selection_rate",
        "tpr",
        "tpr_expected",
        "flagged",
        "reason",
    ],
}


def rule_text(audit: GroupAudit) -> str:
    """The flag and suppression rules of an audit, in words, for the report."""
    t = audit.tolerances
    if audit.kind == "selection" and not len(audit.tests):
        return (
            "For information only, never flagged: the need rule is a proxy that differs from "
            "the model's target (for example by age), so its selection-to-need ratios (share "
            "of the selected / share of those in need, with 95% intervals) differ from 1 even "
            "for a correct model. The gate is the audit against the model's own label. "
            f"Counts of 1–{t.min_cell - 1} persons, and every figure that would reveal one, are "
            f"suppressed ({HIDDEN})."
        )
    if audit.kind == "selection":
        tests = (
            f"selection-to-need ratio (share of the selected / share of those in need) "
            f"outside {t.selection_to_need[0]}–{t.selection_to_need[1]}, normal test on the log ratio"
        )
    elif audit.kind == "need":
        tests = (
            f"need measured by the model's own label over the most recent fully observed window, "
            f"on the population of that time, selected by the model's rule: among the selected "
            f"and among the not-selected of each group, observed/expected events outside "
            f"{t.oe[0]}–{t.oe[1]} (exact Poisson). Not-selected persons with more events than "
            f"their risks said are need the selection missed; selected persons with fewer were "
            f"selected beyond their need"
        )
    else:
        tests = (
            f"observed/expected outside {t.oe[0]}–{t.oe[1]} (exact Poisson), or AUROC more "
            f"than {t.auroc_max_drop} below the AUROC expected for this group's case mix "
            f"(auroc expected: the model-based concordance of van Klaveren et al., Stat Med "
            f"2016, the AUROC the group would show if the model's risks were true, from its "
            f"risks alone; DeLong standard error of the observed AUROC, the expectation "
            f"taken as fixed; groups with at least {MIN_AUROC_CLASS} persons with and without "
            f"the event). A group defined by a predictor, such as an age band, has a narrower "
            f"spread of risk and so a lower AUROC even for a correct model; its gap to the "
            f"overall AUROC (auroc vs overall) is shown for information and not judged"
        )
        if "equal_opportunity" in set(audit.tests["metric"]):
            tests += (
                f"; or equal opportunity at capacity: the share of the group's events that the "
                f"list captured (tpr) over the share its own risks expect (tpr expected: the "
                f"risk of its listed persons over the risk of all its persons), outside "
                f"{t.equal_opportunity[0]}–{t.equal_opportunity[1]} (exact binomial given the "
                f"group's events)"
            )
    judged = sorted(set(audit.tests["subset"])) if len(audit.tests) else []
    where = (
        f" Flags are judged on: {', '.join(s.replace('_', ' ') for s in judged)}."
        if judged and set(judged) != set(audit.rows["subset"])
        else ""
    )
    return (
        f"A group is flagged only when its interval lies wholly outside the tolerance band: "
        f"{tests}. Each test's p-value is twice the one-sided p-value against the nearest band "
        f"edge; the p-values are Holm-corrected over {audit.family} (family-wise α = {t.alpha}), "
        f"so a clean population raises a false flag at most {t.alpha:.0%} of the time.{where} "
        f"Counts of 1–{t.min_cell - 1} persons, and every figure that would reveal one, are "
        f"suppressed ({HIDDEN}), with further cells suppressed wherever a hidden cell could be "
        f"recovered by subtraction from a total."
    )


def gates_markdown(t: Tolerances, audit: dict | None = None) -> str:
    """What each fairness gate checks, in words, and (given a training audit's summary) what
    it found: the model card's fairness section."""
    lines = [
        "## Fairness gates",
        "",
        "- **At training (the promotion gate, test date) and in each follow-up**, by group: "
        f"observed/expected events (exact Poisson, band {t.oe[0]}–{t.oe[1]}); the AUROC "
        "against the AUROC the group's own case mix allows (model-based concordance, van "
        f"Klaveren et al. 2016; a shortfall of more than {t.auroc_max_drop}); equal "
        "opportunity at capacity: the share of the group's events that lists of a team's "
        "size capture, against the share its own risks expect (exact binomial, band "
        f"{t.equal_opportunity[0]}–{t.equal_opportunity[1]}; at training lists of "
        "`capacity_for_metrics` persons per municipality, in a follow-up the month's lists).",
        "- **At monthly publication** (lists are withheld on a flag): the model's selection "
        "rule applied to its population one horizon before the month, against its own label "
        "now observed: observed/expected among the selected and among the not-selected of "
        "each group. The proxy need rule (`fairness.need`) is reported, never judged.",
        f"- A flag needs the group's interval wholly outside its band after a Holm correction "
        f"over the audit's tests (family-wise α = {t.alpha}); the measured false-flag and "
        "detection rates are in the README (`benchmarks/gate_rates.py`).",
    ]
    if audit is not None:
        flags = audit.get("flags") or []
        lines += [
            "",
            f"Training audit on the test date: {audit.get('tests', 0)} tests, "
            + ("no group flagged." if not flags else f"{len(flags)} flag(s):"),
            *[f"- {f['attribute']} = {f['group']}: {f['reason']}" for f in flags],
        ]
    return "\n".join(lines)


def render_report(audits: dict[str, GroupAudit], title: str, context: dict) -> dict[str, bytes]:
    """The three files of a fairness or follow-up report, as deterministic bytes.

    `audits` maps a scope name (e.g. "avoidable_admission: top tiers") to its audit;
    `context` holds facts printed at the top (as-of date, model version, ...): aggregates only."""
    records = [{"scope": scope, **r} for scope, audit in audits.items() for r in audit.records()]
    passed = all(a.passed for a in audits.values())
    verdict = "No group is flagged." if passed else "Some groups are flagged (listed below)."
    facts = [f"{k}: {v}" for k, v in context.items()]
    page = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>",
        "<ul>" + "".join(f"<li>{_e(f)}</li>" for f in facts) + "</ul>",
        f"<p class='{'ok' if passed else 'flag'}'><strong>{_e(verdict)}</strong></p>",
    ]
    md = [f"# {title}", "", *[f"- {f}" for f in facts], "", f"**{verdict}**", ""]
    flagged = [r for r in records if r["flagged"]]
    if flagged:
        lines = [
            f"{r['scope']} ({r['subset'].replace('_', ' ')}): {r['attribute']} = {r['group']}: "
            f"{r['reason']}"
            for r in flagged
        ]
        page.append("<h2>Flags</h2><ul>" + "".join(f"<li>{_e(x)}</li>" for x in lines) + "</ul>")
        md += ["## Flags", "", *[f"- {x}" for x in lines], ""]
    for scope, audit in audits.items():
        rule, notes = rule_text(audit), [*audit.notes]
        page += [f"<h2>{_e(scope)}</h2>", f"<p class='rule'>{_e(rule)}</p>"]
        page += [f"<p class='rule'>Note: {_e(n)}</p>" for n in notes]
        md += [f"## {scope}", "", rule, "", *[f"Note: {n}\n" for n in notes]]
        rows = [r for r in records if r["scope"] == scope]
        for subset, attribute in dict.fromkeys((r["subset"], r["attribute"]) for r in rows):
            block = [r for r in rows if r["subset"] == subset and r["attribute"] == attribute]
            heading = (
                attribute
                if subset == "all" and audit.partition is None
                else (f"{attribute} — {subset.replace('_', ' ')}")
            )
            page.append(
                f"<section><h3>{_e(heading)}</h3>{_charts(block, audit)}"
                f"{_html_table(block, COLUMNS[audit.kind])}</section>"
            )
            md += [f"### {heading}", "", _md_table(block, COLUMNS[audit.kind]), ""]
    page.append(
        f"<footer>Aggregates only; {HIDDEN} = suppressed. riskstrat fairness report.</footer>"
        "</body></html>"
    )
    return {
        "report.html": "\n".join(page).encode(),
        "report.md": "\n".join(md).encode(),
        "groups.json": (
            json.dumps(records, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        ).encode(),
    }


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _cell(value) -> str:
    if value is None:
        return HIDDEN
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _html_table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join(
        f"<tr class='{'flag' if r['flagged'] else ''}'>"
        + "".join(f"<td>{_e(_cell(r.get(c)))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(_cell(r.get(c)).replace("|", "/") for c in columns) + " |" for r in rows
    ]
    return "\n".join(lines)


def _charts(rows: list[dict], audit: GroupAudit) -> str:
    t = audit.tolerances
    if audit.kind == "need":
        return _interval_chart(
            rows, ("oe_ratio", "oe_ci_low", "oe_ci_high"), "observed / expected", band=t.oe
        )
    if audit.kind == "selection":
        return _interval_chart(
            rows,
            ("selection_to_need", "stn_ci_low", "stn_ci_high"),
            "selection to need",
            band=t.selection_to_need,
        )
    charts = _interval_chart(
        rows, ("oe_ratio", "oe_ci_low", "oe_ci_high"), "observed / expected", band=t.oe
    )
    if rows and rows[0]["attribute"] != "overall":
        charts += _interval_chart(
            rows,
            ("auroc", "auroc_ci_low", "auroc_ci_high"),
            "AUROC",
            floor=t.auroc_max_drop,
        )
    return charts


def _interval_chart(
    rows: list[dict],
    keys: tuple[str, str, str],
    label: str,
    band: tuple[float, float] | None = None,
    floor: float | None = None,
) -> str:
    """Inline SVG: point and 95% interval per group; ratios on a log scale (0.25–4) with the
    tolerance band shaded, AUROC on 0.4–1 with each group's flag floor (the AUROC expected
    for its case mix minus the tolerated shortfall `floor`) as a dashed tick."""
    key, low, high = keys
    shown = [r for r in rows if all(r.get(k) is not None for k in keys)]
    if not shown:
        return ""
    lo_v, hi_v, scale = (0.25, 4.0, math.log) if band else (0.4, 1.0, float)

    def x(v: float) -> float:
        v = min(max(v, lo_v), hi_v)
        return 200 + 360 * (scale(v) - scale(lo_v)) / (scale(hi_v) - scale(lo_v))

    h, height = 20, 20 * len(shown)
    items = []
    if band:
        items.append(
            f"<rect x='{x(band[0]):.1f}' y='0' width='{x(band[1]) - x(band[0]):.1f}' "
            f"height='{height}' fill='#e8f1e8'/>"
        )
        items.append(f"<line x1='{x(1):.1f}' x2='{x(1):.1f}' y1='0' y2='{height}' stroke='#888'/>")
    for i, r in enumerate(shown):
        y = i * h + h / 2
        if floor is not None and r.get("auroc_expected") is not None:
            at = x(r["auroc_expected"] - floor)
            items.append(
                f"<line x1='{at:.1f}' x2='{at:.1f}' y1='{y - 8}' y2='{y + 8}' "
                "stroke='#b22' stroke-dasharray='3 2'/>"
            )
        colour = "#b22" if r["flagged"] else "#246"
        items.append(f"<text x='0' y='{y + 4}'>{_e(str(r['group'])[:28])}</text>")
        items.append(
            f"<line x1='{x(r[low]):.1f}' x2='{x(r[high]):.1f}' y1='{y}' y2='{y}' "
            f"stroke='{colour}' stroke-width='2'/>"
        )
        items.append(f"<circle cx='{x(r[key]):.1f}' cy='{y}' r='4' fill='{colour}'/>")
    axis = (
        f"log scale {lo_v}–{hi_v:g}; shaded: tolerance band {band[0]}–{band[1]}"
        if band
        else f"scale {lo_v}–{hi_v:g}; dashed: the AUROC expected for the group's case mix "
        f"minus the tolerated shortfall"
    )
    return (
        f"<figure><svg role='img' aria-label='{_e(label)} by group' width='600' height='{height}' "
        f"font-size='11' font-family='sans-serif'>{''.join(items)}</svg><figcaption>{_e(label)} "
        f"with 95% interval by group ({axis}; suppressed groups are not drawn)</figcaption></figure>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.4rem 0 1.2rem;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:right}
th:first-child,td:first-child,td:last-child{text-align:left}
tr.flag td{background:#fde8e8}
p.ok{color:#1a5e1a}p.flag{color:#a11}p.rule,figcaption,footer{color:#555;font-size:.85rem}
"""
