"""The files OMI keeps in the user cache directory (the plugin index, parsed config files):
where they are, what they are named, and how they are read and written so that no one else
decides what they hold.

- One directory, $XDG_CACHE_HOME/omi (or ~/.cache/omi); OMI_NO_CACHE=1 turns every cache off.
- A file is read only when it and its directory are the user's own and closed to other writers
  (to other readers too, for a copy that may hold secrets), and never through a symlink.
- Writing is private (0600, in a directory created 0700) and atomic (a temporary file, then
  `os.replace`), so concurrent writers never leave a torn file; writing a file prunes the files
  of its kind no one rewrote for MAX_AGE_DAYS, and the oldest past MAX_FILES.
- Nothing stamped within RACY_NS of now is trusted to be unchanged (RACY_NS says why).

A missing, unreadable, foreign or unwritable cache costs only the speed-up, never an error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = [
    "CLOSED_TO_WRITERS",
    "MAX_AGE_DAYS",
    "MAX_FILES",
    "NOT_JSON",
    "RACY_NS",
    "SWITCH",
    "UNTRUSTED",
    "UNTRUSTED_DIRECTORY",
    "cache_dir",
    "cache_enabled",
    "digest",
    "log",
    "named",
    "prune",
    "read_json",
    "read_trusted",
    "trusted",
    "write_private",
]

SWITCH = "OMI_NO_CACHE"
# File systems stamp a write with a coarse clock (a few milliseconds on Linux, 2 s on FAT), so
# a file changed twice within one tick may keep its mtime (and its size). As git does for its
# index, a file (or fingerprint) whose newest mtime is this close to the time it was taken is
# not trusted: it is not cached, and the next command reads the real thing again.
RACY_NS = 2_000_000_000
# Every interpreter, sys.path and config file gets its own file; the files nobody rewrote for
# this long, and the oldest past this many, are pruned whenever a new one is written.
MAX_AGE_DAYS = 30
MAX_FILES = 64
STALE_TEMPORARY_S = 3600  # a writer renames its temporary file within milliseconds

_DEBUG = 10  # logging.DEBUG


def log(message: str, *args: Any) -> None:
    """Log at debug level to `omi.index`, the logger `omi --debug` shows the caches by (the
    README names it); logging is not imported for it: if no one imported it, no one listens."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger("omi.index").log(_DEBUG, message, *args)


def cache_dir() -> str:
    """$XDG_CACHE_HOME/omi, or ~/.cache/omi (a relative XDG_CACHE_HOME is ignored, per XDG)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "omi")


def cache_enabled() -> bool:
    return os.environ.get(SWITCH, "") in ("", "0")


_DIGEST_MODULUS = (1 << 64) - 59  # the largest prime below 2**64


# Not hashlib: importing it (OpenSSL's _hashlib) costs a warm `omi plugins list` 3.6 ms of 48.
def digest(data: bytes) -> str:
    """16 hex digits naming a cache file after `data`. Not cryptographic, and need not be: each
    file records the key it was written for, so one named alike by other data is a miss."""
    number = int.from_bytes(b"\x01" + data, "big")  # the 1 makes leading zero bytes count
    return f"{number % _DIGEST_MODULUS:016x}"


def named(kind: str, data: bytes) -> str:
    """The cache file of `kind` ("plugins", "config") for `data`: <kind>-<digest>.json."""
    return os.path.join(cache_dir(), f"{kind}-{digest(data)}.json")


# Why read_trusted refused a file, for the callers that tell the cases apart.
UNTRUSTED = "is not this user's own, or is open to other users"
UNTRUSTED_DIRECTORY = "is in a directory that is not this user's own, or is open to other users"
NOT_JSON = "is not valid JSON"
CLOSED_TO_WRITERS = 0o022  # the mode bits `trusted` refuses by default: group and others write


def trusted(st: os.stat_result, closed_to: int = CLOSED_TO_WRITERS) -> bool:
    """Whether a file (or directory) is this user's own and has none of the `closed_to` mode
    bits: by default, no one else may write it; 0o077, no one else may read it either."""
    if not hasattr(os, "getuid"):  # Windows: os.stat shows no owner, its mode bits only the
        # read-only flag; the user's profile is closed to others by its ACL, which is trusted
        # not to let them write, not promised to keep them from reading.
        return closed_to == CLOSED_TO_WRITERS
    return st.st_uid == os.getuid() and st.st_mode & closed_to == 0


def read_trusted(
    path: str, max_bytes: int, closed_to: int = CLOSED_TO_WRITERS
) -> tuple[bytes | None, str]:
    """(up to `max_bytes` + 1 bytes of the file, "") when it and its directory are `trusted`;
    else (None, what is wrong: UNTRUSTED, UNTRUSTED_DIRECTORY, or that it cannot be read).

    In a cache directory another user may write to (a shared XDG_CACHE_HOME, a HOME kept under
    sudo), a file of theirs would decide which plugins OMI lists and imports: it is not read.
    The file is opened without following a symlink, relative to the directory checked, so
    neither can be swapped for another between the check and the read."""
    directory, name = os.path.split(path)
    folder = None
    try:
        if os.open in os.supports_dir_fd:
            folder = os.open(directory or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            where = os.fstat(folder)
        else:  # no openat (Windows): the directory by its path
            where = os.stat(directory or ".")
        if not trusted(where, closed_to):
            return None, UNTRUSTED_DIRECTORY
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        handle = os.open(name, flags, dir_fd=folder) if folder is not None else os.open(path, flags)
        with os.fdopen(handle, "rb") as stream:
            if not trusted(os.fstat(handle), closed_to):
                return None, UNTRUSTED
            return stream.read(max_bytes + 1), ""
    except OSError:  # missing, or a symlink (ELOOP)
        return None, "cannot be read"
    finally:
        if folder is not None:
            os.close(folder)


def read_json(
    path: str, max_bytes: int, closed_to: int = CLOSED_TO_WRITERS
) -> tuple[dict[str, Any] | None, str]:
    """(the JSON object in `path`, "") when the file is `trusted`, at most `max_bytes` and a
    JSON object; else (None, what is wrong with it: read_trusted's reasons among them)."""
    data, problem = read_trusted(path, max_bytes, closed_to)
    if data is None:
        return None, problem
    if len(data) > max_bytes:
        return None, f"is larger than {max_bytes} bytes"
    import json

    try:
        document = json.loads(data)
    except ValueError:
        return None, NOT_JSON
    return (document, "") if isinstance(document, dict) else (None, "is not a JSON object")


def write_private(
    path: str, document: dict[str, Any], label: str, closed_to: int = CLOSED_TO_WRITERS
) -> bool:
    """Write `document` as JSON to `path` (mode 0600, in a directory created 0700), atomically;
    then prune the stale files of its kind. Nothing is written in a directory that is not
    `trusted` with `closed_to` (read_trusted would not read it back). False, never an
    exception, when it cannot (the debug log says why, naming the file by `label`)."""
    import json

    directory, name = os.path.split(path)
    kind = name.split("-", 1)[0]  # "plugins" of plugins-<key>.json, "config" of config-...
    # A name of this process's own, created exclusively (tempfile would cost an import of
    # `random` and more on every cold start).
    temporary = os.path.join(directory, f".{kind}-{os.getpid()}-{id(document):x}.tmp")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if not trusted(os.stat(directory), closed_to):
            log(
                "%s not written: %s is not this user's own or is open to other users (chmod %o it)",
                label,
                directory,
                0o777 & ~closed_to,
            )
            return False
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        log("%s not written to %s: %s", label, directory, error)
        return False
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file, separators=(",", ":"))
        os.replace(temporary, path)
    except (OSError, ValueError) as error:
        log("%s not written to %s: %s", label, path, error)
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    prune(directory, kind, keep=name)
    return True


def prune(directory: str, kind: str, keep: str = "", max_files: int = MAX_FILES) -> list[str]:
    """Remove the `<kind>-*.json` files of `directory` not written for MAX_AGE_DAYS, and the
    oldest beyond the `max_files` newest (every venv and sys.path leaves one); and the
    temporary files of writers that died before renaming them (older than STALE_TEMPORARY_S,
    or all of them when `max_files` is 0); return what was removed.

    Called only after writing a new file, so a hit never pays for it. A pruned file that was
    still in use only costs its next reader a rescan."""
    import time

    candidates: list[tuple[float, str]] = []
    temporaries: list[tuple[float, str]] = []
    try:
        with os.scandir(directory) as listing:
            for entry in listing:
                name = entry.name
                index_file = name.startswith(f"{kind}-") and name.endswith(".json")
                temporary = name.startswith(f".{kind}-") and name.endswith(".tmp")
                if not (index_file and name != keep or temporary):
                    continue
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue
                (candidates if index_file else temporaries).append((mtime, entry.path))
    except OSError:
        return []
    candidates.sort(reverse=True)
    now = time.time()
    too_old = now - MAX_AGE_DAYS * 86400
    doomed = [
        path
        for rank, (mtime, path) in enumerate(candidates, start=1 if keep else 0)
        if mtime < too_old or rank >= max_files
    ]
    doomed += [
        path for mtime, path in temporaries if max_files == 0 or mtime < now - STALE_TEMPORARY_S
    ]
    removed: list[str] = []
    for path in doomed:
        try:
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    if removed:
        log("removed %d stale %s cache file(s) from %s", len(removed), kind, directory)
    return removed
