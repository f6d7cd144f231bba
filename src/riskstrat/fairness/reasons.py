"""Why a group is flagged, in words, from the figures its report shows (so a suppressed
row's reason shows no figure)."""

from __future__ import annotations

import pandas as pd

from riskstrat.spec import Tolerances

SUPPRESSED = "figures suppressed (small-cell protection)"


def reasons(rows: pd.DataFrame, tol: Tolerances) -> list[str]:
    """Why each row is flagged, in words, from the figures the table shows (so a suppressed
    row's reason shows no figure)."""
    overall = rows[rows["attribute"] == "overall"].set_index("subset")["auroc"]
    out = []
    for r in rows.itertuples():
        parts = [_reason(m, r, tol, overall.get(r.subset)) for m in r.flag_on.split(";") if m]
        if parts and _known(r.p_holm):
            parts[-1] += f"; Holm-adjusted p = {r.p_holm:.2g}"
        out.append("; ".join(parts) if parts else SUPPRESSED if r.suppressed else "")
    return out


def _known(*values) -> bool:
    return all(v is not None and not pd.isna(v) for v in values)


def _reason(metric: str, r, tol: Tolerances, overall_auc) -> str:
    if metric == "oe":
        band = f"outside the band {tol.oe[0]}–{tol.oe[1]}"
        if not _known(r.oe_ratio, r.oe_ci_low, r.oe_ci_high):
            return f"observed/expected {band} ({SUPPRESSED})"
        side = "more" if r.oe_ratio > tol.oe[1] else "fewer"
        return (
            f"{side} events than predicted: O/E {r.oe_ratio:.2f} "
            f"(95% CI {r.oe_ci_low:.2f}–{r.oe_ci_high:.2f}) {band}"
        )
    if metric == "equal_opportunity":
        band = f"outside the band {tol.equal_opportunity[0]}–{tol.equal_opportunity[1]}"
        if not _known(r.eo_ratio, r.eo_ci_low, r.eo_ci_high, r.tpr_expected):
            return f"share of events captured by the list {band} ({SUPPRESSED})"
        side = "fewer" if r.eo_ratio < 1 else "more"
        return (
            f"the list captured {side} of this group's events than its risks expect: "
            f"{r.eo_ratio:.2f} times the expected share {r.tpr_expected:.3f} "
            f"(95% CI {r.eo_ci_low:.2f}–{r.eo_ci_high:.2f}) {band}"
        )
    if metric == "auroc":
        expected = "the AUROC expected for this group's case mix"
        if not _known(r.auroc, r.auroc_ci_high, r.auroc_expected):
            return f"AUROC more than {tol.auroc_max_drop} below {expected} ({SUPPRESSED})"
        overall = f"; overall {overall_auc:.3f}, for information" if _known(overall_auc) else ""
        return (
            f"AUROC {r.auroc:.3f} (95% CI up to {r.auroc_ci_high:.3f}) more than "
            f"{tol.auroc_max_drop} below {r.auroc_expected:.3f}, {expected} "
            f"(model-based concordance){overall}"
        )
    band = f"outside the band {tol.selection_to_need[0]}–{tol.selection_to_need[1]}"
    if not _known(r.stn_ci_low, r.stn_ci_high):
        return f"selection-to-need ratio {band} ({SUPPRESSED})"
    side = "under" if r.stn_ci_high < 1 else "over"
    ratio = f"{r.selection_to_need:.2f}" if _known(r.selection_to_need) else "n/a"
    return (
        f"{side}-selected against need: ratio {ratio} (95% CI {r.stn_ci_low:.2f}–"
        f"{r.stn_ci_high:.2f}) {band}"
    )
