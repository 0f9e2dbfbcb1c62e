"""Running checks: one at a time in-process (`execute`) or in a child process with timeouts.

The behavioural phase runs in a child process so that a plugin which hangs, or kills the
interpreter, fails the check it was in and the run goes on: the parent enforces each check's
timeout, and when the child hangs or dies it starts a fresh one for the remaining checks.

On Linux the child is a fork of this process, which has already imported the framework and the
plugin: it starts in about a millisecond instead of a new interpreter's 50-100 ms. Elsewhere, or
when this process runs threads (forking those is unsafe), or with OMI_CHECK_PROCESS=spawn (for
a plugin whose imports do not survive a fork), it is a new interpreter.
"""

from __future__ import annotations

import json
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from omi.conformance.registry import Check, CheckFailure, Context

PASSED, FAILED, SKIPPED, XFAIL, XPASS = "passed", "failed", "skipped", "xfail", "xpass"


@dataclass
class Outcome:
    """The result of one check; `duration` is the time spent in the check, in seconds."""

    name: str
    status: str
    duration: float = 0.0
    message: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def execute(check: Check, factory: Callable[[Path], Any], capabilities, seed: int,
            call_timeout: float, close_instances: bool = True) -> Outcome:
    """Run one check in this process and say how it went (passed or failed).

    `close_instances=False` leaves the instances `factory` returns open: the caller owns them
    (a pytest fixture that may be shared by several checks).
    """
    context = Context(factory=factory, capabilities=frozenset(capabilities), seed=seed,
                      call_timeout=call_timeout, close_instances=close_instances)
    start = time.perf_counter()
    try:
        check.function(context)
        status, message = PASSED, ""
    except CheckFailure as failure:
        status, message = FAILED, str(failure)
    except Exception as error:  # noqa: BLE001 - any exception from the plugin is a failure
        status, message = FAILED, str(CheckFailure(
            "the check's calls to succeed",
            f"{type(error).__name__}: {error} ({_where(error)})",
            "make that call handle the check's input, or declare the check in "
            "conformance_known_failures with the reason"))
    finally:
        duration = time.perf_counter() - start
        context.cleanup()
    return Outcome(check.name, status, duration, " ".join(message.split()))


def _where(error: BaseException) -> str:
    """Where an exception was raised: the innermost frame, as file:line in function."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "no traceback"
    frame = frames[-1]
    return f"raised at {Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def apply_known_failures(outcome: Outcome, known: Dict[str, str]) -> Outcome:
    """A declared known failure that fails is an xfail; one that passes is an xpass."""
    reason = known.get(outcome.name)
    if reason is None:
        return outcome
    if outcome.status == FAILED:
        return Outcome(outcome.name, XFAIL, outcome.duration, f"{reason} ({outcome.message})")
    if outcome.status == PASSED:
        return Outcome(outcome.name, XPASS, outcome.duration,
                       f"declared as a known failure ({reason}) but passed; remove it from "
                       f"conformance_known_failures")
    return outcome


class _SpawnedWorker:
    """A new interpreter running checks and streaming one JSON line per event."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "omi.conformance.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
        )
        self.lines: queue.Queue[Optional[bytes]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def send(self, spec: Dict[str, Any]) -> None:
        """Tell the child what to run; until then it waits, with its imports done."""
        assert self.process.stdin
        try:
            self.process.stdin.write(json.dumps(spec).encode() + b"\n")
            self.process.stdin.close()
        except BrokenPipeError:  # it died starting up: next_event reports how
            pass

    def _pump(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_event(self, timeout: Optional[float]) -> Optional[Dict[str, Any]]:
        """The next event; None when the child exited. Raises queue.Empty on timeout."""
        line = self.lines.get(timeout=timeout)
        return None if line is None else json.loads(line)

    def exit_code(self) -> int:
        return self.process.wait()

    def stderr_tail(self) -> str:
        return _tail(self.stderr)

    def stop(self, grace: float = 0.0) -> int:
        """End the child: give it `grace` seconds to exit on its own, then kill it."""
        try:
            code = self.process.wait(timeout=grace) if grace else self.process.poll()
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            self.process.kill()
            code = self.process.wait()
        self.stderr.close()
        return code


class _ForkedWorker:
    """A fork of this process running the checks, streaming events through a pipe."""

    def __init__(self, spec: Dict[str, Any]) -> None:
        from omi.conformance.worker import line_writer, run_checks

        self.stderr = tempfile.TemporaryFile()
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns into the caller's code
            code = 70
            try:
                os.close(read_end)
                os.dup2(self.stderr.fileno(), 1)  # the plugin's output goes to the log
                os.dup2(self.stderr.fileno(), 2)
                with os.fdopen(write_end, "w", encoding="utf-8") as events:
                    run_checks(spec, line_writer(events))
                code = 0
            except BaseException:  # noqa: BLE001 - reported through the log and exit code
                import traceback

                traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:  # noqa: BLE001 - nothing left to report it to
                        pass
                os._exit(code)
        os.close(write_end)
        self.events, self.buffer, self.code = read_end, b"", None

    def send(self, spec: Dict[str, Any]) -> None:
        """The spec was given at fork time."""

    def next_event(self, timeout: Optional[float]) -> Optional[Dict[str, Any]]:
        """The next event; None when the child exited. Raises queue.Empty on timeout."""
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.events], [], [], timeout)
            if not ready:
                raise queue.Empty
            chunk = os.read(self.events, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def exit_code(self) -> int:
        if self.code is None:
            self.code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.code

    def stderr_tail(self) -> str:
        return _tail(self.stderr)

    def stop(self, grace: float = 0.0) -> int:
        """End the child: give it `grace` seconds to exit on its own, then kill it."""
        deadline = time.monotonic() + grace
        while self.code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
            elif time.monotonic() >= deadline:
                os.kill(self.pid, 9)  # SIGKILL
                self.exit_code()
            else:
                time.sleep(0.002)
        os.close(self.events)
        self.stderr.close()
        return self.code


def _tail(log: Any) -> str:
    log.seek(0)
    lines = log.read().decode("utf-8", "replace").strip().splitlines()
    return " | ".join(lines[-3:])


def forks() -> bool:
    """Whether children are forks of this process (see the module's docstring)."""
    chosen = os.environ.get("OMI_CHECK_PROCESS", "")
    if chosen not in ("", "fork", "spawn"):
        raise ValueError(f"OMI_CHECK_PROCESS must be fork or spawn, got {chosen!r}")
    return (chosen != "spawn" and sys.platform.startswith("linux")
            and threading.active_count() == 1)


_spare: List[_SpawnedWorker] = []


def prestart() -> None:
    """Start a child interpreter now, to import the framework while the caller works.

    `omi plugins check` calls this before it resolves, imports and validates the plugin, so
    the child's start-up overlaps that work instead of following it. `run_in_child` uses the
    spare child; `discard_spare` ends one that is not needed (validation failed).
    """
    if not _spare and not forks():
        _spare.append(_SpawnedWorker())


def discard_spare() -> None:
    while _spare:
        worker = _spare.pop()
        worker.send({})  # an empty spec: the child exits at once
        worker.stop(grace=5.0)


def run_in_child(import_path: str, options: Dict[str, Any], checks: Sequence[Check],
                 capabilities, seed: int, timeout: float, call_timeout: float) -> List[Outcome]:
    """Run `checks` in child interpreters, each within `timeout` seconds.

    The children's temporary files go into one scratch directory that this process removes
    at the end, so a child killed in the middle of a check leaves nothing behind.
    """
    scratch = tempfile.mkdtemp(prefix="omi-check-")
    try:
        return _run_checks_in_children(import_path, options, checks, capabilities, seed,
                                       timeout, call_timeout, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_checks_in_children(import_path: str, options: Dict[str, Any], checks: Sequence[Check],
                            capabilities, seed: int, timeout: float, call_timeout: float,
                            scratch: str) -> List[Outcome]:
    outcomes: List[Outcome] = []
    pending = [c.name for c in checks]
    while pending:
        spec = {"plugin": import_path, "options": options, "checks": pending,
                "capabilities": sorted(capabilities), "seed": seed, "call_timeout": call_timeout,
                "scratch": scratch}
        worker: Any
        if _spare:
            worker = _spare.pop()
        else:
            worker = _ForkedWorker(spec) if forks() else _SpawnedWorker()
        worker.send(spec)
        current: Optional[str] = None
        started, grace = 0.0, 0.0
        try:
            while True:
                try:
                    # generous while the child starts up; the check's own timeout after
                    event = worker.next_event(timeout if current else timeout + 30.0)
                except queue.Empty:
                    if current is None:
                        raise RuntimeError("the check process did not start") from None
                    outcomes.append(Outcome(current, FAILED, time.perf_counter() - started,
                                            f"did not finish within {timeout:g} s (the plugin "
                                            f"hangs, or needs a larger --timeout)"))
                    break
                if event is None:
                    code = worker.exit_code()
                    if current is None:
                        raise RuntimeError(f"the check process exited with code {code} before "
                                           f"running any check: {worker.stderr_tail()}")
                    outcomes.append(Outcome(current, FAILED, time.perf_counter() - started,
                                            f"the interpreter died (exit code {code}) during "
                                            f"this check: {worker.stderr_tail() or 'no output'}"))
                    break
                if event["event"] == "start":
                    current, started = event["check"], time.perf_counter()
                elif event["event"] == "result":
                    outcomes.append(Outcome(**event["outcome"]))
                    current = None
                elif event["event"] == "done":
                    grace = 5.0  # a child that finished may run its exit handlers
                    break
        finally:
            worker.stop(grace)
        finished = {o.name for o in outcomes}
        pending = [name for name in pending if name not in finished]
    return outcomes
