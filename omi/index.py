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

Writing is atomic (a temporary file, then `os.replace`), so concurrent writers never leave a
torn file; a read-only or missing cache directory only costs the cache. Writing a new file
prunes the files of the same kind that no one rewrote for MAX_AGE_DAYS, and the oldest past
MAX_FILES. OMI_NO_CACHE=1 turns it off.

Distributions come from directories and zip files on sys.path (importlib.metadata's path
finder reads nothing else, whatever `sys.path_hooks` import from): a zip file is fingerprinted
by its own identity, mtime, ctime and size, so rewriting it invalidates the index.

A hit imports neither `importlib.metadata` nor the plugins: the entry points it returns are
light objects with the attributes and `load()` of `importlib.metadata.EntryPoint`.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

if TYPE_CHECKING:  # a hit of the index never imports importlib.metadata
    from importlib.metadata import PackageMetadata, PathDistribution

from omi import __version__

__all__ = [
    "CachedDistribution",
    "CachedEntryPoint",
    "cache_dir",
    "cache_enabled",
    "cache_file",
    "clear",
    "entry_points",
    "interpreter_key",
    "prune",
    "show",
    "write_private",
]

FORMAT = 3  # 2: near-miss groups are recorded too; 3: ctimes, .egg directories
SWITCH = "OMI_NO_CACHE"
KIND = "plugins"  # its files: plugins-<key>.json
MAX_BYTES = 8 * 1024 * 1024  # a larger file is not ours, or not sane: ignore it
# File systems stamp a write with a coarse clock (a few milliseconds on Linux, 2 s on FAT), so
# a file changed twice within one tick may keep its mtime (and its size). As git does for its
# index, a fingerprint whose newest mtime is this close to the time it was taken is not
# trusted: it is not saved, and the next command scans again.
RACY_NS = 2_000_000_000
# Every interpreter and sys.path gets its own file; the files nobody rewrote for this long,
# and the oldest past this many, are pruned whenever a new one is written.
MAX_AGE_DAYS = 30
MAX_FILES = 64
STALE_TEMPORARY_S = 3600  # a writer renames its temporary file within milliseconds
_SUFFIXES = (".dist-info", ".egg-info", ".egg", ".pth")
_META_FILES = ("METADATA", "PKG-INFO")

_DEBUG = 10


def _log(message: str, *args: Any) -> None:
    logging = sys.modules.get("logging")  # nobody imported logging: nobody listens
    if logging is not None:
        logging.getLogger("omi.index").log(_DEBUG, message, *args)


# --- where and under which key --------------------------------------------------------------


def cache_dir() -> str:
    """$XDG_CACHE_HOME/omi, or ~/.cache/omi (a relative XDG_CACHE_HOME is ignored, per XDG)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "omi")


def cache_enabled() -> bool:
    return os.environ.get(SWITCH, "") in ("", "0")


def interpreter_key() -> Dict[str, Any]:
    """What picks the index file: this interpreter and its sys.path (and the working
    directory when a sys.path entry is relative to it)."""
    path = list(sys.path)
    key: Dict[str, Any] = {
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


_DIGEST_MODULUS = (1 << 64) - 59  # the largest prime below 2**64


def digest(data: bytes) -> str:
    """16 hex digits naming a cache file after `data`. Not cryptographic, and need not be: each
    file records the key it was written for, so one named alike by other data is a miss. Plain
    integer arithmetic, so that no extension module (zlib, hashlib) is loaded at start-up."""
    number = int.from_bytes(b"\x01" + data, "big")  # the 1 makes leading zero bytes count
    return f"{number % _DIGEST_MODULUS:016x}"


def cache_file(key: Optional[Dict[str, Any]] = None) -> str:
    data = repr(sorted((key or interpreter_key()).items())).encode("utf-8", "surrogatepass")
    return os.path.join(cache_dir(), f"{KIND}-{digest(data)}.json")


# --- the validity fingerprint ---------------------------------------------------------------


def _stat(path: str) -> Optional[List[int]]:
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


def fingerprint(path: Iterable[str], dist_paths: Iterable[str] = ()) -> Tuple[List[Any], int]:
    """What an install changes, for every sys.path entry; and the newest mtime seen (as git
    does, only the mtime is judged for raciness: a ctime cannot be dated back, so a file
    written a moment ago would keep every index from being written for RACY_NS).

    `dist_paths` are the metadata directories of the distributions in the index, whose
    METADATA / PKG-INFO is stamped too.
    """
    prints: List[Any] = []
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
                names = sorted(e.name for e in listing if e.name.lower().endswith(_SUFFIXES)
                               or _metadata_dir(e.name, in_egg))
        except OSError:
            prints.append([entry, "unreadable"])
            continue
        children: List[List[object]] = []
        for name in names:
            item, child_newest = _child_print(os.path.join(where, name), name, in_egg)
            newest = max(newest, child_newest)
            children.append(item)
        prints.append([entry, *own[:4], children])
    for dist_path in dist_paths:
        for name in _META_FILES:
            meta = _stat(os.path.join(dist_path, name))
            if meta is not None:
                newest = max(newest, meta[2])
                prints.append([dist_path, name, *meta])
                break
        else:
            prints.append([dist_path, None])
    return prints, newest


def _child_print(full: str, name: str, in_egg: bool) -> Tuple[List[object], int]:
    """The stamp of one entry of a sys.path directory (and of its entry_points.txt, for a
    metadata directory), and the newest mtime in it."""
    own = _stat(full)
    if own is None:
        return [name, None], 0
    item: List[object] = [name, *own]
    newest = own[2]
    if _metadata_dir(name, in_egg):
        eps = _stat(os.path.join(full, "entry_points.txt"))
        if eps is not None:
            newest = max(newest, eps[2])
        item.append(eps)
    return item, newest


def _foreign_finders() -> List[str]:
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


# --- light stand-ins for importlib.metadata's objects ---------------------------------------


class CachedDistribution:
    """The distribution behind cached entry points: name and version at hand, the rest of
    its metadata read from disk when asked for (as `importlib.metadata.PathDistribution`)."""

    def __init__(self, path: str, name: str, version: str, requires_omi: List[str],
                 omi_conflict: Optional[str] = None) -> None:
        self._path = path
        self.omi_facts: Facts = (name, version, requires_omi, omi_conflict)

    @property
    def requires_omi(self) -> List[str]:
        return self.omi_facts[2]

    @property
    def name(self) -> str:
        return self.omi_facts[0]

    @property
    def version(self) -> str:
        return self.omi_facts[1]

    def _real(self) -> PathDistribution:
        from importlib import metadata
        from pathlib import Path

        path: Any = Path(self._path)
        archive = next((parent for parent in path.parents if parent.is_file()), None)
        if archive is not None:  # a distribution inside a zip file on sys.path
            import zipfile

            path = zipfile.Path(archive, at=f"{path.relative_to(archive).as_posix()}/")
        return metadata.PathDistribution(path)

    @property
    def metadata(self) -> PackageMetadata:
        return self._real().metadata

    @property
    def requires(self) -> Optional[List[str]]:
        return self._real().requires

    def read_text(self, filename: str) -> Optional[str]:
        return self._real().read_text(filename)

    def locate_file(self, path: Any) -> Any:
        return self._real().locate_file(path)

    def __repr__(self) -> str:
        return f"<CachedDistribution {self.name} {self.version} at {self._path}>"


def split_value(value: str) -> Optional[Tuple[str, str, str]]:
    """(module, attribute, extras) of an entry point's value as importlib.metadata's pattern
    splits it, or None when the value does not match it (nothing can be imported then)."""
    module, colon, attr = value.partition(":")
    module, attr = module.rstrip(), attr.strip()
    if _dotted(module) and (_dotted(attr) if colon else not attr):  # "pkg.mod:Class"
        return module, attr, ""
    import re  # extras, stray spaces: the pattern, compiled only for such values

    match = re.match(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?"
                     r"((?P<extras>\[.*\])\s*)?$", value)
    if match is None:
        return None
    return match.group("module"), match.group("attr") or "", match.group("extras") or ""


def _dotted(text: str) -> bool:
    """Whether `text` matches the pattern's `[\\w.]+`: word characters and dots."""
    return bool(text) and all(char.isalnum() or char in "._" for char in text)


class CachedEntryPoint:
    """An entry point read from the index: `importlib.metadata.EntryPoint`'s attributes and
    `load()`, without importing importlib.metadata."""

    __slots__ = ("name", "value", "group", "dist", "__weakref__")

    def __init__(self, name: str, value: str, group: str,
                 dist: Optional[CachedDistribution] = None) -> None:
        self.name = name
        self.value = value
        self.group = group
        self.dist = dist

    def _parts(self) -> Tuple[str, str, str]:
        parts = split_value(self.value)
        return (self.value.partition(":")[0].strip(), "", "") if parts is None else parts

    @property
    def module(self) -> str:
        return self._parts()[0]

    @property
    def attr(self) -> str:
        return self._parts()[1]

    @property
    def extras(self) -> List[str]:
        import re

        return re.findall(r"\w+", self._parts()[2])

    def load(self) -> Any:
        """Import the module and return the object the entry point names."""
        from importlib import import_module

        module, attr, _ = self._parts()
        found = import_module(module)
        for part in filter(None, attr.split(".")):
            found = getattr(found, part)
        return found

    def matches(self, **params: Any) -> bool:
        return all(getattr(self, key) == value for key, value in params.items())

    def _key(self) -> Tuple[str, str, str]:
        return (self.name, self.value, self.group)

    def __eq__(self, other: object) -> bool:
        key = getattr(other, "_key", None)
        return key is not None and self._key() == key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


# --- reading and writing the index ----------------------------------------------------------


# Why read_trusted refused a file, for the callers that tell the cases apart.
UNTRUSTED = "is not this user's own, or is open to other users"
UNTRUSTED_DIRECTORY = "is in a directory that is not this user's own, or is open to other users"
CLOSED_TO_WRITERS = 0o022  # the mode bits `trusted` refuses by default: group and others write


def trusted(st: os.stat_result, closed_to: int = CLOSED_TO_WRITERS) -> bool:
    """Whether a file (or directory) is this user's own and has none of the `closed_to` mode
    bits: by default, no one else may write it; 0o077, no one else may read it either."""
    if not hasattr(os, "getuid"):  # Windows: os.stat shows no owner, its mode bits only the
        # read-only flag; the user's profile is closed to others by its ACL, which is trusted
        # not to let them write, not promised to keep them from reading.
        return closed_to == CLOSED_TO_WRITERS
    return st.st_uid == os.getuid() and st.st_mode & closed_to == 0


def read_trusted(path: str, max_bytes: int,
                 closed_to: int = CLOSED_TO_WRITERS) -> Tuple[Optional[bytes], str]:
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
        handle = os.open(name, flags, dir_fd=folder) if folder is not None else os.open(path,
                                                                                       flags)
        with os.fdopen(handle, "rb") as stream:
            if not trusted(os.fstat(handle), closed_to):
                return None, UNTRUSTED
            return stream.read(max_bytes + 1), ""
    except OSError:  # missing, or a symlink (ELOOP)
        return None, "cannot be read"
    finally:
        if folder is not None:
            os.close(folder)


def _read(path: str) -> Tuple[Optional[Dict[str, Any]], str]:
    """(the index document in `path`, "") when it is trusted, sane and a JSON object; else
    (None, why not)."""
    data, problem = read_trusted(path, MAX_BYTES)
    if data is None:
        return None, problem
    if len(data) > MAX_BYTES:
        return None, f"is larger than {MAX_BYTES} bytes"
    import json

    try:
        document = json.loads(data)
    except ValueError:
        return None, "is not valid JSON"
    return (document, "") if isinstance(document, dict) else (None, "is not a JSON object")


def write_private(path: str, document: Dict[str, Any], label: str = "plugin index",
                  closed_to: int = CLOSED_TO_WRITERS) -> bool:
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
            _log("%s not written: %s is not this user's own or is open to other users "
                 "(chmod %o it)", label, directory, 0o777 & ~closed_to)
            return False
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        _log("%s not written to %s: %s", label, directory, error)
        return False
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file, separators=(",", ":"))
        os.replace(temporary, path)
    except (OSError, ValueError) as error:
        _log("%s not written to %s: %s", label, path, error)
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    prune(directory, kind, keep=name)
    return True


def prune(directory: str, kind: str, keep: str = "", max_files: int = MAX_FILES) -> List[str]:
    """Remove the `<kind>-*.json` files of `directory` not written for MAX_AGE_DAYS, and the
    oldest beyond the `max_files` newest (every venv and sys.path leaves one); and the
    temporary files of writers that died before renaming them (older than STALE_TEMPORARY_S,
    or all of them when `max_files` is 0); return what was removed.

    Called only after writing a new file, so a hit never pays for it. A pruned file that was
    still in use only costs its next reader a rescan."""
    import time

    candidates: List[Tuple[float, str]] = []
    temporaries: List[Tuple[float, str]] = []
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
    doomed = [path for rank, (mtime, path) in enumerate(candidates, start=1 if keep else 0)
              if mtime < too_old or rank >= max_files]
    doomed += [path for mtime, path in temporaries
               if max_files == 0 or mtime < now - STALE_TEMPORARY_S]
    removed: List[str] = []
    for path in doomed:
        try:
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    if removed:
        _log("removed %d stale %s cache file(s) from %s", len(removed), kind, directory)
    return removed


def _entry_points_from(document: Dict[str, Any]) -> Dict[str, List[CachedEntryPoint]]:
    """The entry points recorded in a document; raises (KeyError, TypeError, ValueError...)
    when its shape is not what `_scan` writes."""
    dists = [CachedDistribution(str(d["path"]), str(d["name"]), str(d["version"]),
                                [str(r) for r in d["requires_omi"]],
                                None if d["omi_conflict"] is None else str(d["omi_conflict"]))
             for d in document["distributions"]]
    found: Dict[str, List[CachedEntryPoint]] = {group: [] for group in document["groups"]}
    for name, value, group, dist in document["entry_points"]:
        if not all(isinstance(text, str) for text in (name, value, group)):
            raise TypeError("entry point fields must be strings")
        found[group].append(CachedEntryPoint(name, value, group,
                                             None if dist is None else dists[dist]))
    return found


def metadata_headers(text: str) -> Tuple[str, str, List[str]]:
    """Name, Version and the Requires-Dist lines naming omi-openclaw, from metadata headers.

    Parsing the whole file as an e-mail message (what `Distribution.metadata` does) imports
    the e-mail parser; these headers come before the first blank line, so reading up to it is
    enough and costs a cold `omi plugins list` a few milliseconds less.
    """
    import re

    name, version, requires = "?", "?", []
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep:
            continue
        if key == "name" and name == "?":
            name = value or "?"
        elif key == "version" and version == "?":
            version = value or "?"
        elif key == "requires-dist" and re.match(r"omi[-_.]openclaw\b", value, re.I):
            requires.append(value)
    return name, version, requires


#: What omi.plugins asks of a distribution: its name, its version, its Requires-Dist lines
#: naming omi-openclaw, and pip check's sentence when the installed omi-openclaw is outside them.
Facts = Tuple[str, str, List[str], Optional[str]]


def distribution_facts(text: str) -> Facts:
    """The Facts of a distribution, from its metadata text. The range is checked here, when
    the index is built (packaging is imported only for a distribution that names a range), so
    a listing the index answers never imports packaging."""
    name, version, requires = metadata_headers(text)
    conflict = None
    if requires:
        from omi.diagnosis import requirement_conflict

        conflict = requirement_conflict(f"{name} {version}", requires, __version__)
    return name, version, requires, conflict


# --- scanning, whatever one distribution holds ----------------------------------------------

_REPORTED: set[str] = set()  # the broken distributions this process has warned of


def report_broken(problems: Iterable[str]) -> None:
    """Warn of each problem once per process (logging is imported only then): the command
    goes on without what the broken distribution holds."""
    for problem in problems:
        if problem not in _REPORTED:
            _REPORTED.add(problem)
            import logging

            from omi.listing import one_line

            logging.getLogger("omi.index").warning("%s", one_line(problem))


def _not_utf8(dist: Any, file: str, error: UnicodeDecodeError, consequence: str) -> str:
    where = os.path.join(str(getattr(dist, "_path", "?")), file)
    return (f"{where} is not valid UTF-8 (byte 0x{error.object[error.start]:02X} at offset "
            f"{error.start}): {consequence}; reinstall or remove that distribution")


def scan_entry_points(problems: List[str]) -> Any:
    """`importlib.metadata.entry_points()`, except that a distribution whose entry_points.txt
    (or the METADATA its name is read from) is not UTF-8 is left out, its problem appended to
    `problems`, instead of failing the whole scan: one broken distribution of anything must
    not stop OMI from listing its plugins."""
    from importlib import metadata

    seen = set()
    found: List[Any] = []
    for dist in metadata.distributions():
        try:  # entry_points() keeps the first distribution of each name, as here
            key = getattr(dist, "_normalized_name", None) or dist.metadata["Name"]
        except UnicodeDecodeError as error:
            problems.append(_not_utf8(dist, "METADATA", error, "the distribution is ignored"))
            continue
        if key in seen:
            continue
        seen.add(key)
        try:
            found.extend(dist.entry_points)
        except UnicodeDecodeError as error:
            problems.append(_not_utf8(dist, "entry_points.txt", error,
                                      "its entry points are ignored"))
    return metadata.EntryPoints(found)


def metadata_text(dist: Any, problems: List[str]) -> str:
    """The METADATA (or PKG-INFO) of `dist`; one that is not UTF-8 is read with U+FFFD for its
    bad bytes, and its problem appended to `problems`."""
    for name in _META_FILES:
        try:
            text = dist.read_text(name)
        except UnicodeDecodeError as error:
            problems.append(_not_utf8(dist, name, error, "its name and version are shown with "
                                                        "U+FFFD for the bad bytes"))
            return str(error.object.decode("utf-8", "replace"))
        if text:
            return str(text)
    return ""


def _with_near_misses(every: Any, groups: Tuple[str, ...]) -> List[str]:
    """`groups`, then the groups of `every` (an importlib.metadata scan) that are near misses
    of them."""
    from omi.diagnosis import intended_group

    misses = sorted(name for name in every.groups if intended_group(name, groups))
    return [*groups, *misses]


def _select(every: Any, groups: Tuple[str, ...]) -> Dict[str, List[Any]]:
    return {name: list(every.select(group=name)) for name in _with_near_misses(every, groups)}


def _scan(groups: Tuple[str, ...]) -> Tuple[Dict[str, List[Any]], Dict[str, Any]]:
    """The entry points of `groups` and of their near misses from a real scan, and the index
    document recording them (and the broken distributions met, warned of at each use)."""
    broken: List[str] = []
    found = _select(scan_entry_points(broken), groups)
    dist_index: Dict[int, int] = {}
    distributions: List[Dict[str, Any]] = []
    records: List[List[Any]] = []
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
                    distributions.append({"path": str(path), "name": name, "version": version,
                                          "requires_omi": requires, "omi_conflict": conflict})
            records.append([entry_point.name, entry_point.value, group, number])
    document = {"groups": list(found), "distributions": distributions, "entry_points": records,
                "broken": broken}
    report_broken(broken)
    return found, document


def entry_points(groups: Tuple[str, ...]) -> Dict[str, List[Any]]:
    """The entry points of `groups`, and of any near-miss group, by group, in the order
    `importlib.metadata.entry_points()` gives them: from the index when it is provably
    current, from a scan (which refreshes it) otherwise."""
    if not cache_enabled():
        return _scan(groups)[0]
    foreign = _foreign_finders()
    if foreign:
        _log("plugin index bypassed: distribution finders on sys.meta_path: %s",
             ", ".join(foreign))
        return _scan(groups)[0]
    key = interpreter_key()
    path = cache_file(key)
    document, problem = _read(path)
    reason = f"index {problem}" if problem else "no index yet"
    if document is not None:
        try:
            if document.get("key") != key:
                reason = "index of another interpreter or sys.path"
            elif not set(groups) <= set(document["groups"]):
                reason = "index lacks a group"
            else:
                dist_paths = [d["path"] for d in document["distributions"]]
                prints, _ = fingerprint(key["path"], dist_paths)
                if prints != document["fingerprint"]:
                    reason = "installed distributions changed"
                else:
                    found = _entry_points_from(document)
                    report_broken(str(problem) for problem in document["broken"])
                    _log("plugin index hit: %s", path)
                    return found
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            reason = f"index unreadable ({type(error).__name__})"
    _log("plugin index miss (%s): scanning sys.path", reason)
    import time

    before, _ = fingerprint(key["path"])
    taken = time.time_ns()
    try:
        found, document = _scan(groups)
    except LookupError as error:  # a distribution the index cannot describe
        _log("plugin index not written: %s", error)
        broken: List[str] = []
        found = _select(scan_entry_points(broken), groups)
        report_broken(broken)
        return found
    dist_paths = [d["path"] for d in document["distributions"]]
    prints, newest = fingerprint(key["path"], dist_paths)
    if prints[: len(before)] != before:
        _log("plugin index not written: sys.path changed during the scan")
    elif newest >= taken - RACY_NS:
        _log("plugin index not written: a file changed too recently to trust its timestamp")
    else:
        document.update(key=key, created=taken, fingerprint=prints)
        if write_private(path, document):
            _log("plugin index written: %s", path)
    return found


# --- inspecting and clearing ----------------------------------------------------------------


def show() -> Dict[str, Any]:
    """Where this interpreter's index is, its key, its age and its entries (or why none)."""
    import time

    key = interpreter_key()
    path = cache_file(key)
    report: Dict[str, Any] = {"directory": cache_dir(), "file": path, "key": key,
                              "enabled": cache_enabled(), "exists": os.path.exists(path)}
    document, problem = _read(path) if report["exists"] else (None, "")
    if document is None:
        report["status"] = ("absent" if not report["exists"] else "unreadable" if
                            problem not in (UNTRUSTED, UNTRUSTED_DIRECTORY)
                            else f"ignored: it {problem}")
        return report
    try:
        dist_paths = [d["path"] for d in document["distributions"]]
        current = (document.get("key") == key
                   and fingerprint(key["path"], dist_paths)[0] == document["fingerprint"])
        report["status"] = "current" if current else "stale (the next command rescans)"
        report["age_seconds"] = max(0.0, (time.time_ns() - int(document["created"])) / 1e9)
        report["entries"] = [
            {"name": ep.name, "group": ep.group, "value": ep.value,
             "distribution": ep.dist.name if ep.dist else None,
             "version": ep.dist.version if ep.dist else None,
             "requires_omi": ep.dist.requires_omi if ep.dist else []}
            for eps in _entry_points_from(document).values() for ep in eps
        ]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        report["status"] = "unreadable"
    return report


def clear() -> List[str]:
    """Remove every plugin index in the cache directory (of every interpreter), and any
    writer's temporary file; return them."""
    return sorted(prune(cache_dir(), KIND, max_files=0))
