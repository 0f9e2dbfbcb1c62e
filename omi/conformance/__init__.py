"""The conformance suite: named checks that prove a plugin behaves, not just that it has the
right shape. Plain Python (no pytest); `omi plugins check` and `omi.testing` both run it.

Names are imported on first use, so the child process that runs checks loads only the modules
it needs (not the report renderers, for instance): its start-up is part of every check run.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names of _HOMES with their types (tests/test_typing.py compares them)
    from omi.conformance.authoring import Check, CheckFailure, Context
    from omi.conformance.building import instance_factory
    from omi.conformance.check import check_plugins
    from omi.conformance.outcome import Outcome, execute
    from omi.conformance.registry import (
        CAPABILITIES,
        REGISTRY,
        SUITE_VERSION,
        all_checks,
        checks_for,
    )
    from omi.conformance.report import RENDERERS, summary_line
    from omi.conformance.suite import Report, run_suite, select_checks
    from omi.conformance.target import Target, interface_of

_HOMES = {
    "check": ("check_plugins",),
    "authoring": ("Check", "CheckFailure", "Context"),
    "registry": ("CAPABILITIES", "REGISTRY", "SUITE_VERSION", "all_checks", "checks_for"),
    "report": ("RENDERERS", "summary_line"),
    "outcome": ("Outcome", "execute"),
    "suite": ("Report", "run_suite", "select_checks"),
    "target": ("Target", "interface_of"),
    "building": ("instance_factory",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [  # sorted(_MODULE_OF), written out so that type checkers see the names exported
    "CAPABILITIES",
    "Check",
    "CheckFailure",
    "Context",
    "Outcome",
    "REGISTRY",
    "RENDERERS",
    "Report",
    "SUITE_VERSION",
    "Target",
    "all_checks",
    "check_plugins",
    "checks_for",
    "execute",
    "instance_factory",
    "interface_of",
    "run_suite",
    "select_checks",
    "summary_line",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'omi.conformance' has no attribute {name!r}")
    return getattr(import_module(f"omi.conformance.{module}"), name)
