"""Why a plugin does not show up, or does not load: the explanations OMI adds to its errors.

The most common failure of a new plugin is that it is invisible: its entry point sits in a
group OMI does not read, names a class its module does not define, belongs to a project that
was never installed for the Python running omi, or to an editable install whose source moved.
These functions turn each of those into a sentence saying what to run. They run on error paths,
when installed distributions are scanned (the near-miss groups; the omi-openclaw range a
plugin's distribution requires, judged once per scan of the plugin index, or at every listing
with OMI_NO_CACHE=1), and when `plugins list` runs in a project directory (stale_install), so a
listing the index answers elsewhere never imports this module. Of OMI's modules it imports
omi.textsafety, and omi.tomlfile when it reads ./pyproject.toml: its callers pass it the rest.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

# Text read from a file, shown on one line with its control and bidi characters escaped (a
# terminal escape sequence in a pyproject.toml stays inert).
from omi.textsafety import visible

__all__ = [
    "import_failure",
    "intended_group",
    "misplaced",
    "project_here",
    "reinstall_command",
    "requirement_conflict",
    "stale_install",
]

PREFIX = "omi"  # what every candidate near-miss group starts with
PROJECT_FILE = "pyproject.toml"
MAX_DIRECT_URL_BYTES = 64 * 1024
CLOSE_ENOUGH = 0.8  # difflib ratio between normalized group names that counts as a typo
#: An entry point as (group, name, value).
EntryLine = tuple[str, str, str]
#: An installed entry point: (group, name, value, distribution name, distribution version).
InstalledEntry = tuple[str, str, str, str, str]
MAX_CLASSES = 12  # a module's classes named in one message
MAX_MODULES = 1000  # a package's modules compared with a mistyped one
MAX_RECORD_FILES = 100_000  # a distribution's files read for its top-level modules


def reinstall_command() -> str:
    """The command that installs the project in the working directory for this interpreter."""
    import shlex

    return f"{shlex.quote(sys.executable)} -m pip install -e ."


# --- entry points in a group OMI does not read ----------------------------------------------


def _normalized(group: str) -> str:
    """Case, separators (`.`, `_`, `-`) and plural `s` removed: 'omi.Embeddings_Providers'
    and 'omi_embedding_provider' both become 'omiembeddingprovider'."""
    words = re.findall(r"[a-z0-9]+", group.lower())
    return "".join(word[:-1] if word.endswith("s") and len(word) > 3 else word for word in words)


def intended_group(group: str, groups: Sequence[str]) -> str | None:
    """The one of `groups` that `group` was surely meant to be, or None.

    Only a group whose name starts with "omi" (omi., omi_, omi-) is a candidate, so
    console_scripts, pytest11 and every other project's groups are never flagged. It is a near
    miss when, ignoring case, separators and plural `s`, it equals one of `groups`, is a typo
    of one (difflib ratio of at least 0.8), or abbreviates one to the plugin kind
    ('omi.storage', 'omi.embeddings', 'omi.events').
    """
    if group in groups or not group.lower().startswith(PREFIX):
        return None
    wanted = _normalized(group)
    by_normal = {_normalized(name): name for name in groups}
    if wanted in by_normal:
        return by_normal[wanted]
    rest = wanted[len(PREFIX) :]
    if len(rest) >= 4:
        prefixed = [
            name for normal, name in by_normal.items() if normal[len(PREFIX) :].startswith(rest)
        ]
        if len(prefixed) == 1:
            return prefixed[0]
    import difflib

    close = difflib.get_close_matches(wanted, list(by_normal), n=1, cutoff=CLOSE_ENOUGH)
    return by_normal[close[0]] if close else None


def misplaced(group: str, intended: str) -> str:
    """Why an entry point in a near-miss group is not loaded, and what to do."""
    return (
        f"registered in group '{group}', which OMI does not read (did you mean "
        f"'{intended}'?); fix the group in pyproject.toml, then reinstall the project from "
        f"its directory: {reinstall_command()}"
    )


# --- the project in the working directory ---------------------------------------------------


def _declared_entry_points(directory: str) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """(project name, entry-point tables) of directory/pyproject.toml, or None when there is
    no readable, sane one (or no TOML parser: Python 3.10 has none built in)."""
    from omi import tomlfile

    try:
        project = tomlfile.load(os.path.join(directory, PROJECT_FILE)).get("project")
    except (tomlfile.NoParser, OSError, ValueError):
        return None
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        return None
    tables = project.get("entry-points")
    return project["name"], tables if isinstance(tables, dict) else {}


def _is_installed(distribution: str) -> bool:
    from importlib import metadata

    try:
        metadata.distribution(distribution)
    except (metadata.PackageNotFoundError, ValueError):  # ValueError: an empty name
        return False
    return True


def project_here(name: str, groups: Sequence[str]) -> str | None:
    """When ./pyproject.toml declares the plugin `name` (in one of `groups` or a near miss of
    one) that no installed distribution provides: that the project is not installed for this
    interpreter (or was installed before the entry point was added), and the command to run."""
    try:
        here = os.getcwd()
    except OSError:  # the working directory was deleted
        return None
    found = _declared_entry_points(here)
    if found is None:
        return None
    project, tables = found
    for group, entries in tables.items():
        if not isinstance(entries, dict) or name not in entries:
            continue
        intended = group if group in groups else intended_group(str(group), groups)
        if intended is None:
            continue
        where = f"{visible(os.path.join(here, PROJECT_FILE))} declares '{name}'"
        state = (
            "is installed without it (entry points are written when a project is installed)"
            if _is_installed(project)
            else f"is not installed for the Python that runs omi ({sys.executable})"
        )
        wrong = (
            ""
            if intended == group
            else f"; its group '{visible(str(group))}' is not one "
            f"OMI reads (did you mean '{intended}'?)"
        )
        return f"{where}, but project {visible(project)} {state}{wrong}; run {reinstall_command()}"
    return None


def stale_install(
    groups: Sequence[str], directory: str, installed: Iterable[InstalledEntry]
) -> str | None:
    """When directory/pyproject.toml declares entry points in `groups` that differ from those
    installed for that project (the file was edited since the last install), or the project
    is not installed at all: what is wrong and the command to run. None otherwise, and at
    once (without parsing the file) when the file names none of `groups`.

    `installed` is every entry point OMI found in `groups`, with its distribution's name and
    version (the plugin index's answer): importlib.metadata, which a listing served by the
    index never imports, is imported only when the project has none among them.
    """
    from omi.tomlfile import MAX_BYTES

    try:
        with open(os.path.join(directory, PROJECT_FILE), "rb") as file:
            head = file.read(MAX_BYTES)
    except OSError:
        return None
    if not any(group.encode() in head for group in groups):
        return None
    found = _quick_entry_points(head, groups) or _parsed_entry_points(directory, groups)
    if found is None or not found[1]:
        return None
    project, declared = found
    ours = [entry for entry in installed if _normalized_name(entry[3]) == _normalized_name(project)]
    have = {entry[:3] for entry in ours}
    if have == declared:
        return None
    where = visible(os.path.join(directory, PROJECT_FILE))
    if not ours and not _is_installed(project):
        return (
            f"{where} declares OMI plugins, but project {visible(project)} is not "
            f"installed for the Python that runs omi ({sys.executable}); run "
            f"{reinstall_command()}"
        )
    version = f" {visible(ours[0][4])}" if ours else ""
    return (
        f"the installed metadata of {visible(project)}{version} differs from {where} "
        f"(pyproject.toml: {_listed(declared - have)}; installed: "
        f"{_listed(have - declared)}): entry points are written when a project is "
        f"installed; run {reinstall_command()}"
    )


def _normalized_name(name: str) -> str:
    """A distribution name as PEP 503 compares them: omi_Storage.x is omi-storage-x."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _parsed_entry_points(
    directory: str, groups: Sequence[str]
) -> tuple[str, set[EntryLine]] | None:
    found = _declared_entry_points(directory)
    if found is None:
        return None
    project, tables = found
    return project, {
        (group, str(name), value.strip())
        for group, entries in tables.items()
        if group in groups and isinstance(entries, dict)
        for name, value in entries.items()
        if isinstance(value, str)
    }


_PROJECT_NAME = re.compile(
    rb"^\[project\][ \t]*\r?\n(?:(?!\[).*\r?\n)*?name[ \t]*=[ \t]*"
    rb'"([A-Za-z0-9._-]+)"[ \t]*\r?$',
    re.M,
)
_GROUP_TABLE = re.compile(rb'^\[project\.entry-points\."([a-z0-9._-]+)"\][ \t]*\r?$', re.M)
_ENTRY_LINE = re.compile(
    rb'(?:"(?P<quoted>[A-Za-z0-9._-]+)"|(?P<bare>[A-Za-z0-9._-]+))'
    rb'[ \t]*=[ \t]*"(?P<value>[A-Za-z0-9_.: \[\],-]+)"[ \t]*(?:#.*)?'
)


def _quick_entry_points(text: bytes, groups: Sequence[str]) -> tuple[str, set[EntryLine]] | None:
    """The project's name and its entry points in `groups`, read from pyproject.toml's usual
    layout (`[project.entry-points."group"]` tables of `name = "value"` lines) without a
    TOML parser, which would cost every `omi plugins list` in a project directory more than
    the rest of it; None when the file is laid out any other way (then it is parsed)."""
    name = _PROJECT_NAME.search(text)
    tables = list(_GROUP_TABLE.finditer(text))
    if name is None or any(
        text.count(group.encode()) != sum(table.group(1) == group.encode() for table in tables)
        for group in groups
    ):
        return None  # an omi group named elsewhere too: an inline table, a comment...
    declared: set[EntryLine] = set()
    for table in tables:
        group = table.group(1).decode()
        if group not in groups:
            continue
        following = _NEXT_TABLE.search(text, table.end())
        for line in text[table.end() : following.start() if following else len(text)].splitlines():
            entry = _ENTRY_LINE.fullmatch(line.strip())
            if entry is None and line.strip() and not line.strip().startswith(b"#"):
                return None
            if entry is not None:
                declared.add(
                    (
                        group,
                        (entry["quoted"] or entry["bare"]).decode(),
                        entry["value"].decode().strip(),
                    )
                )
    return name.group(1).decode(), declared


_NEXT_TABLE = re.compile(rb"^[ \t]*\[", re.M)


def _listed(entries: set[EntryLine], most: int = 3) -> str:
    shown = [f"{group} {name} = {value}" for group, name, value in sorted(entries)]
    more = f" and {len(shown) - most} more" if len(shown) > most else ""
    return visible(", ".join(shown[:most]) + more) if shown else "nothing"


# --- an entry point that does not import ----------------------------------------------------


def _classes_of(module: Any) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    )


def _missing_class(module_name: str, attr: str, error: BaseException) -> str | None:
    """The module imported but lacks the class the entry point names: list its classes."""
    module = sys.modules.get(module_name)
    first = attr.split(".", 1)[0]
    if (
        not isinstance(error, AttributeError)
        or module is None
        or not first
        or hasattr(module, first)
    ):
        return None
    classes = _classes_of(module)
    import difflib

    by_lower = {cls.lower(): cls for cls in classes}
    close = difflib.get_close_matches(first.lower(), list(by_lower), n=1)
    listed = ", ".join(classes[:MAX_CLASSES])
    if len(classes) > MAX_CLASSES:
        listed += f" and {len(classes) - MAX_CLASSES} more"
    defines = f"the classes {listed}" if classes else "no class"
    guess = f" (did you mean '{by_lower[close[0]]}'?)" if close else ""
    return (
        f"{module_name} defines {defines}{guess}; fix the entry point in pyproject.toml, "
        f"then reinstall the project from its directory: {reinstall_command()}"
    )


def _missing_module(module_name: str, error: BaseException, dist: Any) -> str | None:
    """The entry point names a module that does not exist, one close to a module that does (a
    typo: omi_x.backends for omi_x.backend): that module, among those of the package it sits
    in, or of the distribution's top level when the package itself is the typo."""
    missing = getattr(error, "name", None)
    if (
        not isinstance(error, ModuleNotFoundError)
        or not missing
        or not (module_name == missing or module_name.startswith(f"{missing}."))
    ):
        return None  # the module exists; something it imports does not: the error says what
    parent, _, _ = missing.rpartition(".")
    siblings = _submodules(parent) if parent else _top_level(dist)
    import difflib

    close = difflib.get_close_matches(missing, siblings, n=1, cutoff=0.6)
    if not close:  # no typo in sight: the module may be missing for another reason
        return None
    where = f"package {parent}" if parent else "the distribution"
    return (
        f"{where} has no module {missing} (did you mean '{close[0]}'?); fix the entry "
        f"point in pyproject.toml, then reinstall the project from its directory: "
        f"{reinstall_command()}"
    )


def _submodules(package: str) -> list[str]:
    """The modules of an importable package (not imported), by their full names."""
    import pkgutil

    module = sys.modules.get(package)
    path = getattr(module, "__path__", None)
    if path is None:
        return []
    return [f"{package}.{info.name}" for info in pkgutil.iter_modules(path)][:MAX_MODULES]


def _top_level(dist: Any) -> list[str]:
    """The top-level modules and packages a distribution installs, from its RECORD (read
    through `read_text`, which the plugin index's cached distributions answer too)."""
    import csv

    try:
        record = dist.read_text("RECORD") if dist is not None else None
    except (OSError, ValueError):
        return []
    names = set()
    for row in csv.reader((record or "").splitlines()[:MAX_RECORD_FILES]):
        parts = row[0].split("/") if row else []
        if len(parts) == 1 and parts[0].endswith(".py"):
            names.add(parts[0][:-3])
        elif len(parts) > 1 and parts[0].isidentifier() and parts[-1] == "__init__.py":
            names.add(parts[0])
    return sorted(names)


def _editable_source(dist: Any) -> str | None:
    """The source directory of an editable install, from its direct_url.json (PEP 610)."""
    import json
    from urllib.parse import unquote, urlsplit

    try:
        text = dist.read_text("direct_url.json") if dist is not None else None
        if not text or len(text) > MAX_DIRECT_URL_BYTES:
            return None
        record = json.loads(text)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("url"), str):
        return None
    info = record.get("dir_info")
    if not isinstance(info, dict) or info.get("editable") is not True:
        return None
    url = urlsplit(record["url"])
    if url.scheme != "file" or url.netloc not in ("", "localhost"):
        return None
    return unquote(url.path)


def _moved_source(dist: Any, error: BaseException) -> str | None:
    """An editable install whose source directory is gone: say to reinstall from its new
    place."""
    if not isinstance(error, ImportError):
        return None
    source = _editable_source(dist)
    if source is None or os.path.isdir(source):
        return None
    return (
        f"it was installed in editable mode from {visible(source)}, which no longer exists: "
        f"in the project's new directory, run {reinstall_command()}"
    )


def import_failure(entry_point: Any, error: BaseException) -> str | None:
    """What to do about an entry point that failed to load, when the cause is one of the
    common mistakes (a misnamed class, a moved editable source, a misnamed module); None
    otherwise."""
    module, _, attr = str(entry_point.value).split("[", 1)[0].partition(":")  # less extras
    dist = getattr(entry_point, "dist", None)
    return (
        _missing_class(module.strip(), attr.strip(), error)
        or _moved_source(dist, error)
        or _missing_module(module.strip(), error, dist)
    )


# --- the omi-openclaw range a plugin requires -----------------------------------------------


_REQUIREMENT = re.compile(
    r"\s*omi[-_.]openclaw\s*(\[[^\]]*\])?\s*(?P<spec>[^;@]*)"
    r"(;(?P<marker>.*))?$",
    re.I,
)


def requirement_conflict(distribution: str, requires: Iterable[str], installed: str) -> str | None:
    """pip check's sentence when `installed` (omi-openclaw's version) is outside a range in
    `requires` (Requires-Dist lines naming omi-openclaw), else None. A requirement whose
    marker does not apply here (another Python, an extra) is not a conflict, nor is one that
    does not parse or names a URL.

    Only packaging.specifiers is imported, and packaging.markers (which costs twice as much
    again) only for a requirement that has a marker.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    for text in requires:
        match = _REQUIREMENT.match(text)
        if match is None:
            continue
        try:
            specifier = SpecifierSet(match.group("spec").strip().strip("()"))
        except InvalidSpecifier:
            continue
        if match.group("marker") and not _marker_applies(match.group("marker")):
            continue
        if not specifier.contains(installed, prereleases=True):
            return f"{distribution} has requirement {text}, but you have omi-openclaw {installed}"
    return None


def _marker_applies(marker: str) -> bool:
    """Whether an environment marker holds here, outside any extra (an unreadable one
    does not)."""
    from packaging.markers import InvalidMarker, Marker

    try:
        return Marker(marker).evaluate({"extra": ""})
    except InvalidMarker:
        return False
