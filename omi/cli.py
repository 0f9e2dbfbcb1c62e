"""The `omi` command line.

Commands only parse arguments, call a library function and format its result. Anything
heavier than click is imported inside the command that needs it, and the `plugins` commands
live in omi.plugins_cli, imported when a `plugins` command line arrives, so `omi --help` stays
fast.

Exit codes: 0 success, 1 a check or operation failed, 2 usage or validation error.
"""

from __future__ import annotations

import os
import re
from gettext import gettext as _gettext  # click's own translation hook, as click calls it
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional

import click

from omi import __version__
from omi.errors import OmiError, OperationFailed, UsageError, did_you_mean

if TYPE_CHECKING:  # the host is imported by the commands that use it
    from omi.host import Memory


class BadInput(click.ClickException):
    """Click's own usage errors (a missing argument, an unknown option), as one line (exit 2)."""

    exit_code = 2


def error_line(error: BaseException) -> str:
    """One line for an unexpected error; one without a message (a MemoryError) is named by
    its type rather than printed as a bare 'Error: '."""
    from omi.listing import one_line

    return one_line(error) or (f"{type(error).__name__} (no message); rerun with --debug for "
                               f"the traceback")


def _debug_enabled(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug")) or os.environ.get("OMI_DEBUG", "") not in ("", "0")


def one_line_usage(error: click.UsageError) -> click.ClickException:
    """Click's usage error as one line (click prints the usage and a hint above it), ending
    with where to read how the command is used."""
    if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        return error  # `omi plugins` alone: click 8.2+ prints the group's help this way
    from omi.listing import one_line

    hint = f"; see '{error.ctx.command_path} --help'" if error.ctx is not None else ""
    return BadInput(one_line(error.format_message()).rstrip(".") + hint)


def _terminal_width() -> int | None:
    """The help width click would choose, found as shutil.get_terminal_size finds it but
    without importing shutil (and the compression modules it imports): a few milliseconds
    of every `omi --help`. None when click's width is forced (as CliRunner does)."""
    import sys

    if click.formatting.FORCED_WIDTH is not None:
        return None
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__  # None when the interpreter started without one
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout else 0
        except (ValueError, OSError):
            columns = 0
    return max(min(columns or 80, 80) - 2, 50)


class OmiGroup(click.Group):
    """The one place errors become exit codes: an OmiError is one line with its exit code (2 for
    usage errors, 1 for failed operations), any other exception one line with exit 1; under
    --debug both keep their traceback. Click's usage errors too are one line.

    `lazy` names subcommands defined elsewhere: {name: ("module:attribute", short help)}. The
    module is imported when the command is run, completed or asked for its help; the group's
    own help lists it with the short help given here.
    """

    def __init__(self, *args: Any, lazy: Optional[Dict[str, tuple[str, str]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            from importlib import import_module

            module, _, attribute = self.lazy[cmd_name][0].partition(":")
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: List[str]
                        ) -> tuple[Optional[str], Optional[click.Command], List[str]]:
        """Click's lookup; a mistyped subcommand is told the closest real one."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            name = args[0] if args else ""
            hint = did_you_mean(name, self.list_commands(ctx)) if name else ""
            if not hint or self.get_command(ctx, name) is not None:
                raise
            raise click.UsageError(f"No such command {name!r}{hint}", ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's list of subcommands, with a lazy one's short help read from the table rather
        than from its module."""
        entries: List[tuple[str, Optional[click.Command]]] = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name not in self.commands:
                entries.append((name, None))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                entries.append((name, command))
        if not entries:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in entries)  # as click leaves
        rows = [(name, self.lazy[name][1] if command is None
                 else command.get_short_help_str(limit)) for name, command in entries]
        with formatter.section(_gettext("Commands")):
            formatter.write_dl(rows)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        if len(args) < 3 and kwargs.get("parent") is None and "terminal_width" not in kwargs:
            width = _terminal_width()
            if width is not None:
                kwargs["terminal_width"] = width
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:  # in the options of `omi` itself
            raise one_line_usage(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:  # in a subcommand's arguments
            raise one_line_usage(error) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OmiError as error:
            if _debug_enabled(ctx) and type(error) not in (UsageError, OperationFailed):
                raise  # a library's error: its traceback is what --debug is for
            if str(error):  # without a message, the command's output already said why
                click.echo(f"Error: {error_line(error)}", err=True)
            ctx.exit(error.exit_code)
        except Exception as error:
            if _debug_enabled(ctx):
                raise
            click.echo(f"Error: {error_line(error)}", err=True)
            ctx.exit(1)


if TYPE_CHECKING:  # click releases before ParamType was generic cannot subscript it at run time
    _TextParamType = click.ParamType[str, str]
else:
    _TextParamType = click.ParamType


class CommandLineText(_TextParamType):
    """Text that is valid UTF-8, without control characters other than whitespace.

    Undecodable bytes in argv reach Python as lone surrogates (surrogateescape), which storage
    cannot encode or would keep as mojibake; an ESC stored from the command line would be
    replayed to the terminal by every `omi recall` that prints it.
    """

    name = "text"
    # Cc but whitespace; compiled (and cached by `re`) at the first value, not by `omi --help`.
    CONTROL = r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]"

    def convert(self, value: str, param: Optional[click.Parameter],
                ctx: Optional[click.Context]) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            code = ord(value[error.start])
            what = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
            self.fail(f"not valid UTF-8 ({what} at position {error.start}); pass UTF-8 text "
                      f"(is the terminal's or the file's encoding UTF-8?)", param, ctx)
        control = re.search(self.CONTROL, value)
        if control:
            self.fail(f"control character U+{ord(control.group()):04X} at position "
                      f"{control.start()}; remove it (tabs and line breaks are fine)", param, ctx)
        return value


TEXT = CommandLineText()


@click.group(cls=OmiGroup, context_settings={"help_option_names": ["-h", "--help"]},
             lazy={"plugins": ("omi.plugins_cli:plugins",
                               "List, create, check and update OMI plugins.")})
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


# --- KEY=VALUE options ---------------------------------------------------------------------


def parse_settings(settings: tuple[str, ...], option: str = "--set",
                   example: str = "") -> dict[str, str]:
    """KEY=VALUE options as a dict: --set of `new` and `update`, --meta of `store`."""
    pairs = []
    for text in settings:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            hint = f"; e.g. {example}" if example else ""
            raise UsageError(f"{option} takes KEY=VALUE, got {text!r}{hint}")
        pairs.append((key.strip(), value))
    return unique_keys(pairs, option)


def unique_keys(pairs: Iterable[tuple[str, Any]], option: str) -> dict[str, Any]:
    """The pairs as a dict; a KEY given twice is a usage error rather than a silent last-wins.
    The values stay out of the message: they may be secrets."""
    variables: dict[str, Any] = {}
    for key, value in pairs:
        if key in variables:
            raise UsageError(f"{option} gives {key!r} twice; give each KEY once")
        variables[key] = value
    return variables


# --- omi store / recall / config ------------------------------------------------------------

CONFIG_OPTION_HELP = ("The config file to use (default: $OMI_CONFIG, ./omi.yaml, then "
                      "~/.config/omi/config.yaml; none found means the defaults).")


def _open_memory(config_path: str | None) -> Memory:
    """The host built from config; a configuration problem is a usage error (exit 2)."""
    from omi.host import Memory

    return Memory.from_config(config_path)


@cli.command("store")
@click.argument("text", type=TEXT)
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE", type=TEXT,
              help="Metadata stored with the memory (values are strings). Repeatable.")
@click.option("--config", "config_path", metavar="PATH", help=CONFIG_OPTION_HELP)
def store_command(text: str, meta: tuple[str, ...], config_path: str | None) -> None:
    """Store TEXT as a memory and print its id.

    \b
    Examples:
      omi store "The deploy key rotates on Mondays"
      omi store "Ada prefers short answers" --meta source=chat --meta user=ada
    """
    if not text.strip():
        raise UsageError("TEXT is empty; give the memory's text, e.g. omi store \"...\"")
    metadata = parse_settings(meta, "--meta", "--meta source=cli")
    from omi.listing import plugin_output_to_stderr

    with plugin_output_to_stderr(), _open_memory(config_path) as memory:
        memory_id = memory.store(text, metadata)
    click.echo(memory_id)


@cli.command("recall")
@click.argument("query", type=TEXT)
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="At most this many memories (1 to 10000).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Text for people, JSON (schema omi.recall/1) for scripts.")
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
        raise UsageError(f"--limit {limit} is too large: one recall returns at most "
                       f"{MAX_RECALL_LIMIT} memories; give 1 to {MAX_RECALL_LIMIT}")
    from omi.listing import json_text, one_line, plugin_output_to_stderr, visible

    with plugin_output_to_stderr(), _open_memory(config_path) as memory:
        results = memory.recall(query, limit)
    shown = [{key: value for key, value in item.items() if key != "embedding"}
             for item in results]
    if output_format == "json":
        click.echo(json_text({"schema": "omi.recall/1", "query": query, "limit": limit,
                              "results": shown}))
        return
    if not shown:
        click.echo(f"No memories match {visible(repr(query))}.")
    for rank, item in enumerate(shown, 1):  # every text in it was stored by any program
        metadata = item.get("metadata") or {}
        tags = " ".join(f"{visible(key)}={visible(value)}" for key, value in metadata.items())
        click.echo(f"{rank:>2}. {visible(item['id'])}  {one_line(item['content'])}"
                   + (f"  [{tags}]" if tags else ""))


@cli.group("config", cls=OmiGroup)
def config_group() -> None:
    """Show the configuration OMI runs with."""


@config_group.command("show")
@click.option("--config", "config_path", metavar="PATH", help=CONFIG_OPTION_HELP)
@click.option("--format", "output_format", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="Output format.")
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
    from omi.listing import json_text, safe_lines, visible

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
