"""Errors the user can act on.

A `UserError` is printed by the CLI as one line naming what is wrong, with a non-zero exit and
no traceback. Messages must never contain secrets.
"""


class UserError(Exception):
    """Bad input from the user: a name, a value or a range the engine cannot work with."""


class ConfigError(UserError):
    """A configuration value is missing, unknown or out of range."""


class DataError(UserError):
    """The lake has no data, or bad data, for what was asked."""
