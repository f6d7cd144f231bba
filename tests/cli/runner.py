"""Run `riskstrat` in-process as a user runs it, through typer's `CliRunner`.

`CliRunner.invoke(app, ...)` alone does not give the exit codes a user sees: the mapping of
errors to codes (0 success, 2 bad input, 1 internal error) lives in `riskstrat.cli.main`,
which runs `app` and is what the `riskstrat` script calls. So `invoke` calls `main` inside
the runner's isolation (its stdout, stderr and environment).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass

from pipelines.cli import main  # the `riskstrat` script: library commands plus monthly and demo
from typer.testing import CliRunner


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str
    # an exception that escaped `main`: the interpreter prints its traceback and exits 1
    exception: BaseException | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(args: list[str], env: Mapping[str, str | None] | None = None) -> Result:
    """`riskstrat ARGS` with `env` applied; RISKSTRAT_DEBUG is unset unless `env` sets it."""
    runner = CliRunner()
    with runner.isolation(env={"RISKSTRAT_DEBUG": None, **(env or {})}) as (out, err, _):
        escaped = None
        try:
            code = main([str(a) for a in args])
        except Exception as exc:  # what `sys.exit(main())` would let through
            escaped, code = exc, 1
            traceback.print_exception(exc, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return Result(code, stdout, stderr, escaped)
