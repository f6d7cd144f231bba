"""report.html, report.md and groups.json of one or more group audits.

Rendered only from the suppressed records (`GroupAudit.records`), so a count of 1–4 can
never reach a page. Every chart is drawn from the table printed under it.
"""

from __future__ import annotations

import html
import json

from riskstrat.fairness.audit import GroupAudit

RULE = (
    "A group is flagged only when the evidence says its true value lies outside the tolerance "
    "band: one-sided tests against the nearest band edge (O/E: exact Poisson; selection-to-need: "
    "normal on the log ratio; AUROC: normal, against overall AUROC minus the allowed drop), "
    "Holm-corrected over every group and metric tested in this report (family-wise α = {alpha}). "
    "Counts of 1–4 are suppressed (·) with complementary suppression."
)


def render_report(audits: dict[str, GroupAudit], title: str, context: dict) -> dict[str, bytes]:
    """The three files of a fairness or follow-up report (deterministic bytes)."""
    records = []
    for scope, audit in audits.items():
        for record in audit.records():
            records.append({"scope": scope, **record})
    alpha = next(iter(audits.values())).tolerances.alpha if audits else 0.05
    rule = RULE.format(alpha=alpha)
    passed = all(a.passed for a in audits.values())
    verdict = "No group is flagged." if passed else "Flagged groups need attention (below)."
    facts = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in context.items())
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><ul>{facts}</ul>",
        f"<p class='{'ok' if passed else 'flag'}'><strong>{html.escape(verdict)}</strong></p>",
        f"<p class='rule'>{html.escape(rule)}</p>",
    ]
    md = [f"# {title}", "", *[f"- {k}: {v}" for k, v in context.items()], "", f"**{verdict}**", "",
          rule, ""]  # fmt: skip
    flagged = [r for r in records if r["flagged"]]
    if flagged:
        parts.append("<h2>Flags</h2><ul>")
        md += ["## Flags", ""]
        for r in flagged:
            line = f"{r['scope']} / {r['subset']}: {r['attribute']} = {r['group']}: {r['reason']}"
            parts.append(f"<li>{html.escape(line)}</li>")
            md.append(f"- {line}")
        parts.append("</ul>")
        md.append("")
    for scope, audit in audits.items():
        rows = [r for r in records if r["scope"] == scope]
        columns = _columns(audit.kind)
        parts.append(f"<h2>{html.escape(scope)}</h2>")
        md += [f"## {scope}", ""]
        for (subset, attribute) in dict.fromkeys((r["subset"], r["attribute"]) for r in rows):
            block = [r for r in rows if r["subset"] == subset and r["attribute"] == attribute]
            heading = attribute if subset == "all" else f"{attribute} ({subset.replace('_', ' ')})"
            parts.append(f"<section><h3>{html.escape(heading)}</h3>")
            parts.append(_chart(block, audit.kind))
            parts.append(_html_table(block, columns))
            parts.append("</section>")
            md += [f"### {heading}", "", _md_table(block, columns), ""]
    parts.append("<footer>riskstrat fairness report: aggregates only.</footer></body></html>")
    return {
        "report.html": "\n".join(parts).encode(),
        "report.md": "\n".join(md).encode(),
        "groups.json": (json.dumps(records, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(),
    }


def _columns(kind: str) -> list[str]:
    if kind == "selection":
        return ["group", "n", "selected", "needy", "selection_rate", "need_rate", "selection_to_need",
                "stn_ci_low", "stn_ci_high", "flagged", "reason"]  # fmt: skip
    return ["group", "n", "events", "expected", "oe_ratio", "oe_ci_low", "oe_ci_high", "auroc",
            "auroc_ci_low", "auroc_ci_high", "calibration_slope", "selection_rate", "tpr", "flagged", "reason"]  # fmt: skip


def _cell(value) -> str:
    if value is None:
        return "·"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _html_table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join(
        f"<tr class='{'flag' if r['flagged'] else ''}'>"
        + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def _chart(rows: list[dict], kind: str) -> str:
    """Point and interval per group on a log scale, with the tolerance band shaded."""
    key, low, high, band = (("selection_to_need", "stn_ci_low", "stn_ci_high", "selection to need")
                            if kind == "selection" else ("oe_ratio", "oe_ci_low", "oe_ci_high", "observed / expected"))  # fmt: skip
    shown = [r for r in rows if r.get(key) is not None and r.get(low) is not None and r.get(high)]
    if not shown:
        return ""
    import math

    lo_v, hi_v = 0.25, 4.0

    def x(v: float) -> float:
        v = min(max(v, lo_v), hi_v)
        return 200 + 360 * (math.log(v) - math.log(lo_v)) / (math.log(hi_v) - math.log(lo_v))

    h = 20
    items = [
        f"<rect x='{x(0.8):.1f}' y='0' width='{x(1.25) - x(0.8):.1f}' height='{h * len(shown)}' fill='#e8f1e8'/>",
        f"<line x1='{x(1):.1f}' x2='{x(1):.1f}' y1='0' y2='{h * len(shown)}' stroke='#888'/>",
    ]
    for i, r in enumerate(shown):
        y = i * h + h / 2
        colour = "#b22" if r["flagged"] else "#246"
        items.append(f"<text x='0' y='{y + 4}'>{html.escape(str(r['group']))[:28]}</text>")
        items.append(f"<line x1='{x(r[low]):.1f}' x2='{x(r[high]):.1f}' y1='{y}' y2='{y}' stroke='{colour}' stroke-width='2'/>")
        items.append(f"<circle cx='{x(r[key]):.1f}' cy='{y}' r='4' fill='{colour}'/>")
    return (
        f"<figure><svg role='img' aria-label='{band} by group' width='600' height='{h * len(shown)}' "
        f"font-size='11' font-family='sans-serif'>{''.join(items)}</svg><figcaption>{band} with 95% "
        "interval (log scale 0.25–4; shaded: tolerance band)</figcaption></figure>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.4rem 0 1.2rem;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:right}
th:first-child,td:first-child{text-align:left}
tr.flag td{background:#fde8e8}
p.ok{color:#1a5e1a}p.flag{color:#a11}p.rule,figcaption,footer{color:#555;font-size:.85rem}
"""
