"""The end of what a plugin printed, bounded: a check process's output goes to a temporary
file, and the report (a crash's last lines, where a hung check was stuck) and the command's
stderr (what the plugin printed on import) take only its tail from there.

A plugin that prints 200 MB then costs the process writing the report no more memory than
TAIL_BYTES, and its report no more than a few lines of LINE_LIMIT characters. (The file itself
is on disk, as any file the plugin writes is, and is removed when its check process ends.)
"""

from __future__ import annotations

import os
import tempfile
from typing import IO

__all__ = ["LINE_LIMIT", "TAIL_BYTES", "last_lines", "new_log", "read_tail"]

#: How much of the end of a plugin's output is ever read.
TAIL_BYTES = 64 * 1024
#: The longest line of a plugin's output a report quotes.
LINE_LIMIT = 300


def new_log() -> IO[bytes]:
    """A temporary file for a check process's output, opened for appending.

    The child writes through a descriptor that shares this one's file offset, and this
    process seeks to read the tail while the child may still write (a hung check's stack is
    dumped just as the parent gives up on it): without O_APPEND those writes would land where
    the reader had sought, over what was written before.
    """
    log = tempfile.TemporaryFile()
    try:
        import fcntl
    except ImportError:  # Windows: the child's handle is its own
        return log
    flags = fcntl.fcntl(log.fileno(), fcntl.F_GETFL)
    fcntl.fcntl(log.fileno(), fcntl.F_SETFL, flags | os.O_APPEND)
    return log


def read_tail(log: IO[bytes], limit: int = TAIL_BYTES) -> tuple[str, int]:
    """The last `limit` bytes of `log` as text, and how many bytes came before them."""
    size = log.seek(0, os.SEEK_END)
    start = max(0, size - limit)
    log.seek(start)
    return log.read(limit).decode("utf-8", "replace"), start


def last_lines(log: IO[bytes], count: int = 3, width: int = LINE_LIMIT) -> str:
    """The last `count` lines of `log`, joined by " | ", each cut at `width` characters."""
    lines = read_tail(log)[0].strip().splitlines()[-count:]
    return " | ".join(
        line if len(line) <= width else f"{line[:width]}... (line cut)" for line in lines
    )
