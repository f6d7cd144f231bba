"""Task settings shared by the flows.

Person-level frames pass between tasks in memory only: tasks that touch them have result
persistence and caching off (`PERSON_LEVEL`), so nothing person-level reaches Prefect's
result store; flows return aggregates. Only tasks that touch the file system or the
registry retry (`IO_RETRIES`), and never on bad input: an `InputError` is the same on
every attempt.
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE

from riskstrat.errors import InputError

PERSON_LEVEL: dict[str, Any] = {"persist_result": False, "cache_policy": NO_CACHE}


def retry_unless_input_error(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry a failed I/O task unless it failed on bad input."""
    error = state.data if isinstance(state.data, BaseException) else None
    return not isinstance(error, InputError)


IO_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": 5,
    "retry_condition_fn": retry_unless_input_error,
}
