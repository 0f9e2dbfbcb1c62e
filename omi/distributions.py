"""What OMI reads of installed distributions, without importing importlib.metadata when the
plugin index answers: light stand-ins for its EntryPoint and Distribution, the few metadata
headers `omi plugins list` shows, and a scan that one broken distribution cannot stop.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # a hit of the index never imports importlib.metadata
    from importlib.metadata import PackageMetadata, PathDistribution

from omi import __version__

__all__ = [
    "CachedDistribution",
    "CachedEntryPoint",
    "Facts",
    "UNKNOWN",
    "distribution_facts",
    "metadata_headers",
    "metadata_text",
    "report_broken",
    "scan_entry_points",
    "split_value",
]

META_FILES = ("METADATA", "PKG-INFO")


class Facts(NamedTuple):
    """What omi.plugins asks of a distribution."""

    name: str
    version: str
    requires_omi: list[str]  # its Requires-Dist lines naming omi-openclaw
    omi_conflict: str | None  # pip check's sentence when this omi-openclaw is outside them


UNKNOWN = Facts("?", "?", [], None)  # an entry point without a distribution


class CachedDistribution:
    """The distribution behind cached entry points: name and version at hand, the rest of
    its metadata read from disk when asked for (as `importlib.metadata.PathDistribution`)."""

    def __init__(
        self,
        path: str,
        name: str,
        version: str,
        requires_omi: list[str],
        omi_conflict: str | None = None,
    ) -> None:
        self._path = path
        self.omi_facts = Facts(name, version, requires_omi, omi_conflict)

    @property
    def requires_omi(self) -> list[str]:
        return self.omi_facts.requires_omi

    @property
    def name(self) -> str:
        return self.omi_facts.name

    @property
    def version(self) -> str:
        return self.omi_facts.version

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
    def requires(self) -> list[str] | None:
        return self._real().requires

    def read_text(self, filename: str) -> str | None:
        return self._real().read_text(filename)

    def locate_file(self, path: Any) -> Any:
        return self._real().locate_file(path)

    def __repr__(self) -> str:
        return f"<CachedDistribution {self.name} {self.version} at {self._path}>"


def split_value(value: str) -> tuple[str, str, str] | None:
    """(module, attribute, extras) of an entry point's value as importlib.metadata's pattern
    splits it, or None when the value does not match it (nothing can be imported then)."""
    module, colon, attr = value.partition(":")
    module, attr = module.rstrip(), attr.strip()
    if _dotted(module) and (_dotted(attr) if colon else not attr):  # "pkg.mod:Class"
        return module, attr, ""
    import re  # extras, stray spaces: the pattern, compiled only for such values

    match = re.match(
        r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?"
        r"((?P<extras>\[.*\])\s*)?$",
        value,
    )
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

    def __init__(
        self, name: str, value: str, group: str, dist: CachedDistribution | None = None
    ) -> None:
        self.name = name
        self.value = value
        self.group = group
        self.dist = dist

    def _parts(self) -> tuple[str, str, str]:
        parts = split_value(self.value)
        return (self.value.partition(":")[0].strip(), "", "") if parts is None else parts

    @property
    def module(self) -> str:
        return self._parts()[0]

    @property
    def attr(self) -> str:
        return self._parts()[1]

    @property
    def extras(self) -> list[str]:
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

    def _key(self) -> tuple[str, str, str]:
        return (self.name, self.value, self.group)

    def __eq__(self, other: object) -> bool:
        key = getattr(other, "_key", None)
        return key is not None and self._key() == key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def metadata_headers(text: str) -> tuple[str, str, list[str]]:
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


def distribution_facts(text: str) -> Facts:
    """The Facts of a distribution, from its metadata text. The range is checked here, when
    the index is built (packaging is imported only for a distribution that names a range), so
    a listing the index answers never imports packaging."""
    name, version, requires = metadata_headers(text)
    conflict = None
    if requires:
        from omi.diagnosis import requirement_conflict

        conflict = requirement_conflict(f"{name} {version}", requires, __version__)
    return Facts(name, version, requires, conflict)


# --- scanning, whatever one distribution holds ----------------------------------------------

_REPORTED: set[str] = set()  # the broken distributions this process has warned of


def report_broken(problems: Iterable[str]) -> None:
    """Warn of each problem once per process (logging is imported only then): the command
    goes on without what the broken distribution holds."""
    for problem in problems:
        if problem not in _REPORTED:
            _REPORTED.add(problem)
            import logging

            from omi.textsafety import one_line

            logging.getLogger("omi.index").warning("%s", one_line(problem))


def _not_utf8(dist: Any, file: str, error: UnicodeDecodeError, consequence: str) -> str:
    where = os.path.join(str(getattr(dist, "_path", "?")), file)
    return (
        f"{where} is not valid UTF-8 (byte 0x{error.object[error.start]:02X} at offset "
        f"{error.start}): {consequence}; reinstall or remove that distribution"
    )


def scan_entry_points(problems: list[str]) -> Any:
    """`importlib.metadata.entry_points()`, except that a distribution whose entry_points.txt
    (or the METADATA its name is read from) is not UTF-8 is left out, its problem appended to
    `problems`, instead of failing the whole scan: one broken distribution of anything must
    not stop OMI from listing its plugins."""
    from importlib import metadata

    seen = set()
    found: list[Any] = []
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
            problems.append(
                _not_utf8(dist, "entry_points.txt", error, "its entry points are ignored")
            )
    return metadata.EntryPoints(found)


def metadata_text(dist: Any, problems: list[str]) -> str:
    """The METADATA (or PKG-INFO) of `dist`; one that is not UTF-8 is read with U+FFFD for its
    bad bytes, and its problem appended to `problems`."""
    for name in META_FILES:
        try:
            text = dist.read_text(name)
        except UnicodeDecodeError as error:
            problems.append(
                _not_utf8(
                    dist,
                    name,
                    error,
                    "its name and version are shown with U+FFFD for the bad bytes",
                )
            )
            return str(error.object.decode("utf-8", "replace"))
        if text:
            return str(text)
    return ""
