"""pipelines.prefect_server: the ephemeral Prefect server a flow run starts ends with the
process that started it, also when that process is killed with SIGKILL (`kill -9` of
`riskstrat monthly` left it running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# what `run_month` does before its flow: install(), then a flow on the ephemeral server
SCRIPT = """
import time
import pipelines
from pipelines.prefect_server import install
install()
from prefect import flow
from prefect.server.api.server import SubprocessASGIServer

@flow
def noop():
    return 1

noop()
servers = [s.server_process.pid for s in SubprocessASGIServer._instances.values()
           if s.server_process]
print(*servers, flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def test_the_ephemeral_server_stops_when_its_flow_process_is_killed(tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    server = None
    try:
        assert parent.stdout is not None
        (server,) = (int(pid) for pid in parent.stdout.readline().split())
        cmdline = Path(f"/proc/{server}/cmdline").read_bytes().split(b"\0")
        assert b"pipelines.prefect_server:create_app" in cmdline
        assert _running(server)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while _running(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _running(server), "the Prefect server outlived the killed flow process"
    finally:
        if parent.poll() is None:
            parent.kill()
        if server is not None and _running(server):
            os.kill(server, signal.SIGKILL)
