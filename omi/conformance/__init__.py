"""The conformance suite: named checks that prove a plugin behaves, not just that it has the
right shape. Plain Python (no pytest); `omi plugins check` and `omi.testing` both run it."""

from omi.conformance.registry import (
    CAPABILITIES,
    REGISTRY,
    SUITE_VERSION,
    Check,
    CheckFailure,
    Context,
    all_checks,
    checks_for,
)
from omi.conformance.report import RENDERERS, summary_line
from omi.conformance.runner import Outcome, execute
from omi.conformance.suite import Report, run_suite, select_checks
from omi.conformance.target import Target, instance_factory, interface_of

__all__ = [
    "CAPABILITIES", "REGISTRY", "RENDERERS", "SUITE_VERSION", "Check", "CheckFailure",
    "Context", "Outcome", "Report", "Target", "all_checks", "checks_for", "execute",
    "instance_factory", "interface_of", "run_suite", "select_checks", "summary_line",
]
