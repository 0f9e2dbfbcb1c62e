"""What is being checked: the plugin class, its interface, declarations, and how to build it."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from omi.conformance.building import _takes_directory
from omi.conformance.registry import CAPABILITIES
from omi.kinds import GROUPS, KINDS
from omi.plugins import interface_class

INTERFACE_OF_GROUP = {kind.group: kind.name for kind in KINDS}
#: The interface of a plugin that could not be resolved far enough to know it.
UNKNOWN = "?"


def interface_of(plugin_class: type) -> str:
    """'embedding', 'storage' or 'event', from the OMI base class the plugin inherits."""
    for kind in KINDS:
        if issubclass(plugin_class, interface_class(kind)):
            return kind.name
    raise TypeError(f"{plugin_class.__name__} implements none of OMI's plugin interfaces")


def declared_capabilities(plugin_class: type) -> frozenset[str]:
    declared = frozenset(getattr(plugin_class, "conformance_capabilities", ()) or ())
    unknown = sorted(declared - set(CAPABILITIES))
    if unknown:
        raise ValueError(
            f"{plugin_class.__name__}.conformance_capabilities has unknown "
            f"{', '.join(map(repr, unknown))}; known: {', '.join(sorted(CAPABILITIES))}"
        )
    return declared


def check_known_failures(owner: str, known: dict[str, Any], interface: str) -> dict[str, str]:
    """`known` if every key names a check of `interface` with a reason; else ValueError,
    which suggests the check a mistyped name was meant to be."""
    from omi.conformance.registry import unknown_check

    for name, reason in known.items():
        problem = unknown_check(name, interface)
        if problem:
            raise ValueError(f"{owner} names {problem}")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{owner}['{name}'] needs a reason (a non-empty string)")
    return dict(known)


def declared_known_failures(plugin_class: type) -> dict[str, str]:
    known = dict(getattr(plugin_class, "conformance_known_failures", {}) or {})
    return check_known_failures(
        f"{plugin_class.__name__}.conformance_known_failures", known, interface_of(plugin_class)
    )


def options_problem(plugin_class: type, options: dict[str, Any]) -> str | None:
    """Why the suite cannot build `plugin_class` with `options` (naming the options, never
    their values), or None: a conformance_factory that takes no such keyword, or (without
    one) a constructor that does not take them."""
    custom = getattr(plugin_class, "conformance_factory", None)
    if not callable(custom):
        from omi.config import options_problem as constructor_problem

        problem = constructor_problem(plugin_class, options, partial=True)
        return problem and f"{plugin_class.__name__} {problem}"
    try:
        parameters = list(inspect.signature(custom).parameters.values())
    except (TypeError, ValueError):  # no signature to read: the call itself will tell
        return None
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        return None
    if _takes_directory(custom):  # the first parameter is given the directory
        parameters = parameters[1:]
    accepted = [
        parameter.name
        for parameter in parameters
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]
    unknown = [key for key in options if key not in accepted]
    if not unknown:
        return None
    name = plugin_class.__name__
    return (
        f"{name}.conformance_factory() does not accept option"
        f"{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; let it take the options "
        f"and pass them on: def conformance_factory(cls, directory, **options), calling "
        f"{name}(..., **options)"
    )


@dataclass
class Target:
    """A plugin under check."""

    plugin_class: type
    import_path: str  # "module:Class", so a child process can import the same class
    label: str  # how reports name it, e.g. "my-embedder (MyCustomEmbedder)"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def interface(self) -> str:
        return interface_of(self.plugin_class)

    @property
    def capabilities(self) -> frozenset[str]:
        return declared_capabilities(self.plugin_class)

    @property
    def known_failures(self) -> dict[str, str]:
        return declared_known_failures(self.plugin_class)

    def check_declarations(self) -> None:
        """Raise ValueError when the conformance declarations are malformed (phase 1)."""
        self.capabilities  # noqa: B018 - evaluated for its errors
        self.known_failures  # noqa: B018


@dataclass(frozen=True)
class Declared:
    """A plugin as phase 1 found it, in plain data: all that the process which writes the
    report knows of it, since it never imports the plugin. `run_suite` takes it like a Target."""

    label: str
    import_path: str
    interface: str
    capabilities: frozenset[str]
    known_failures: dict[str, str]
    options: dict[str, Any]


def describe(name: str, group: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """Phase 1 (run in a check process): resolve, import and validate the plugin `name`, and
    read its declarations. Plain, JSON-able data: {"error": "load" or "invalid", "message"
    (and "label" when it loaded)}, or the fields of `Declared` plus "options_problem" (a
    constructor that does not take --option's keys, or None)."""
    from omi.plugins import PluginError, PluginValidationError, validate_plugin

    try:
        target, base = resolve_target(name, group, options)
    except PluginError as error:
        return {"error": "load", "message": str(error)}
    try:
        validate_plugin(target.plugin_class, base)
        target.check_declarations()
    except (PluginValidationError, ValueError) as error:
        return {
            "error": "invalid",
            "label": target.label,
            "message": str(error),
            "interface": _interface_or_unknown(target.plugin_class, base),
        }
    return {
        "label": target.label,
        "import_path": target.import_path,
        "interface": target.interface,
        "capabilities": sorted(target.capabilities),
        "known_failures": target.known_failures,
        "options_problem": options_problem(target.plugin_class, options) if options else None,
    }


def _interface_or_unknown(plugin_class: Any, base: type | None) -> str:
    """The interface a plugin that failed validation implements, or was meant to (its
    group's); UNKNOWN when neither says."""
    for candidate in (plugin_class, base):
        if isinstance(candidate, type):
            try:
                return interface_of(candidate)
            except TypeError:  # implements none of them
                continue
    return UNKNOWN


def parse_option(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` from the command line; VALUE is read as JSON when it is JSON, else as str."""
    import json

    key, sep, raw = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise ValueError(f"--option takes KEY=VALUE with KEY a Python identifier, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def resolve_target(
    name: str, group: str | None = None, options: dict[str, Any] | None = None
) -> tuple[Target, type | None]:
    """Find the plugin `name` ("name", "group:name" or "package.module:Class") and import it.

    Returns the target and the base class it must implement (None when an import path names
    no OMI interface's subclass: validation then explains). Raises PluginLoadError when it
    cannot be found, is ambiguous, or fails to import; nothing is validated yet.
    """
    from omi import plugins

    options = dict(options or {})
    prefix, sep, rest = name.partition(":")
    named_group = None
    if sep and group is None:
        try:
            named_group = plugins.resolve_group(prefix)
        except plugins.PluginError:
            named_group = None
    if named_group is not None:
        group, name = named_group, rest
    elif sep and group is None:  # an import path: module:Class
        try:
            plugin_class: Any = __import__(prefix, fromlist=["_"])  # the module, then its attrs
            for part in rest.split("."):
                plugin_class = getattr(plugin_class, part)
        except (Exception, SystemExit) as error:  # whatever the module raises on import
            raise plugins.PluginLoadError(
                f"Cannot import {name}: {type(error).__name__}: {error}; "
                f"{_not_importable_here(name, error)}"
            ) from error
        return Target(plugin_class, name, name, options), interface_base(plugin_class)
    groups = (plugins.resolve_group(group),) if group else GROUPS
    found = plugins.discover_plugins()
    matches = [g for g in groups if any(ep.name == name for ep in found.get(g, ()))]
    if not matches:
        if group is None:
            installed = sorted({ep.name for g in GROUPS for ep in found[g]})
            raise plugins.PluginLoadError(
                f"Plugin '{name}' not found in any group; installed: "
                f"{', '.join(installed) or '(none)'}; "
                f"{plugins.why_not_found(name) or 'check `omi plugins list`'}"
            )
        plugins.select_entry_point(groups[0], name, found[groups[0]])  # raises not found
    if len(matches) > 1:
        raise plugins.PluginLoadError(
            f"Plugin '{name}' is in {len(matches)} groups; say which: "
            f"{', '.join(f'{g}:{name}' for g in matches)} (or --group)"
        )
    chosen = matches[0]
    entry_point = plugins.select_entry_point(chosen, name, found[chosen])
    plugin_class = plugins.import_plugin(entry_point)
    source = f"{plugins.distribution_name(entry_point)} {plugins.distribution_version(entry_point)}"
    label = f"{name} ({getattr(plugin_class, '__name__', entry_point.value)}) from {source}"
    return Target(plugin_class, entry_point.value, label, options), plugins.base_class_for(chosen)


@contextmanager
def source_root(name: str) -> Iterator[None]:
    """Within the block, ./src is on sys.path when `name` is an import path (module:Class)
    whose top-level package is not importable but sits in ./src: a src-layout project (as
    `omi plugins new` makes) checked from its directory before it is installed. The check
    processes started inside the block inherit it."""
    import importlib.util

    module, sep, _ = name.partition(":")
    top = module.split(".", 1)[0]
    source = os.path.abspath("src")
    found = (
        sep
        and top.isidentifier()
        and (
            os.path.isfile(os.path.join(source, top, "__init__.py"))
            or os.path.isfile(os.path.join(source, f"{top}.py"))
        )
    )
    if not found or source in sys.path or importlib.util.find_spec(top) is not None:
        yield
        return
    sys.path.insert(0, source)
    try:
        yield
    finally:
        if source in sys.path:
            sys.path.remove(source)


def _not_importable_here(name: str, error: BaseException) -> str:
    """The fix for an import path whose module sits in the current directory, which the
    `omi` command does not import from (as `python -m` would): PYTHONPATH=. names it."""
    top = name.split(":", 1)[0].split(".", 1)[0]
    here = next(
        (path for path in (f"{top}.py", os.path.join(top, "__init__.py")) if os.path.isfile(path)),
        None,
    )
    if isinstance(error, ModuleNotFoundError) and error.name == top and here:
        return (
            f"{here} is in the current directory, which omi does not import from: run "
            f"PYTHONPATH=. omi plugins check {name}, or install the project"
        )
    return "give an installed plugin name or an importable module:Class"


def interface_base(plugin_class: Any) -> type | None:
    """The OMI interface a class implements, or None (validation will then explain)."""
    try:
        interface = interface_of(plugin_class)
    except (TypeError, AttributeError):
        return None
    from omi.plugins import base_class_for

    group = {v: k for k, v in INTERFACE_OF_GROUP.items()}[interface]
    return base_class_for(group)
