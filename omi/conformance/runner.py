"""Running phase 1 and the checks in child processes, with timeouts (`outcome.execute` runs
one check in-process).

This process, which writes the report, never imports the plugin: phase 1 (`resolve_in_child`)
imports and validates it in a child that answers in plain data, then runs the checks too, so
nothing a plugin does on import can reach the verdict by accident. (It is not a sandbox: the
child runs as the same user.) A plugin which hangs, or kills the interpreter, fails the check
it was in and the run goes on: the parent enforces each check's timeout, and when the child
hangs or dies it starts a fresh one for the remaining checks. A check that hangs fails saying
where: the child dumps its stack (faulthandler) just before the parent gives up on it.

On Linux the child is a fork of this process, which has already imported the framework: it
starts in about a millisecond instead of a new interpreter's 50-100 ms. Elsewhere, or
when this process runs threads (forking those is unsafe), or with OMI_CHECK_PROCESS=spawn (for
a plugin whose imports do not survive a fork), it is a new interpreter.

Each child runs in its own process group, under a memory limit (RLIMIT_AS, where the platform
has it) so that a runaway allocation fails its check instead of exhausting the machine. Ending
a child kills its whole group: the child and anything the plugin started. Inside
`supervised()`, SIGINT and SIGTERM raise `Interrupted`, and the unwinding kills the children
and removes their scratch directories.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from omi.conformance.authoring import Check
from omi.conformance.messages import (
    Done,
    Finished,
    Message,
    Resolve,
    Resolved,
    RunChecks,
    RunSettings,
    Started,
    Stop,
    decode,
    encode,
)
from omi.conformance.outcome import (
    FAILED,
    Outcome,
    memory_limit_message,
)
from omi.conformance.reaper import kill_descendants
from omi.conformance.tail import last_lines, new_log, read_tail


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived inside `supervised()`; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Signals:
    """Turns SIGINT and SIGTERM into one Interrupted in the main thread.

    Only the first signal raises: a second one must not break off the cleaning up that the
    first one started. Inside `hold()` a signal waits until the block ends, so a child or a
    directory being created is on record, where the unwinding finds it, before it can come.
    """

    def __init__(self) -> None:
        self.held = False
        self.pending: int | None = None
        self.raised = False

    def handle(self, signum: int, frame: Any = None) -> None:
        if self.held:
            self.pending = signum
        elif not self.raised:
            self.raised = True
            raise Interrupted(signum)

    @contextmanager
    def hold(self) -> Iterator[None]:
        outer, self.held = self.held, True
        try:
            yield
        finally:
            self.held = outer
            if not outer and self.pending is not None:
                signum, self.pending = self.pending, None
                self.handle(signum)


_signals = _Signals()


@contextmanager
def supervised() -> Iterator[None]:
    """Run checks under supervision (main thread only): SIGINT and SIGTERM raise Interrupted,
    whose unwinding kills the check processes and removes their scratch directories; a
    prestarted child left unused is ended on the way out."""
    handlers = {
        signum: signal.signal(signum, _signals.handle) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        discard_spare(grace=0.0 if _signals.raised else 5.0)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        _signals.raised, _signals.pending = False, None


def _kill_group(pid: int, reaped: bool) -> None:
    """SIGKILL the process group a child leads: the child, if it still runs, and whatever the
    plugin started from it; until the child is `reaped` (its pid is still its own), what the
    plugin started out of the group too (omi.conformance.reaper)."""
    if not reaped:
        try:
            os.killpg(pid, signal.SIGSTOP)  # so that it starts nothing more meanwhile
        except (ProcessLookupError, PermissionError):
            pass
        kill_descendants(pid)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # nobody left in it (macOS answers EPERM when only the exited child is)


class _SpawnedWorker:
    """A new interpreter reading specs on stdin and streaming one JSON line per event."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.stderr = new_log()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "omi.conformance.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            start_new_session=True,  # its own process group (ignored on Windows)
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def send(self, message: Message) -> None:
        """Tell the child what to do next; until then it waits, with its imports done."""
        assert self.process.stdin
        try:
            self.process.stdin.write(encode(message).encode() + b"\n")
            self.process.stdin.flush()
        except BrokenPipeError:  # it died: next_event reports how
            pass

    def _pump(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_event(self, timeout: float | None) -> Message | None:
        """The next message; None when the child exited. Raises queue.Empty on timeout."""
        line = self.lines.get(timeout=timeout)
        return None if line is None else decode(line)

    def exit_code(self) -> int:
        return self.process.wait()

    def stderr_tail(self) -> str:
        return _tail(self.stderr)

    def stuck_at(self) -> str:
        return _stuck_at(self.stderr)

    def stop(self, grace: float = 0.0) -> int:
        """End the child: give it `grace` seconds to exit on its own, then kill its group."""
        try:
            assert self.process.stdin
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if hasattr(os, "killpg"):
                _kill_group(self.process.pid, reaped=self.process.returncode is not None)
            else:  # Windows: no process groups
                self.process.kill()
            self.process.wait()
            self.stderr.close()
        return self.process.returncode


class _ForkedWorker:
    """A fork of this process reading specs from one pipe, streaming events through another."""

    def __init__(self) -> None:
        import ctypes  # noqa: F401 - imported once here, not in each fork (omi...reaper)

        from omi.conformance.worker import line_writer, serve

        self.stderr = new_log()
        read_end, write_end = os.pipe()
        spec_read, spec_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns into the caller's code
            code = 70
            try:
                os.setpgid(0, 0)  # its own process group, which stop() kills as a whole
                for signum in (signal.SIGINT, signal.SIGTERM):  # the parent's are for the parent
                    signal.signal(signum, signal.SIG_DFL)
                os.close(read_end)
                os.close(spec_write)
                os.dup2(self.stderr.fileno(), 1)  # the plugin's output goes to the log
                os.dup2(self.stderr.fileno(), 2)
                with (
                    os.fdopen(write_end, "w", encoding="utf-8") as events,
                    os.fdopen(spec_read, encoding="utf-8") as specs,
                ):
                    serve(specs.readline, line_writer(events))
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
        os.close(spec_read)
        try:
            os.setpgid(self.pid, self.pid)  # here too, so no kill can come before the child's
        except OSError:
            pass  # the child has done it, or has exited already
        self.events, self.buffer = read_end, b""
        self.code: int | None = None
        self.specs = os.fdopen(spec_write, "wb")

    def send(self, message: Message) -> None:
        """Tell the child what to do next."""
        try:
            self.specs.write(encode(message).encode() + b"\n")
            self.specs.flush()
        except BrokenPipeError:  # it died: next_event reports how
            pass

    def next_event(self, timeout: float | None) -> Message | None:
        """The next message; None when the child exited. Raises queue.Empty on timeout."""
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.events], [], [], timeout)
            if not ready:
                raise queue.Empty
            chunk = os.read(self.events, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return decode(line)

    def exit_code(self) -> int:
        if self.code is None:
            self.code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.code

    def stderr_tail(self) -> str:
        return _tail(self.stderr)

    def stuck_at(self) -> str:
        return _stuck_at(self.stderr)

    def stop(self, grace: float = 0.0) -> int:
        """End the child: give it `grace` seconds to exit on its own, then kill its group."""
        deadline = time.monotonic() + grace
        try:
            self.specs.close()
        except BrokenPipeError:
            pass
        try:
            while self.code is None and time.monotonic() < deadline:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.code = os.waitstatus_to_exitcode(status)
                else:
                    time.sleep(0.002)
        finally:
            _kill_group(self.pid, reaped=self.code is not None)
            self.exit_code()
            os.close(self.events)
            self.stderr.close()
        return self.exit_code()


def _show_import_output(log: IO[bytes]) -> None:
    """What the plugin printed on import, on stderr as when the command imported it itself:
    its end, when there is more than omi.conformance.tail reads."""
    text, cut = read_tail(log)
    if cut:
        sys.stderr.write(f"[the first {cut:,} bytes the plugin printed on import are not shown]\n")
    sys.stderr.write(text)
    sys.stderr.flush()


def _tail(log: IO[bytes]) -> str:
    return last_lines(log)


#: How much of the end of the output `_stuck_at` reads for the stack the child dumped.
STACK_BYTES = 1024 * 1024
_FRAME = re.compile(r'\s*File "(.*)", line (\d+) in (.*)')
_OURS = os.path.dirname(os.path.abspath(__file__))


def _stuck_at(log: IO[bytes], wait: float = 10.0) -> str:
    """Where the check's thread was, innermost first, from the stack the child dumped when the
    check's time ran out ("" when there is none): the plugin's frames, up to the check's own.

    Waits up to `wait` seconds for the dump, which races the parent's deadline: it usually
    comes at once, but on a loaded machine a child took seconds, and a dump is written in
    many small pieces, so it is read when the checking thread's stack is whole (it reaches
    `run_checks`) or the log has stopped growing (a stack too deep to be dumped whole).
    """
    deadline = time.monotonic() + wait
    text, settled_at = "", time.monotonic()
    while time.monotonic() < deadline:
        latest = read_tail(log, STACK_BYTES)[0]
        if latest != text:
            text, settled_at = latest, time.monotonic()
        dumped = text.rpartition("Timeout (")
        if dumped[1] and (" in run_checks\n" in dumped[2] or time.monotonic() - settled_at > 0.5):
            break
        time.sleep(0.02)
    dump = text.rpartition("Timeout (")[2]
    threads = [
        [match.groups() for match in map(_FRAME.match, section.splitlines()) if match]
        for section in dump.split("hread 0x")[1:]
    ]  # "Current thread", "Thread"
    checking = [t for t in threads if any(name == "run_checks" for _, _, name in t)]
    frames = (checking or threads or [[]])[0]
    where = [f"{os.path.basename(path)}:{line} in {name}" for path, line, name in frames]
    check = next(
        (
            i
            for i, (path, _, _) in enumerate(frames)
            if os.path.dirname(os.path.abspath(path)) == _OURS
        ),
        len(frames),
    )
    return " <- ".join(where[: max(check, 1)][:4])


def forks() -> bool:
    """Whether children are forks of this process (see the module's docstring)."""
    chosen = os.environ.get("OMI_CHECK_PROCESS", "")
    if chosen not in ("", "fork", "spawn"):
        raise ValueError(f"OMI_CHECK_PROCESS must be fork or spawn, got {chosen!r}")
    return chosen != "spawn" and sys.platform.startswith("linux") and threading.active_count() == 1


#: A check process, either way it was started.
_Worker = _SpawnedWorker | _ForkedWorker

_spare: list[_Worker] = []


def prestart() -> None:
    """Start a child interpreter now, to import the framework while the caller works.

    `omi plugins check` calls this before it resolves, imports and validates the plugin, so
    the child's start-up overlaps that work instead of following it. `run_in_child` uses the
    spare child; `discard_spare` ends one that is not needed (validation failed).
    """
    if not _spare and not forks():
        with _signals.hold():
            _spare.append(_SpawnedWorker())


def discard_spare(grace: float = 5.0) -> None:
    while _spare:
        worker = _spare.pop()
        worker.send(Stop())  # the child exits at once
        worker.stop(grace)


def _new_worker() -> _Worker:
    """The spare child, else a new one (a fork when `forks()`)."""
    with _signals.hold():
        return _spare.pop() if _spare else _ForkedWorker() if forks() else _SpawnedWorker()


def resolve_in_child(
    name: str, group: str | None, options: dict[str, Any], settings: RunSettings
) -> dict[str, Any]:
    """Phase 1 in a child: `target.describe`'s answer, in plain data.

    The child stays, as the spare, to run the checks next (`run_in_child`): the plugin is
    imported once and no second interpreter is started; the caller discards it
    (`discard_spare`) when no check follows. A child that dies or takes longer than
    `settings.timeout` (plus start-up time) is a load error.
    """
    worker = _new_worker()
    kept = False  # as the spare
    try:
        worker.send(Resolve(name, group, options, settings.memory_limit))
        try:
            event = worker.next_event(settings.timeout + 30.0)
        except queue.Empty:
            event = Resolved(
                {
                    "error": "load",
                    "message": f"importing and validating {name} "
                    f"did not finish within "
                    f"{settings.timeout + 30.0:g} s",
                }
            )
        if not isinstance(event, Resolved):
            event = Resolved(
                {
                    "error": "load",
                    "message": f"the process importing {name} "
                    f"exited with code "
                    f"{worker.exit_code()}: "
                    f"{worker.stderr_tail() or 'no output'}",
                }
            )
        else:
            _show_import_output(worker.stderr)
            with _signals.hold():
                _spare.append(worker)
                kept = True
        return event.resolved  # what target.describe returned
    finally:
        if not kept:
            worker.stop()


def run_in_child(
    import_path: str,
    options: dict[str, Any],
    checks: Sequence[Check],
    capabilities: Iterable[str],
    settings: RunSettings,
) -> list[Outcome]:
    """Run `checks` in child interpreters, each within `settings.timeout` seconds and
    `settings.memory_limit` bytes of address space (None: no limit).

    The children's temporary files go into one scratch directory that this process removes
    at the end, so a child killed in the middle of a check leaves nothing behind.
    """
    scratch = None
    try:
        with _signals.hold():
            scratch = tempfile.mkdtemp(prefix="omi-check-")
        spec = RunChecks(
            import_path,
            options,
            tuple(c.name for c in checks),
            tuple(sorted(capabilities)),
            settings,
            scratch,
        )
        return _run_checks_in_children(spec)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _run_checks_in_children(first: RunChecks) -> list[Outcome]:
    """Run the checks of `first` in check processes: a fresh one for the checks still pending
    after one hangs or dies."""
    outcomes: list[Outcome] = []
    pending = list(first.checks)
    while pending:
        worker: _Worker | None = None
        grace = 0.0
        try:
            worker = _new_worker()
            worker.send(dataclasses.replace(first, checks=tuple(pending)))
            grace = _follow(worker, first.settings, outcomes)
        finally:
            if worker is not None:
                worker.stop(grace)
        finished = {o.name for o in outcomes}
        pending = [name for name in pending if name not in finished]
    return outcomes


def _follow(worker: _Worker, settings: RunSettings, outcomes: list[Outcome]) -> float:
    """Add one check process's outcomes to `outcomes` until it is done (returning the seconds
    it may take to exit), or hangs in a check or dies (that check fails; returning 0)."""
    timeout = settings.timeout
    current: str | None = None
    started = 0.0
    while True:
        try:
            # generous while the child starts up; the check's own timeout after
            event = worker.next_event(timeout if current else timeout + 30.0)
        except queue.Empty:
            if current is None:
                raise RuntimeError("the check process did not start") from None
            stuck = worker.stuck_at()
            message = f"did not finish within {timeout:g} s (the plugin hangs, or needs a larger "
            message += "--timeout)" + (f"; stuck at {stuck}" if stuck else "")
            outcomes.append(Outcome(current, FAILED, time.perf_counter() - started, message))
            return 0.0
        if event is None:
            outcomes.append(_died(worker, current, started, settings.memory_limit))
            return 0.0
        if isinstance(event, Started):
            current, started = event.check, time.perf_counter()
        elif isinstance(event, Finished):
            outcomes.append(event.outcome)
            current = None
        elif isinstance(event, Done):
            return 5.0  # a child that finished may run its exit handlers


def _died(
    worker: _Worker, current: str | None, started: float, memory_limit: int | None
) -> Outcome:
    """The failure of the check `current` in a check process that died during it (a
    RuntimeError when it died before running any check)."""
    code, log = worker.exit_code(), worker.stderr_tail()
    out_of_memory = (
        memory_limit_message(memory_limit) if memory_limit and "MemoryError" in log else None
    )
    if current is None:
        raise RuntimeError(
            f"{out_of_memory} before running any check"
            if out_of_memory
            else f"the check process exited with code {code} before running any check: {log}"
        )
    message = out_of_memory or (
        f"the interpreter died (exit code {code}) during this check: {log or 'no output'}"
    )
    return Outcome(current, FAILED, time.perf_counter() - started, message)
