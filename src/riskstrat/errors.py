"""The one base class for problems the user can fix: bad input data, spec, teams file, flags.

The CLI turns an `InputError` into exit code 2 with its message and no traceback; anything
else is an internal error (exit code 1).
"""


class InputError(ValueError):
    """Bad input or configuration, with a message that says what to fix."""
