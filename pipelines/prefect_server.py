"""The temporary Prefect server of a flow run ends with the process that started it, also
when that process is killed with SIGKILL.

Without `PREFECT_API_URL`, Prefect 3 starts a local ("ephemeral") API server as a child
process (`python -m uvicorn --factory prefect.server.api.server:create_app`, in
`prefect.server.api.server.SubprocessASGIServer`) and stops it with an `atexit` handler.
A process killed with SIGKILL runs no handler, so the server kept running, orphaned (the
issue's `kill -9` of `riskstrat monthly`). Prefect has no setting for this and starts the
child without a hook (no `preexec_fn`, no new session), and a parent-death signal
(`PR_SET_PDEATHSIG`) would fire when the *thread* that started the child ends, not the
process, so it is not used.

`install()` makes that child run `create_app` below instead of Prefect's (the same app):
it watches its parent, and when the parent is gone (the child was re-parented) stops the
server with SIGTERM, uvicorn's graceful shutdown, within about a second. Only the command
line of the child changes; where Prefect starts it from, its environment and its settings
stay Prefect's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import types
from typing import Any

PARENT = "RISKSTRAT_PREFECT_PARENT_PID"
PREFECT_FACTORY = "prefect.server.api.server:create_app"
FACTORY = "pipelines.prefect_server:create_app"
WATCH_SECONDS = 0.5


def create_app() -> Any:
    """Prefect's API app, in a server process that stops when its parent is gone."""
    from prefect.server.api.server import create_app as prefect_app

    watch_parent()
    return prefect_app()


def watch_parent(interval: float = WATCH_SECONDS) -> None:
    """Stop this process (SIGTERM, then exit after 30 s) once its parent is no longer the
    process named in RISKSTRAT_PREFECT_PARENT_PID; nothing if the variable is not set."""
    parent = int(os.environ.get(PARENT) or 0)
    if not parent:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
        os._exit(1)  # the graceful shutdown did not finish

    threading.Thread(target=watch, name="riskstrat-parent-watch", daemon=True).start()


class _Subprocess(types.ModuleType):
    """`subprocess` for `prefect.server.api.server` only: its `Popen` runs the ephemeral
    server with `create_app` above; everything else is the real module."""

    def __init__(self) -> None:
        super().__init__("subprocess")

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args: list[str], *rest: Any, **options: Any) -> subprocess.Popen:  # noqa: N802
        args = [FACTORY if arg == PREFECT_FACTORY else arg for arg in args]
        return subprocess.Popen(args, *rest, **options)


def install() -> None:
    """Before a flow runs: an ephemeral Prefect server started from this process will stop
    when this process ends, however it ends. Nothing to do with PREFECT_API_URL set (the
    flow then talks to that server and starts none)."""
    if os.environ.get("PREFECT_API_URL"):
        return
    from prefect.server.api import server

    os.environ[PARENT] = str(os.getpid())
    if not isinstance(server.subprocess, _Subprocess):
        server.subprocess = _Subprocess()  # type: ignore[assignment]
