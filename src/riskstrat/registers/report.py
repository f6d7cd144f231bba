"""`import_report.md` and `import_report.json`: what an import read, wrote, dropped and changed.

Counts only, never a person id or a `pnr`. Every count goes through the disclosure rule of
log lines (`riskstrat.disclosure.log_count`: 1 to MIN_CELL - 1 shows as `<5`), so the
report can leave the secure environment with the model's other reports; the exact counts
are in the `ImportResult` the importer returns.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from riskstrat.disclosure import is_small, log_count

if TYPE_CHECKING:
    from riskstrat.registers.importer import ImportResult


def _count(n: int) -> int | str:
    return log_count(n) if is_small(n) else int(n)


def report_dict(result: ImportResult) -> dict:
    """The report as plain data (the JSON file's content)."""
    return {
        "contract_version": 1,
        "source_dir": str(result.source_dir),
        "layout": result.layout,
        "extract_date": result.extract_date.isoformat(),
        "extract_date_source": result.extract_date_source,
        "history_start": result.history_start.isoformat(),
        "rows_read": {name: _count(n) for name, n in sorted(result.rows_read.items())},
        "rows_written": {name: _count(n) for name, n in sorted(result.rows_written.items())},
        "passed_through": sorted(result.passed_through),
        "buckets": result.buckets,
        "changes": [
            {
                "register": c.register,
                "table": c.table,
                "action": c.action,
                "reason": c.reason,
                "rows": _count(c.rows),
            }
            for c in result.changes
        ],
        "warnings": list(result.warnings),
        "pseudonym_key": {"path": str(result.key_path), "created": result.key_created},
    }


def report_json(result: ImportResult) -> str:
    """`import_report.json`: sorted keys, two-space indent."""
    return json.dumps(report_dict(result), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def report_markdown(result: ImportResult) -> str:
    """`import_report.md`: the same facts for people."""
    data = report_dict(result)
    lines = [
        "# Register import report",
        "",
        f"- source: `{data['source_dir']}` ({data['layout']} layout)",
        f"- extract date: {data['extract_date']} ({data['extract_date_source']})",
        f"- history start: {data['history_start']}",
        f"- person buckets: {data['buckets']}"
        + (" (written as part folders)" if data["buckets"] > 1 else ""),
        f"- pseudonym key: `{data['pseudonym_key']['path']}`"
        + (" (created by this import)" if result.key_created else ""),
        "",
        "Counts from 1 to 4 show as `<5`. No person ids or CPR numbers appear here.",
        "",
        "## Rows read per source register",
        "",
        "| register | rows |",
        "|---|---:|",
        *[f"| {name} | {_fmt(n)} |" for name, n in data["rows_read"].items()],
        "",
        "## Rows written per contract table",
        "",
        "| table | rows |",
        "|---|---:|",
        *[f"| {name} | {_fmt(n)} |" for name, n in data["rows_written"].items()],
    ]
    if data["passed_through"]:
        lines += ["", "Taken as given (contract tables keyed by pnr): "]
        lines[-1] += ", ".join(data["passed_through"])
    lines += ["", "## Rows dropped, changed or warned about", ""]
    if data["changes"]:
        lines += ["| register | table | action | reason | rows |", "|---|---|---|---|---:|"]
        lines += [
            f"| {c['register']} | {c['table']} | {c['action']} | {c['reason']} | {_fmt(c['rows'])} |"
            for c in data["changes"]
        ]
    else:
        lines.append("None.")
    lines += ["", "## Warnings of the contract validation", ""]
    lines += [f"- {w}" for w in data["warnings"]] or ["None."]
    return "\n".join(lines) + "\n"


def _fmt(n: int | str) -> str:
    return f"{n:,}" if isinstance(n, int) else n
