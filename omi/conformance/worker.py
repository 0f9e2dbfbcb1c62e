"""The child side of the runner: runs a spec's checks and streams one JSON line per event.

Run as `python -m omi.conformance.worker` it reads the spec on stdin (a spawned child); a forked
child calls `run_checks` directly.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from importlib import import_module
from typing import Any, Callable, Dict, Optional, TextIO

from omi.conformance.outcome import execute
from omi.conformance.registry import all_checks
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


def limit_memory(limit: Optional[int]) -> None:
    """Cap this process's address space at `limit` bytes (RLIMIT_AS), so a runaway plugin
    gets a MemoryError instead of the machine's memory. None: no cap. Where the platform has
    no such limit (Windows, or one that refuses it) the checks run without one."""
    if not limit:
        return
    try:
        import resource
    except ImportError:  # Windows
        return
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass  # a platform that refuses it: the checks run without a cap, as on Windows


def run_checks(spec: Dict[str, Any], emit: Callable[[Dict[str, Any]], None]) -> None:
    """Run the checks a spec names, announcing each one before it starts and its outcome.

    Temporary files (the checks' and the plugin's) go into the spec's scratch directory,
    which the parent removes even when it has to kill this process. The memory limit is set
    before the plugin is imported (a spawned child) or used (a forked one).
    """
    limit_memory(spec.get("memory_limit"))
    if spec.get("scratch"):
        tempfile.tempdir = spec["scratch"]
    checks = {c.name: c for c in all_checks()}
    module, _, attr = spec["plugin"].partition(":")
    plugin_class = import_module(module)
    for part in attr.split("."):
        plugin_class = getattr(plugin_class, part)
    factory = instance_factory(plugin_class, spec["options"])
    for name in spec["checks"]:
        emit({"event": "start", "check": name})
        outcome = execute(checks[name], factory, spec["capabilities"], spec["seed"],
                          spec["call_timeout"], memory_limit=spec.get("memory_limit"))
        emit({"event": "result", "outcome": outcome.to_dict()})
    emit({"event": "done"})


def line_writer(stream: TextIO) -> Callable[[Dict[str, Any]], None]:
    """Events as JSON lines, flushed one by one so the parent sees each as it happens."""

    def emit(event: Dict[str, Any]) -> None:
        stream.write(json.dumps(event) + "\n")
        stream.flush()

    return emit


def main() -> None:
    emit = line_writer(_events_channel())
    all_checks()  # before the spec arrives: done while the parent resolves the plugin
    spec = json.loads(sys.stdin.readline() or "{}")
    if spec:  # empty when started in advance and then not needed
        run_checks(spec, emit)


if __name__ == "__main__":
    main()
