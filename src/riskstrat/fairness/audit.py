"""Group audits: who is selected against need, and how well the model works, by group.

One object, one question (fairlearn's `MetricFrame` style). `audit_selection` asks, before
outcomes are known, whether each group is selected in proportion to its need (need is
measured from observed events before the index date, never from the model's own risk).
`audit_outcomes` asks, once outcomes are known, whether the model is calibrated
(observed/expected with an exact Poisson interval, calibration slope) and discriminates
(AUROC with a Hanley–McNeil interval) in every group. Point metrics per group
(selection rate, true-positive rate, counts) are fairlearn `MetricFrame`'s, computed in one
groupby for speed; the tests check them against `MetricFrame` itself.

The flag rule: a group is flagged only when the evidence says its true value lies outside
the spec's tolerance band — each group's one-sided test against the nearest band edge
(O/E: exact Poisson; selection-to-need: normal on the log ratio; AUROC: normal, against
overall AUROC minus the allowed drop) gives a p-value, and the p-values of all groups and
metrics in the audit are Holm-corrected together (family-wise α, default 0.05).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from riskstrat.spec import Fairness, Tolerances

FIELDS = ["attribute", "group", "n", "events", "expected", "oe_ratio", "oe_ci_low", "oe_ci_high",
          "auroc", "selection_rate", "need_rate", "tpr", "suppressed", "flagged", "reason"]  # fmt: skip
EXTRA = ["subset", "selected", "needy", "selection_to_need", "stn_ci_low", "stn_ci_high",
         "auroc_ci_low", "auroc_ci_high", "calibration_slope", "p_value", "p_holm"]  # fmt: skip
# Counts whose small values (1-4) would identify persons, and the figures derived from them.
COUNTS = ["n", "events", "selected", "needy"]
DERIVED = {
    "n": ["expected", "selection_rate", "need_rate"],
    "events": ["oe_ratio", "oe_ci_low", "oe_ci_high", "auroc", "auroc_ci_low", "auroc_ci_high",
               "tpr", "calibration_slope"],
    "selected": ["selection_rate", "selection_to_need", "stn_ci_low", "stn_ci_high", "tpr"],
    "needy": ["need_rate", "selection_to_need", "stn_ci_low", "stn_ci_high"],
}  # fmt: skip


@dataclass
class GroupAudit:
    """The rows of one audit (one per subset, attribute and group) and how they were judged."""

    rows: pd.DataFrame
    tolerances: Tolerances
    kind: str  # "selection" or "outcomes"
    overall_auroc: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not bool(self.rows["flagged"].any())

    def flags(self) -> pd.DataFrame:
        return self.suppressed().query("flagged")

    def suppressed(self) -> pd.DataFrame:
        """Counts 1–4 hidden with every figure derived from them, plus complementary
        suppression within each attribute, so no hidden count can be recovered."""
        out = self.rows.copy()
        hidden = pd.Series(False, index=out.index)
        for column in COUNTS:
            if column not in out or out[column].isna().all():
                continue
            values = pd.to_numeric(out[column], errors="coerce")
            small = (values >= 1) & (values < self.tolerances.min_cell)
            for _, idx in out.groupby(["subset", "attribute"], sort=False).groups.items():
                block = small.loc[idx]
                shown = values.loc[idx][~block & (values.loc[idx] > 0)]
                if int(block.sum()) == 1 and len(shown):
                    small.loc[shown.idxmin()] = True
            for derived in [column, *DERIVED[column]]:
                if derived in out:
                    out[derived] = out[derived].astype(object).where(~small, None)
            hidden |= small
        out["suppressed"] = hidden
        out.loc[hidden, "reason"] = out.loc[hidden, "reason"].where(
            out.loc[hidden, "flagged"], "suppressed: fewer than 5 persons"
        )
        return out

    def records(self) -> list[dict]:
        """The groups.json records (interfaces.md fields first), suppressed."""
        table = self.suppressed()
        columns = [c for c in FIELDS + EXTRA if c in table]
        records = []
        for row in table[columns].to_dict(orient="records"):
            records.append({k: _plain(v) for k, v in row.items()})
        return records

    def summary(self) -> dict:
        """Aggregates for MLflow and gates: pass/fail, flags, and the suppressed records."""
        return {
            "kind": self.kind,
            "passed": self.passed,
            "flags": [
                {k: r[k] for k in ("subset", "attribute", "group", "reason")}
                for r in self.records() if r["flagged"]
            ],
            "overall_auroc": None if self.overall_auroc is None else round(self.overall_auroc, 4),
            "groups": self.records(),
        }  # fmt: skip


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4)
    return value


def group_columns(frame: pd.DataFrame, fairness: Fairness) -> dict[str, pd.Series]:
    """The attributes to audit (present in `frame`) and the spec's intersections."""
    out = {"overall": pd.Series("all", index=frame.index)}
    for attribute in fairness.attributes:
        if attribute in frame:
            out[attribute] = frame[attribute].astype(object).where(frame[attribute].notna(), "missing").astype(str)
    for a, b in fairness.intersections:
        if a in frame and b in frame:
            out[f"{a}×{b}"] = out[a] + "×" + out[b]
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def poisson_ci(observed: float, expected: float, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval of observed/expected."""
    if expected <= 0:
        return np.nan, np.nan
    low = stats.chi2.ppf(alpha / 2, 2 * observed) / 2 if observed > 0 else 0.0
    high = stats.chi2.ppf(1 - alpha / 2, 2 * observed + 2) / 2
    return low / expected, high / expected


def oe_p_value(observed: float, expected: float, band: tuple[float, float]) -> float:
    """One-sided exact Poisson p-value that the true O/E lies outside `band`."""
    if expected <= 0:
        return 1.0
    ratio = observed / expected
    if ratio > band[1]:
        return float(stats.poisson.sf(observed - 1, band[1] * expected))
    if ratio < band[0]:
        return float(stats.poisson.cdf(observed, band[0] * expected))
    return 1.0


def auroc_ci(auc: float, positives: int, negatives: int, z: float = 1.96) -> tuple[float, float, float]:
    """Hanley–McNeil standard error and interval of an AUROC."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)) / (
        positives * negatives
    )
    se = float(np.sqrt(max(var, 1e-12)))
    return se, max(0.0, auc - z * se), min(1.0, auc + z * se)


def calibration_slope(y: np.ndarray, risk: np.ndarray) -> float:
    """Slope of logit(P(y)) on logit(risk) by a few Newton steps (1 = well calibrated)."""
    if y.sum() == 0 or y.sum() == len(y):
        return np.nan
    x = np.log(np.clip(risk, 1e-6, 1 - 1e-6) / (1 - np.clip(risk, 1e-6, 1 - 1e-6)))
    design = np.column_stack([np.ones_like(x), x])
    beta = np.array([0.0, 1.0])
    for _ in range(25):
        p = 1 / (1 + np.exp(-np.clip(design @ beta, -30, 30)))
        w = p * (1 - p) + 1e-9
        step = np.linalg.solve(design.T @ (design * w[:, None]) + 1e-9 * np.eye(2), design.T @ (y - p))
        beta = beta + step
        if np.abs(step).max() < 1e-8:
            break
    else:
        return np.nan  # not converged: the group's risks separate its outcomes (too few to fit)
    return float(beta[1]) if abs(beta[1]) < 50 else np.nan


def _point_metrics(y: np.ndarray, selected: np.ndarray, groups: pd.Series) -> pd.DataFrame:
    """Count, selection rate and true-positive rate by group: what fairlearn's MetricFrame
    gives with `count`, `selection_rate` and `true_positive_rate` (a test checks they agree),
    computed in one groupby because MetricFrame costs 0.2-0.6 s per call and a monthly audit
    makes dozens of calls."""
    frame = pd.DataFrame({"group": groups.to_numpy(), "y": y, "s": selected, "ys": y * selected})
    sums = frame.groupby("group", sort=True).agg(n=("y", "size"), s=("s", "sum"), y=("y", "sum"), ys=("ys", "sum"))
    return pd.DataFrame({
        "n": sums["n"],
        "selection_rate": sums["s"] / sums["n"],
        "tpr": (sums["ys"] / sums["y"].where(sums["y"] > 0)).fillna(0.0),
    })  # fmt: skip


def audit_outcomes(frame: pd.DataFrame, fairness: Fairness, *, risk: str, outcome: str,
                   selected: pd.Series | np.ndarray | None = None, subsets: dict | None = None,
                   flag_subsets: set[str] | None = None) -> GroupAudit:  # fmt: skip
    """Calibration and discrimination by group once outcomes are known.

    `subsets` maps a subset name to a boolean mask (e.g. listed / not listed); flags are
    judged only on the subsets in `flag_subsets` (all by default, see `follow_up`)."""
    tol = fairness.tolerances
    y_all = frame[outcome].to_numpy(dtype=float)
    r_all = frame[risk].to_numpy(dtype=float)
    sel_all = np.zeros(len(frame), dtype=bool) if selected is None else np.asarray(selected, dtype=bool)
    known = ~np.isnan(y_all)
    groups = group_columns(frame, fairness)
    subsets = subsets or {"all": np.ones(len(frame), dtype=bool)}
    rows = []
    overall_auc = None
    base = known
    if base.any() and 0 < y_all[base].sum() < base.sum():
        overall_auc = float(roc_auc_score(y_all[base], r_all[base]))
    for subset, mask in subsets.items():
        mask = np.asarray(mask, dtype=bool) & known
        for attribute, labels in groups.items():
            lab = labels[mask]
            if not len(lab):
                continue
            y, r, s = y_all[mask], r_all[mask], sel_all[mask]
            points = _point_metrics(y.astype(int), s.astype(int), lab)
            for group, idx in pd.Series(np.arange(len(lab))).groupby(lab.to_numpy()).groups.items():
                idx = np.asarray(idx)
                yg, rg = y[idx], r[idx]
                events, expected = float(yg.sum()), float(rg.sum())
                low, high = poisson_ci(events, expected, tol.alpha)
                auc = auc_low = auc_high = np.nan
                p_auc = 1.0
                if 0 < events < len(idx):
                    auc = float(roc_auc_score(yg, rg))
                    se, auc_low, auc_high = auroc_ci(auc, int(events), int(len(idx) - events))
                    if overall_auc is not None and attribute != "overall":
                        floor = overall_auc - tol.auroc_max_drop
                        p_auc = float(stats.norm.cdf((auc - floor) / se)) if auc < floor else 1.0
                p_oe = oe_p_value(events, expected, tol.oe)
                rows.append({
                    "subset": subset, "attribute": attribute, "group": str(group), "n": len(idx),
                    "events": int(events), "expected": expected,
                    "oe_ratio": events / expected if expected > 0 else np.nan,
                    "oe_ci_low": low, "oe_ci_high": high, "auroc": auc, "auroc_ci_low": auc_low,
                    "auroc_ci_high": auc_high, "calibration_slope": calibration_slope(yg, rg),
                    "selection_rate": float(points.loc[group, "selection_rate"]) if selected is not None else np.nan,
                    "need_rate": np.nan,
                    "tpr": float(points.loc[group, "tpr"]) if selected is not None and events > 0 else np.nan,
                    "selected": int(s[idx].sum()) if selected is not None else np.nan, "needy": np.nan,
                    "_p": {"oe": p_oe, "auroc": p_auc},
                })  # fmt: skip
    return _judge(rows, tol, "outcomes", overall_auc, flag_subsets)


def audit_selection(frame: pd.DataFrame, fairness: Fairness, *, selected: str, need: str,
                    subsets: dict | None = None) -> GroupAudit:  # fmt: skip
    """Selection against need by group, before outcomes: a group's share of the selected over
    its share of the persons in need (1 = selected in proportion to need)."""
    tol = fairness.tolerances
    sel_all = frame[selected].to_numpy(dtype=bool)
    need_all = frame[need].to_numpy(dtype=bool)
    groups = group_columns(frame, fairness)
    subsets = subsets or {"all": np.ones(len(frame), dtype=bool)}
    rows = []
    for subset, mask in subsets.items():
        mask = np.asarray(mask, dtype=bool)
        total_sel, total_need = int(sel_all[mask].sum()), int(need_all[mask].sum())
        for attribute, labels in groups.items():
            lab = labels[mask]
            if not len(lab):
                continue
            s, nd = sel_all[mask], need_all[mask]
            points = _point_metrics(nd.astype(int), s.astype(int), lab)
            for group, idx in pd.Series(np.arange(len(lab))).groupby(lab.to_numpy()).groups.items():
                idx = np.asarray(idx)
                sel_g, need_g = int(s[idx].sum()), int(nd[idx].sum())
                ratio = low = high = np.nan
                p = 1.0
                if sel_g > 0 and need_g > 0 and total_sel > 0 and total_need > 0:
                    p1, p2 = sel_g / total_sel, need_g / total_need
                    ratio = p1 / p2
                    se = np.sqrt((1 - p1) / (total_sel * p1) + (1 - p2) / (total_need * p2))
                    z = stats.norm.ppf(1 - tol.alpha / 2)
                    low, high = ratio * np.exp(-z * se), ratio * np.exp(z * se)
                    lo_band, hi_band = np.log(tol.selection_to_need[0]), np.log(tol.selection_to_need[1])
                    lr = np.log(ratio)
                    if lr < lo_band:
                        p = float(stats.norm.cdf((lr - lo_band) / max(se, 1e-12)))
                    elif lr > hi_band:
                        p = float(stats.norm.sf((lr - hi_band) / max(se, 1e-12)))
                if attribute == "overall":
                    p = 1.0
                rows.append({
                    "subset": subset, "attribute": attribute, "group": str(group), "n": len(idx),
                    "events": np.nan, "expected": np.nan, "oe_ratio": np.nan, "oe_ci_low": np.nan,
                    "oe_ci_high": np.nan, "auroc": np.nan, "auroc_ci_low": np.nan, "auroc_ci_high": np.nan,
                    "calibration_slope": np.nan,
                    "selection_rate": float(points.loc[group, "selection_rate"]),
                    "need_rate": need_g / len(idx), "tpr": np.nan,
                    "selected": sel_g, "needy": need_g, "selection_to_need": ratio,
                    "stn_ci_low": low, "stn_ci_high": high, "_p": {"selection_to_need": p},
                })  # fmt: skip
    return _judge(rows, tol, "selection", None)


def _judge(rows: list[dict], tol: Tolerances, kind: str, overall_auc: float | None,
           flag_subsets: set[str] | None = None) -> GroupAudit:  # fmt: skip
    tests = [(i, metric, p) for i, row in enumerate(rows) for metric, p in row["_p"].items()
             if flag_subsets is None or row["subset"] in flag_subsets]  # fmt: skip
    adjusted = holm(np.array([p for _, _, p in tests]))
    reasons: dict[int, list[str]] = {}
    best_p: dict[int, tuple[float, float]] = {}
    for (i, metric, p), q in zip(tests, adjusted, strict=True):
        if best_p.get(i, (2.0, 2.0))[1] > q:
            best_p[i] = (p, q)
        if q < tol.alpha:
            reasons.setdefault(i, []).append(_reason(metric, rows[i], tol, overall_auc))
    for i, row in enumerate(rows):
        row.pop("_p")
        row["flagged"] = i in reasons
        row["reason"] = "; ".join(reasons.get(i, []))
        row["p_value"], row["p_holm"] = best_p.get(i, (np.nan, np.nan))
        row["suppressed"] = False
    columns = FIELDS + [c for c in EXTRA if c not in FIELDS]
    table = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    return GroupAudit(table, tol, kind, overall_auc)


def _reason(metric: str, row: dict, tol: Tolerances, overall_auc: float | None) -> str:
    if metric == "oe":
        side = "more" if row["oe_ratio"] > tol.oe[1] else "fewer"
        return (f"{side} events than predicted: O/E {row['oe_ratio']:.2f} "
                f"(95% CI {row['oe_ci_low']:.2f}–{row['oe_ci_high']:.2f}) outside {tol.oe[0]}–{tol.oe[1]}")  # fmt: skip
    if metric == "auroc":
        return (f"AUROC {row['auroc']:.3f} more than {tol.auroc_max_drop} below overall "
                f"{overall_auc:.3f}")  # fmt: skip
    side = "under" if row["selection_to_need"] < 1 else "over"
    return (f"{side}-selected against need: ratio {row['selection_to_need']:.2f} "
            f"(95% CI {row['stn_ci_low']:.2f}–{row['stn_ci_high']:.2f}) outside "
            f"{tol.selection_to_need[0]}–{tol.selection_to_need[1]}")  # fmt: skip


def follow_up(frame: pd.DataFrame, fairness: Fairness, *, risk: str, outcome: str, listed: str) -> GroupAudit:
    """Realised performance of an earlier scoring, for listed and not-listed persons apart.
    Listed persons received outreach, which may have prevented their outcome, so flags are
    judged (and Holm-corrected) on the not-listed only; listed and everyone are reported beside."""
    is_listed = frame[listed].to_numpy(dtype=bool)
    subsets = {"not_listed": ~is_listed, "listed": is_listed, "all": np.ones(len(frame), dtype=bool)}
    return audit_outcomes(frame, fairness, risk=risk, outcome=outcome, selected=is_listed,
                          subsets=subsets, flag_subsets={"not_listed"})  # fmt: skip
