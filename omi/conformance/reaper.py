"""Ending every process a plugin started, those that left the check process's group too.

Killing a check process's group ends the plugin's processes that stayed in it, but not one it
started with `start_new_session=True` (or that called setsid()), nor one whose parent exited
(a daemon's double fork): those are in other groups, and orphans go to init. On Linux the check
process is therefore a child subreaper (prctl PR_SET_CHILD_SUBREAPER): every orphan among its
descendants becomes its child instead of init's, so the whole tree stays under it, where
`kill_descendants` finds each process (in /proc) and kills it, until none is left. The check
process does it when it ends; the runner, when it has to stop one, does it first (with the
check process stopped, so that it starts nothing more), then kills the group.

What cannot be caught: on other systems (no subreaper, no /proc) only the group is killed;
and when the check process dies on its own mid-check (os._exit in the plugin, a crash, the
kernel's OOM killer), its remaining descendants go to init before anyone can end them.
"""

from __future__ import annotations

import os
import signal
import sys
import time

__all__ = ["become_subreaper", "descendants", "kill_descendants"]

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (Linux 3.4+); whether it is."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # imported by the runner already: a forked check process has it

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc to load, or no prctl in it
        return False


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process that has not exited, from /proc ({} without it)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    table = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:  # it exited meanwhile
            continue
        if len(fields) > 1 and fields[0] != b"Z":  # a zombie has exited: nothing to kill
            table[int(name)] = int(fields[1])
    return table


def descendants(root: int) -> list[int]:
    """The live descendants of process `root`, parents before their children."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants(root: int, patience: float = 2.0) -> int:
    """SIGKILL every descendant of `root` (a subreaper: orphans come back to it) and look
    again, until none is left or `patience` seconds have passed; reap those that are this
    process's children. Returns how many were killed."""
    killed = 0
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        pids = descendants(root)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.001)
        for pid in pids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except (ChildProcessError, OSError):  # not a child of this process
                pass
    return killed
