"""The `riskstrat` command line (interfaces.md, version 1).

Exit codes: 0 success, 2 bad input or configuration (one clear message per problem, no
traceback), 1 internal error. `RISKSTRAT_DEBUG=1` shows the traceback of an internal error.
"""

from __future__ import annotations

import os
import sys

import typer

from riskstrat.cli import data, models, outputs
from riskstrat.cli.common import console, err_console, styled
from riskstrat.errors import InputError

app = typer.Typer(
    name="riskstrat",
    help="Risk stratification, segments and target lists for Danish health clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for module in (data, models, outputs):
    module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map errors to exit codes instead of tracebacks."""
    try:
        # Without standalone mode click returns the code of an Exit instead of raising it.
        code = app(args=argv, prog_name="riskstrat", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except typer.TyperException as exc:  # usage errors: missing or bad options
        show = getattr(exc, "show", None)
        if show:
            show()
        else:
            err_console.print(f"error: {exc}")
        return 2
    except InputError as exc:
        err_console.print(styled(("error:", "bold red"), f" {exc}"))
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was published")
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("RISKSTRAT_DEBUG"):
            raise
        err_console.print(
            styled(
                ("internal error:", "bold red"),
                f" {type(exc).__name__}: {exc}\n"
                "Run again with RISKSTRAT_DEBUG=1 for the traceback, and please report it.",
            )
        )
        return 1


def entrypoint() -> None:
    """The `riskstrat` console script: run the CLI on the command line's arguments and exit
    with its code (0 done, 1 internal error, 2 bad input)."""
    sys.exit(main())


__all__ = ["app", "console", "main", "entrypoint"]
