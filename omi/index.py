"""A persistent, never-stale index of the entry points of OMI's plugin groups.

Finding plugins with `importlib.metadata.entry_points()` imports the metadata machinery (and
the e-mail parser behind it) and reads every installed distribution's metadata, on every
`omi` command and every host start. This module keeps what that scan found for OMI's groups
in one small JSON file in the user cache directory, and proves it is still true before each
use, from what an install, an uninstall or an in-place edit changes:

- the interpreter (executable, version, implementation) and `sys.path`, in order: they pick
  the file, and the file repeats them, so two interpreters sharing a cache never mix;
- for each `sys.path` entry: its identity (st_dev, st_ino), its nanosecond mtime and ctime,
  and for a directory the sorted names of its `*.dist-info`, `*.egg-info`, `*.egg` and `*.pth`
  entries (and the `EGG-INFO` of an `.egg` directory);
- for each of those: identity, nanosecond mtime and ctime, and size, and the same for the
  `entry_points.txt` of a metadata directory (an editable install rewrites that file in place;
  `cp -p` or `rsync --inplace` may keep its size and put its mtime back, never its ctime);
- for the distributions that register OMI plugins: their METADATA / PKG-INFO file too (the
  version the index reports comes from it).

Besides OMI's groups, the index records the entry points of groups that are near misses of
them ('omi.embedding_provider', 'omi_storage_backends': see omi.diagnosis.intended_group), so
`omi plugins list` can show a plugin registered under a misspelt group at no extra cost.

Any difference, any doubt (an unreadable, truncated, oversized or foreign file, a file or cache
directory that is not the user's own or that others may write, a symlink, a custom
distribution finder on `sys.meta_path`, a file modified too recently for its timestamp to be
trusted) means a fresh scan. A distribution whose entry_points.txt or METADATA is not UTF-8 is
reported (a logged warning, at every command) rather than failing the scan.

The file is read, written and pruned as omi.cachefiles does for every cache (private, atomic,
trusted only when it is the user's own); OMI_NO_CACHE=1 turns it off.

Distributions come from directories and zip files on sys.path (importlib.metadata's path
finder reads nothing else, whatever `sys.path_hooks` import from): a zip file is fingerprinted
by its own identity, mtime, ctime and size, so rewriting it invalidates the index.

A hit imports neither `importlib.metadata` nor the plugins: the entry points it returns are
light objects with the attributes and `load()` of `importlib.metadata.EntryPoint`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from omi import __version__, cachefiles
from omi.distributions import (
    META_FILES,
    CachedDistribution,
    CachedEntryPoint,
    distribution_facts,
    metadata_text,
    report_broken,
    scan_entry_points,
)

__all__ = [
    "cache_file",
    "clear",
    "entry_points",
    "fingerprint",
    "interpreter_key",
    "show",
]

FORMAT = 3  # 2: near-miss groups are recorded too; 3: ctimes, .egg directories
KIND = "plugins"  # its files: plugins-<key>.json
MAX_BYTES = 8 * 1024 * 1024  # a larger file is not ours, or not sane: ignore it
_SUFFIXES = (".dist-info", ".egg-info", ".egg", ".pth")

# --- under which key ------------------------------------------------------------------------


def interpreter_key() -> dict[str, Any]:
    """What picks the index file: this interpreter and its sys.path (and the working
    directory when a sys.path entry is relative to it)."""
    path = list(sys.path)
    key: dict[str, Any] = {
        "format": FORMAT,
        "executable": sys.executable,
        "version": sys.version,
        "implementation": sys.implementation.cache_tag or sys.implementation.name,
        "path": path,
        "omi": __version__,  # the range verdicts recorded below are about this version
    }
    if any(not os.path.isabs(entry) for entry in path):
        key["cwd"] = os.getcwd()
    return key


def cache_file(key: dict[str, Any] | None = None) -> str:
    data = repr(sorted((key or interpreter_key()).items())).encode("utf-8", "surrogatepass")
    return cachefiles.named(KIND, data)


# --- the validity fingerprint ---------------------------------------------------------------


def _stat(path: str) -> list[int] | None:
    """Identity, times and size: an edit in place that keeps the size and puts the mtime back
    (`cp -p`, `rsync --inplace`) still moves st_ctime, which no one can set back."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size]


def _metadata_dir(name: str, in_egg: bool) -> bool:
    """Whether a directory entry is metadata importlib.metadata reads: `*.dist-info`,
    `*.egg-info`, and the `EGG-INFO` of an `.egg` directory on sys.path."""
    low = name.lower()
    return low.endswith((".dist-info", ".egg-info")) or (in_egg and low == "egg-info")


def fingerprint(path: Iterable[str], dist_paths: Iterable[str] = ()) -> tuple[list[Any], int]:
    """What an install changes, for every sys.path entry; and the newest mtime seen (as git
    does, only the mtime is judged for raciness: a ctime cannot be dated back, so a file
    written a moment ago would keep every index from being written for RACY_NS).

    `dist_paths` are the metadata directories of the distributions in the index, whose
    METADATA / PKG-INFO is stamped too.
    """
    prints: list[Any] = []
    newest = 0
    for entry in path:
        where = entry or "."
        own = _stat(where)
        if own is None:
            prints.append([entry, None])
            continue
        newest = max(newest, own[2])
        if not os.path.isdir(where):  # a zip or an egg file
            prints.append([entry, *own])
            continue
        in_egg = where.lower().rstrip("/" + os.sep).endswith(".egg")
        try:
            with os.scandir(where) as listing:
                names = sorted(
                    e.name
                    for e in listing
                    if e.name.lower().endswith(_SUFFIXES) or _metadata_dir(e.name, in_egg)
                )
        except OSError:
            prints.append([entry, "unreadable"])
            continue
        children: list[list[object]] = []
        for name in names:
            item, child_newest = _child_print(os.path.join(where, name), name, in_egg)
            newest = max(newest, child_newest)
            children.append(item)
        prints.append([entry, *own[:4], children])
    for dist_path in dist_paths:
        for name in META_FILES:
            meta = _stat(os.path.join(dist_path, name))
            if meta is not None:
                newest = max(newest, meta[2])
                prints.append([dist_path, name, *meta])
                break
        else:
            prints.append([dist_path, None])
    return prints, newest


def _child_print(full: str, name: str, in_egg: bool) -> tuple[list[object], int]:
    """The stamp of one entry of a sys.path directory (and of its entry_points.txt, for a
    metadata directory), and the newest mtime in it."""
    own = _stat(full)
    if own is None:
        return [name, None], 0
    item: list[object] = [name, *own]
    newest = own[2]
    if _metadata_dir(name, in_egg):
        eps = _stat(os.path.join(full, "entry_points.txt"))
        if eps is not None:
            newest = max(newest, eps[2])
        item.append(eps)
    return item, newest


def _foreign_finders() -> list[str]:
    """Finders on sys.meta_path, other than the standard path finder, that can report
    distributions: what they report is beyond the fingerprint, so the index stands aside."""
    found = []
    for finder in sys.meta_path:
        if getattr(finder, "find_distributions", None) is None:
            continue
        module = getattr(finder, "__module__", "") or getattr(type(finder), "__module__", "")
        name = getattr(finder, "__name__", type(finder).__name__)
        if (module, name) != ("_frozen_importlib_external", "PathFinder"):
            found.append(f"{module}.{name}")
    return found


# --- reading and writing the index ----------------------------------------------------------


def _read(path: str) -> tuple[dict[str, Any] | None, str]:
    """(the index document in `path`, "") when it is trusted, sane and a JSON object; else
    (None, why not)."""
    return cachefiles.read_json(path, MAX_BYTES)


def _entry_points_from(document: dict[str, Any]) -> dict[str, list[CachedEntryPoint]]:
    """The entry points recorded in a document; raises (KeyError, TypeError, ValueError...)
    when its shape is not what `_scan` writes."""
    dists = [
        CachedDistribution(
            str(d["path"]),
            str(d["name"]),
            str(d["version"]),
            [str(r) for r in d["requires_omi"]],
            None if d["omi_conflict"] is None else str(d["omi_conflict"]),
        )
        for d in document["distributions"]
    ]
    found: dict[str, list[CachedEntryPoint]] = {group: [] for group in document["groups"]}
    for name, value, group, dist in document["entry_points"]:
        if not all(isinstance(text, str) for text in (name, value, group)):
            raise TypeError("entry point fields must be strings")
        found[group].append(
            CachedEntryPoint(name, value, group, None if dist is None else dists[dist])
        )
    return found


# --- scanning ------------------------------------------------------------------------------


def _with_near_misses(every: Any, groups: tuple[str, ...]) -> list[str]:
    """`groups`, then the groups of `every` (an importlib.metadata scan) that are near misses
    of them."""
    from omi.diagnosis import intended_group

    misses = sorted(name for name in every.groups if intended_group(name, groups))
    return [*groups, *misses]


def _select(every: Any, groups: tuple[str, ...]) -> dict[str, list[Any]]:
    return {name: list(every.select(group=name)) for name in _with_near_misses(every, groups)}


def _scan(groups: tuple[str, ...]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """The entry points of `groups` and of their near misses from a real scan, and the index
    document recording them (and the broken distributions met, warned of at each use)."""
    broken: list[str] = []
    found = _select(scan_entry_points(broken), groups)
    dist_index: dict[int, int] = {}
    distributions: list[dict[str, Any]] = []
    records: list[list[Any]] = []
    for group, group_entry_points in found.items():
        for entry_point in group_entry_points:
            dist = getattr(entry_point, "dist", None)
            number = None
            if dist is not None:
                number = dist_index.get(id(dist))
                if number is None:
                    path = getattr(dist, "_path", None)
                    if path is None:
                        raise LookupError(f"distribution {dist!r} has no path on disk")
                    text = metadata_text(dist, broken)
                    name, version, requires, conflict = distribution_facts(text)
                    number = dist_index[id(dist)] = len(distributions)
                    distributions.append(
                        {
                            "path": str(path),
                            "name": name,
                            "version": version,
                            "requires_omi": requires,
                            "omi_conflict": conflict,
                        }
                    )
            records.append([entry_point.name, entry_point.value, group, number])
    document = {
        "groups": list(found),
        "distributions": distributions,
        "entry_points": records,
        "broken": broken,
    }
    report_broken(broken)
    return found, document


def entry_points(groups: tuple[str, ...]) -> dict[str, list[Any]]:
    """The entry points of `groups`, and of any near-miss group, by group, in the order
    `importlib.metadata.entry_points()` gives them: from the index when it is provably
    current, from a scan (which refreshes it) otherwise."""
    if not cachefiles.cache_enabled():
        return _scan(groups)[0]
    foreign = _foreign_finders()
    if foreign:
        cachefiles.log(
            "plugin index bypassed: distribution finders on sys.meta_path: %s", ", ".join(foreign)
        )
        return _scan(groups)[0]
    key = interpreter_key()
    path = cache_file(key)
    found, reason = _from_index(path, key, groups)
    if found is not None:
        cachefiles.log("plugin index hit: %s", path)
        return found
    cachefiles.log("plugin index miss (%s): scanning sys.path", reason)
    return _scan_and_save(path, key, groups)


def _from_index(
    path: str, key: dict[str, Any], groups: tuple[str, ...]
) -> tuple[dict[str, list[Any]] | None, str]:
    """(the entry points the index file `path` records, "") when it is provably current for
    `key` and holds `groups`; else (None, why not)."""
    document, problem = _read(path)
    if document is None:
        return None, f"index {problem}" if problem else "no index yet"
    try:
        if document.get("key") != key:
            return None, "index of another interpreter or sys.path"
        if not set(groups) <= set(document["groups"]):
            return None, "index lacks a group"
        dist_paths = [d["path"] for d in document["distributions"]]
        if fingerprint(key["path"], dist_paths)[0] != document["fingerprint"]:
            return None, "installed distributions changed"
        found = _entry_points_from(document)
        report_broken(str(problem) for problem in document["broken"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        return None, f"index unreadable ({type(error).__name__})"
    return found, ""


def _scan_and_save(path: str, key: dict[str, Any], groups: tuple[str, ...]) -> dict[str, list[Any]]:
    """The entry points of a scan, written to the index file `path` when nothing changed
    during the scan and every file it stamped is old enough to be trusted."""
    import time

    before, _ = fingerprint(key["path"])
    taken = time.time_ns()
    try:
        found, document = _scan(groups)
    except LookupError as error:  # a distribution the index cannot describe
        cachefiles.log("plugin index not written: %s", error)
        broken: list[str] = []
        found = _select(scan_entry_points(broken), groups)
        report_broken(broken)
        return found
    dist_paths = [d["path"] for d in document["distributions"]]
    prints, newest = fingerprint(key["path"], dist_paths)
    if prints[: len(before)] != before:
        cachefiles.log("plugin index not written: sys.path changed during the scan")
    elif newest >= taken - cachefiles.RACY_NS:
        cachefiles.log(
            "plugin index not written: a file changed too recently to trust its timestamp"
        )
    else:
        document.update(key=key, created=taken, fingerprint=prints)
        if cachefiles.write_private(path, document, label="plugin index"):
            cachefiles.log("plugin index written: %s", path)
    return found


# --- inspecting and clearing ----------------------------------------------------------------


def show() -> dict[str, Any]:
    """Where this interpreter's index is, its key, its age and its entries (or why none)."""
    import time

    key = interpreter_key()
    path = cache_file(key)
    report: dict[str, Any] = {
        "directory": cachefiles.cache_dir(),
        "file": path,
        "key": key,
        "enabled": cachefiles.cache_enabled(),
        "exists": os.path.exists(path),
    }
    document, problem = _read(path) if report["exists"] else (None, "")
    if document is None:
        report["status"] = (
            "absent"
            if not report["exists"]
            else "unreadable"
            if problem not in (cachefiles.UNTRUSTED, cachefiles.UNTRUSTED_DIRECTORY)
            else f"ignored: it {problem}"
        )
        return report
    try:
        dist_paths = [d["path"] for d in document["distributions"]]
        current = (
            document.get("key") == key
            and fingerprint(key["path"], dist_paths)[0] == document["fingerprint"]
        )
        report["status"] = "current" if current else "stale (the next command rescans)"
        report["age_seconds"] = max(0.0, (time.time_ns() - int(document["created"])) / 1e9)
        report["entries"] = [
            {
                "name": ep.name,
                "group": ep.group,
                "value": ep.value,
                "distribution": ep.dist.name if ep.dist else None,
                "version": ep.dist.version if ep.dist else None,
                "requires_omi": ep.dist.requires_omi if ep.dist else [],
            }
            for eps in _entry_points_from(document).values()
            for ep in eps
        ]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        report["status"] = "unreadable"
    return report


def clear() -> list[str]:
    """Remove every plugin index in the cache directory (of every interpreter), and any
    writer's temporary file; return them."""
    return sorted(cachefiles.prune(cachefiles.cache_dir(), KIND, max_files=0))
