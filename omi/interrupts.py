"""SIGTERM handled as Ctrl-C is, for the commands that write a project (`omi plugins new`,
`omi plugins update`).

Python's Ctrl-C is a KeyboardInterrupt, whose unwinding runs the `finally` and `except
BaseException` blocks that remove a half-rendered project or put originals back; SIGTERM (a CI
runner cancelling a job, `kill`, `timeout`) ends the process at once by default, leaving them.
Inside `sigterm_as_interrupt()` it raises `Terminated`, a KeyboardInterrupt, instead.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Terminated", "sigterm_as_interrupt"]


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived inside `sigterm_as_interrupt()`."""


@contextmanager
def sigterm_as_interrupt(message: str) -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (once: a second one, while the first is
    being cleaned up after, is ignored); when it ends the command, print `message` and exit
    143 (128 + SIGTERM), as a shell reports a process SIGTERM killed. Outside the main thread,
    where Python cannot take signals, the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except Terminated:
        sys.stderr.write(f"Error: interrupted by SIGTERM: {message}\n")
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
