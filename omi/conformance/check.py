"""`check_plugins`: the whole of `omi plugins check` as one library call.

For each plugin: phase 1 resolves and validates it (a failure is a report with a validation
error, exit 2), phase 2 runs its checks in child processes. The command line only parses its
arguments, calls this and renders the reports.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from omi.conformance import runner
from omi.conformance.outcome import DEFAULT_MEMORY_LIMIT
from omi.conformance.suite import Report, run_suite, select_checks
from omi.conformance.target import resolve_target
from omi.errors import UsageError
from omi.plugins import (
    GROUPS,
    PluginError,
    PluginValidationError,
    discover_plugins,
    skip_reason,
    validate_plugin,
)

__all__ = ["check_plugins", "installed_plugin_names"]


def installed_plugin_names() -> List[str]:
    """GROUP:NAME of every installed plugin that may load; a name two distributions register
    is one (failing) plugin, listed once."""
    return list(dict.fromkeys(f"{group}:{ep.name}" for group, eps in discover_plugins().items()
                              if group in GROUPS for ep in eps if skip_reason(ep) is None))


def check_plugins(names: Optional[Sequence[str]] = None, group: Optional[str] = None,
                  options: Optional[Dict[str, Any]] = None, pattern: Optional[str] = None,
                  seed: int = 0, timeout: float = 60.0,
                  memory_limit: Optional[int] = DEFAULT_MEMORY_LIMIT) -> List[Report]:
    """Check the plugins `names` (plugin names, GROUP:NAME or package.module:Class), or every
    installed plugin when `names` is None; one Report per plugin checked.

    Checking every plugin reports a plugin that cannot be resolved instead of raising, and
    leaves out plugins without a check matching `pattern`. A single plugin that cannot be
    found raises PluginError; a bad --option or a pattern matching nothing raises UsageError.
    SIGINT and SIGTERM raise `runner.Interrupted` once the check processes are gone.
    """
    try:
        runner.forks()  # OMI_CHECK_PROCESS is valid
    except ValueError as error:
        raise UsageError(str(error)) from None
    check_all = names is None
    with runner.supervised():
        reports = _check_each(installed_plugin_names() if check_all else list(names), group,
                              options or {}, pattern, seed, timeout, memory_limit, check_all)
    if not reports:
        raise UsageError("nothing to check: no installed plugin has a check matching the "
                         "selection; see omi plugins list and --list-checks")
    return reports


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _check_each(names: List[str], group: Optional[str], options: Dict[str, Any],
                pattern: Optional[str], seed: int, timeout: float,
                memory_limit: Optional[int], check_all: bool) -> List[Report]:
    """Phase 1 and phase 2 for each plugin named; a report per plugin."""
    reports = []
    for plugin_name in names:
        runner.prestart()  # the child starts up while this process imports and validates
        try:
            target, base = resolve_target(plugin_name, group, options)
        except PluginError as error:
            if not check_all:
                raise
            reports.append(Report(plugin_name, "?", seed, _one_line(error)))
            continue
        try:
            validate_plugin(target.plugin_class, base)
            target.check_declarations()
        except (PluginValidationError, ValueError) as error:
            reports.append(Report(target.label, "?", seed, _one_line(error)))
            continue
        if options and not check_all and not callable(
                getattr(target.plugin_class, "conformance_factory", None)):
            from omi.config import options_problem

            problem = options_problem(target.plugin_class, options, partial=True)
            if problem:  # a typo in --option, said once instead of under every check
                raise UsageError(f"--option: {target.plugin_class.__name__} {problem}")
        if pattern and not select_checks(target.interface, pattern):
            if check_all:
                continue
            raise UsageError(f"no {target.interface} check matches -k {pattern!r}; "
                             f"see omi plugins check --list-checks {target.interface}")
        reports.append(run_suite(target, pattern, seed, timeout, memory_limit=memory_limit))
    return reports
