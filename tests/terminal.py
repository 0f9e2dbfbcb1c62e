"""Run `omi` on a pseudo-terminal, as an author at a shell would, answering its prompts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

OMI = str(Path(sys.executable).with_name("omi"))

TERMINAL = """\
import os, pty, select, signal, sys, time
argv, typed = {argv!r}, {typed!r}
pid, fd = pty.fork()
if pid == 0:  # Ctrl-C interrupts, even in a run started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(argv[0], argv)
out, answered = b'', -1
deadline = time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.03)
    if not ready:  # waiting at a prompt: type its answer once, else press Enter
        asked = out.rsplit(b'\\n', 1)[-1].decode(errors='replace')
        if not asked.rstrip(' ').endswith(':') or answered == len(out):
            continue  # starting up, working, or not yet echoing the answer just typed
        word = next((word for word in typed if word in asked), None)
        os.write(fd, (typed.pop(word) if word else '').encode() + b'\\r')
        answered = len(out)
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def on_a_terminal(
    args: list[str], typed: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `omi ARGS` on a pseudo-terminal; at a prompt naming a key of `typed`, type its
    value (once); at any other prompt press Enter."""
    pytest.importorskip("pty")
    script = TERMINAL.format(argv=[OMI, *args], typed=typed or {})
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
