"""The child process of the runner: reads one JSON spec on stdin, streams JSON lines out."""

from __future__ import annotations

import json
import os
import sys
from importlib import import_module
from typing import TextIO

from omi.conformance.registry import all_checks
from omi.conformance.runner import execute
from omi.conformance.target import instance_factory


def _events_channel() -> TextIO:
    """The original stdout, kept for events; fd 1 itself now goes to stderr.

    A plugin that prints (or a library it uses) would otherwise write into the event stream;
    its output lands in stderr, which the parent shows when the child dies.
    """
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    return channel


def main() -> None:
    events = _events_channel()

    def _emit(event: dict) -> None:
        events.write(json.dumps(event) + "\n")
        events.flush()

    checks = {c.name: c for c in all_checks()}  # before the spec: done while the parent works
    spec = json.loads(sys.stdin.readline() or "{}")
    if not spec:  # started in advance, then not needed
        return
    module, _, attr = spec["plugin"].partition(":")
    plugin_class = import_module(module)
    for part in attr.split("."):
        plugin_class = getattr(plugin_class, part)
    factory = instance_factory(plugin_class, spec["options"])
    for name in spec["checks"]:
        _emit({"event": "start", "check": name})
        outcome = execute(checks[name], factory, spec["capabilities"], spec["seed"],
                          spec["call_timeout"])
        _emit({"event": "result", "outcome": outcome.to_dict()})
    _emit({"event": "done"})


if __name__ == "__main__":
    main()
