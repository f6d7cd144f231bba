"""Promotion: moving alias `champion` to a model version, under gates, with a ledger.

Gates (interfaces.md): the challenger is not worse than the current champion on the same
test data (AUROC loss and Brier increase within the spec's `promotion` limits, compared
on the champion's metrics recomputed on the challenger's test rows at training), its
fairness audit is clean, and it beats its baselines. A refused gate can be overridden
only with a reason, which is recorded. Every decision is written on the model version
(tags) and appended to the ledger, the MLflow experiment `riskstrat-promotions`.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from riskstrat.errors import InputError
from riskstrat.tracking import (
    CHALLENGER,
    CHAMPION,
    client,
    log_aggregates,
    model_version,
    run_metrics,
)

LEDGER = "riskstrat-promotions"


class PromotionRefused(InputError):
    """The gates refused the challenger and no override was given."""


@dataclass
class PromotionDecision:
    model: str
    version: str
    promoted: bool
    previous_champion: str | None
    failed_gates: list[str] = field(default_factory=list)
    override_reason: str | None = None
    compared: dict[str, float] = field(default_factory=dict)
    by: str = ""
    at: str = ""

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def check_gates(name: str, version: str) -> tuple[list[str], dict[str, float], str | None]:
    """The gates a version fails (empty = passes), the metrics compared, the current champion."""
    from riskstrat.spec import ModelSpec

    c = client()
    mv = c.get_model_version(name, version)
    metrics = run_metrics(mv.run_id)
    tags = dict(mv.tags)
    failed = []
    try:
        champion = c.get_model_version_by_alias(name, CHAMPION)
    except Exception:  # noqa: BLE001 - no champion yet
        champion = None
    compared = {k: metrics[k] for k in ("test_auroc", "test_brier") if k in metrics}
    if champion is not None and str(champion.version) != str(version):
        spec_yaml = _spec_limits(mv.run_id)
        limits = ModelSpec.model_validate(spec_yaml).promotion if spec_yaml else None
        if tags.get("champion_version_compared") != str(champion.version):
            failed.append(
                f"not compared with the current champion (version {champion.version}) on the same "
                f"test data: it was trained against {tags.get('champion_version_compared', 'none')}; "
                "retrain the challenger"
            )
        else:
            auroc, brier = metrics.get("test_auroc"), metrics.get("test_brier")
            c_auroc, c_brier = metrics.get("champion_test_auroc"), metrics.get("champion_test_brier")
            compared.update({"champion_test_auroc": c_auroc, "champion_test_brier": c_brier})
            max_loss = limits.max_auroc_loss if limits else 0.0
            max_brier = limits.max_brier_increase if limits else 0.0
            if auroc is None or c_auroc is None or auroc < c_auroc - max_loss:
                failed.append(f"test AUROC {auroc:.4f} is below the champion's {c_auroc:.4f} on the same data")
            if brier is None or c_brier is None or brier > c_brier + max_brier:
                failed.append(f"test Brier score {brier:.5f} is worse than the champion's {c_brier:.5f}")
    fairness = tags.get("fairness_passed")
    if fairness is None:
        failed.append("no fairness audit is recorded for this version")
    elif fairness != "true":
        failed.append("the fairness audit raised flags (see fairness.json of the run)")
    if metrics.get("beats_baselines", 0.0) < 1.0:
        failed.append("LightGBM does not beat its baselines on the test date (gain CI includes 0)")
    return failed, {k: v for k, v in compared.items() if v is not None}, (
        None if champion is None else str(champion.version)
    )


def _spec_limits(run_id: str) -> dict | None:
    import yaml

    from riskstrat.tracking import _mlflow

    mlflow = _mlflow()
    try:
        text = mlflow.artifacts.load_text(f"runs:/{run_id}/spec.yaml")
    except Exception:  # noqa: BLE001
        return None
    return yaml.safe_load(text)


def promote(name: str, version: str | None = None, override_reason: str | None = None,
            user: str | None = None) -> PromotionDecision:  # fmt: skip
    """Move `champion` to `version` (default: the challenger) if the gates pass or an override
    reason is given; record the decision either way. Raises PromotionRefused when refused."""
    mv = model_version(f"{name}/{version}" if version else f"{name}@{CHALLENGER}")
    version = str(mv.version)
    failed, compared, previous = check_gates(name, version)
    reason = (override_reason or "").strip() or None
    promoted = not failed or reason is not None
    decision = PromotionDecision(
        model=name, version=version, promoted=promoted, previous_champion=previous,
        failed_gates=failed, override_reason=reason if failed else None, compared=compared,
        by=user or getpass.getuser(), at=datetime.now(UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    c = client()
    if promoted:
        c.set_registered_model_alias(name, CHAMPION, version)
    record = {
        "promotion_decision": "promoted" if promoted else "refused",
        "promotion_by": decision.by,
        "promotion_at": decision.at,
        "promotion_previous_champion": previous or "none",
        "promotion_failed_gates": json.dumps(failed),
        "promotion_override_reason": decision.override_reason or "",
        "promotion_compared": json.dumps(compared, sort_keys=True),
    }
    for key, value in record.items():
        c.set_model_version_tag(name, version, key, value[:5000])
    log_aggregates(
        LEDGER, f"{name} v{version} {record['promotion_decision']}",
        metrics={k: float(v) for k, v in compared.items()},
        params={"model": name, "version": version, "previous_champion": previous or "none",
                "decision": record["promotion_decision"], "by": decision.by,
                "why": decision.override_reason or ("gates passed" if promoted else "; ".join(failed))},
        tags={"model": name, "version": version, "decision": record["promotion_decision"]},
    )  # fmt: skip
    if not promoted:
        raise PromotionRefused(
            f"{name} version {version} was not promoted:\n  - " + "\n  - ".join(failed)
            + "\n(give --override-reason TEXT to promote anyway; the reason is recorded)"
        )
    return decision


def champion_history(name: str) -> list[dict]:
    """The ledger's decisions for a model, oldest first."""
    from riskstrat.tracking import _mlflow, experiment_id

    mlflow = _mlflow()
    runs = mlflow.search_runs(
        experiment_ids=[experiment_id(LEDGER)], filter_string=f"tags.model = '{name}'",
        order_by=["attributes.start_time ASC"], output_format="list",
    )  # fmt: skip
    return [{**r.data.params, "at": r.info.start_time} for r in runs]
