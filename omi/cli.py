"""The `omi` command line.

Commands only parse arguments, call a library function and format its result. Anything
heavier than click is imported inside the command that needs it, so `omi --help` stays fast.

Exit codes: 0 success, 1 a check or operation failed, 2 usage or validation error.
"""

from __future__ import annotations

import os
from typing import Any

import click

from omi import __version__


class OperationFailed(click.ClickException):
    """A check or an operation failed (exit 1)."""

    exit_code = 1


class BadInput(click.ClickException):
    """The user asked for something invalid: a bad name, a missing plugin (exit 2)."""

    exit_code = 2


def one_line(text: object) -> str:
    """Collapse a message onto one line, for errors and list entries."""
    return " ".join(str(text).split())


def _debug_enabled(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug")) or os.environ.get("OMI_DEBUG", "") not in ("", "0")


class OmiGroup(click.Group):
    """Turns unexpected exceptions into one-line errors, with the traceback under --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if _debug_enabled(ctx):
                raise
            from omi.plugins import PluginError

            code = 2 if isinstance(error, PluginError) else 1
            click.echo(f"Error: {one_line(error)}", err=True)
            ctx.exit(code)


@click.group(cls=OmiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="omi")
@click.option(
    "--debug",
    is_flag=True,
    help="Show DEBUG logs and full tracebacks (same as OMI_DEBUG=1).",
)
def cli(debug: bool) -> None:
    """OMI, the memory host for AI agents: manage and develop its plugins.

    \b
    Examples:
      omi plugins list
      omi plugins new embedding my-embedder
      omi plugins check my-embedder
    """
    if debug or os.environ.get("OMI_DEBUG", "") not in ("", "0"):
        import logging

        logging.basicConfig(level=logging.DEBUG)


@cli.group(cls=OmiGroup)
def plugins() -> None:
    """List, create and check OMI plugins."""


# --- omi plugins list -----------------------------------------------------------------------


def format_plugin_line(info: Any, verbose: bool = False) -> str:
    """One `plugins list` entry, as the specification prints it."""
    head = f"  {info.name} ({info.class_name}) - v{info.version}"
    if info.skipped:
        line = f"{head} skipped: {info.skipped}"
    else:
        line = f"{head} [interface: {info.interface_version or '?'}]"
        line += f" ✗ {one_line(info.error)}" if info.error else " ✓"
    if verbose:
        line += f"\n      from {info.distribution} {info.version}: {info.module}:{info.attr}"
    return line


@plugins.command("list")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Text for people, JSON (schema in the README) for scripts.",
)
@click.option(
    "--group",
    metavar="GROUP",
    help="Only this group: omi.embedding_providers, omi.storage_backends, omi.event_handlers "
    "(or embedding, storage, event).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Also show each plugin's distribution and module."
)
def list_plugins(output_format: str, group: str | None, verbose: bool) -> None:
    """List installed plugins, loading each one to validate it.

    A broken plugin is shown with ✗ and the reason; plugins that OMI_LOAD_PLUGINS keeps out
    are shown as skipped and are not imported.

    \b
    Examples:
      omi plugins list
      omi plugins list --group storage --verbose
      omi plugins list --format json
    """
    from omi.plugins import GROUP_TITLES, PluginRegistry, resolve_group

    selected = resolve_group(group) if group else None
    report = PluginRegistry().load_all(selected)
    if output_format == "json":
        import json

        document = {
            "schema": "omi.plugins.list/1",
            "groups": {
                name: [info.to_dict() for info in infos.values()] for name, infos in report.items()
            },
        }
        click.echo(json.dumps(document, indent=2))
        return
    blocks = []
    for group_name, infos in report.items():
        lines = [f"{GROUP_TITLES[group_name]}:"]
        lines += [format_plugin_line(info, verbose) for info in infos.values()]
        if not infos:
            lines.append("  (none installed)")
        blocks.append("\n".join(lines))
    click.echo("\n\n".join(blocks))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="omi")
