"""The shared task settings, in real Prefect flow runs: an InputError is never retried."""

from __future__ import annotations

from pipelines.settings import PERSON_LEVEL, retrying
from prefect import flow, task

from riskstrat.errors import InputError

ATTEMPTS: dict[str, int] = {}


@task(**retrying(retries=2, delay=0), **PERSON_LEVEL)
def failing(kind: str) -> None:
    ATTEMPTS[kind] = ATTEMPTS.get(kind, 0) + 1
    raise (InputError if kind == "input" else OSError)(f"{kind} failed")


@flow
def run_failing(kind: str) -> None:
    failing(kind)


def test_a_task_raising_an_input_error_is_attempted_once(prefect_server) -> None:
    state = run_failing("input", return_state=True)
    assert state.is_failed() and ATTEMPTS["input"] == 1


def test_a_task_raising_another_error_is_retried(prefect_server) -> None:
    state = run_failing("io", return_state=True)
    assert state.is_failed() and ATTEMPTS["io"] == 3
