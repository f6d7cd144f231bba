"""The calibration report: the written tables against calibration-targets.md.

Every figure is computed from the files on disk (DuckDB over the Parquet parts), with the
contract's definitions and the targets' counting rules: inhabitants are the persons alive
and living in Denmark on 1 January of the reference year, age is age in completed years on
that day, and a person has a sector contact if a hospital contact starts, a GP contact
falls, or a municipal service period overlaps within the year. Count targets scale with
the number of inhabitants (the Randers cluster had about 228,000); shares do not.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from riskstrat.disclosure import MIN_CELL, is_small
from riskstrat.reference import code_list
from riskstrat.spec import DEFAULT_CODE_LIST

RANDERS_INHABITANTS = 228_000
# (key, description, kind, target, tolerance): kind "count" has a relative tolerance,
# "share" an absolute one in percentage points, "range" is [low, high] (no tolerance).
TARGETS: list[tuple[str, str, str, int | tuple[int, int], float | None]] = [
    ("inhabitants", "inhabitants on 1 January", "count", 228_000, 0.02),
    ("gp_any", "persons with ≥1 GP contact in the year", "count", 200_000, 0.05),
    ("hospital_any", "persons with ≥1 hospital contact", "count", 106_000, 0.05),
    ("municipal_any", "persons with ≥1 municipal contact", "count", 17_000, 0.10),
    ("hospital_and_gp", "persons with hospital and GP contact", "count", 88_468, 0.05),
    ("trilateral", "persons with contact to all three sectors", "count", 12_733, 0.10),
    (
        "share_municipal_with_hospital",
        "share of municipal-contact persons also with hospital contact",
        "share",
        74,
        5,
    ),
    (
        "share_hospital_with_municipal",
        "share of hospital-contact persons also with municipal contact",
        "share",
        12,
        3,
    ),
    (
        "share_gp_with_municipal",
        "share of GP-contact persons also with municipal contact",
        "share",
        6,
        2,
    ),
    (
        "share_hospital_with_gp",
        "share of hospital-contact persons also with GP contact",
        "share",
        84,
        5,
    ),
    (
        "share_gp_with_hospital",
        "share of GP-contact persons also with hospital contact",
        "share",
        44,
        5,
    ),
    ("aged_80plus", "persons aged 80+", "count", 13_000, 0.10),
    ("gp_80plus", "80+ with ≥1 GP contact", "count", 12_839, 0.05),
    ("gp_only_80plus", "80+ with GP contact only", "count", 2_219, 0.15),
    (
        "gp_hospital_no_municipal_80plus",
        "80+ with GP and hospital but no municipal contact",
        "count",
        2_974,
        0.15,
    ),
    ("trilateral_80plus", "80+ trilateral", "count", 5_254, 0.10),
    ("hospital_80plus", "80+ with ≥1 hospital contact", "count", 8_000, 0.10),
    ("municipal_80plus", "80+ with ≥1 municipal contact", "count", 7_700, 0.10),
    (
        "share_hospital_80plus_trilateral",
        "share of 80+ with hospital contact who are trilateral",
        "share",
        63,
        7,
    ),
    (
        "share_gp_80plus_trilateral",
        "share of 80+ with GP contact who are trilateral",
        "share",
        41,
        5,
    ),
    (
        "avoidable_per_1000_65plus",
        "avoidable admissions per 1,000 citizens 65+ (label code list)",
        "range",
        (45, 75),
        None,
    ),
]


def reference_year(history_start: date, extract_date: date) -> int:
    """2021 (the targets' year) when the history covers it, else the first full year covered."""
    first = (
        history_start.year
        if history_start == date(history_start.year, 1, 1)
        else history_start.year + 1
    )
    if first <= 2021 and date(2022, 1, 1) <= extract_date:
        return 2021
    if date(first + 1, 1, 1) > extract_date:
        raise ValueError("the history does not cover a full calendar year")
    return first


def _table(root: Path, name: str) -> str:
    return f"read_parquet('{(root / name).as_posix()}/*.parquet')"


def calibration_report(root: str | Path, history_start: date, extract_date: date) -> dict:
    """The calibration figures of the data directory written at `root` (history from
    `history_start` to `extract_date`), counted in its reference year: each figure's value,
    target, accepted range and whether it passes, how many pass, and the avoidable
    admissions of persons 65+ overall and by education and municipality (small groups
    suppressed). Counts and targets are of inhabitants on 1 January; no person-level value."""
    root = Path(root)
    year = reference_year(history_start, extract_date)
    y0, y1 = f"DATE '{year}-01-01'", f"DATE '{year + 1}-01-01'"
    prefixes = sorted(code_list(DEFAULT_CODE_LIST)["code_prefix"])
    con = duckdb.connect()
    con.execute(f"""
        CREATE TEMP TABLE inhabitants AS
        SELECT person_id, municipality_code, education,
               {year} - year(birth_date) - CASE WHEN month(birth_date) = 1 AND day(birth_date) = 1 THEN 0 ELSE 1 END AS age
        FROM {_table(root, "persons")}
        WHERE birth_date < {y0}
          AND (death_date IS NULL OR death_date >= {y0})
          AND (emigration_date IS NULL OR emigration_date >= {y0})
    """)
    con.execute(f"""
        CREATE TEMP TABLE contacts AS
        SELECT i.person_id, i.age,
            i.person_id IN (SELECT person_id FROM {_table(root, "hospital_contacts")}
                            WHERE start_date >= {y0} AND start_date < {y1}) AS h,
            i.person_id IN (SELECT person_id FROM {_table(root, "gp_contacts")}
                            WHERE contact_date >= {y0} AND contact_date < {y1}) AS g,
            i.person_id IN (SELECT person_id FROM {_table(root, "municipal_services")}
                            WHERE start_date < {y1} AND (end_date IS NULL OR end_date >= {y0})) AS m
        FROM inhabitants i
    """)
    counts = con.execute("""
        SELECT count(*), sum(g::int), sum(h::int), sum(m::int), sum((h AND g)::int),
               sum((h AND g AND m)::int), sum((m AND h)::int), sum((h AND m)::int),
               sum((g AND m)::int),
               sum((age >= 80)::int), sum((age >= 80 AND g)::int),
               sum((age >= 80 AND g AND NOT h AND NOT m)::int),
               sum((age >= 80 AND g AND h AND NOT m)::int),
               sum((age >= 80 AND g AND h AND m)::int),
               sum((age >= 80 AND h)::int), sum((age >= 80 AND m)::int),
               sum((age >= 80 AND h AND g AND m)::int),
               sum((age >= 65)::int)
        FROM contacts
    """).fetchall()[0]
    (n, g, h, m, hg, hgm, mh, hm, gm, a80, g80, gonly80, gh_nom80, tri80, h80, m80, _, n65) = [
        int(v or 0) for v in counts
    ]
    like = " OR ".join(f"action_diagnosis LIKE '{p}%'" for p in prefixes)
    avoid = con.execute(f"""
        SELECT count(*), count(DISTINCT a.person_id)
        FROM {_table(root, "hospital_contacts")} a
        JOIN {_table(root, "persons")} p USING (person_id)
        JOIN inhabitants i USING (person_id)
        WHERE a.contact_type = 'inpatient' AND a.acute AND ({like})
          AND a.start_date >= {y0} AND a.start_date < {y1}
          AND date_diff('year', p.birth_date, a.start_date)
              - CASE WHEN strftime(a.start_date, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END >= 65
    """).fetchall()[0]
    by_group = _avoidable_by(con, root, y0, y1, like, "i.education")
    by_municipality = _avoidable_by(con, root, y0, y1, like, "i.municipality_code")

    def share(a, b):
        return 100 * a / b if b else None

    values = {
        "inhabitants": n,
        "gp_any": g,
        "hospital_any": h,
        "municipal_any": m,
        "hospital_and_gp": hg,
        "trilateral": hgm,
        "share_municipal_with_hospital": share(mh, m),
        "share_hospital_with_municipal": share(hm, h),
        "share_gp_with_municipal": share(gm, g),
        "share_hospital_with_gp": share(hg, h),
        "share_gp_with_hospital": share(hg, g),
        "aged_80plus": a80,
        "gp_80plus": g80,
        "gp_only_80plus": gonly80,
        "gp_hospital_no_municipal_80plus": gh_nom80,
        "trilateral_80plus": tri80,
        "hospital_80plus": h80,
        "municipal_80plus": m80,
        "share_hospital_80plus_trilateral": share(tri80, h80),
        "share_gp_80plus_trilateral": share(tri80, g80),
        "avoidable_per_1000_65plus": 1000 * avoid[0] / n65 if n65 else None,
    }
    scale = n / RANDERS_INHABITANTS
    figures = []
    for key, text, kind, target, tol in TARGETS:
        value = values[key]
        low, high, shown_target = _accepted(kind, target, tol, scale)
        ok = value is not None and low <= value <= high
        figures.append(
            {
                "figure": key,
                "description": text,
                "kind": kind,
                "value": _round(value),
                "target": shown_target,
                "low": _round(low),
                "high": _round(high),
                "pass": ok,
            }
        )
    passed = sum(f["pass"] for f in figures)
    return {
        "reference_year": year,
        "inhabitants": n,
        "count_scale": round(scale, 6),
        "passed": passed,
        "total": len(figures),
        "figures": figures,
        "avoidable": {
            "admissions": int(avoid[0]),
            "persons": int(avoid[1]),
            "inhabitants_65plus": n65,
            "share_65plus_with_admission_pct": _round(share(avoid[1], n65)),
            "per_1000_65plus_by_education": by_group,
            "per_1000_65plus_by_municipality": by_municipality,
        },
    }


def _accepted(
    kind: str, target: int | tuple[int, int], tolerance: float | None, scale: float
) -> tuple[float, float, int | str]:
    """The accepted range (low, high) of one target and the target as shown: a count's
    target scaled by `scale` with its relative tolerance, a share's (percent) with its
    absolute tolerance in percentage points, a range as given."""
    if isinstance(target, tuple):  # kind "range"
        low, high = target
        return low, high, f"{low}–{high}"
    if tolerance is None:
        raise ValueError(f"calibration target of kind {kind!r} without a tolerance")
    if kind == "count":
        scaled = target * scale
        return scaled * (1 - tolerance), scaled * (1 + tolerance), round(scaled)
    return target - tolerance, target + tolerance, target  # kind "share"


def _avoidable_by(con, root: Path, y0: str, y1: str, like: str, column: str) -> dict:
    rows = con.execute(f"""
        WITH adm AS (
            SELECT a.person_id, count(*) AS k
            FROM {_table(root, "hospital_contacts")} a
            JOIN {_table(root, "persons")} p USING (person_id)
            WHERE a.contact_type = 'inpatient' AND a.acute AND ({like})
              AND a.start_date >= {y0} AND a.start_date < {y1}
              AND date_diff('year', p.birth_date, a.start_date)
                  - CASE WHEN strftime(a.start_date, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END >= 65
            GROUP BY 1)
        SELECT coalesce(CAST({column} AS VARCHAR), 'missing') AS grp, count(*) AS n,
               coalesce(sum(adm.k), 0) AS k
        FROM inhabitants i LEFT JOIN adm USING (person_id)
        WHERE i.age >= 65 GROUP BY 1 ORDER BY 1
    """).fetchall()
    # small groups are suppressed like every other aggregate (riskstrat.disclosure)
    return {
        grp: {
            "inhabitants_65plus": n if n >= MIN_CELL else None,
            "per_1000": round(1000 * k / n, 1) if n >= MIN_CELL and not is_small(k) else None,
        }
        for grp, n, k in rows
    }


# Figures that cannot all be met together with the trilateral and 80+ figures (which
# calibration-targets.md says to meet first), and why.
KNOWN_GAPS = {
    "share_gp_with_municipal": (
        "6 % ± 2 of ~200,000 GP-contact persons is at most 16,000 persons with GP and "
        "municipal contact, while the trilateral target alone is 12,733 and the 80+ "
        "municipal figures put nearly all municipal-contact persons in GP contact; meeting "
        "trilateral and 80+ targets leaves this share at about 8 %."
    ),
    "share_hospital_with_gp": (
        "84 % of hospital-contact persons with GP contact means ~17,000 hospital-only "
        "persons, i.e. about 60 % of the ~28,000 persons without any GP contact would have "
        "hospital contact; the generator's GP non-users are mostly healthy younger adults, so "
        "the share stays near 89-90 %. The data package's own counting rules probably differ."
    ),
}


def _round(value):
    return None if value is None else round(float(value), 2)


def render_markdown(report: dict, profile: str, persons: int, seed: int) -> str:
    """The calibration report (from `calibration_report`) as Markdown for the data
    directory's calibration.md: the figures against their targets, why the known gaps are
    not met, and the avoidable admissions by education and municipality; titled with the
    profile, size and seed."""
    lines = [
        f"# Calibration report — profile `{profile}`, {persons:,} persons, seed {seed}",
        "",
        f"Reference year {report['reference_year']}; {report['inhabitants']:,} inhabitants on "
        f"1 January; count targets scaled by {report['count_scale']:.4f} (the Randers "
        "cluster's figures from calibration-targets.md; shares are not scaled).",
        "",
        f"**{report['passed']} of {report['total']} figures within tolerance.**",
        "",
        "| figure | value | target | accepted range | pass |",
        "|---|---:|---:|---|:-:|",
    ]
    for f in report["figures"]:
        value = "—" if f["value"] is None else f"{f['value']:,.1f}".rstrip("0").rstrip(".")
        lines.append(
            f"| {f['description']} | {value} | {f['target']} | {f['low']:,}–{f['high']:,} | "
            f"{'yes' if f['pass'] else '**no**'} |"
        )
    gaps = [f for f in report["figures"] if not f["pass"] and f["figure"] in KNOWN_GAPS]
    if gaps:
        lines += ["", "## Figures the generator does not meet, and why", ""]
        lines += [f"- **{f['description']}**: {KNOWN_GAPS[f['figure']]}" for f in gaps]
    a = report["avoidable"]
    lines += [
        "",
        "## Avoidable admissions (the label's code list), citizens 65+",
        "",
        f"{a['admissions']:,} admissions among {a['inhabitants_65plus']:,} inhabitants 65+; "
        f"{a['share_65plus_with_admission_pct']} % had at least one.",
        "",
        "| education | inhabitants 65+ | per 1,000 |",
        "|---|---:|---:|",
    ]
    for grp, v in a["per_1000_65plus_by_education"].items():
        lines.append(
            f"| {grp} | {v['inhabitants_65plus'] or 'suppressed'} | {v['per_1000'] or 'suppressed'} |"
        )
    lines += ["", "| municipality | inhabitants 65+ | per 1,000 |", "|---|---:|---:|"]
    for grp, v in a["per_1000_65plus_by_municipality"].items():
        lines.append(
            f"| {grp} | {v['inhabitants_65plus'] or 'suppressed'} | {v['per_1000'] or 'suppressed'} |"
        )
    lines += [
        "",
        "Synthetic data: these figures show that the generator reproduces published "
        "aggregates; they are not evidence about real citizens.",
        "",
    ]
    return "\n".join(lines)
