"""Thin Prefect flows and deployments that wire riskstrat library functions.

Prefect reads its settings when it is first imported, so they are set here, before any
flow module imports it: no telemetry, quiet logs, and a start-up timeout that fits a
2-core machine (the ephemeral server needs 10-15 s there).
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
