"""`check_plugins`: the whole of `omi plugins check` as one library call.

For each plugin: phase 1 resolves and validates it (a failure is a report with a validation
error, exit 2), phase 2 runs its checks; both in child processes, so this process never
imports the plugin. The command line only parses its arguments, calls this and renders the
reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omi.conformance import runner
from omi.conformance.messages import RunSettings
from omi.conformance.registry import all_checks, checks_for
from omi.conformance.suite import Report, run_suite_with, select_checks
from omi.conformance.target import INTERFACE_OF_GROUP, UNKNOWN, Declared, source_root
from omi.errors import UsageError, did_you_mean
from omi.kinds import GROUPS
from omi.plugins import (
    PluginLoadError,
    PluginRegistry,
    discover_plugins,
    is_builtin,
    resolve_group,
    skip_reason,
)
from omi.textsafety import one_line

__all__ = ["check_plugins", "installed_plugin_names", "misplaced_reports"]

_DEFAULTS = RunSettings()  # frozen: one instance serves every call


def installed_plugin_names(group: str | None = None, builtins: bool = True) -> list[str]:
    """GROUP:NAME of every installed plugin (of `group` only, a full or short group name) that
    may load, those that ship with omi-openclaw too unless `builtins` is False; a name two
    distributions register is one (failing) plugin, listed once."""
    groups = (resolve_group(group),) if group else GROUPS
    return list(
        dict.fromkeys(
            f"{name}:{ep.name}"
            for name, eps in discover_plugins().items()
            if name in groups
            for ep in eps
            if skip_reason(ep) is None and (builtins or not is_builtin(ep))
        )
    )


def misplaced_reports(group: str | None = None, seed: int = 0) -> list[Report]:
    """A failed phase 1 for each plugin registered under a near miss of one of OMI's groups
    (of `group`, when given, by the group it was meant for): OMI never loads it, so checking
    every plugin must not pass without it. Its message is the one `omi plugins list` gives.
    Plugins that OMI_LOAD_PLUGINS keeps out are left out, as from the rest of `--all`."""
    groups = (resolve_group(group),) if group else GROUPS
    return [
        Report(
            f"{info.group}:{info.name} ({info.class_name}) from {info.distribution} {info.version}",
            INTERFACE_OF_GROUP[intended],
            seed,
            one_line(info.error),
        )
        for info, intended in PluginRegistry().misplaced(groups)
        if info.skipped is None
    ]


def check_plugins(
    names: Sequence[str] | None = None,
    group: str | None = None,
    options: dict[str, Any] | None = None,
    pattern: str | None = None,
    settings: RunSettings = _DEFAULTS,
    builtins: bool = True,
) -> list[Report]:
    """Check the plugins `names` (plugin names, GROUP:NAME or package.module:Class), or every
    installed plugin when `names` is None (less OMI's own when `builtins` is False), each
    with `options` and `settings`; one Report per plugin checked.

    Checking every plugin (of `group`, when given) reports a plugin that cannot be resolved
    instead of raising, leaves out plugins without a check matching `pattern`, and ends with
    a failed report for each plugin registered under a near miss of a group (see
    `misplaced_reports`), whatever `pattern` is: no check of it can run. A single plugin that
    cannot be found raises PluginError; a bad --option or a pattern matching nothing raises
    UsageError. SIGINT and SIGTERM raise `runner.Interrupted` once the check processes are
    gone.
    """
    try:
        runner.forks()  # OMI_CHECK_PROCESS is valid
    except ValueError as error:
        raise UsageError(str(error)) from None
    if names is not None:
        with runner.supervised():
            return _check_each(list(names), _Plan(group, options or {}, pattern, settings, False))
    every = installed_plugin_names(group, builtins)
    with runner.supervised():  # every name is GROUP:NAME: no --group to apply
        reports = _check_each(every, _Plan(None, options or {}, pattern, settings, True))
    reports += misplaced_reports(group, settings.seed)
    if reports:
        return reports
    if not every:
        where = f" in group {resolve_group(group)}" if group else ""
        raise UsageError(
            f"nothing to check: no plugin{where} is installed and allowed to "
            f"load; see omi plugins list"
        )
    hint = did_you_mean(pattern, [c.name for c in all_checks()]) if pattern else ""
    raise UsageError(
        f"nothing to check: no installed plugin has a check matching the "
        f"selection{hint}; see omi plugins list and --list-checks"
    )


@dataclass(frozen=True)
class _Plan:
    """What each plugin of one `check_plugins` call is checked with; `check_all`: every
    installed plugin is, so a plugin that cannot be checked is a report, not an error."""

    group: str | None
    options: dict[str, Any]
    pattern: str | None
    settings: RunSettings
    check_all: bool


def _check_each(names: list[str], plan: _Plan) -> list[Report]:
    """Phase 1 and phase 2 for each plugin named; a report per plugin."""
    reports = []
    for plugin_name in names:
        try:
            reports += _check_one(plugin_name, plan)
        finally:
            runner.discard_spare()  # phase 1's child, when no check followed
    return reports


def _check_one(plugin_name: str, plan: _Plan) -> list[Report]:
    """Phase 1 in a check process, whose plain-data answer is all this process learns of the
    plugin (see `runner`), then phase 2; no report when checking all and nothing matches."""
    with source_root(plugin_name):  # children started in it import from ./src too
        return _resolve_and_run(plugin_name, plan)


def _resolve_and_run(plugin_name: str, plan: _Plan) -> list[Report]:
    runner.prestart()  # the child starts up while this process gets ready
    found = runner.resolve_in_child(plugin_name, plan.group, plan.options, plan.settings)
    if found.get("error") == "load":
        if not plan.check_all:
            raise PluginLoadError(found["message"])
        group_named = plugin_name.partition(":")[0]
        return [
            Report(
                plugin_name,
                INTERFACE_OF_GROUP.get(group_named, UNKNOWN),
                plan.settings.seed,
                one_line(found["message"]),
            )
        ]
    if found.get("error") == "invalid":
        return [
            Report(
                found["label"], found["interface"], plan.settings.seed, one_line(found["message"])
            )
        ]
    if found["options_problem"] and not plan.check_all:  # a typo in --option, said once
        raise UsageError(f"--option: {found['options_problem']}")
    target = Declared(
        found["label"],
        found["import_path"],
        found["interface"],
        frozenset(found["capabilities"]),
        found["known_failures"],
        plan.options,
    )
    if plan.pattern and not select_checks(target.interface, plan.pattern):
        if plan.check_all:
            return []
        names = [c.name for c in checks_for(target.interface)]
        raise UsageError(
            f"no {target.interface} check matches -k {plan.pattern!r}"
            f"{did_you_mean(plan.pattern, names)}; see omi plugins check "
            f"--list-checks {target.interface}"
        )
    return [run_suite_with(target, plan.pattern, plan.settings)]
