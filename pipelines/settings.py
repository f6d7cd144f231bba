"""Task settings shared by the flows.

Person-level frames pass between tasks in memory only: tasks that touch them have result
persistence and caching off (`PERSON_LEVEL`), so nothing person-level reaches Prefect's
result store; flows return aggregates.

Only tasks that read or write the outside world (the data directory, the MLflow store,
published files) retry, with `retrying(...)`; an `InputError` (bad data, spec, reference,
an unreachable store) is never retried: trying again cannot fix it. Pure computation
(fitting, audits) has no retries.
"""

from __future__ import annotations

from prefect.cache_policies import NO_CACHE

from riskstrat.errors import InputError

PERSON_LEVEL = {"persist_result": False, "cache_policy": NO_CACHE}


def retry_unless_input_error(task, task_run, state) -> bool:
    """Prefect `retry_condition_fn`: retry a failed task run unless it raised an InputError."""
    try:
        state.result()
    except InputError:
        return False
    except Exception:  # noqa: BLE001 - anything else may be transient (I/O, a locked store)
        return True
    return True


def retrying(retries: int = 2, delay: float = 5) -> dict:
    """Task settings for a task doing I/O: `retries` more attempts `delay` seconds apart,
    none after an InputError."""
    return {
        "retries": retries,
        "retry_delay_seconds": delay,
        "retry_condition_fn": retry_unless_input_error,
    }


IO_RETRIES = retrying()
