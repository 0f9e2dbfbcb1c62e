"""The one error hierarchy: every error OMI raises for a user to read is an `OmiError`.

Two branches say how the command line ends: a `UsageError` is something the user asked for
that cannot be done as asked (exit 2), an `OperationFailed` is a check or an operation that
ran and failed (exit 1). The CLI turns either into one line on stderr in one place.

The errors of the modules that name them (`omi.plugins.PluginError`, `omi.config.ConfigError`,
...) live here so that the hierarchy can be read in one file; those modules re-export them.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "OmiError",
    "OperationFailed",
    "PluginError",
    "ScaffoldError",
    "UpdateError",
    "UsageError",
    "did_you_mean",
]


class OmiError(Exception):
    """Base of every error OMI reports to its user; `exit_code` is the CLI's exit status."""

    exit_code = 1


class UsageError(OmiError):
    """Bad input: a bad name, a plugin not found, a config that does not validate (exit 2)."""

    exit_code = 2


class OperationFailed(OmiError):
    """A check or an operation ran and failed (exit 1)."""

    exit_code = 1


class PluginError(UsageError):
    """Base class of every plugin error, so callers can catch them all at once."""


class ConfigError(UsageError, ValueError):
    """The configuration is wrong; the message says where, what, and how to fix it."""


class ScaffoldError(UsageError, ValueError):
    """Bad input to `omi plugins new`; nothing has been written."""


class UpdateError(UsageError, ValueError):
    """The project or the request cannot be updated as asked; nothing has been written."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" with the choice closest to a mistyped `word`, or "" when none
    is close: the end of an error message about a name that does not exist."""
    import difflib

    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
