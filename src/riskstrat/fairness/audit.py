"""Group audits: who is selected against need, and how well the model works, by group.

One object, one question (fairlearn's `MetricFrame` style: everything is computed when the
audit is made, then only read). `audit_selection` asks, before outcomes are known, whether
each group is selected in proportion to its need, need measured from events observed before
the index date (never from the model's own risk). `audit_outcomes` asks, once outcomes are
known, whether the model is calibrated (observed/expected with an exact Poisson interval,
calibration slope) and discriminates (AUROC with a DeLong interval) in every group.
`follow_up` does the latter for listed and not-listed persons apart. Per-group counts and
rates (n, events, selection rate, true-positive rate) come from fairlearn's `MetricFrame`.

**The flag rule.** A group is flagged only when the evidence says its true value lies
outside the spec's tolerance band. Each test gives a p-value (see `stats`: twice the
one-sided p-value against the nearest band edge, so that one test at level α flags exactly
when the printed 95% interval lies wholly outside the band):

- O/E (every group, "overall" included): exact Poisson against the band `tolerances.oe`;
- AUROC (groups with at least 10 persons with and 10 without the event): normal with the
  DeLong standard error, against the AUROC expected for the group's case mix minus
  `auroc_max_drop` (a shortfall only). The expectation is the model-based concordance of
  van Klaveren et al. (Stat Med 2016;35:4136-52, `stats.model_based_auroc`): the AUROC the
  group would show if the model's risks were its true risks, from its risks alone. A group
  defined by a predictor (an age band) has a narrower spread of risk, so a lower AUROC
  even for the exact true model; judging it against the overall AUROC flagged sound models.
  The expectation is treated as fixed given the risks (its own sampling error, of order
  1/n, is left out; the DeLong error of the observed AUROC dominates). The gap to the
  subset's overall AUROC is kept as information (`auroc_vs_overall`), not judged;
- equal opportunity at capacity (groups with events, on the subsets asked for): the share
  of the group's events its selection captured over the share its own risks expect (Σ risk
  of its selected / Σ risk of all its persons), exact binomial given its events, against
  `equal_opportunity` (`stats.captured_share_test`); like the AUROC, judged against what
  the group's case mix allows, since a group of high risks has more of its events on any
  list even for the exact true model;
- selection-to-need (every group): normal on the log ratio, against `selection_to_need`
  (or reported only, `judged=False`, when need is a proxy that differs from the target);
- `audit_need_met`, the monthly gate: O/E among the selected and the not-selected of a past
  population whose outcomes (the model's own label) are known.

The p-values of all tests of an audit (or of a whole report, `judge_jointly`) are
Holm-corrected together; a group is flagged when a Holm-adjusted p-value is below
`tolerances.alpha`, which keeps the chance of any false flag in the family at most α.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from riskstrat.errors import InputError
from riskstrat.fairness import stats as st
from riskstrat.fairness.groups import binary, grouping, point_metrics, require_columns
from riskstrat.fairness.reasons import reasons
from riskstrat.fairness.suppression import AuditCells, audit_cells, hidden_figures, shown_cells
from riskstrat.spec import Fairness, Tolerances

FIELDS = [
    "attribute",
    "group",
    "n",
    "events",
    "expected",
    "oe_ratio",
    "oe_ci_low",
    "oe_ci_high",
    "auroc",
    "selection_rate",
    "need_rate",
    "tpr",
    "suppressed",
    "flagged",
    "reason",
]
EXTRA = [
    "subset",
    "selected",
    "needy",
    "selection_to_need",
    "stn_ci_low",
    "stn_ci_high",
    "auroc_ci_low",
    "auroc_ci_high",
    "calibration_slope",
    "auroc_expected",
    "auroc_shortfall_p",
    "auroc_vs_overall",
    "tpr_expected",
    "eo_ratio",
    "eo_ci_low",
    "eo_ci_high",
    "flag_on",
    "p_value",
    "p_holm",
]
MIN_AUROC_CLASS = 10  # persons with and without the event before a group's AUROC is tested


@dataclass
class GroupAudit:
    """The rows of one audit (one per subset, attribute and group) and how they were judged.

    `rows` holds the unsuppressed figures, for computation in memory only; everything that
    leaves the process goes through `suppressed()` / `records()`. `tests` holds one row per
    test (`row`, `metric`, raw `p`, Holm-adjusted `p_holm`)."""

    rows: pd.DataFrame
    tests: pd.DataFrame
    tolerances: Tolerances
    kind: str  # "selection" or "outcomes"
    parents: dict = field(default_factory=dict, repr=False)
    partition: tuple | None = None
    notes: list[str] = field(default_factory=list)
    family: str = ""
    _hidden: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        """True when no group is flagged."""
        return not bool(self.rows["flagged"].any())

    @property
    def overall_auroc(self) -> float | None:
        """AUROC of everyone in the first judged subset (None for selection audits)."""
        overall = self.rows[self.rows["attribute"] == "overall"].set_index("subset")["auroc"]
        subset = self.tests["subset"].iloc[0] if len(self.tests) else None
        value = overall.get(subset, overall.iloc[0] if len(overall) else np.nan)
        return None if pd.isna(value) else float(value)

    def to_frame(self) -> pd.DataFrame:
        """The unsuppressed figures (interfaces.md fields, then extras): not for publishing."""
        return self.rows[FIELDS + EXTRA].copy()

    def suppressed(self) -> pd.DataFrame:
        """The figures with every count of 1 to min_cell - 1 hidden (None), with the figures
        derived from it and complementary cells (see `suppression`); `suppressed` marks the
        rows concerned."""
        hidden = self._hidden_figures()
        out = self.rows.copy()
        for figure in hidden.columns[:-1]:
            out[figure] = out[figure].astype(object).where(~hidden[figure], None)
        out["suppressed"] = hidden["any"]
        out["reason"] = reasons(out, self.tolerances)
        return out[FIELDS + EXTRA]

    def published_cells(self) -> tuple[AuditCells, set[int]]:
        """The audit's cells (true counts, and how they add up) and those its published
        figures (`records()`) show: for suppressing other outputs about the same persons
        jointly with it (`riskstrat.monthly.publication.month_aggregates`)."""
        cells = audit_cells(self.rows, self.parents, self.partition)
        return cells, shown_cells(cells, self._hidden_figures())

    def _hidden_figures(self) -> pd.DataFrame:
        if self._hidden is None:
            self._hidden = hidden_figures(
                self.rows, self.tolerances.min_cell, self.parents, self.partition
            )
        return self._hidden

    def flags(self) -> pd.DataFrame:
        """The flagged rows, suppressed."""
        table = self.suppressed()
        return table[table["flagged"].astype(bool)]

    def records(self) -> list[dict]:
        """The groups.json records (interfaces.md fields first), suppressed, JSON-ready."""
        return [{k: _plain(v) for k, v in r.items()} for r in self.suppressed().to_dict("records")]

    def summary(self) -> dict:
        """Aggregates for MLflow and promotion gates: pass/fail, flags, suppressed records."""
        records = self.records()
        auc = self.overall_auroc
        return {
            "kind": self.kind,
            "passed": self.passed,
            "tests": len(self.tests),
            "flags": [
                {k: r[k] for k in ("subset", "attribute", "group", "reason")}
                for r in records
                if r["flagged"]
            ],
            "overall_auroc": None if auc is None else round(auc, 4),
            "groups": records,
        }


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return round(value, 4) if isinstance(value, float) else value


def audit_outcomes(
    frame: pd.DataFrame,
    fairness: Fairness,
    *,
    risk: str,
    outcome: str,
    selected: str | pd.Series | np.ndarray | None = None,
    subsets: dict[str, np.ndarray] | None = None,
    flag_subsets: set[str] | None = None,
    judge_auroc: bool = True,
    equal_opportunity_on: Collection[str] = (),
    kind: str = "outcomes",
) -> GroupAudit:
    """Calibration and discrimination by group once outcomes are known.

    `frame` has one row per person: the audit attributes, the predicted probability `risk`
    and the realised `outcome` (0/1; missing = not known, left out). `selected` (a column or a
    boolean array) marks who was selected, for the selection rate and the true-positive rate.
    `subsets` maps names to boolean masks that are disjoint, plus optionally "all" for their
    union (see `follow_up`); O/E (and, with `judge_auroc`, AUROC) flags are judged on
    `flag_subsets` only (default: all). Equal opportunity at capacity (the share of the
    group's events that the selection captured, against the share its risks expect) is
    judged on the subsets named in `equal_opportunity_on`, whatever `flag_subsets` says."""
    require_columns(frame, [risk, outcome] + ([selected] if isinstance(selected, str) else []))
    y = binary(frame[outcome], outcome, allow_missing=True)
    r = pd.to_numeric(frame[risk], errors="coerce").to_numpy(dtype=float)
    if np.any(~((r >= 0) & (r <= 1))):
        raise InputError(f"{risk} must be a probability between 0 and 1 for every person")
    s = (
        None
        if selected is None
        else binary(frame[selected] if isinstance(selected, str) else selected, "selected")
    )
    groups = grouping(frame, fairness)
    subsets, partition = _subsets(subsets, len(frame))
    tol = fairness.tolerances
    rows: list[dict] = []  # one per (subset, attribute, group)
    tests: list[tuple] = []  # (row, subset, metric, p-value)
    for subset, mask in subsets.items():
        idx = np.flatnonzero(mask & ~np.isnan(y))
        if not len(idx):
            groups.notes.append(f"{subset}: nobody with a known outcome")
            continue
        y_in, r_in, overall_auc = y[idx], r[idx], np.nan
        s_in = np.zeros(len(idx)) if s is None else s[idx]
        judged = flag_subsets is None or subset in flag_subsets
        for attribute, labels in groups.labels.items():
            points = point_metrics(labels.iloc[idx], y_in, s_in)
            for group, members in _members(labels.iloc[idx]):
                row = _outcome_row(
                    y_in[members], r_in[members], s_in[members], points.loc[group], tol
                )
                row.update(subset=subset, attribute=attribute, group=group)
                if s is None:
                    for name in ("selection_rate", "tpr", "selected", "selected_events"):
                        row[name] = np.nan
                if attribute == "overall":
                    overall_auc = row["auroc"]
                    row["auroc_shortfall_p"] = np.nan
                else:
                    row["auroc_vs_overall"] = row["auroc"] - overall_auc
                judge = {
                    "oe": judged,
                    "auroc": judged and judge_auroc and attribute != "overall",
                    "equal_opportunity": s is not None
                    and subset in equal_opportunity_on
                    and attribute != "overall",
                }
                tests += _outcome_tests(len(rows), subset, row, judge)
                rows.append(row)
    return _audit(rows, tests, tol, kind, groups, partition)


def _outcome_tests(i: int, subset: str, row: dict, judge: dict[str, bool]) -> list[tuple]:
    """The tests of one group's row that `judge` asks for and its figures allow."""
    tests = []
    if judge["oe"]:
        tests.append((i, subset, "oe", row["_oe_p"]))
    if judge["auroc"] and row["_auroc_judged"]:
        tests.append((i, subset, "auroc", row["auroc_shortfall_p"]))
    if judge["equal_opportunity"] and np.isfinite(row["eo_ratio"]):
        tests.append((i, subset, "equal_opportunity", row["_eo_p"]))
    return tests


def _outcome_row(yg: np.ndarray, rg: np.ndarray, sg: np.ndarray, point, tol: Tolerances) -> dict:
    """One group's outcome figures (and, as `_`-prefixed keys, its p-values before Holm)."""
    events, expected = int(point["positives"]), float(rg.sum())
    low, high = st.poisson_ratio_ci(events, expected, tol.alpha)
    auc, se = st.auroc_delong(yg, rg)
    judged = min(events, len(yg) - events) >= MIN_AUROC_CLASS
    expected_auc, shortfall_p = _auroc_expectation(auc, se, rg, judged, tol)
    z = stats.norm.ppf(1 - tol.alpha / 2)
    captured = int(point["selected_positives"])
    share = float(rg[sg > 0].sum() / expected) if expected > 0 else np.nan
    eo, eo_low, eo_high, eo_p = st.captured_share_test(
        captured, events, share, tol.equal_opportunity, tol.alpha
    )
    return {
        "n": int(point["n"]),
        "events": events,
        "expected": expected,
        "oe_ratio": events / expected if expected > 0 else np.nan,
        "oe_ci_low": low,
        "oe_ci_high": high,
        "auroc": auc,
        "auroc_ci_low": max(0.0, auc - z * se),
        "auroc_ci_high": min(1.0, auc + z * se),
        "calibration_slope": st.calibration_slope(yg, rg),
        "auroc_expected": expected_auc,
        "auroc_shortfall_p": shortfall_p,
        "auroc_vs_overall": np.nan,
        "selection_rate": point["selection_rate"],
        "tpr": point["tpr"],
        "selected": int(point["selected"]),
        "selected_events": captured,
        "tpr_expected": share,
        "eo_ratio": eo,
        "eo_ci_low": eo_low,
        "eo_ci_high": eo_high,
        "_oe_p": st.oe_p_value(events, expected, tol.oe),
        "_auroc_judged": judged,
        "_eo_p": eo_p,
    }


def _auroc_expectation(
    auc: float, se: float, risk: np.ndarray, judged: bool, tol: Tolerances
) -> tuple[float, float]:
    """The AUROC expected for a group's case mix (model-based concordance) and, for a judged
    group, the p-value that its observed AUROC falls short of it by more than
    `tol.auroc_max_drop` (normal, DeLong standard error of the observed AUROC, the
    expectation fixed given the risks; NaN when not judged)."""
    expected = st.model_based_auroc(risk)
    if not judged or not np.isfinite(expected):
        return expected, np.nan
    band = (-tol.auroc_max_drop, np.inf)
    return expected, st.normal_band_p_value(auc - expected, se, band)


def audit_selection(
    frame: pd.DataFrame,
    fairness: Fairness,
    *,
    selected: str,
    need: str,
    subsets: dict[str, np.ndarray] | None = None,
    judged: bool = True,
) -> GroupAudit:
    """Selection against need by group, before outcomes are known.

    `frame` has one row per person: the audit attributes, `selected` (0/1: on the list, or in
    the top tiers) and `need` (0/1, from events observed before the index date, e.g. an acute
    admission in the past 12 months). Per group: the selection rate, the need rate, and the
    selection-to-need ratio = (the group's share of the selected) / (its share of the persons
    in need), 1 when the group is selected in proportion to its need. With `judged` False the
    figures and intervals are reported for information only: nothing is tested or flagged
    (for a need rule that differs from the model's target, e.g. by age, and so flags sound
    models)."""
    require_columns(frame, [selected, need])
    s, nd = binary(frame[selected], selected), binary(frame[need], need)
    groups = grouping(frame, fairness)
    subsets, partition = _subsets(subsets, len(frame))
    tol = fairness.tolerances
    rows: list[dict] = []  # one per (subset, attribute, group)
    tests: list[tuple] = []  # (row, subset, metric, p-value)
    band = (np.log(tol.selection_to_need[0]), np.log(tol.selection_to_need[1]))
    for subset, mask in subsets.items():
        idx = np.flatnonzero(mask)
        if not len(idx):
            groups.notes.append(f"{subset}: nobody in this subset")
            continue
        total_sel, total_need = int(s[idx].sum()), int(nd[idx].sum())
        for attribute, labels in groups.labels.items():
            points = point_metrics(labels.iloc[idx], nd[idx], s[idx])
            for group, _ in _members(labels.iloc[idx]):
                row = points.loc[group]
                sel_g, need_g = int(row["selected"]), int(row["positives"])
                ratio, low, high, centre, se = st.share_ratio(
                    sel_g, total_sel, need_g, total_need, tol.alpha
                )
                i = len(rows)
                rows.append(
                    {
                        "subset": subset,
                        "attribute": attribute,
                        "group": group,
                        "n": int(row["n"]),
                        "selection_rate": row["selection_rate"],
                        "need_rate": row["positive_rate"],
                        "selected": sel_g,
                        "needy": need_g,
                        "selection_to_need": ratio,
                        "stn_ci_low": low,
                        "stn_ci_high": high,
                    }
                )
                if judged and attribute != "overall":
                    tests.append(
                        (i, subset, "selection_to_need", st.normal_band_p_value(centre, se, band))
                    )
    return _audit(rows, tests, tol, "selection", groups, partition)


def audit_need_met(
    frame: pd.DataFrame, fairness: Fairness, *, risk: str, outcome: str, selected: str
) -> GroupAudit:
    """Selection against need in the target's own currency: the model's selection rule
    applied to a past population whose outcomes are now known (the most recent fully
    observed window), by group, the selected and the not-selected apart.

    Need is the model's own label, so a sound model is judged by what it predicts: a group
    whose not-selected persons had more events than their risks said (O/E above the band)
    had need the selection missed; a group whose selected persons had fewer (O/E below the
    band) was selected beyond its need. Only O/E is tested (exact Poisson, Holm over both
    subsets): under a correct model, each has its stated false-flag rate whatever the
    group's case mix. `selected` is a 0/1 column."""
    require_columns(frame, [selected])
    chosen = binary(frame[selected], selected).astype(bool)
    subsets = {"selected": chosen, "not_selected": ~chosen, "all": np.ones(len(frame), bool)}
    return audit_outcomes(
        frame,
        fairness,
        risk=risk,
        outcome=outcome,
        selected=chosen,
        subsets=subsets,
        flag_subsets={"selected", "not_selected"},
        judge_auroc=False,
        kind="need",
    )


def follow_up(
    frame: pd.DataFrame, fairness: Fairness, *, risk: str, outcome: str, listed: str
) -> GroupAudit:
    """Realised performance of an earlier scoring, for listed and not-listed persons apart.

    Listed persons received outreach, which may have prevented the very outcome the model
    predicted, so flags are judged (and Holm-corrected) on the not-listed only; the listed
    and everyone are reported beside them. `listed` is a 0/1 column."""
    require_columns(frame, [listed])
    is_listed = binary(frame[listed], listed).astype(bool)
    subsets = {
        "not_listed": ~is_listed,
        "listed": is_listed,
        "all": np.ones(len(frame), dtype=bool),
    }
    return audit_outcomes(
        frame,
        fairness,
        risk=risk,
        outcome=outcome,
        selected=is_listed,
        subsets=subsets,
        flag_subsets={"not_listed"},
        equal_opportunity_on={"all"},
    )


def judge_jointly(audits: dict[str, GroupAudit]) -> dict[str, GroupAudit]:
    """The same audits with one Holm correction over all their tests (for one report that
    holds several audits, e.g. top tiers and each team's list)."""
    p = np.concatenate(
        [a.tests["p"].to_numpy(dtype=float) for a in audits.values()] or [np.array([])]
    )
    adjusted, out, start = st.holm(p), {}, 0
    family = f"all {len(p)} tests in this report"
    for name, audit in audits.items():
        tests = audit.tests.assign(p_holm=adjusted[start : start + len(audit.tests)])
        start += len(audit.tests)
        out[name] = replace(
            audit, rows=_flag(audit.rows, tests, audit.tolerances), tests=tests, family=family
        )
    return out


def _subsets(subsets: dict | None, n: int) -> tuple[dict[str, np.ndarray], tuple | None]:
    """Masks as boolean arrays; InputError unless disjoint (plus "all" for their union),
    since overlapping subsets would let small cells be recovered by difference."""
    if not subsets:
        return {"all": np.ones(n, dtype=bool)}, None
    masks = {k: np.asarray(v, dtype=bool) for k, v in subsets.items()}
    parts = [k for k in masks if k != "all"]
    cover = np.sum([masks[k] for k in parts], axis=0) if parts else np.zeros(n)
    if np.any(cover > 1) or ("all" in masks and parts and np.any(masks["all"] != (cover == 1))):
        raise InputError("audit subsets must be disjoint, and 'all' must be exactly their union")
    return masks, (("all", tuple(parts)) if "all" in masks and parts else None)


def _members(labels: pd.Series) -> list[tuple[str, np.ndarray]]:
    """(group, positions) for each group present, sorted by group name."""
    return sorted(pd.Series(np.arange(len(labels))).groupby(labels.to_numpy()).indices.items())


def _audit(
    rows: list[dict], tests: list[tuple], tol: Tolerances, kind: str, groups, partition
) -> GroupAudit:
    columns = list(dict.fromkeys(FIELDS + EXTRA + ["selected_events"]))
    table = pd.DataFrame(rows).reindex(columns=columns)
    table["suppressed"], table["flagged"], table["reason"], table["flag_on"] = False, False, "", ""
    tests_frame = pd.DataFrame(tests, columns=["row", "subset", "metric", "p"])
    tests_frame["p_holm"] = st.holm(tests_frame["p"].to_numpy())
    family = f"the {len(tests_frame)} tests of this audit"
    return GroupAudit(
        _flag(table, tests_frame, tol),
        tests_frame,
        tol,
        kind,
        groups.parents,
        partition,
        list(groups.notes),
        family,
    )


def _flag(rows: pd.DataFrame, tests: pd.DataFrame, tol: Tolerances) -> pd.DataFrame:
    """Rows with flagged / flag_on / p_value / p_holm / reason set from the tests."""
    rows = rows.copy()
    by_row = tests.groupby("row")
    rows["p_value"] = by_row["p"].min().reindex(rows.index)
    rows["p_holm"] = by_row["p_holm"].min().reindex(rows.index)
    significant = tests[tests["p_holm"] < tol.alpha]
    on = significant.groupby("row")["metric"].agg(";".join).reindex(rows.index)
    rows["flagged"] = on.notna()
    rows["flag_on"] = on.fillna("")
    rows["reason"] = reasons(rows, tol)
    return rows
