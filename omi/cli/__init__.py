"""The `omi` command line, in the order a command line meets it.

- launch: the console script (`omi`, `python -m omi`). It answers the plain forms of
  `omi plugins list` without importing click, which costs more than finding the plugins once
  the plugin index answers, and hands every other command line to click.
- root: the click group `omi` and its memory commands (store, recall, config show).
- plugin_commands: the `plugins` commands, most of the command line's options, imported by
  name when a `plugins` command line arrives.
- toolkit: what root and plugin_commands share (the group that turns errors into exit codes,
  checked command-line text, KEY=VALUE options).

This module imports none of them: the console script lives in this package, so importing this
module is the first thing every `omi` start does, and the fast path must not pay for click.
`omi.cli.cli`, the click group under the name the earlier OMI release gave it, imports root on
first use.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "cli":
        from omi.cli.root import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
