"""`omi plugins list`: the report and its rendering, without click.

The console script (omi.launch) answers the plain forms of `omi plugins list` from here without
importing click, which is most of the command's start-up; the click command in omi.cli renders
through the same functions, so both print the same thing.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # omi.plugins is imported only when plugins are listed
    from omi.plugins import PluginInfo, PluginRegistry

SCHEMA = "omi.plugins.list/1"


# What a terminal acts on (ESC, DEL, the C1 controls such as CSI), what XML 1.0 cannot carry
# (the other C0 controls but tab and line breaks, U+FFFE, U+FFFF) and what UTF-8 cannot encode
# (lone surrogates). Plugins, their metadata and their errors are text OMI did not write.
_INVISIBLE = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]"


def visible(text: str) -> str:
    """`text` with the characters above written as Python escapes (\\x1b, \\ud800), so that
    no plugin can drive the terminal, or break the XML or the UTF-8, that OMI prints it to."""
    if all(line.isprintable() for line in text.split("\n")):  # the usual case, without
        return text  # compiling the pattern (a millisecond of every `omi plugins list`)
    import re

    return re.sub(_INVISIBLE, lambda match: ascii(match.group())[1:-1], text)


def one_line(text: object) -> str:
    """Collapse a message onto one line, for errors and list entries, `visible`."""
    return visible(" ".join(str(text).split()))


@contextlib.contextmanager
def plugin_output_to_stderr() -> Iterator[None]:
    """A context in which whatever plugins write to stdout goes to stderr, so that stdout
    carries only the command's own output (a plugin printing on import must not break
    --format json). File descriptor 1 itself points to stderr meanwhile, for output that
    bypasses sys.stdout (os.write(1, ...), C libraries, forked children)."""
    import sys

    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()  # what a plugin wrote to sys.__stdout__ belongs to stderr too
        os.dup2(real_stdout, 1)
        os.close(real_stdout)


def format_plugin_line(info: PluginInfo, verbose: bool = False,
                       seconds: Optional[float] = None) -> str:
    """One `plugins list` entry, as the specification prints it; `seconds` is the time its
    import took, shown with --verbose."""
    head = f"  {info.name} ({info.class_name}) - v{info.version}"
    if info.skipped:
        line = f"{head} skipped: {info.skipped}"
    else:
        line = f"{head} [interface: {info.interface_version or '?'}]"
        line += f" ✗ {one_line(info.error)}" if info.error else " ✓"
    conflict = info.conflict
    if conflict:
        line += f" ⚠ {conflict}"
    if verbose:
        line += f"\n      from {info.distribution} {info.version}: {info.module}:{info.attr}"
        if seconds is not None:
            line += f"\n      imported in {seconds * 1000:.1f} ms"
        line += f"\n      {required_range(info)}"
    return line


def required_range(info: Any) -> str:
    """The omi-openclaw versions a plugin's distribution accepts, for --verbose."""
    from omi import __version__

    if info.builtin:
        return f"requires: nothing more (part of omi-openclaw {__version__})"
    if not info.requires_omi:
        return "requires: omi-openclaw, any version (no Requires-Dist names it)"
    return (f"requires: {', '.join(info.requires_omi)} "
            f"(installed: omi-openclaw {__version__})")


def format_misplaced_line(info: Any, verbose: bool = False) -> str:
    """One entry of the "Not loaded" section: a plugin registered under a group OMI does not
    read; its `error` says which group was meant."""
    line = f"  {info.name} ({info.class_name}) - v{info.version} ✗ {one_line(info.error)}"
    if verbose:
        line += f"\n      from {info.distribution} {info.version}: {info.module}:{info.attr}"
    return line


def list_report(group: Optional[str]) -> Tuple[Dict[str, Dict[str, PluginInfo]], PluginRegistry]:
    """Load every plugin (of `group`, a full or short group name) and return the report and
    the registry that made it (its `import_seconds` are the import times)."""
    from omi.plugins import PluginRegistry, resolve_group

    selected = resolve_group(group) if group else None
    registry = PluginRegistry()
    with plugin_output_to_stderr():
        report = registry.load_all(selected)
    return report, registry


def listing(group: Optional[str], output_format: str, verbose: bool) -> Tuple[str, int]:
    """What `omi plugins list` prints, and how many plugins failed to load (those registered
    under a near miss of a group too; not those OMI_LOAD_PLUGINS keeps out)."""
    report, registry = list_report(group)
    misplaced = registry.misplaced(tuple(report))
    text = render_list(report, output_format, verbose, registry.import_seconds, misplaced,
                       project_notes())
    failed = sum(bool(info.error) for infos in report.values() for info in infos.values())
    return text, failed + len(misplaced)


def strict_failure(failed: int) -> str:
    """The error line of `omi plugins list --strict` when `failed` plugins did not load."""
    return (f"{failed} plugin{'s' if failed > 1 else ''} failed to load (--strict); the "
            f"reason{'s are' if failed > 1 else ' is'} above")


def project_notes() -> List[str]:
    """In a project directory: that the installed entry points differ from ./pyproject.toml's
    (omi.diagnosis.stale_install). Nothing is read where there is no pyproject.toml."""
    try:
        here = os.getcwd()
    except OSError:  # the working directory was deleted
        return []
    if not os.path.isfile(os.path.join(here, "pyproject.toml")):
        return []
    from omi.diagnosis import stale_install
    from omi.plugins import GROUPS

    note = stale_install(GROUPS, here)
    return [note] if note else []


def render_list(report: Dict[str, Dict[str, PluginInfo]], output_format: str, verbose: bool,
                import_seconds: Dict[Tuple[str, str], float],
                misplaced: Sequence[Tuple[Any, str]] = (), notes: Sequence[str] = ()) -> str:
    """The text (or JSON) `omi plugins list` prints for `report`, and for the plugins
    registered under a near miss of one of its groups (`misplaced`: the plugin and the group
    it was meant to be in), which end it in a "Not loaded" section; `notes` (about the
    project in the working directory) come last."""
    if output_format == "json":
        import json

        document = {
            "schema": SCHEMA,
            "groups": {
                name: [info.to_dict() for info in infos.values()] for name, infos in report.items()
            },
            "not_loaded": [{**info.to_dict(), "did_you_mean": intended}
                           for info, intended in misplaced],
            "notes": list(notes),
        }
        return json.dumps(document, indent=2)
    from omi.plugins import GROUP_TITLES

    blocks = []
    for group_name, infos in report.items():
        lines = [f"{GROUP_TITLES[group_name]}:"]
        entries = list(infos.values())
        if verbose:  # the slowest import first: that is the plugin slowing every start
            entries.sort(key=lambda info: -import_seconds.get((group_name, info.name), 0.0))
            lines += [format_plugin_line(info, True, import_seconds.get((group_name, info.name)))
                      for info in entries]
        else:
            lines += [format_plugin_line(info) for info in entries]
        if not infos:
            lines.append("  (none installed)")
        blocks.append("\n".join(lines))
    if misplaced:
        lines = ["Not loaded:"]
        lines += [format_misplaced_line(info, verbose) for info, _ in misplaced]
        blocks.append("\n".join(lines))
    blocks += [f"Note: {note}" for note in notes]
    return visible("\n\n".join(blocks))  # names and versions come from the plugins' metadata
