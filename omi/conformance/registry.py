"""The one registry of named checks that both `omi plugins check` and `omi.testing` run.

A check is a plain function taking a `Context`, marked by `authoring.check`; it passes by
returning and fails by raising `CheckFailure`. The registry lists its check modules
(`CHECK_MODULES`) and collects the marked functions from them on first use, so that the check
modules never import the registry and the import graph has no cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from omi import __version__
from omi.conformance.authoring import MARK, Check, CheckFailure, Context
from omi.errors import did_you_mean

# Capabilities a plugin may declare in `conformance_capabilities`.
CAPABILITIES = {
    "deterministic": "embedding: the same text always gives the same vector, in any process",
    "semantic": "embedding: similarity tracks meaning (related texts score higher)",
    "persistent": "storage: data survives close() and a new instance on the same location",
    "shared": "storage: separate instances see the same data (e.g. one server)",
}

#: The release of this suite: omi-openclaw's version. A check added by a later release says
#: so with `since=`, and pytest suites whose `suite_version` is older report it as new.
SUITE_VERSION = __version__

#: The modules whose marked functions are the suite, in the order checks run and are listed
#: (datasette lists its built-in plugins the same way).
CHECK_MODULES = (
    "omi.conformance.embedding",
    "omi.conformance.storage",
    "omi.conformance.storage_inputs",
    "omi.conformance.events",
    "omi.conformance.threads",
    "omi.conformance.service_failure",
)

REGISTRY: dict[str, Check] = {}

__all__ = [
    "CAPABILITIES",
    "CHECK_MODULES",
    "REGISTRY",
    "SUITE_VERSION",
    "Check",
    "CheckFailure",
    "Context",
    "all_checks",
    "checks_for",
    "collect",
    "unknown_check",
]


def collect(modules: Iterable[str]) -> dict[str, Check]:
    """The checks marked in `modules`, by name, in the order they are defined; ValueError
    when two have one name."""
    found: dict[str, Check] = {}
    for module_name in modules:
        module = import_module(module_name)
        for value in vars(module).values():
            marked = getattr(value, MARK, None)
            if not isinstance(marked, Check) or value.__module__ != module_name:
                continue  # not a check, or one imported from another module
            if marked.name in found:
                raise ValueError(f"two checks are named {marked.name!r}")
            found[marked.name] = marked
    return found


def _load_check_modules() -> None:
    """Fill REGISTRY from CHECK_MODULES, once; checks added to it since (a later release's,
    simulated in tests) come after them."""
    if not _COLLECTED:
        REGISTRY.update({**collect(CHECK_MODULES), **REGISTRY})
        _COLLECTED.append(True)


_COLLECTED: list[bool] = []


def checks_for(interface: str) -> list[Check]:
    """Every registered check of one interface, in registration order."""
    _load_check_modules()
    return [c for c in REGISTRY.values() if c.interface == interface]


def all_checks() -> list[Check]:
    _load_check_modules()
    return list(REGISTRY.values())


def unknown_check(name: str, interface: str | None = None) -> str | None:
    """Why `name` is not a check (of `interface`, when given), with the closest name, for an
    error message; None when it is one."""
    checks = {c.name: c for c in all_checks()}
    known = checks.get(name)
    if known is not None and interface in (None, known.interface):
        return None
    if known is not None:
        return (
            f"{name!r}, which is {_article(known.interface)} check, not {_article(interface)} "
            f"one; see omi plugins check --list-checks {interface}"
        )
    candidates = [c.name for c in checks.values() if interface in (None, c.interface)]
    kind = f"{_article(interface)} check" if interface else "a check"
    return (
        f"{name!r}, which is not {kind}{did_you_mean(name, candidates)}; see omi plugins "
        f"check --list-checks{' ' + interface if interface else ''}"
    )


def _article(word: str | None) -> str:
    """`word` with "a" or "an" before it."""
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"
