"""The served monthly deployment, run through a real Prefect server, as the schedule runs it.

A temporary `prefect server start` (its own PREFECT_HOME and SQLite DB) and
`python -m pipelines.deployments serve` run as subprocesses; flow runs are created through
the server's API, picked up by the serving process and executed in its flow-run
subprocesses, exactly as a cron-triggered run would be. The tests in
test_monthly_flow.py call the flow in-process and would not see what the engine of a
served run does with the flow's return value.

Prefect 3.8.8's engine subprocess logs every Failed flow run (one that raises too) as
"Engine execution exited with unexpected exception" with the traceback of the run's
exception (prefect/engine.py passes an error_logger to flow_engine.run_flow, which logs
what `engine.result()` raises). A withheld month ends Failed on purpose, so that line is
expected once for it; what must not appear is an error resolving its state (a TypeError).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = "riskstrat-monthly/monthly"
WITHHELD_MONTH = "2024-04"  # the audit flags this month of the tiny data (see `tight_champions`)
PUBLISHED_MONTH = "2025-01"  # run with an override reason: published whatever the audit says
SERVER_START_S = 120
RUN_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def tight_champions(tmp_path_factory, tiny_data: Path) -> Path:
    """Both models trained (small) on the tiny data and promoted, in a module's own MLflow store,
    with the fairness tolerances tightened: observed/expected within [0.99, 1.01], judged at
    a family-wise level of 0.99 (a 1 % interval), so that any deviation flags.

    The tolerances travel with each registered model's spec, so the monthly gate (O/E of the
    selected and the not-selected by group over the most recent fully observed window)
    flags groups whose O/E is off; a month with flags and no override
    reason has its lists withheld. With the spec's own tolerances ([0.8, 1.25]) the tiny
    data raises no flag in 2024-01 or 2025-01.
    """
    from riskstrat.experiment import run_experiment
    from riskstrat.promotion import promote
    from riskstrat.spec import load_spec

    store = tmp_path_factory.mktemp("mlflow_deploy")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        for spec_file in ("models/avoidable_admission.yaml", "models/trilateral_need.yaml"):
            spec = load_spec(
                ROOT / spec_file,
                [
                    "learner.params.n_estimators=40",
                    "fairness.tolerances.oe=[0.99,1.01]",
                    "fairness.tolerances.alpha=0.99",
                ],
            )
            outcome = run_experiment(spec, tiny_data, n_boot=10)
            promote(
                spec.name,
                outcome.version,
                override_reason="test fixture: tight fairness tolerances",
            )
    return store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the whole process group (the server's uvicorn, the runner's flow runs), then SIGKILL."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:  # anything left in the group, including children of an already-exited leader
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@contextmanager
def _subprocess(args: list[str], env: dict[str, str], log: Path):
    with open(log, "wb") as out:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        _stop(process)


def _base_env(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_TRACKING_URI"))
    }
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        }
    )
    return env


def _wait_healthy(api: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"the Prefect server exited ({server.returncode}):\n{log.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(
        f"the Prefect server was not healthy within {SERVER_START_S} s:\n{log.read_text()[-4000:]}"
    )


def _wait_deployment(client, serving: subprocess.Popen, log: Path):
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if serving.poll() is not None:
            pytest.fail(
                f"the serving process exited ({serving.returncode}):\n{log.read_text()[-4000:]}"
            )
        try:
            return client.read_deployment_by_name(DEPLOYMENT)
        except ObjectNotFound:
            time.sleep(0.5)
    pytest.fail(
        f"{DEPLOYMENT} was not registered within {SERVER_START_S} s:\n{log.read_text()[-4000:]}"
    )


def _children(pid: int) -> set[int]:
    """Process ids whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _run(client, deployment_id, parameters: dict, serving: subprocess.Popen, log: Path):
    """Create a flow run of the deployment through the API and wait for its final state and for
    its flow-run subprocess to exit (the engine logs after it has reported the final state)."""
    idle = _children(serving.pid)
    flow_run = client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    state = None
    while time.monotonic() < deadline:
        if serving.poll() is not None:
            pytest.fail(
                f"the serving process exited ({serving.returncode}):\n{log.read_text()[-4000:]}"
            )
        if state is None or not state.is_final():
            state = client.read_flow_run(flow_run.id).state
        if state is not None and state.is_final() and _children(serving.pid) <= idle:
            return flow_run, state
        time.sleep(0.5)
    pytest.fail(
        f"flow run {parameters} not final and exited within {RUN_TIMEOUT_S} s ({state!r}):\n"
        f"{log.read_text()[-4000:]}"
    )


def test_served_deployment_withholds_lists_with_a_clean_failed_state(
    tight_champions: Path, tiny_data: Path, tmp_path: Path
) -> None:
    """A withheld month ends Failed with the withheld message (scores and audit published, no
    lists), a month with an override reason ends Completed with its lists, and the serving
    process logs no error for either beyond Prefect's standard report of a Failed run, whose
    exception is the withheld message itself (before the fix: a TypeError, "dict cannot be
    resolved into an exception", because the Failed state carried the summary dict as data)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    out = tmp_path / "runs"
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    server_env = _base_env(tmp_path / "prefect_server_home")
    serve_env = _base_env(tmp_path / "prefect_serve_home")
    serve_env.update(
        {
            "PREFECT_API_URL": api,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "MLFLOW_TRACKING_URI": f"sqlite:///{tight_champions / 'mlflow.db'}",
        }
    )
    server_args = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-ui",
        "--analytics-off",
    ]
    serve_args = [
        sys.executable,
        "-m",
        "pipelines.deployments",
        "serve",
        "--data",
        str(tiny_data),
        "--teams",
        str(ROOT / "teams.yaml"),
        "--out",
        str(out),
    ]

    with _subprocess(server_args, server_env, server_log) as server:
        _wait_healthy(api, server, server_log)
        with (
            _subprocess(serve_args, serve_env, serve_log) as serving,
            temporary_settings({PREFECT_API_URL: api}),
            get_client(sync_client=True) as client,
        ):
            deployment = _wait_deployment(client, serving, serve_log)
            withheld_run, withheld = _run(
                client, deployment.id, {"month": WITHHELD_MONTH}, serving, serve_log
            )
            override = {"month": PUBLISHED_MONTH, "override_reason": "reviewed: test"}
            published_run, published = _run(client, deployment.id, override, serving, serve_log)
            # read before the shutdown: stopping a runner logs its own asyncio noise (Prefect's)
            log = serve_log.read_text(errors="replace")

    # the withheld month: Failed with the message that says why and how to publish
    month = out / WITHHELD_MONTH
    assert withheld.is_failed(), (withheld, log[-4000:])
    record = json.loads((month / "audit.jsonl").read_text().splitlines()[-1])
    assert record["lists_withheld"] is True and record["fairness_flags"] > 0
    assert (
        f"{WITHHELD_MONTH}: the fairness audit raised {record['fairness_flags']} flag(s)"
        in withheld.message
    )
    assert "--override-reason" in withheld.message
    assert not (month / "lists").exists()
    assert (month / "scores" / "avoidable_admission" / "scores.parquet").exists()
    assert (month / "scores" / "trilateral_need" / "manifest.json").exists()
    assert (month / "fairness" / "report.html").exists() and (
        month / "fairness" / "groups.json"
    ).exists()

    # the month with an override reason: Completed, lists published
    month = out / PUBLISHED_MONTH
    assert published.is_completed(), (published, log[-4000:])
    record = json.loads((month / "audit.jsonl").read_text().splitlines()[-1])
    assert record["lists_withheld"] is False
    for team in ("randers-geriatric-team", "favrskov-djursland-trilateral-outreach"):
        assert (month / "lists" / team / "target_list.csv").exists(), team

    # the serving process (runner + flow-run subprocesses): the withheld state resolves into
    # Prefect's own FailedRun carrying the withheld message; no TypeError about its data.
    # Prefect 3.8.8's engine subprocess (prefect/engine.py -> flow_engine.run_flow with an
    # error_logger) logs *every* Failed flow run, a flow that raises included, as "Engine
    # execution exited with unexpected exception" with the traceback of the run's exception.
    # So that line and its traceback appear exactly once, for the withheld run, ending in
    # FailedRun: <the withheld message>; nothing else logs an error or a traceback.
    for text in (
        "cannot be resolved into an exception",
        "TypeError",
        "Unexpected result for failed state",
    ):
        assert text not in log, f"{text!r} in the serving log:\n{log[-6000:]}"
    assert log.count("Traceback (most recent call last)") == 1, log[-6000:]
    assert log.count("| ERROR ") == 1, log[-6000:]
    assert (
        f"Flow run '{withheld_run.name}' - Engine execution exited with unexpected exception\n"
        in log
    ), log[-6000:]
    assert f"\nprefect.exceptions.FailedRun: {withheld.message}\n" in log, log[-6000:]
    assert f"Flow run '{published_run.name}' - Finished in state Completed()" in log, log[-6000:]


def test_a_withheld_month_from_the_command_exits_2(
    prefect_server, tight_champions: Path, tiny_data: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """`riskstrat monthly` (run_month, in-process) on a withheld month: ListsWithheld, exit code 2."""
    from pipelines.cli import main

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tight_champions / 'mlflow.db'}")
    out = tmp_path / "runs"
    args = [
        "monthly",
        "--data",
        str(tiny_data),
        "--month",
        WITHHELD_MONTH,
        "--teams",
        str(ROOT / "teams.yaml"),
        "--out",
        str(out),
        "--json",
    ]
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "the fairness audit raised" in err and "--override-reason" in err
    assert (out / WITHHELD_MONTH / "fairness" / "groups.json").exists()
    assert not (out / WITHHELD_MONTH / "lists").exists()
