"""A cache of parsed configuration files, so that a host start need not import PyYAML.

Reading config.yaml costs a start more than everything else OMI does (importing PyYAML and
its regular expressions, then parsing); the file rarely changes. This module keeps the tree
the YAML loader built, as JSON, in the user cache directory beside the plugin index (both
through omi.cachefiles), one file per config path, and uses it only while the config file's
identity is unchanged: device, inode, size and nanosecond mtime and ctime.

- Only the file's own text is cached: `${VAR}` references are expanded by omi.config at
  every load, after the cache, so no value from the environment is ever written here.
- The file itself may hold secrets (an `api_key:` written inline). Its copy is private: 0600,
  in a directory owned by the user and closed to everyone else (0700); when the directory is
  not, nothing is cached. A cache file that is not the user's own and private is not read.
- A file modified within RACY_NS of the moment it is read (a second write within one tick of
  a coarse file-system clock may keep its mtime and size) is not cached: the next load parses.
- Only trees JSON can carry back unchanged are cached (mappings with string keys, lists,
  strings, numbers, booleans, null), up to MAX_ENTRY_BYTES: a date, a binary value or a set
  is parsed every time. Files that fail to parse are never cached, so every error comes from
  the parser, as before; the parser's bounds (size, values, depth) apply to every miss.
- A missing, corrupt, foreign or unwritable cache costs only the speed-up. OMI_NO_CACHE=1
  turns it off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from omi import cachefiles

__all__ = ["clear", "entries", "load"]

FORMAT = 1
KIND = "config"  # its files: config-<key>.json
MAX_ENTRY_BYTES = 1024 * 1024  # aliases copy values: the JSON may outgrow the YAML, not this
PRIVATE = 0o077  # a config file may hold secrets: its copy is closed to everyone else

_MISS = object()


def load(source: str | os.PathLike[str], parse: Callable[[bytes], Any], max_bytes: int) -> Any:
    """The parsed contents of `source`: from the cache when it matches the file, else
    `parse(up to max_bytes + 1 of the file's bytes)`, whose result is cached when it may be.
    Errors of reading (OSError) and of `parse` propagate unchanged."""
    path = os.path.abspath(source)
    enabled = cachefiles.cache_enabled()
    if enabled:
        document = _cached(path)
        if document is not _MISS:
            cachefiles.log("config cache hit: %s", path)
            return document
    import time

    with open(source, "rb") as stream:
        before = _identity(os.fstat(stream.fileno()))
        data = stream.read(max_bytes + 1)  # one more: `parse` refuses a file past the limit
        after = _identity(os.fstat(stream.fileno()))
    document = parse(data)
    if enabled:
        if before != after:
            cachefiles.log("config cache not written: %s changed while it was read", path)
        elif before[3] >= time.time_ns() - cachefiles.RACY_NS:  # its mtime, as git does
            cachefiles.log(
                "config cache not written: %s changed too recently to trust its timestamp", path
            )
        elif not _cacheable(document, [MAX_ENTRY_BYTES - 2 * len(_json_text(path)) - 256]):
            cachefiles.log("config cache not written: %s holds values JSON cannot carry", path)
        else:
            cachefiles.write_private(
                cache_file(path),
                {"format": FORMAT, "path": path, "identity": list(before), "document": document},
                label="config cache",
                closed_to=PRIVATE,
            )
    return document


def cache_file(path: str) -> str:
    return cachefiles.named(KIND, path.encode("utf-8", "surrogatepass"))


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# Why _read_entry refused an entry, for the messages that tell it apart.
_NOT_PRIVATE = "is not private to this user"


def _cached(path: str) -> Any:
    """The cached tree of `path` if its entry is ours and matches the file; _MISS otherwise."""
    try:
        identity = list(_identity(os.stat(path)))
    except OSError:
        return _MISS
    entry, problem = _read_entry(cache_file(path))
    if entry is None:
        if problem == _NOT_PRIVATE:
            cachefiles.log("config cache of %s ignored: not private to this user", path)
        elif problem == cachefiles.NOT_JSON:
            cachefiles.log("config cache of %s is not valid JSON; ignored", path)
        return _MISS
    if entry.get("path") != path or entry.get("identity") != identity or "document" not in entry:
        return _MISS
    return entry["document"]


def _read_entry(file: str) -> tuple[dict[str, Any] | None, str]:
    """(the entry in `file`, "") when it is ours: private to this user (the file and its
    directory), at most MAX_ENTRY_BYTES, a JSON object of this FORMAT; else (None, what is
    wrong with it)."""
    entry, problem = cachefiles.read_json(file, MAX_ENTRY_BYTES, closed_to=PRIVATE)
    if entry is None:
        return None, (
            _NOT_PRIVATE
            if problem in (cachefiles.UNTRUSTED, cachefiles.UNTRUSTED_DIRECTORY)
            else problem
        )
    if entry.get("format") != FORMAT:
        return None, "is of another format"
    return entry, ""


def _cacheable(value: Any, budget: list[int]) -> bool:
    """Whether JSON gives `value` back equal and of the same types, in at most `budget[0]`
    bytes (spent as the walk goes: a YAML alias costs each time it is used)."""
    budget[0] -= 8  # the punctuation around a value, generously
    if budget[0] < 0:
        return False
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        budget[0] -= len(_json_text(value))
        return budget[0] >= 0
    if isinstance(value, list):
        return all(_cacheable(item, budget) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and _cacheable(key, budget) and _cacheable(item, budget)
            for key, item in value.items()
        )
    return False


def _json_text(text: str) -> str:
    import json

    return json.dumps(text)


def entries() -> list[dict[str, Any]]:
    """The parsed config files kept, for `omi plugins cache show`: the config file each one
    holds, its age and whether it still matches that file. Never their contents: a config
    file may hold secrets."""
    import time

    found: list[dict[str, Any]] = []
    directory = cachefiles.cache_dir()
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return found
    for name in names:
        if not (name.startswith(f"{KIND}-") and name.endswith(".json")):
            continue
        file = os.path.join(directory, name)
        data, problem = _read_entry(file)
        source = None if data is None else data.get("path")
        entry: dict[str, Any] = {
            "file": file,
            "config": source if isinstance(source, str) else None,
            "status": "ignored: not private to this user"
            if problem == _NOT_PRIVATE
            else "unreadable",
        }
        found.append(entry)
        if data is None or entry["config"] is None:
            continue
        try:
            entry["age_seconds"] = max(0.0, time.time() - os.stat(file).st_mtime)
            current = list(_identity(os.stat(entry["config"]))) == data.get("identity")
        except OSError:
            current = False
        entry["status"] = "current" if current else "stale (the next load parses again)"
    return found


def clear() -> list[str]:
    """Remove every cached config file; return their paths."""
    return sorted(cachefiles.prune(cachefiles.cache_dir(), KIND, max_files=0))
