"""Promotion: moving alias `champion` to a model version, under gates, with a ledger.

Gates (interfaces.md):
1. not worse than the current champion on the same test data: the challenger's test AUROC
   is at least the champion's minus the spec's `promotion.max_auroc_loss`, and its Brier
   score at most the champion's plus `promotion.max_brier_increase`. The champion's
   metrics are those recomputed on the challenger's own test rows at training
   (`champion_test_*` on the challenger's run); a challenger compared with another
   version than today's champion (or with none) is refused: it must be retrained. A
   champion calibrated on that test date (a refit of the same extract, tag
   `champion_saw_test_outcomes`) has seen its outcomes; it is then compared with the
   challenger's registered refit, which has seen them too (`registered_test_*`);
2. its fairness audit is clean (tag `fairness_passed` = true; a missing audit refuses);
3. it beats its baselines (metric `beats_baselines` = 1).
A refused gate can be overridden only with a reason, which is recorded. Every decision is
written on the model version (tags `promotion_*`) and appended to the ledger, the MLflow
experiment `riskstrat-promotions` (one run per decision, aggregates only).
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from riskstrat.errors import InputError
from riskstrat.tracking import (
    CHALLENGER,
    CHAMPION,
    VersionFacts,
    champion_version,
    ledger_runs,
    load_run_text,
    log_aggregates,
    model_version,
    set_alias,
    tag_version,
    version_facts,
)

LEDGER = "riskstrat-promotions"
_COMPARED = ("test_auroc", "test_brier", "test_auroc_ci_low", "test_auroc_ci_high")


class PromotionRefused(InputError):
    """The gates refused the version and no override was given (the CLI exits with 2).

    The message's first line names the version, each failed gate follows on its own line
    ("  - ..."), and the last line says how to override. `decision` holds the record.
    """

    def __init__(self, message: str, decision: PromotionDecision | None = None) -> None:
        super().__init__(message)
        self.decision = decision


@dataclass
class PromotionDecision:
    """One promotion decision on a model version, as recorded on the version and in the
    ledger: promoted or not, the champion it replaced, the gates it failed, the override
    reason (only when failed gates were overridden), the metrics compared, who decided and
    when (UTC), and the ledger run that holds it."""

    model: str
    version: str
    promoted: bool
    previous_champion: str | None
    failed_gates: list[str] = field(default_factory=list)
    override_reason: str | None = None
    compared: dict[str, float] = field(default_factory=dict)
    by: str = ""
    at: str = ""  # UTC, ISO 8601
    ledger_run_id: str | None = None

    @property
    def reasons(self) -> list[str]:
        """Why: the failed gates (promoted anyway if there is an override), else that all passed."""
        if self.failed_gates:
            return list(self.failed_gates)
        if self.previous_champion == self.version:
            return [f"version {self.version} is already the champion; its gates still pass"]
        return ["all gates passed"]

    @property
    def decision(self) -> str:
        if not self.promoted:
            return "refused"
        return "promoted by override" if self.failed_gates else "promoted"

    def as_dict(self) -> dict:
        return {**asdict(self), "decision": self.decision, "reasons": self.reasons}


@dataclass(frozen=True)
class GateReport:
    """What the gates say about one model version: the gates it fails (empty: it may be
    promoted), the metrics compared, and the champion version before the decision."""

    failed: list[str]
    compared: dict[str, float]
    champion: str | None  # the champion version before the decision


def check_gates(name: str, version: str) -> GateReport:
    """The gates `name` version `version` fails (empty = passes) and the metrics compared."""
    facts = version_facts(name, version)
    metrics, tags = facts.metrics, facts.tags
    failed: list[str] = []
    champion = champion_version(name)
    compared = {k: metrics[k] for k in _COMPARED if k in metrics}

    if champion is not None and champion != str(version):
        compared_with = tags.get("champion_version_compared", "none")
        auroc, brier = metrics.get("test_auroc"), metrics.get("test_brier")
        whose = "test"
        if tags.get("champion_saw_test_outcomes") == "true" and (
            "registered_test_auroc" in metrics and "registered_test_brier" in metrics
        ):
            # the champion was calibrated on this test date, so it is judged there with an
            # advantage; the challenger's registered refit has the same advantage, so the
            # two registered models are compared (like with like), not the backtest
            auroc, brier = metrics["registered_test_auroc"], metrics["registered_test_brier"]
            compared["registered_test_auroc"], compared["registered_test_brier"] = auroc, brier
            whose = "registered refit's test"
        c_auroc, c_brier = metrics.get("champion_test_auroc"), metrics.get("champion_test_brier")
        if compared_with != champion or c_auroc is None or c_brier is None:
            why = (
                f"it was compared with version {compared_with}"
                if compared_with != "none"
                else "no champion was compared at training"
            )
            if tags.get("champion_comparison_error"):
                why += f" ({tags['champion_comparison_error'][:300]})"
            failed.append(
                f"not compared with the current champion (version {champion}) on the same test "
                f"data: {why}; retrain the challenger so both are evaluated on its test rows"
            )
        else:
            max_loss, max_increase = _limits(facts)
            compared.update(
                {
                    "champion_test_auroc": c_auroc,
                    "champion_test_brier": c_brier,
                    "max_auroc_loss": max_loss,
                    "max_brier_increase": max_increase,
                }
            )
            if auroc is None or auroc < c_auroc - max_loss:
                failed.append(
                    f"{whose} AUROC {_fmt(auroc, 4)} is below the champion's {c_auroc:.4f} on the same "
                    f"data by more than the allowed {max_loss:g} (promotion.max_auroc_loss)"
                )
            if brier is None or brier > c_brier + max_increase:
                failed.append(
                    f"{whose} Brier score {_fmt(brier, 5)} is worse than the champion's {c_brier:.5f} on "
                    f"the same data by more than the allowed {max_increase:g} (promotion.max_brier_increase)"
                )

    fairness = tags.get("fairness_passed")
    if fairness is None:
        failed.append("no fairness audit is recorded for this version")
    elif fairness != "true":
        flags = tags.get("fairness_flags")
        failed.append(
            f"the fairness audit raised {flags + ' ' if flags else ''}flags "
            "(see fairness.json of the run)"
        )
    if "beats_baselines" not in metrics:
        failed.append(
            "no baseline comparison is recorded for this version (metric beats_baselines)"
        )
    elif metrics["beats_baselines"] < 1.0:
        failed.append(
            "the model does not beat its baselines on the test date (the AUROC gain's CI includes 0)"
        )
    failed = [" ".join(gate.split()) for gate in failed]  # one line each (the CLI lists them)
    return GateReport(failed, {k: float(v) for k, v in compared.items() if v is not None}, champion)


def _gates(text: str) -> list[str]:
    try:
        return list(json.loads(text))
    except ValueError:  # cut at MLflow's parameter length
        return [text]


def _fmt(value: float | None, digits: int) -> str:
    return "missing" if value is None else f"{value:.{digits}f}"


def _limits(facts: VersionFacts) -> tuple[float, float]:
    """The challenger's spec's `promotion` limits (run params, else its spec.yaml, else 0)."""
    params = facts.params
    try:
        return (
            float(params["promotion.max_auroc_loss"]),
            float(params["promotion.max_brier_increase"]),
        )
    except (KeyError, ValueError):
        pass
    import yaml

    from riskstrat.spec import ModelSpec

    text = load_run_text(facts.run_id, "spec.yaml")
    if text:
        limits = ModelSpec.model_validate(yaml.safe_load(text)).promotion
        return limits.max_auroc_loss, limits.max_brier_increase
    return 0.0, 0.0


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry (containers)
        return os.environ.get("USER") or "unknown"


def promote(
    name: str,
    version: str | None = None,
    override_reason: str | None = None,
    user: str | None = None,
) -> PromotionDecision:
    """Move `champion` to `version` (default: the `challenger` alias) if the gates pass, or if
    they fail and an override reason is given; record the decision either way (version tags
    and the ledger). Raises `PromotionRefused` (an InputError) when refused."""
    mv = model_version(f"{name}/{version}" if version else f"{name}@{CHALLENGER}")
    name, version = mv.name, str(mv.version)
    report = check_gates(name, version)
    reason = (override_reason or "").strip() or None
    promoted = not report.failed or reason is not None
    decision = PromotionDecision(
        model=name,
        version=version,
        promoted=promoted,
        previous_champion=report.champion,
        failed_gates=report.failed,
        override_reason=reason if report.failed else None,
        compared=report.compared,
        by=user or _user(),
        at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if promoted:
        set_alias(name, CHAMPION, version)
        if report.champion and report.champion != version:
            tag_version(
                name,
                report.champion,
                {"replaced_as_champion_by": version, "replaced_as_champion_at": decision.at},
            )
    why = reason if (report.failed and reason) else "; ".join(decision.reasons)
    record = {
        "promotion_decision": decision.decision,
        "promotion_by": decision.by,
        "promotion_at": decision.at,
        "promotion_previous_champion": report.champion or "none",
        "promotion_failed_gates": json.dumps(report.failed),
        "promotion_override": "true" if decision.override_reason else "false",
        "promotion_override_reason": decision.override_reason or "",
        "promotion_reason": why,
        "promotion_compared": json.dumps(report.compared, sort_keys=True),
    }
    tag_version(name, version, record)
    decision.ledger_run_id = log_aggregates(
        LEDGER,
        f"{name} v{version} {decision.decision}",
        metrics=report.compared,
        params={
            "model": name,
            "version": version,
            "previous_champion": report.champion or "none",
            "decision": decision.decision,
            "by": decision.by,
            "at": decision.at,
            "why": why,
            "override": record["promotion_override"],
            "failed_gates": record["promotion_failed_gates"],
        },
        tags={"model": name, "version": version, "decision": decision.decision},
    )
    if not promoted:
        raise PromotionRefused(
            f"{name} version {version} was not promoted:\n  - "
            + "\n  - ".join(report.failed)
            + "\n(give --override-reason TEXT to promote anyway; the reason is recorded)",
            decision,
        )
    return decision


def champion_history(name: str) -> list[dict]:
    """The ledger's decisions for a model, oldest first: version, previous_champion,
    decision (promoted / promoted by override / refused), by, at, why, failed_gates (list),
    metrics (compared), run_id."""
    history = []
    for run in ledger_runs(LEDGER, name):
        params = dict(run.params)
        failed = params.pop("failed_gates", "[]")
        history.append(
            {
                **params,
                "at": params.get("at") or run.started.isoformat(timespec="seconds"),
                "failed_gates": _gates(failed),
                "metrics": dict(run.metrics),
                "run_id": run.run_id,
            }
        )
    return history
