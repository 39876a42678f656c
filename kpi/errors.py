"""Errors a user can cause and fix: each message names the file, row or field and what was expected.

The command line prints such an error in a line or two and exits 2, never with a traceback (unless
``--debug``): :func:`kpi.cli.main`. Any other exception is a fault of the workbook's own.
"""


class UserError(Exception):
    """A problem with what the user gave (a file, an option, a params field), told in its message."""


class LoadError(UserError):
    """A whole-file problem: the load stops and changes nothing."""
