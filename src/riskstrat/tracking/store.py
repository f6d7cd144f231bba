"""Where the MLflow store is, MLflow imported quietly, experiments, and MLflow's errors.

Default store: SQLite at `./mlruns/mlflow.db` with artifacts beside it in
`./mlruns/artifacts` (`RISKSTRAT_HOME/mlruns/` if set; any `MLFLOW_TRACKING_URI` works
instead, e.g. a `mlflow server`). The URI is read on every call, so tests and commands can
point at another store without restarting the process.

Only modules of `riskstrat.tracking` use `quiet_mlflow` and `client`; everything else goes
through the functions `riskstrat.tracking` exports.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from riskstrat.errors import InputError

_QUIET = ("mlflow", "alembic", "urllib3")


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI`, else SQLite under `./mlruns/` (`$RISKSTRAT_HOME/mlruns/` if set)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    root = Path(os.environ.get("RISKSTRAT_HOME", ".")).resolve() / "mlruns"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def artifact_root(uri: str) -> str | None:
    """Artifacts beside a local SQLite store (`<db folder>/artifacts`); else the server decides."""
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
        return (db.resolve().parent / "artifacts").as_uri()
    return None


def quiet_mlflow():
    """The `mlflow` module, pointed at `tracking_uri()` and quiet (no INFO lines, no URLs on
    stdout). Imported on first use: it takes seconds that scoring from a bundle does not need."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # a tracking server makes MLflow print "View run ... at: URL" on stdout, which would
    # break `--json` output
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    warnings.filterwarnings("ignore", module="mlflow.*")
    warnings.filterwarnings("ignore", message=".*Operation with range is deprecated.*")
    import mlflow  # configures its own loggers at import: quieten them afterwards

    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.ERROR)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow


def client():
    """An `MlflowClient` on the current store (tracking and registry); InputError if the
    store cannot be used (corrupt, locked, unreadable: `store_problem`)."""
    mlflow = quiet_mlflow()
    uri = tracking_uri()
    with input_errors("opening the MLflow store"):
        return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


# --- MLflow's errors ----------------------------------------------------------------------


def error_code(error: Exception) -> str:
    """The `error_code` of an MLflow error (e.g. "RESOURCE_DOES_NOT_EXIST"), "" if it has none."""
    return str(getattr(error, "error_code", ""))


def is_missing(error: Exception) -> bool:
    """An MLflow error saying that a model, version, alias or run does not exist."""
    code = error_code(error)
    return "RESOURCE_DOES_NOT_EXIST" in code or (
        "INVALID_PARAMETER_VALUE" in code and "not found" in str(error)
    )


def is_unreachable(error: Exception) -> bool:
    """An MLflow error saying the tracking server did not answer (after MLflow's own retries)."""
    text = str(error)
    return text.startswith("API request to ") and " failed with " in text


# what SQLite (through SQLAlchemy, inside MLflow's errors) says of a store it cannot use
_STORE_PROBLEMS = (
    ("file is not a database", "is not an MLflow database (corrupt, or another file?)"),
    ("database disk image is malformed", "is corrupt (the database image is malformed)"),
    ("database is locked", "is locked by another process (a run or server writing to it?)"),
    ("unable to open database file", "cannot be opened (a missing folder or no permission?)"),
    ("attempt to write a readonly database", "is read-only"),
    ("no such table", "is not an MLflow database (tables are missing)"),
    ("Can't locate revision", "was written by another MLflow version (unknown schema)"),
)


def store_problem(error: BaseException) -> str | None:
    """What is wrong with the store, if `error` (or an error it was raised from) says that
    the database cannot be used: corrupt, locked, unopenable, read-only; else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        for mark, what in _STORE_PROBLEMS:
            if mark in text:
                return (
                    f"the MLflow store at {tracking_uri()} {what}; nothing was changed in it. "
                    "Point MLFLOW_TRACKING_URI at a working store, or repair or move this one"
                )
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def input_errors(what: str, missing: Callable[[], str] | None = None) -> Iterator[None]:
    """Turns MLflow errors that mean bad input into `InputError`s saying `what` failed:
    an unreachable store, a store that cannot be used (corrupt, locked past SQLite's wait,
    read-only: `store_problem`), and (with `missing`, which writes the message) something
    that does not exist. Other MLflow errors pass through unchanged."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except InputError:
        raise
    except Exception as error:
        problem = store_problem(error)
        if problem is not None:
            raise InputError(f"{what}: {problem}") from error
        if not isinstance(error, MlflowException):
            raise
        if is_unreachable(error):
            raise InputError(
                f"{what}: cannot reach the MLflow store at {tracking_uri()} "
                "(is the server running? check MLFLOW_TRACKING_URI)"
            ) from error
        if missing is not None and is_missing(error):
            raise InputError(missing()) from error
        raise


# --- experiments ---------------------------------------------------------------------------


def experiment_id(name: str) -> str:
    """The experiment called `name`, created with its artifacts beside a SQLite store."""
    mlflow = quiet_mlflow()
    from mlflow.exceptions import MlflowException

    with input_errors(f"experiment {name!r}"):
        found = mlflow.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        root = artifact_root(tracking_uri())
        location = f"{root}/{name}" if root else None
        try:
            return mlflow.create_experiment(name, artifact_location=location)
        except MlflowException as error:  # another process created it in between
            found = mlflow.get_experiment_by_name(name)
            if found is None or "ALREADY_EXISTS" not in error_code(error):
                raise
            return found.experiment_id
