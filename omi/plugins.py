"""Plugin discovery, loading, validation and the registry, over Python entry points.

Everything here reads entry-point metadata only; a plugin's module is imported when it is
loaded, never when it is discovered. The names follow the OMI plugin development guide.
"""

from __future__ import annotations

import os
import re
import sys
import types
import weakref
from importlib import import_module
from typing import TYPE_CHECKING, Any

from omi.errors import PluginError
from omi.kinds import (
    GROUPS,
    KINDS,
    PLUGIN_GROUPS,
    PluginKind,
)

if TYPE_CHECKING:  # importlib.metadata is imported only when the index cannot answer
    from importlib import metadata

    from omi.distributions import Facts

__all__ = [
    "PLUGIN_GROUPS",
    "SUPPORTED_INTERFACE_VERSIONS",
    "InvalidPluginError",
    "PluginError",
    "PluginInfo",
    "PluginLoadError",
    "PluginRegistry",
    "PluginValidationError",
    "base_class_for",
    "discover_group",
    "discover_plugins",
    "load_plugin",
    "resolve_group",
    "validate_plugin",
]

_DEBUG, _INFO = 10, 20  # logging.DEBUG and logging.INFO


def _log(level: int, message: str, *args: Any) -> None:
    """Log to `omi.plugins` without importing logging: if no one did, no one listens (and
    `omi plugins list` starts about 3 ms sooner)."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(__name__).log(level, message, *args)


SUPPORTED_INTERFACE_VERSIONS: tuple[str, ...] = ("1.0",)

_GROUP_ALIASES: dict[str, str] = {
    **{group: group for group in GROUPS},
    **PLUGIN_GROUPS,
    **{kind.name: kind.group for kind in KINDS},
}
OWN_DISTRIBUTION = "omi-openclaw"
LOAD_SWITCH = "OMI_LOAD_PLUGINS"


class PluginLoadError(PluginError):
    """A plugin could not be found, chosen unambiguously, or imported."""


class PluginValidationError(PluginError):
    """A plugin class does not honour its interface."""


class InvalidPluginError(PluginLoadError, PluginValidationError):
    """Raised by `load_plugin` when a plugin imports but fails validation.

    It is both a load error and a validation error, so code written against either
    ``except PluginLoadError`` or ``except PluginValidationError`` catches it. `plugin` is
    the object that was imported, so callers can still report what it declared.
    """

    def __init__(self, message: str, plugin: Any) -> None:
        super().__init__(message)
        self.plugin = plugin


def resolve_group(group: str) -> str:
    """Return the entry-point group for a full or short group name ('embedding', ...)."""
    try:
        return _GROUP_ALIASES[group]
    except KeyError:
        raise PluginError(
            f"Unknown plugin group '{group}'; choose one of: {', '.join(GROUPS)}"
        ) from None


def base_class_for(group: str) -> type | None:
    """The interface every plugin of `group` must implement (None for a foreign group)."""
    kind = next((kind for kind in KINDS if kind.group == group), None)
    return None if kind is None else interface_class(kind)


def interface_class(kind: PluginKind) -> type:
    """The interface every plugin of `kind` implements (importing its module)."""
    module, attr = kind.base
    interface: type = getattr(import_module(module), attr)
    return interface


# --- discovery ------------------------------------------------------------------------------


# Entry points of one distribution share one Distribution object: its name, version and
# Requires-Dist on omi-openclaw are read once. Every scan makes new Distribution objects, so the
# cache holds them weakly: a long-running process that discovers again and again does not keep
# every scan alive.
_DIST_FACTS: weakref.WeakKeyDictionary[Any, Facts] = weakref.WeakKeyDictionary()


def _dist_facts(entry_point: metadata.EntryPoint) -> Facts:
    from omi.distributions import UNKNOWN, distribution_facts, metadata_text, report_broken

    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return UNKNOWN
    facts = getattr(dist, "omi_facts", None) or _DIST_FACTS.get(dist)  # the index knows them
    if facts is None:
        broken: list[str] = []
        facts = _DIST_FACTS[dist] = distribution_facts(metadata_text(dist, broken))
        report_broken(broken)
    return facts


def distribution_name(entry_point: metadata.EntryPoint) -> str:
    """The name of the distribution that registered `entry_point` ('?' when unknown)."""
    return _dist_facts(entry_point).name


def distribution_version(entry_point: metadata.EntryPoint) -> str:
    """The version of the distribution that registered `entry_point` ('?' when unknown)."""
    return _dist_facts(entry_point).version


def required_omi(entry_point: metadata.EntryPoint) -> list[str]:
    """The Requires-Dist lines naming omi-openclaw of the distribution of `entry_point`."""
    return list(_dist_facts(entry_point).requires_omi)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def is_builtin(entry_point: metadata.EntryPoint) -> bool:
    """True for the plugins omi-openclaw itself ships."""
    return _normalize(distribution_name(entry_point)) == OWN_DISTRIBUTION


def _sort_key(entry_point: metadata.EntryPoint) -> tuple[bool, str, str]:
    # Built-ins first, then by name: stable output whatever order sys.path lists them in.
    return (not is_builtin(entry_point), entry_point.name, distribution_name(entry_point))


def _entry_points_by_group(groups: tuple[str, ...]) -> dict[str, list[metadata.EntryPoint]]:
    """The installed entry points of `groups`, unsorted; for OMI's own groups, also those
    of groups that are near misses of them (keyed by the group they are really in)."""
    if set(groups) <= set(GROUPS):
        from omi import index

        return index.entry_points(GROUPS)  # all three: one index, whatever `groups` asks
    from omi.distributions import report_broken, scan_entry_points

    broken: list[str] = []
    scan = scan_entry_points(broken)  # one scan of sys.path, whatever the number of groups
    report_broken(broken)
    return {name: list(scan.select(group=name)) for name in groups}


def _sorted_groups(
    every: dict[str, list[metadata.EntryPoint]], groups: tuple[str, ...]
) -> dict[str, list[metadata.EntryPoint]]:
    found: dict[str, list[metadata.EntryPoint]] = {}
    for name in groups:
        entry_points = sorted(every[name], key=_sort_key)
        _log(_DEBUG, "Discovered %d plugins in group '%s'", len(entry_points), name)
        found[name] = entry_points
    return found


def discover_plugins(group: str | None = None) -> dict[str, list[metadata.EntryPoint]]:
    """Map each group (all three, or just `group`) to its installed entry points.

    A group with nothing installed maps to an empty list. Modules are not imported. OMI's
    own groups come from the persistent plugin index (omi.index), which proves itself
    current before each use and falls back to a scan otherwise.
    """
    groups = GROUPS if group is None else (group,)
    return _sorted_groups(_entry_points_by_group(groups), groups)


def _near_misses(
    every: dict[str, list[metadata.EntryPoint]],
) -> list[tuple[metadata.EntryPoint, str]]:
    found: list[tuple[metadata.EntryPoint, str]] = []
    others = [group for group in every if group not in GROUPS]
    if not others:  # the usual case: omi.diagnosis is not even imported
        return found
    from omi.diagnosis import intended_group

    for group in others:
        intended = intended_group(group, GROUPS)
        if intended is not None:
            found += [(entry_point, intended) for entry_point in every[group]]
    return sorted(found, key=lambda pair: _sort_key(pair[0]))


def discover_group(group: str) -> list[metadata.EntryPoint]:
    """The entry points installed in one group (an empty list when there are none)."""
    return discover_plugins(group)[group]


def skip_reason(entry_point: metadata.EntryPoint) -> str | None:
    """Why OMI_LOAD_PLUGINS keeps this plugin from loading, or None when it may load.

    The switch lists plugin or distribution names, comma-separated; set but empty means no
    third-party plugin at all. OMI's own plugins are never skipped.
    """
    raw = os.environ.get(LOAD_SWITCH)
    if raw is None or is_builtin(entry_point):
        return None
    allowed = {_normalize(part) for part in raw.split(",") if part.strip()}
    if not allowed:
        return f"{LOAD_SWITCH} is set but empty, so no third-party plugin loads"
    if {_normalize(entry_point.name), _normalize(distribution_name(entry_point))} & allowed:
        return None
    return f"not listed in {LOAD_SWITCH}={raw}"


# --- validation -----------------------------------------------------------------------------


def validate_plugin(plugin: Any, expected_base_class: type | None = None) -> None:
    """Check a plugin class against its interface; raise PluginValidationError if it fails.

    The checks run in the specification's order: `interface_version` present, version
    supported, right base class, every abstract method implemented; then that each of those
    methods takes the interface's parameters (a `recall` without `limit` cannot be called
    as OMI calls it). Without `expected_base_class`, the plugin must inherit from one of
    OMI's three interfaces.
    """
    _refuse_non_class(plugin)
    name = plugin.__name__

    version = getattr(plugin, "interface_version", None)
    if version is None:
        raise PluginValidationError(
            f"{name} is missing 'interface_version'; "
            f'add interface_version = "{SUPPORTED_INTERFACE_VERSIONS[-1]}" to the class'
        )
    if not isinstance(version, str) or version not in SUPPORTED_INTERFACE_VERSIONS:
        # 1.0 and "1.0" print alike: say why a number is refused.
        kind = type(version).__name__
        quote = "" if isinstance(version, str) else f"it is a {kind}, so quote it: "
        raise PluginValidationError(
            f"{name} has an incompatible interface_version {version!r} "
            f"(supported: {', '.join(SUPPORTED_INTERFACE_VERSIONS)}); "
            f'{quote}set interface_version = "{SUPPORTED_INTERFACE_VERSIONS[-1]}"'
        )

    if expected_base_class is not None:
        bases = [expected_base_class]
    else:
        bases = [interface_class(kind) for kind in KINDS]
    if not any(issubclass(plugin, base) for base in bases):
        wanted = " or ".join(f"{b.__module__}.{b.__name__}" for b in bases)
        raise PluginValidationError(f"{name} does not inherit from {wanted}; subclass it")

    missing = sorted(getattr(plugin, "__abstractmethods__", ()))
    base = next(b for b in bases if issubclass(plugin, b))
    if missing:
        raise PluginValidationError(
            f"{name} does not implement the abstract methods of {base.__name__}: "
            f"{', '.join(missing)}; implement each of them"
        )
    wrong = next(
        filter(
            None,
            (
                _uncallable(plugin, base, method)
                for method in sorted(getattr(base, "__abstractmethods__", ()))
            ),
        ),
        None,
    )
    if wrong:
        raise PluginValidationError(wrong)
    _log(_DEBUG, "Plugin '%s' passed validation (interface_version=%s)", name, version)


def _refuse_non_class(plugin: Any) -> None:
    """A function, module or instance where a class belongs: name what it is, and the fix."""
    if isinstance(plugin, type):
        return
    kind = type(plugin).__name__
    if isinstance(plugin, (types.FunctionType, types.ModuleType, types.BuiltinFunctionType)):
        raise PluginValidationError(
            f"Expected a plugin class, got {kind} {getattr(plugin, '__name__', plugin)!r}; "
            "point the entry point at the plugin class"
        )
    raise PluginValidationError(
        f"Expected a plugin class, got an instance of {kind}; pass the class {kind} itself"
    )


_VARARGS = 0x04  # inspect.CO_VARARGS, without importing inspect on every plugin load


def _uncallable(plugin: type, base: type, method: str) -> str | None:
    """Why OMI cannot call `plugin`'s `method` as the interface declares it (with each of its
    parameters, positionally, as the host does), or None. Only a plain function defined in a
    class body is read: a decorated method (`*args, **kwargs`), a staticmethod or anything
    else is left to the conformance checks."""
    defined = next((vars(cls)[method] for cls in plugin.__mro__ if method in vars(cls)), None)
    wanted = getattr(base, method, None)
    if not isinstance(defined, types.FunctionType) or not isinstance(wanted, types.FunctionType):
        return None
    code, count = defined.__code__, wanted.__code__.co_argcount  # `self` included
    required = code.co_argcount - len(defined.__defaults__ or ())
    keyword_only = set(code.co_varnames[code.co_argcount :][: code.co_kwonlyargcount])
    required_keywords = sorted(keyword_only - set(defined.__kwdefaults__ or {}))
    if required_keywords:
        return (
            f"{plugin.__name__}.{method}() needs the keyword argument"
            f"{'s' if len(required_keywords) > 1 else ''} {', '.join(required_keywords)}, "
            f"which OMI never passes; give {'them' if len(required_keywords) > 1 else 'it'}"
            f" a default"
        )
    if (code.co_argcount >= count or code.co_flags & _VARARGS) and required <= count:
        return None
    return (
        f"{plugin.__name__}.{method}({_parameters(defined)}) cannot be called as "
        f"{base.__name__}.{method}({_parameters(wanted)}) is, which is how OMI calls it; "
        f"give it the interface's parameters: def {method}({_parameters(wanted)})"
    )


def _parameters(function: types.FunctionType) -> str:
    """A function's positional parameters as written: `self, query, limit=10`."""
    code = function.__code__
    names = list(code.co_varnames[: code.co_argcount])
    defaults = list(function.__defaults__ or ())
    first = len(names) - len(defaults)  # the first parameter with a default
    shown = names[:first] + [
        f"{name}={defaults[index]!r}" for index, name in enumerate(names[first:])
    ]
    if code.co_flags & _VARARGS:
        shown.append(f"*{code.co_varnames[code.co_argcount + code.co_kwonlyargcount]}")
    return ", ".join(shown)


# --- loading --------------------------------------------------------------------------------


def _describe_source(entry_point: metadata.EntryPoint) -> str:
    return f"{distribution_name(entry_point)} {distribution_version(entry_point)}"


def _not_found(group: str, name: str, installed: list[str]) -> PluginLoadError:
    import difflib  # only on this error path: keeps loading cheap

    parts = [f"Plugin '{name}' not found in group '{group}'"]
    close = difflib.get_close_matches(name, installed, n=1)
    if close:
        parts.append(f"did you mean '{close[0]}'?")
    parts.append(f"installed: {', '.join(installed) if installed else '(none)'}")
    parts.append(
        why_not_found(name) or "check the entry points in pyproject.toml and run pip install -e ."
    )
    return PluginLoadError("; ".join(parts))


def why_not_found(name: str) -> str | None:
    """Why the plugin `name` was not found where it was looked for, when the cause is a common
    mistake: it is in another of OMI's groups, it is registered under a near miss of one, or
    the project in the working directory declares it but is not installed for this
    interpreter. None when nothing explains it."""
    from omi import diagnosis

    every = _entry_points_by_group(GROUPS)
    for group in GROUPS:
        for entry_point in every[group]:
            if entry_point.name == name:
                return (
                    f"{_describe_source(entry_point)} registers it in group '{group}': "
                    f"ask for it there"
                )
    for entry_point, intended in _near_misses(every):
        if entry_point.name == name:
            return (
                f"{_describe_source(entry_point)} has it "
                f"{diagnosis.misplaced(entry_point.group, intended)}"
            )
    return diagnosis.project_here(name, GROUPS)


def select_entry_point(
    group: str, name: str, entry_points: list[metadata.EntryPoint]
) -> metadata.EntryPoint:
    """Pick the one entry point called `name`; raise if it is missing, doubled or switched off."""
    matches = [ep for ep in entry_points if ep.name == name]
    if not matches:
        names = sorted({ep.name for ep in entry_points})
        raise _not_found(group, name, names)
    matches = _may_load(matches)
    if len(matches) > 1:
        sources = ", ".join(f"{_describe_source(ep)} ({ep.value})" for ep in matches)
        raise PluginLoadError(
            f"Plugin '{name}' in group '{group}' is registered by {len(matches)} "
            f"distributions: {sources}; uninstall all but one of them, or name the one to "
            f"load in {LOAD_SWITCH}"
        )
    entry_point = matches[0]
    reason = skip_reason(entry_point)
    if reason:
        raise PluginLoadError(
            f"Plugin '{name}' was not loaded: {reason}; add it to {LOAD_SWITCH} or unset it"
        )
    return entry_point


def _may_load(same_name: list[metadata.EntryPoint]) -> list[metadata.EntryPoint]:
    """Entry points of one name, less those OMI_LOAD_PLUGINS keeps out when that leaves one:
    naming one of two distributions that register a name settles which one loads."""
    allowed = [ep for ep in same_name if skip_reason(ep) is None]
    return same_name if len(allowed) > 1 else (allowed or same_name[:1])


def import_plugin(entry_point: metadata.EntryPoint) -> Any:
    """Import the object an entry point names, turning any failure into PluginLoadError."""
    _log(_INFO, "Loading plugin '%s' from group '%s'", entry_point.name, entry_point.group)
    from omi.distributions import split_value

    if split_value(entry_point.value) is None:  # importlib.metadata would fail obscurely
        raise PluginLoadError(
            f"Plugin '{entry_point.name}' from {_describe_source(entry_point)} names "
            f"{entry_point.value!r}, which is not a module with an optional ':attribute' "
            f"(e.g. my_plugin.provider:MyEmbedder); fix the entry point in the plugin's "
            f"pyproject.toml and reinstall it"
        )
    try:
        return entry_point.load()
    except (Exception, SystemExit) as error:
        from omi.diagnosis import import_failure

        hint = import_failure(entry_point, error)
        raise PluginLoadError(
            f"Plugin '{entry_point.name}' from {_describe_source(entry_point)} failed to "
            f"import {entry_point.value}: {type(error).__name__}: {error}"
            + (f"; {hint}" if hint else "")
        ) from error


def _load(
    group: str,
    name: str,
    entry_points: list[metadata.EntryPoint],
    expected_base_class: type | None,
) -> type:
    entry_point = select_entry_point(group, name, entry_points)
    plugin = import_plugin(entry_point)
    base = expected_base_class if expected_base_class is not None else base_class_for(group)
    try:
        validate_plugin(plugin, base)
    except PluginValidationError as error:
        raise InvalidPluginError(
            f"Plugin '{name}' from {_describe_source(entry_point)} failed validation: {error}",
            plugin,
        ) from error
    assert isinstance(plugin, type)  # validate_plugin refuses anything else
    return plugin


def load_plugin(group: str, name: str, expected_base_class: type | None = None) -> type:
    """Import and validate the plugin `name` of `group`, and return its class.

    The base class defaults to the group's interface. Raises PluginLoadError when the
    plugin is missing, registered twice, switched off or fails to import, and
    InvalidPluginError (a PluginLoadError and a PluginValidationError) when it is invalid.
    """
    return _load(group, name, discover_group(group), expected_base_class)


# --- registry -------------------------------------------------------------------------------


class PluginInfo:
    """What OMI knows of one installed plugin; `to_dict()` is the JSON shape of `plugins list`."""

    # Not a dataclass: importing dataclasses (and inspect) costs a warm `plugins list` 9 ms of 48.

    __slots__ = (
        "name",
        "group",
        "module",
        "attr",
        "version",
        "interface_version",
        "loaded",
        "error",
        "distribution",
        "skipped",
        "requires_omi",
        "conflict",
    )

    def __init__(
        self,
        name: str,
        group: str,
        module: str,
        attr: str,
        version: str | None = None,
        interface_version: str | None = None,
        loaded: bool = False,
        error: str | None = None,
        distribution: str | None = None,
        skipped: str | None = None,
        requires_omi: list[str] | None = None,
        conflict: str | None = None,
    ) -> None:
        self.name = name
        self.group = group
        self.module = module
        self.attr = attr
        self.version = version
        self.interface_version = interface_version
        self.loaded = loaded
        self.error = error
        self.distribution = distribution
        self.skipped = skipped
        #: The Requires-Dist lines of its distribution that name omi-openclaw.
        self.requires_omi = list(requires_omi or [])
        #: pip check's sentence when the installed omi-openclaw is outside that range.
        self.conflict = conflict

    def __repr__(self) -> str:
        fields = ", ".join(f"{field}={getattr(self, field)!r}" for field in self.__slots__)
        return f"PluginInfo({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PluginInfo):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    @property
    def class_name(self) -> str:
        """The class the entry point names (the module's name when it names only a module)."""
        return (self.attr or self.module).rsplit(".", 1)[-1]

    @property
    def status(self) -> str:
        """'ok' (loaded and valid), 'error', 'skipped', or 'unloaded' (not tried yet)."""
        if self.error:
            return "error"
        if self.skipped:
            return "skipped"
        return "ok" if self.loaded else "unloaded"

    @property
    def builtin(self) -> bool:
        """True for the plugins omi-openclaw itself ships."""
        return _normalize(self.distribution or "") == OWN_DISTRIBUTION

    def to_dict(self) -> dict[str, Any]:
        """This plugin as one entry of `omi plugins list --format json`."""
        fields = {field: getattr(self, field) for field in self.__slots__}
        return {**fields, "class_name": self.class_name, "status": self.status}


class PluginRegistry:
    """Discovers plugins once, loads them on demand and caches what it loaded.

    Failures are remembered per plugin, so listing every plugin never raises; loading one
    that failed raises its error again.
    """

    def __init__(self) -> None:
        self._entry_points: dict[str, list[metadata.EntryPoint]] = {}
        self._classes: dict[tuple[str, str], type] = {}
        self._errors: dict[tuple[str, str], str] = {}
        self._rejected: dict[tuple[str, str], Any] = {}  # imported but failed validation
        self._misplaced: list[tuple[metadata.EntryPoint, str]] = []  # (entry point, intended)
        #: Seconds each load took (import and validation), by (group, name): what
        #: `python -X importtime` would charge the plugin, for `plugins list --verbose`.
        self.import_seconds: dict[tuple[str, str], float] = {}

    def discover_all(self) -> dict[str, list[metadata.EntryPoint]]:
        """Scan the environment for every group's entry points (again, if called again)."""
        every = _entry_points_by_group(GROUPS)
        self._entry_points = _sorted_groups(every, GROUPS)
        self._misplaced = _near_misses(every)
        return dict(self._entry_points)

    def misplaced(self, groups: tuple[str, ...] = GROUPS) -> list[tuple[PluginInfo, str]]:
        """The plugins OMI does not load because they are registered under a near miss of
        one of `groups` ('omi.embedding_provider'), each with the group it was meant to be in;
        each one's `error` says so. Nothing is imported."""
        if not self._entry_points:
            self.discover_all()
        found: list[tuple[PluginInfo, str]] = []
        for entry_point, intended in self._misplaced:
            if intended in groups:
                from omi.diagnosis import misplaced  # only when there is one: an error path

                info = self._plugin_info(entry_point.group, [entry_point])
                info.error = misplaced(entry_point.group, intended)
                found.append((info, intended))
        return found

    def _group(self, group: str) -> list[metadata.EntryPoint]:
        if group not in self._entry_points:
            if not self._entry_points and group in GROUPS:
                self.discover_all()
            else:
                self._entry_points.update(discover_plugins(group))
        return self._entry_points[group]

    def get_plugins(self, group: str) -> dict[str, PluginInfo]:
        """The plugins of `group` by name, discovering on first use; nothing is imported."""
        by_name: dict[str, list[metadata.EntryPoint]] = {}
        for entry_point in self._group(group):
            by_name.setdefault(entry_point.name, []).append(entry_point)
        return {
            name: self._plugin_info(
                group, same_name if len(same_name) == 1 else _may_load(same_name)
            )
            for name, same_name in by_name.items()
        }

    def list_all(self) -> dict[str, dict[str, PluginInfo]]:
        """`get_plugins` for each of the three groups."""
        return {group: self.get_plugins(group) for group in GROUPS}

    def load(self, group: str, name: str, expected_base_class: type | None = None) -> type:
        """Load, validate and cache a plugin class; a cached class is returned at once."""
        key = (group, name)
        if key in self._classes:
            return self._classes[key]
        from time import perf_counter

        entry_points = self._group(group)
        started = perf_counter()
        try:
            plugin = _load(group, name, entry_points, expected_base_class)
        except PluginError as error:
            self.import_seconds[key] = perf_counter() - started
            self._errors[key] = str(error)
            if isinstance(error, InvalidPluginError):
                self._rejected[key] = error.plugin
            raise
        self.import_seconds[key] = perf_counter() - started
        self._errors.pop(key, None)
        self._rejected.pop(key, None)
        self._classes[key] = plugin
        return plugin

    def is_loaded(self, group: str, name: str) -> bool:
        return (group, name) in self._classes

    def load_all(self, group: str | None = None) -> dict[str, dict[str, PluginInfo]]:
        """Try to load every plugin (of `group`, or of all groups) and report each outcome.

        Plugins switched off by OMI_LOAD_PLUGINS are reported as skipped, not imported.
        """
        groups = GROUPS if group is None else (group,)
        report: dict[str, dict[str, PluginInfo]] = {}
        for name in groups:
            for plugin_name, info in self.get_plugins(name).items():
                if info.skipped is None and not self.is_loaded(name, plugin_name):
                    try:
                        self.load(name, plugin_name)
                    except PluginError:
                        pass
            report[name] = self.get_plugins(name)
        return report

    def _plugin_info(self, group: str, same_name: list[metadata.EntryPoint]) -> PluginInfo:
        """The record of one plugin name, from the entry points that may load under it."""
        entry_point = same_name[0]
        key = (group, entry_point.name)
        module, _, attr = entry_point.value.partition(":")
        plugin = self._classes.get(key)
        declared = plugin if plugin is not None else self._rejected.get(key)
        error = self._errors.get(key)
        if len(same_name) > 1 and error is None:
            error = (
                f"registered by {len(same_name)} distributions: "
                f"{', '.join(_describe_source(ep) for ep in same_name)}; uninstall all but one, "
                f"or name the one to load in {LOAD_SWITCH}"
            )
        return PluginInfo(
            name=entry_point.name,
            group=group,
            module=module.strip(),
            attr=attr.strip(),
            version=distribution_version(entry_point),
            interface_version=_declared_version(declared),
            loaded=plugin is not None,
            error=error,
            distribution=distribution_name(entry_point),
            skipped=skip_reason(entry_point),
            requires_omi=required_omi(entry_point),
            conflict=_dist_facts(entry_point).omi_conflict,
        )


def _declared_version(plugin: Any) -> str | None:
    version = getattr(plugin, "interface_version", None) if plugin is not None else None
    return None if version is None else str(version)
