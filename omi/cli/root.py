"""The root command, `omi`, and its memory commands: store, recall and config show.

Commands only parse arguments, call a library function and format its result. Anything
heavier than click is imported inside the command that needs it, and the `plugins` commands
(omi.cli.plugin_commands) are imported by name when a `plugins` command line arrives, so
`omi --help` loads click, this module, omi.cli.toolkit and omi.errors, and nothing else of OMI.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from omi import __version__
from omi.cli.toolkit import TEXT, OmiGroup, format_option, parse_settings
from omi.errors import UsageError

if TYPE_CHECKING:  # the host is imported by the commands that use it
    from omi.host import Memory


@click.group(
    cls=OmiGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    lazy={
        "plugins": (
            "omi.cli.plugin_commands:plugins",
            "List, create, check and update OMI plugins.",
        )
    },
)
@click.version_option(__version__, prog_name="omi")
@click.option(
    "--debug",
    is_flag=True,
    help="Show DEBUG logs and full tracebacks (same as OMI_DEBUG=1).",
)
def cli(debug: bool) -> None:
    """OMI, the memory host for AI agents: store and recall memories, manage and develop
    its plugins.

    \b
    Examples:
      omi store "The deploy key rotates on Mondays" --meta source=ops
      omi recall "deploy key"
      omi config show
      omi plugins list
      omi plugins new embedding my-embedder
      omi plugins check my-embedder
    """
    if debug or os.environ.get("OMI_DEBUG", "") not in ("", "0"):
        import logging

        logging.basicConfig(level=logging.DEBUG)


# --- omi store / recall / config ------------------------------------------------------------

CONFIG_OPTION_HELP = (
    "The config file to use (default: $OMI_CONFIG, ./omi.yaml, then "
    "~/.config/omi/config.yaml; none found means the defaults)."
)


def _open_memory(config_path: str | None) -> Memory:
    """The host built from config; a configuration problem is a usage error (exit 2)."""
    from omi.host import Memory

    return Memory.from_config(config_path)


@cli.command("store")
@click.argument("text", type=TEXT)
@click.option(
    "--meta",
    "meta",
    multiple=True,
    metavar="KEY=VALUE",
    type=TEXT,
    help="Metadata stored with the memory (values are strings). Repeatable.",
)
@click.option("--config", "config_path", metavar="PATH", help=CONFIG_OPTION_HELP)
def store_command(text: str, meta: tuple[str, ...], config_path: str | None) -> None:
    """Store TEXT as a memory and print its id.

    \b
    Examples:
      omi store "The deploy key rotates on Mondays"
      omi store "Ada prefers short answers" --meta source=chat --meta user=ada
    """
    if not text.strip():
        raise UsageError('TEXT is empty; give the memory\'s text, e.g. omi store "..."')
    metadata = parse_settings(meta, "--meta", "--meta source=cli")
    from omi.textsafety import plugin_output_to_stderr

    with plugin_output_to_stderr(), _open_memory(config_path) as memory:
        memory_id = memory.store(text, metadata)
    click.echo(memory_id)


@cli.command("recall")
@click.argument("query", type=TEXT)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="At most this many memories (1 to 10000).",
)
@format_option(["text", "json"], "Text for people, JSON (schema omi.recall/1) for scripts.")
@click.option("--config", "config_path", metavar="PATH", help=CONFIG_OPTION_HELP)
def recall_command(query: str, limit: int, output_format: str, config_path: str | None) -> None:
    """Print the memories that best match QUERY, best first.

    \b
    Examples:
      omi recall "deploy key"
      omi recall ada --limit 3 --format json
    """
    from omi.host import MAX_RECALL_LIMIT

    if limit > MAX_RECALL_LIMIT:
        raise UsageError(
            f"--limit {limit} is too large: one recall returns at most "
            f"{MAX_RECALL_LIMIT} memories; give 1 to {MAX_RECALL_LIMIT}"
        )
    from omi.textsafety import json_text, one_line, plugin_output_to_stderr, visible

    with plugin_output_to_stderr(), _open_memory(config_path) as memory:
        results = memory.recall(query, limit)
    shown = [{key: value for key, value in item.items() if key != "embedding"} for item in results]
    if output_format == "json":
        click.echo(
            json_text({"schema": "omi.recall/1", "query": query, "limit": limit, "results": shown})
        )
        return
    if not shown:
        click.echo(f"No memories match {visible(repr(query))}.")
    for rank, item in enumerate(shown, 1):  # every text in it was stored by any program
        metadata = item.get("metadata") or {}
        tags = " ".join(f"{visible(key)}={visible(value)}" for key, value in metadata.items())
        click.echo(
            f"{rank:>2}. {visible(item['id'])}  {one_line(item['content'])}"
            + (f"  [{tags}]" if tags else "")
        )


@cli.group("config", cls=OmiGroup)
def config_group() -> None:
    """Show the configuration OMI runs with."""


@config_group.command("show")
@click.option("--config", "config_path", metavar="PATH", help=CONFIG_OPTION_HELP)
@format_option(["yaml", "json"], "Output format.")
def config_show(config_path: str | None, output_format: str) -> None:
    """Print the effective configuration: the file found, ${VAR}s expanded, defaults filled in,
    secrets masked (values of keys and headers named like api_key, token, password or
    Authorization, and passwords and tokens inside URLs and DSNs).

    \b
    Examples:
      omi config show
      OMI_CONFIG=prod.yaml omi config show --format json
    """
    from omi.config import load_config, mask_secrets
    from omi.textsafety import json_text, safe_lines, visible

    config = load_config(config_path)
    document = mask_secrets(config.effective())
    if output_format == "json":
        click.echo(json_text({"source": config.source and str(config.source), **document}))
        return
    import yaml

    origin = config.source or "no config file found, so these are the defaults"
    click.echo(f"# {visible(origin)}")
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True).rstrip()
    if not safe_lines(text):  # values from the file and the environment: YAML then escapes
        text = yaml.safe_dump(document, sort_keys=False).rstrip()  # all that is not ASCII
    click.echo(text)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="omi")
