"""Checking one plugin: validation first, then the behavioural checks that apply to it."""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field

from omi.conformance.authoring import CALL_TIMEOUT, Check
from omi.conformance.messages import RunSettings
from omi.conformance.outcome import (
    ADVISORY,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT,
    FAILED,
    NOT_TESTED,
    SKIPPED,
    STATUSES,
    XPASS,
    Outcome,
    apply_known_failures,
)
from omi.conformance.registry import checks_for
from omi.conformance.runner import run_in_child
from omi.conformance.target import Declared, Target


def select_checks(interface: str, pattern: str | None) -> list[Check]:
    """The checks of `interface` whose name contains `pattern` or matches it as a glob."""
    checks = checks_for(interface)
    if pattern:
        checks = [c for c in checks if pattern in c.name or fnmatch.fnmatchcase(c.name, pattern)]
    return checks


@dataclass
class Report:
    """Everything `omi plugins check` says about one plugin."""

    label: str
    interface: str
    seed: int
    validation_error: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    wall_time: float = 0.0

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return counts

    @property
    def untested(self) -> str | None:
        """Why the plugin was not tested (its service could not be reached), or None."""
        return next((o.message for o in self.outcomes if o.status == NOT_TESTED), None)

    def exit_code(self, strict: bool = False) -> int:
        """2 when validation failed, 1 when a check failed (or, under strict, gave an
        advisory or xpassed), 3 when it was not tested (NOT_TESTED_EXIT), else 0."""
        if self.validation_error is not None:
            return 2
        bad = {FAILED, ADVISORY, XPASS} if strict else {FAILED}
        if any(o.status in bad for o in self.outcomes):
            return 1
        return NOT_TESTED_EXIT if self.untested else 0


#: The exit code of a run in which no plugin could be tested (see `exit_code`).
NOT_TESTED_EXIT = 3


def exit_code(reports: list[Report], strict: bool = False) -> int:
    """The exit code of a run: a plugin that is wrong wins (2 for validation, else 1); when
    none is, 3 if every plugin was not tested (nothing could be tested), else 0: the plugins
    that were tested passed, and those whose service was out of reach are reported so."""
    codes = [report.exit_code(strict) for report in reports]
    wrong = [code for code in codes if code != NOT_TESTED_EXIT]
    if codes and not wrong:
        return NOT_TESTED_EXIT
    return max(wrong, default=0)


def run_suite(
    target: Target | Declared,
    pattern: str | None = None,
    seed: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> Report:
    """Run the behavioural checks of `target` (validation is the caller's phase 1), each
    child process limited to `memory_limit` bytes of address space (None: no limit)."""
    return run_suite_with(target, pattern, RunSettings(seed, timeout, CALL_TIMEOUT, memory_limit))


def run_suite_with(target: Target | Declared, pattern: str | None, settings: RunSettings) -> Report:
    """`run_suite` with the settings of the run as one record."""
    start = time.perf_counter()
    report = Report(target.label, target.interface, settings.seed)
    capabilities, known = target.capabilities, target.known_failures
    runnable: list[Check] = []
    skipped: dict[str, Outcome] = {}
    for check in select_checks(target.interface, pattern):
        reason = check.skip_reason(capabilities)
        if reason:
            skipped[check.name] = Outcome(check.name, SKIPPED, 0.0, reason)
        else:
            runnable.append(check)
    ran = {
        o.name: o
        for o in run_in_child(target.import_path, target.options, runnable, capabilities, settings)
    }
    for check in select_checks(target.interface, pattern):
        outcome = skipped.get(check.name) or ran[check.name]
        report.outcomes.append(apply_known_failures(outcome, known))
    report.wall_time = time.perf_counter() - start
    return report
