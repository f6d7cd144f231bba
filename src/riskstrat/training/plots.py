"""The figures of a training run, each returned with the aggregate table it is drawn from.

Nothing here shows a person: curves are drawn at fixed shares of the population, the
calibration plot by tenths of predicted risk, the SHAP summary by groups of input values,
and any count from 1 to min_cell - 1 (1–4 by default) is suppressed (with the rates that
would reveal it, and complementary cells where a published total would give it back; see
`riskstrat.disclosure`) before drawing. Figures are drawn on matplotlib's Agg canvas without
pyplot's global state.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import norm  # noqa: E402

from riskstrat.disclosure import MIN_CELL, hidden_in_table, is_small  # noqa: E402
from riskstrat.model.coding import is_categorical  # noqa: E402
from riskstrat.training.evaluation import selection_order  # noqa: E402

SHARES = np.unique(np.r_[0.005, np.arange(1, 11) / 100, np.arange(2, 21) / 20]).round(3)
TOP_FEATURES = 20


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def selection_curve(
    y: np.ndarray, risk: np.ndarray, person_id, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """Confusion counts and rates when the top share of persons by risk is flagged.

    Each row is a 2 × 2 table whose margins are all published (persons flagged, events,
    persons): one small cell is recoverable from the other three, so a row with any small
    cell hides all four (complementary suppression within the row)."""
    y_sorted = np.asarray(y, dtype=np.int64)[selection_order(risk, person_id)]
    n, events = len(y_sorted), int(y_sorted.sum())
    flagged = np.maximum(1, np.round(SHARES * n)).astype(int)
    tp = np.cumsum(y_sorted)[flagged - 1]
    table = pd.DataFrame(
        {
            "share_flagged": SHARES,
            "risk_threshold": np.sort(np.asarray(risk, dtype=np.float64))[::-1][flagged - 1],
            "n_flagged": flagged,
            "true_positives": tp,
            "false_positives": flagged - tp,
            "false_negatives": events - tp,
            "true_negatives": n - events - (flagged - tp),
        }
    )
    counts = ["true_positives", "false_positives", "false_negatives", "true_negatives"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["tpr"] = tp / events
        table["fpr"] = (flagged - tp) / (n - events)
        table["precision"] = tp / flagged
    hidden = is_small(table[counts], min_cell).any(axis=1)
    table[counts + ["tpr", "fpr", "precision"]] = table[
        counts + ["tpr", "fpr", "precision"]
    ].astype(float)
    table.loc[hidden, counts + ["tpr", "fpr", "precision"]] = np.nan
    table["suppressed"] = hidden
    return table


def roc_figure(curve: pd.DataFrame, auroc: float) -> bytes:
    """The ROC curve of the test date as PNG: true against false positive rate at each share
    flagged of `selection_curve` (suppressed rows left out), with the AUROC in the legend."""
    shown = curve.dropna(subset=["tpr", "fpr"])
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.plot(
        np.r_[0, shown["fpr"], 1],
        np.r_[0, shown["tpr"], 1],
        marker=".",
        label=f"model (AUROC {auroc:.3f})",
    )
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    ax.set(
        xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC, test date"
    )
    ax.legend(loc="lower right")
    return png(fig)


def pr_figure(curve: pd.DataFrame, auprc: float, event_rate: float) -> bytes:
    """The precision-recall curve of the test date as PNG, from `selection_curve` (suppressed
    rows left out), with the AUPRC in the legend and the event rate as the chance line."""
    shown = curve.dropna(subset=["tpr", "precision"])
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.plot(shown["tpr"], shown["precision"], marker=".", label=f"model (AUPRC {auprc:.3f})")
    ax.axhline(event_rate, linestyle=":", color="grey", label="event rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, test date", xlim=(0, 1))
    ax.legend(loc="upper right")
    return png(fig)


def calibration_table(
    y: np.ndarray, risk: np.ndarray, person_id, bins: int = 10, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """Observed event rate (Wilson 95 % interval) against mean predicted risk, by risk tenths.
    The tenths add up to the test date's persons and events (published with the metrics)."""
    order = selection_order(risk, person_id)[::-1]
    rows = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        n, events = len(idx), int(np.asarray(y)[idx].sum())
        low, high = _wilson(events, n)
        rows.append(
            (
                i,
                n,
                events,
                float(np.mean(np.asarray(risk)[idx])) if n else np.nan,
                events / n if n else np.nan,
                low,
                high,
            )
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "risk_group",
            "n",
            "events",
            "mean_predicted",
            "observed_rate",
            "observed_ci_low",
            "observed_ci_high",
        ],
    )
    cells = table[["n", "events"]].assign(nonevents=table["n"] - table["events"])
    rates = ["observed_rate", "observed_ci_low", "observed_ci_high"]
    # a tenth whose n is hidden shows no events either (not even a zero)
    figures = {"n": ("n",)} | {c: ("events", "n") for c in ["events", *rates]}
    hidden = hidden_in_table(
        cells, figures, row_sums=[("n", "events", "nonevents")], min_cell=min_cell
    )
    table[["n", "events"]] = table[["n", "events"]].astype(float)
    for column in figures:
        table.loc[hidden[column].to_numpy(), column] = np.nan
    table["suppressed"] = (hidden["n"] | hidden["events"]).to_numpy()
    return table


def calibration_figure(table: pd.DataFrame) -> bytes:
    """The calibration plot of the test date as PNG: per tenth of risk of `calibration_table`
    (suppressed tenths left out), the observed event rate with its 95 % interval against the
    mean predicted risk."""
    shown = table.dropna(subset=["observed_rate"])
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    top = float(np.nanmax(np.r_[shown["observed_ci_high"], shown["mean_predicted"], 0.01]))
    ax.plot([0, top], [0, top], linestyle=":", color="grey", label="perfect calibration")
    yerr = [
        shown["observed_rate"] - shown["observed_ci_low"],
        shown["observed_ci_high"] - shown["observed_rate"],
    ]
    ax.errorbar(
        shown["mean_predicted"], shown["observed_rate"], yerr=yerr, fmt="o", label="tenths of risk"
    )
    ax.set(
        xlabel="mean predicted risk", ylabel="observed event rate", title="Calibration, test date"
    )
    ax.legend(loc="upper left")
    return png(fig)


def risk_distribution_table(
    y: np.ndarray, risk: np.ndarray, bins: int = 40, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """Persons with and without the event per band of calibrated risk (equal widths); each
    column adds up to a published total (events, persons without the event)."""
    upper = max(0.05, float(np.ceil(np.max(risk) * 20) / 20)) if len(risk) else 1.0
    edges = np.linspace(0, upper, bins + 1)
    y = np.asarray(y)
    with_event, _ = np.histogram(np.asarray(risk)[y == 1], bins=edges)
    without, _ = np.histogram(np.asarray(risk)[y == 0], bins=edges)
    table = pd.DataFrame(
        {
            "risk_from": edges[:-1],
            "risk_to": edges[1:],
            "with_event": with_event.astype(float),
            "without_event": without.astype(float),
        }
    )
    columns = ["with_event", "without_event"]
    hidden = hidden_in_table(table[columns], {c: (c,) for c in columns}, min_cell=min_cell)
    for column in columns:
        table.loc[hidden[column].to_numpy(), column] = np.nan
    return table


def risk_distribution_figure(table: pd.DataFrame) -> bytes:
    """The distribution of calibrated risk for persons with and without the event on the test
    date as PNG: each band's share of its group, from `risk_distribution_table` (suppressed
    bands drawn as empty)."""
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    width = float(table["risk_to"].iloc[0] - table["risk_from"].iloc[0])
    for column, offset in (("without_event", 0.0), ("with_event", 0.5)):
        share = table[column] / table[column].sum()
        ax.bar(
            table["risk_from"] + offset * width,
            share.fillna(0),
            width=width / 2,
            align="edge",
            label=column.replace("_", " "),
        )
    ax.set(
        xlabel="calibrated risk",
        ylabel="share of group",
        title="Risk distribution by outcome, test date",
    )
    ax.legend()
    return png(fig)


def importance_table(booster, feature_names: list[str]) -> pd.DataFrame:
    """Total gain and number of splits per input, largest gain first."""
    table = pd.DataFrame(
        {
            "feature": feature_names,
            "gain": booster.feature_importance(importance_type="gain"),
            "splits": booster.feature_importance(importance_type="split"),
        }
    )
    table["gain_share"] = table["gain"] / max(table["gain"].sum(), 1e-12)
    return table.sort_values(["gain", "feature"], ascending=[False, True], ignore_index=True)


def importance_figure(table: pd.DataFrame) -> bytes:
    """The inputs with the largest share of LightGBM's total gain (`importance_table`, the
    first `TOP_FEATURES`) as a PNG bar chart."""
    top = table.head(TOP_FEATURES).iloc[::-1]
    fig = Figure(figsize=(6, 0.3 * len(top) + 1.5))
    ax = fig.add_subplot()
    ax.barh(top["feature"], top["gain_share"])
    ax.set(xlabel="share of total gain", title="Feature importance (LightGBM gain)")
    return png(fig)


def shap_summary_table(
    contributions: np.ndarray,
    features: pd.DataFrame,
    feature_names: list[str],
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Mean contribution per group of input values (fifths, or each value/level if few).

    An aggregate SHAP summary: per input its mean absolute contribution, and for each group
    of its values the mean contribution, so direction shows without plotting persons.
    Groups of 1 to min_cell - 1 persons are left out, and so is the next smallest group of
    the same input where one left out could be told from the sample size (every input's
    groups add up to it).
    """
    rows = []
    for j, name in enumerate(feature_names):
        groups, positions = _value_groups(features[name])
        frame = pd.DataFrame({"group": groups, "position": positions, "c": contributions[:, j]})
        summary = (
            frame.groupby(["group", "position"], observed=True, dropna=False)["c"]
            .agg(["size", "mean"])
            .reset_index()
        )
        for r in summary.itertuples():
            if r.size > 0:
                rows.append(
                    (
                        name,
                        float(np.abs(contributions[:, j]).mean()),
                        str(r.group),
                        float(r.position),
                        int(r.size),
                        float(r.mean),
                    )
                )
    table = pd.DataFrame(
        rows,
        columns=[
            "feature",
            "mean_abs_contribution",
            "value_group",
            "group_position",
            "n",
            "mean_contribution",
        ],
    )
    if len(table):
        blocks = [list(part.index) for _, part in table.groupby("feature", sort=False)]
        hidden = hidden_in_table(table[["n"]], {"n": ("n",)}, blocks=blocks, min_cell=min_cell)
        table = table.loc[~hidden["n"].to_numpy()]
    return table.sort_values(
        ["mean_abs_contribution", "feature", "group_position"],
        ascending=[False, True, True],
        ignore_index=True,
    )


def _value_groups(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Group labels and their position from low (0) to high (1); missing is -1."""
    if is_categorical(values):
        labels = values.astype(object).where(values.notna(), "missing").astype(str).to_numpy()
        levels = sorted(set(labels))
        return labels, np.array([levels.index(v) / max(len(levels) - 1, 1) for v in labels])
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(numbers)
    distinct = np.unique(numbers[finite])
    if distinct.size <= 5:
        index = np.searchsorted(distinct, np.where(finite, numbers, 0.0))
        labels = [
            f"={distinct[i]:g}" if ok else "missing" for i, ok in zip(index, finite, strict=True)
        ]
        position = np.where(finite, index / max(distinct.size - 1, 1), -1.0)
        return np.array(labels, dtype=object), position
    fifth = np.zeros(len(numbers), dtype=int)
    fifth[finite] = pd.qcut(pd.Series(numbers[finite]).rank(method="first"), 5, labels=False)
    labels = [f"fifth {f + 1}" if ok else "missing" for f, ok in zip(fifth, finite, strict=True)]
    return np.array(labels, dtype=object), np.where(finite, fifth / 4, -1.0)


def shap_summary_figure(table: pd.DataFrame) -> bytes:
    """The SHAP summary as PNG: for the first `TOP_FEATURES` inputs of `shap_summary_table`,
    each group of values at its mean contribution to the log-odds, coloured from low to high
    value and sized by persons; missing values and suppressed groups are not drawn."""
    names = list(dict.fromkeys(table["feature"]))[:TOP_FEATURES]
    fig = Figure(figsize=(7, 0.35 * len(names) + 1.5))
    ax = fig.add_subplot()
    for y, name in enumerate(reversed(names)):
        part = table[(table["feature"] == name) & (table["group_position"] >= 0)]
        scatter = ax.scatter(
            part["mean_contribution"],
            np.full(len(part), y),
            c=part["group_position"],
            cmap="coolwarm",
            vmin=0,
            vmax=1,
            s=20 + 80 * np.sqrt(part["n"] / part["n"].max()),
        )
    ax.set_yticks(range(len(names)), list(reversed(names)))
    ax.axvline(0, color="grey", linewidth=0.5)
    ax.set(
        xlabel="mean contribution to log-odds (per value group)",
        title="SHAP summary (LightGBM pred_contrib)",
    )
    if names:
        fig.colorbar(scatter, ax=ax, label="input value: low → high")
    return png(fig)


def learning_curve_figure(curve: pd.DataFrame, best_iteration: int) -> bytes:
    """LightGBM's log-loss on the training and the validation dates per boosting round as
    PNG, with the round early stopping kept."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.plot(curve["round"], curve["train_logloss"], label="training dates")
    ax.plot(curve["round"], curve["validation_logloss"], label="validation date")
    ax.axvline(best_iteration, linestyle=":", color="grey", label=f"best round {best_iteration}")
    ax.set(xlabel="boosting round", ylabel="log-loss", title="Learning curve")
    ax.legend()
    return png(fig)


def _wilson(events: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    z = norm.ppf(0.975)
    p = events / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)
