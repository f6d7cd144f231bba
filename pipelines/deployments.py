"""The monthly scoring schedule as a Prefect deployment.

    uv run python pipelines/deployments.py serve --data DIR [--teams teams.yaml] [--out runs]

registers the deployment `riskstrat-monthly/monthly` with a cron schedule at 06:00 on the
first day of every month, Europe/Copenhagen time, and serves it from this process (leave it
running; see the runs in the Prefect UI of the server it talks to). Each scheduled run
scores the month that starts on the run's day.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect.schedules import Cron

MONTHLY_CRON = "0 6 1 * *"
TIMEZONE = "Europe/Copenhagen"


def monthly_deployment(data_dir: str, teams: str = "teams.yaml", out: str = "runs"):
    """The monthly flow as a deployment object (not yet registered with a server)."""
    from pipelines.monthly import monthly_flow

    return monthly_flow.to_deployment(
        name="monthly",
        schedules=[Cron(MONTHLY_CRON, timezone=TIMEZONE)],
        parameters={"data_dir": data_dir, "teams": teams, "out": out, "month": None},
        description="Score every champion as of the first of the month and publish target lists.",
        tags=["riskstrat", "monthly"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--data", required=True, help="data directory refreshed before each run")
    parser.add_argument("--teams", default="teams.yaml")
    parser.add_argument("--out", default="runs")
    args = parser.parse_args()
    from prefect import serve

    data = str(Path(args.data).resolve())
    serve(monthly_deployment(data, str(Path(args.teams).resolve()), str(Path(args.out).resolve())))


if __name__ == "__main__":
    main()
