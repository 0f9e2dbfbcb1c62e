"""The child side of the runner: phase 1 and the checks, one message (`messages`) a line.

The parent sends up to two messages: first, optionally, `Resolve`, a plugin to resolve and
validate (phase 1: the answer is plain data, so the parent never imports the plugin), then
`RunChecks`, the checks to run (or `Stop`). Run as `python -m omi.conformance.worker` it
reads them on stdin (a spawned child); a forked child calls `serve` with its end of a pipe.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any, TextIO

from omi.conformance.building import instance_factory
from omi.conformance.messages import (
    Done,
    Finished,
    Message,
    Resolve,
    Resolved,
    RunChecks,
    Started,
    Stop,
    decode,
    encode,
)
from omi.conformance.outcome import FAILED, NOT_TESTED, Outcome, execute
from omi.conformance.reachability import probe_plugin
from omi.conformance.reaper import become_subreaper, kill_descendants
from omi.conformance.registry import all_checks
from omi.conformance.target import describe


def _events_channel() -> TextIO:
    """The original stdout, kept for events; fd 1 itself now goes to stderr.

    A plugin that prints (or a library it uses) would otherwise write into the event stream;
    its output lands in stderr, which the parent shows when the child dies.
    """
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    return channel


def limit_memory(limit: int | None) -> None:
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


def run_checks(spec: RunChecks, emit: Callable[[Message], None]) -> None:
    """Run the checks a spec names, announcing each one before it starts and its outcome.

    Temporary files (the checks' and the plugin's) go into the spec's scratch directory,
    which the parent removes even when it has to kill this process. The memory limit is set
    before the plugin is imported (a spawned child) or used (a forked one). When the plugin's
    service cannot be reached (see `reachability`), before the checks or in one of them, the
    checks left are not tested: each would only wait for the same server.
    """
    settings = spec.settings
    limit_memory(settings.memory_limit)
    if spec.scratch:
        tempfile.tempdir = spec.scratch
    checks = {c.name: c for c in all_checks()}
    module, _, attr = spec.plugin.partition(":")
    plugin_class: Any = import_module(module)  # the module, then its attributes
    for part in attr.split("."):
        plugin_class = getattr(plugin_class, part)
    factory = instance_factory(plugin_class, spec.options)
    unreachable: str | None = None
    for index, name in enumerate(spec.checks):
        if unreachable:  # once a service is out of reach, no further check can test anything
            emit(Finished(Outcome(name, NOT_TESTED, 0.0, unreachable)))
            continue
        # Armed before the parent starts its clock: a check that hangs has its stack written
        # to the log just before the parent gives up on it, to say where the plugin was stuck.
        faulthandler.dump_traceback_later(settings.timeout, file=2)
        emit(Started(name))
        # the probe counts as part of the first check, under its timeout
        outcome = (_probe(name, factory) if index == 0 else None) or execute(
            checks[name],
            factory,
            spec.capabilities,
            settings.seed,
            settings.call_timeout,
            memory_limit=settings.memory_limit,
        )
        faulthandler.cancel_dump_traceback_later()
        emit(Finished(outcome))
        if outcome.status == NOT_TESTED:
            unreachable = outcome.message
    emit(Done())


def _probe(name: str, factory: Callable[[Any], Any]) -> Outcome | None:
    """The first check's outcome when the plugin's service cannot be reached (not tested) or
    its conformance_service() declaration is wrong (failed); None to run the check."""
    started = time.perf_counter()
    try:
        unreachable = probe_plugin(factory)
    except ValueError as error:  # the declaration: the plugin's to fix
        return Outcome(name, FAILED, time.perf_counter() - started, str(error))
    if unreachable is None:
        return None
    return Outcome(name, NOT_TESTED, time.perf_counter() - started, unreachable)


def serve(read: Callable[[], str], emit: Callable[[Message], None]) -> None:
    """Answer the parent's messages (see the module's docstring); `read` gives the next line,
    "" when the parent has closed its end, which is a Stop. Every process the plugin started
    is killed on the way out (see omi.conformance.reaper)."""
    become_subreaper()
    try:
        _answer(read, emit)
    finally:
        kill_descendants(os.getpid())


def _answer(read: Callable[[], str], emit: Callable[[Message], None]) -> None:
    message = decode(read() or encode(Stop()))
    if isinstance(message, Resolve):
        limit_memory(message.memory_limit)  # the plugin is imported from here on
        emit(Resolved(describe(message.name, message.group, message.options)))
        message = decode(read() or encode(Stop()))
    if isinstance(message, RunChecks):  # a Stop when started in advance and then not needed
        run_checks(message, emit)


def line_writer(stream: TextIO) -> Callable[[Message], None]:
    """Messages as JSON lines, flushed one by one so the parent sees each as it happens."""

    def emit(message: Message) -> None:
        stream.write(encode(message) + "\n")
        stream.flush()

    return emit


def main() -> None:
    emit = line_writer(_events_channel())
    all_checks()  # before the spec arrives: done while the parent gets ready
    serve(sys.stdin.readline, emit)


if __name__ == "__main__":
    main()
