"""The `omi` console script: the plain forms of `omi plugins list` without click.

Importing click costs `omi plugins list` more than finding its plugins does, once the plugin
index (omi.index) answers. `omi plugins list` with only `--format text|json`, `--group GROUP`
(a known group), `-v/--verbose` and `--strict` is answered here, through the same functions
the click command uses (omi.listing); every other command line, and any doubt, goes to click
(omi.cli.root). This module imports nothing of click, and its package's __init__ nothing at all.
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple


class Parsed(NamedTuple):
    """A plain `plugins list` command line."""

    output_format: str
    group: str | None
    verbose: bool
    strict: bool


def parse_plain_list(argv: list[str]) -> Parsed | None:
    """(format, group, verbose, strict) for a plain `plugins list` command line, else None."""
    if argv[:2] != ["plugins", "list"]:
        return None
    output_format, group, verbose, strict = "text", None, False, False
    rest = argv[2:]
    position = 0
    while position < len(rest):
        arg = rest[position]
        name, equals, value = arg.partition("=")
        if not equals and name in ("--format", "--group") and position + 1 < len(rest):
            value = rest[position + 1]
            position += 1
        elif not equals and name not in ("-v", "--verbose", "--strict"):
            return None
        if name in ("-v", "--verbose") and not equals:
            verbose = True
        elif name == "--strict" and not equals:
            strict = True
        elif name == "--format" and value in ("text", "json"):
            output_format = value
        elif name == "--group" and value:
            group = value
        else:
            return None
        position += 1
    return Parsed(output_format, group, verbose, strict)


def _list_without_click(argv: list[str]) -> Parsed | None:
    """The plain `plugins list` this module answers itself, else None: click answers."""
    if os.environ.get("OMI_DEBUG", "") not in ("", "0"):
        return None  # --debug's logging and tracebacks are click's
    parsed = parse_plain_list(argv)
    if parsed is not None and parsed.group is not None:
        from omi.plugins import PluginError, resolve_group

        try:
            resolve_group(parsed.group)
        except PluginError:
            return None  # click reports the unknown group
    return parsed


def main() -> None:
    """Console-script entry point."""
    parsed = _list_without_click(sys.argv[1:])
    if parsed is None:
        from omi.cli.root import main as click_main

        return click_main()
    from omi.listing import list_output, strict_failure
    from omi.textsafety import error_line

    output_format, group, verbose, strict = parsed
    try:
        text, failed = list_output(group, output_format, verbose)
    except Exception as error:  # as OmiGroup reports an unexpected error
        from omi.plugins import PluginError

        sys.stderr.write(f"Error: {error_line(error)}\n")
        sys.exit(2 if isinstance(error, PluginError) else 1)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    if strict and failed:
        sys.stderr.write(f"Error: {strict_failure(failed)}\n")
        sys.exit(1)
    sys.exit(0)
