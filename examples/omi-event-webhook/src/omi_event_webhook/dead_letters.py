"""The dead-letter file: JSON lines that several threads and processes append to safely.

Appends are whole lines, flushed and fsync'd under an exclusive lock. A redelivery works on a
snapshot (the lines up to a byte offset) and then, under the lock, replaces those lines with
the ones still failing while keeping whatever was appended in the meantime; redeliveries take
turns through a lock file beside it (`<name>.lock`). An appender that
was waiting for the lock while the file was replaced notices (the path no longer names the file
it opened) and appends to the new file, so no line is lost. Locks are POSIX `flock`; where
there is none (Windows) only threads of one process are coordinated.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, List, Tuple

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class DeadLetterFile:
    """One JSON-lines file of events that could not be delivered."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.Lock()

    def append(self, line: str) -> None:
        """Append one line (without its newline) durably. Raises OSError if it cannot."""
        with self._locked("a") as stream:
            stream.write(line + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    def snapshot(self) -> Tuple[List[str], int]:
        """The lines now in the file and the byte offset where they end."""
        if not self.path.exists():
            return [], 0
        with self._locked("rb") as stream:
            data = stream.read()
        return data.decode("utf-8").splitlines(), len(data)

    def replace_snapshot(self, offset: int, kept: List[str]) -> None:
        """Replace the first `offset` bytes with `kept` lines; keep what was appended since.

        The file is rewritten beside itself and renamed into place; with nothing left at all
        it is removed.
        """
        with self._locked("rb") as stream:
            stream.seek(offset)
            appended = stream.read().decode("utf-8")
            content = "".join(line + "\n" for line in kept) + appended
            if not content:
                self.path.unlink()
                return
            scratch = self.path.with_name(self.path.name + ".tmp")
            with scratch.open("w", encoding="utf-8") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(scratch, self.path)

    @contextmanager
    def _locked(self, mode: str) -> Iterator[IO[Any]]:
        """The file opened in `mode` under the thread lock and an exclusive flock."""
        with self._threads:
            if "a" in mode:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            while True:
                stream = self.path.open(mode, encoding=None if "b" in mode else "utf-8")
                if fcntl is not None:
                    fcntl.flock(stream.fileno(), fcntl.LOCK_EX)
                if self._still_current(stream):
                    break
                stream.close()  # replaced while we waited: open the new file
                if "a" not in mode and not self.path.exists():
                    raise FileNotFoundError(self.path)
            try:
                yield stream
            finally:
                stream.close()  # releases the flock

    @contextmanager
    def redelivery(self) -> Iterator[None]:
        """Held for a whole redelivery, so redeliveries of one file (threads or processes, e.g.
        a cron run that outlasts its interval) take turns: one that replaced the file under
        another's snapshot would drop the events kept in between."""
        if fcntl is None:  # pragma: no cover - Windows: no flock, one redelivery at a time
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(self.path.name + ".lock").open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield  # closing the file releases the flock

    def _still_current(self, stream: IO[Any]) -> bool:
        try:
            return os.fstat(stream.fileno()).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False
