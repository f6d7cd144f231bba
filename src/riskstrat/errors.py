"""The one base class for problems the user can fix: bad input data, spec, teams file, flags.

The CLI turns an `InputError` into exit code 2 with its message and no traceback; anything
else is an internal error (exit code 1). The message never carries anything shaped like a
CPR number (`riskstrat.redact`): it is masked when the error is made, so neither the
terminal nor a log, Prefect's database or MLflow can receive one through it.
"""

from riskstrat.redact import mask_cpr


class InputError(ValueError):
    """Bad input or configuration, with a message that says what to fix (CPR-shaped runs
    masked, see `riskstrat.redact`)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(mask_cpr(a) if isinstance(a, str) else a for a in args))
