"""The `riskstrat` command line (docs/interfaces.md, version 2).

Exit codes: 0 success, 2 bad input or configuration (one clear message per problem, no
traceback), 1 internal error. `RISKSTRAT_DEBUG=1` shows the traceback of an internal error.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import typer

from riskstrat.cli import data, feedback, models, outputs
from riskstrat.cli.common import console, err_console, styled
from riskstrat.errors import InputError
from riskstrat.redact import mask_cpr

app = typer.Typer(
    name="riskstrat",
    help="Risk stratification, segments and target lists for Danish health clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for module in (data, models, outputs, feedback):
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
    except OSError as exc:
        message = path_problem(exc)
        if message is None:
            return _internal_error(exc)
        err_console.print(styled(("error:", "bold red"), f" {message}"))
        return 2
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    if os.environ.get("RISKSTRAT_DEBUG"):
        raise exc
    err_console.print(
        styled(
            ("internal error:", "bold red"),
            # an internal error's text may quote data: CPR-shaped runs are masked, and it is
            # cut short (RISKSTRAT_DEBUG=1 shows it whole, with the traceback)
            f" {type(exc).__name__}: {mask_cpr(str(exc))[:500]}\n"
            "Run again with RISKSTRAT_DEBUG=1 for the traceback, and please report it.",
        )
    )
    return 1


_PATH_HINTS = {
    errno.EACCES: "no permission (a read-only folder or file?)",
    errno.EPERM: "not permitted (a read-only folder or file?)",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "a folder is where a file is expected",
    errno.ENOTDIR: "a file is where a folder is expected",
    errno.EEXIST: "a file is where a folder is expected",
    errno.ENOSPC: "the disk is full",
    errno.ENAMETOOLONG: "the path is too long",
}


def path_problem(exc: OSError) -> str | None:
    """What the user can fix about a path an OSError names (a read-only folder, a file where
    a folder is expected or the other way round, a full disk), or None if it is no such
    problem (then it is an internal error)."""
    hint = _PATH_HINTS.get(exc.errno or 0)
    if hint is None:
        return None
    # os.replace(tmp, target) names the target second; a temporary file names its folder
    path = Path(str(exc.filename2 or exc.filename or ""))
    if path.name.startswith(".") and path.name.endswith(".tmp"):
        path = path.parent
    where = f" {path}" if str(path) not in ("", ".") else ""
    return f"cannot use{where}: {hint} ({exc.strerror or exc})"


def entrypoint() -> None:
    """The `riskstrat` console script: run the CLI on the command line's arguments and exit
    with its code (0 done, 1 internal error, 2 bad input)."""
    sys.exit(main())


__all__ = ["app", "console", "main", "entrypoint"]
