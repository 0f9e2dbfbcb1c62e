"""`omi plugins list`: the report and its rendering, without click.

The console script (omi.cli.launch) answers the plain forms of `omi plugins list` from here
without importing click, which is most of the command's start-up; the click command
(omi.cli.plugin_commands) renders through the same functions, so both print the same thing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from omi.textsafety import json_text, one_line, plugin_output_to_stderr, visible

if TYPE_CHECKING:  # omi.plugins is imported only when plugins are listed
    from omi.plugins import PluginInfo, PluginRegistry

SCHEMA = "omi.plugins.list/1"


def format_plugin_line(
    info: PluginInfo, verbose: bool = False, seconds: float | None = None
) -> str:
    """One `plugins list` entry, as the specification prints it; `seconds` is the time its
    import took, shown with --verbose. Every text in it but OMI's own is `visible`."""
    head = f"  {visible(info.name)} ({visible(info.class_name)}) - v{visible(info.version)}"
    if info.skipped:
        line = f"{head} skipped: {one_line(info.skipped)}"
    else:
        line = f"{head} [interface: {visible(info.interface_version or '?')}]"
        line += f" ✗ {one_line(info.error)}" if info.error else " ✓"
    conflict = info.conflict
    if conflict:
        line += f" ⚠ {one_line(conflict)}"
    if verbose:
        line += f"\n      {_source(info)}"
        if seconds is not None:
            line += f"\n      imported in {seconds * 1000:.1f} ms"
        line += f"\n      {required_range(info)}"
    return line


def _source(info: Any) -> str:
    return (
        f"from {visible(info.distribution)} {visible(info.version)}: "
        f"{visible(info.module)}:{visible(info.attr)}"
    )


def required_range(info: Any) -> str:
    """The omi-openclaw versions a plugin's distribution accepts, for --verbose."""
    from omi import __version__

    if info.builtin:
        return f"requires: nothing more (part of omi-openclaw {__version__})"
    if not info.requires_omi:
        return "requires: omi-openclaw, any version (no Requires-Dist names it)"
    return (
        f"requires: {', '.join(map(visible, info.requires_omi))} "
        f"(installed: omi-openclaw {__version__})"
    )


def format_misplaced_line(info: Any, verbose: bool = False) -> str:
    """One entry of the "Not loaded" section: a plugin registered under a group OMI does not
    read; its `error` says which group was meant."""
    line = (
        f"  {visible(info.name)} ({visible(info.class_name)}) - v{visible(info.version)} "
        f"✗ {one_line(info.error)}"
    )
    if verbose:
        line += f"\n      {_source(info)}"
    return line


def list_report(group: str | None) -> tuple[dict[str, dict[str, PluginInfo]], PluginRegistry]:
    """Load every plugin (of `group`, a full or short group name) and return the report and
    the registry that made it (its `import_seconds` are the import times)."""
    from omi.plugins import PluginRegistry, resolve_group

    selected = resolve_group(group) if group else None
    registry = PluginRegistry()
    with plugin_output_to_stderr():
        report = registry.load_all(selected)
    return report, registry


def list_output(group: str | None, output_format: str, verbose: bool) -> tuple[str, int]:
    """What `omi plugins list` prints, and how many plugins failed to load (those registered
    under a near miss of a group too; not those OMI_LOAD_PLUGINS keeps out)."""
    report, registry = list_report(group)
    misplaced = registry.misplaced(tuple(report))
    text = render_list(
        report, output_format, verbose, registry.import_seconds, misplaced, project_notes()
    )
    failed = sum(bool(info.error) for infos in report.values() for info in infos.values())
    return text, failed + len(misplaced)


def strict_failure(failed: int) -> str:
    """The error line of `omi plugins list --strict` when `failed` plugins did not load."""
    return (
        f"{failed} plugin{'s' if failed > 1 else ''} failed to load (--strict); the "
        f"reason{'s are' if failed > 1 else ' is'} above"
    )


def project_notes() -> list[str]:
    """In a project directory: that the installed entry points differ from ./pyproject.toml's
    (omi.diagnosis.stale_install). Nothing is read where there is no pyproject.toml."""
    try:
        here = os.getcwd()
    except OSError:  # the working directory was deleted
        return []
    if not os.path.isfile(os.path.join(here, "pyproject.toml")):
        return []
    from omi.diagnosis import stale_install
    from omi.kinds import GROUPS
    from omi.plugins import discover_plugins, distribution_name, distribution_version

    installed = [
        (
            group,
            entry_point.name,
            entry_point.value.strip(),
            distribution_name(entry_point),
            distribution_version(entry_point),
        )
        for group, entry_points in discover_plugins().items()
        for entry_point in entry_points
    ]
    note = stale_install(GROUPS, here, installed)
    return [note] if note else []


def render_list(
    report: dict[str, dict[str, PluginInfo]],
    output_format: str,
    verbose: bool,
    import_seconds: dict[tuple[str, str], float],
    misplaced: Sequence[tuple[Any, str]] = (),
    notes: Sequence[str] = (),
) -> str:
    """The text (or JSON) `omi plugins list` prints for `report`, and for the plugins
    registered under a near miss of one of its groups (`misplaced`: the plugin and the group
    it was meant to be in), which end it in a "Not loaded" section; `notes` (about the
    project in the working directory) come last."""
    if output_format == "json":
        document = {
            "schema": SCHEMA,
            "groups": {
                name: [info.to_dict() for info in infos.values()] for name, infos in report.items()
            },
            "not_loaded": [
                {**info.to_dict(), "did_you_mean": intended} for info, intended in misplaced
            ],
            "notes": list(notes),
        }
        return json_text(document)
    from omi.kinds import GROUP_TITLES

    blocks = []
    for group_name, infos in report.items():
        lines = [f"{GROUP_TITLES[group_name]}:"]
        entries = list(infos.values())
        if verbose:  # the slowest import first: that is the plugin slowing every start
            entries.sort(key=lambda info: -import_seconds.get((group_name, info.name), 0.0))
            lines += [
                format_plugin_line(info, True, import_seconds.get((group_name, info.name)))
                for info in entries
            ]
        else:
            lines += [format_plugin_line(info) for info in entries]
        if not infos:
            lines.append("  (none installed)")
        blocks.append("\n".join(lines))
    if misplaced:
        lines = ["Not loaded:"]
        lines += [format_misplaced_line(info, verbose) for info, _ in misplaced]
        blocks.append("\n".join(lines))
    blocks += [f"Note: {visible(note)}" for note in notes]  # it quotes pyproject.toml
    return "\n\n".join(blocks)
