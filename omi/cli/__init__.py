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
`omi.cli.cli` (the click group) and `omi.cli.main` still work for code that imported them
when this package was one module; they import root on first use.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("cli", "main"):
        from omi.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
