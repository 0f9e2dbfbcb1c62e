"""What every `omi` command is built with: the group that turns errors into exit codes and
lazy subcommands into help lines, command-line text that is safe to store, and KEY=VALUE
options.

Shared by the root command (omi.cli.root) and the `plugins` commands
(omi.cli.plugin_commands), so neither imports the other for it. It imports click and
omi.errors only: `omi --help` loads it.

Exit codes: 0 success, 1 a check or operation failed, 2 usage or validation error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from gettext import gettext as _gettext  # click's own translation hook, as click calls it
from typing import TYPE_CHECKING, Any, TypeVar

import click

from omi.errors import OmiError, OperationFailed, UsageError, did_you_mean


class BadInput(click.ClickException):
    """Click's own usage errors (a missing argument, an unknown option), as one line (exit 2)."""

    exit_code = 2


def _debug_enabled(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug")) or os.environ.get("OMI_DEBUG", "") not in ("", "0")


def one_line_usage(error: click.UsageError) -> click.ClickException:
    """Click's usage error as one line (click prints the usage and a hint above it), ending
    with where to read how the command is used."""
    if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        return error  # `omi plugins` alone: click 8.2+ prints the group's help this way
    from omi.textsafety import one_line

    hint = f"; see '{error.ctx.command_path} --help'" if error.ctx is not None else ""
    return BadInput(one_line(error.format_message()).rstrip(".") + hint)


# Not shutil.get_terminal_size: importing shutil (bz2, lzma...) costs `omi --help` 2.8 ms of 59.
def _terminal_width() -> int | None:
    """The help width click would choose, found as shutil.get_terminal_size finds it; None
    when click's width is forced (as CliRunner does)."""
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

    def __init__(
        self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            from importlib import import_module

            module, _, attribute = self.lazy[cmd_name][0].partition(":")
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
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
        entries: list[tuple[str, click.Command | None]] = []
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
        rows = [
            (name, self.lazy[name][1] if command is None else command.get_short_help_str(limit))
            for name, command in entries
        ]
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
                from omi.textsafety import error_line

                click.echo(f"Error: {error_line(error)}", err=True)
            ctx.exit(error.exit_code)
        except Exception as error:
            if _debug_enabled(ctx):
                raise
            from omi.textsafety import error_line

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

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            code = ord(value[error.start])
            what = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
            self.fail(
                f"not valid UTF-8 ({what} at position {error.start}); pass UTF-8 text "
                f"(is the terminal's or the file's encoding UTF-8?)",
                param,
                ctx,
            )
        control = re.search(self.CONTROL, value)
        if control:
            self.fail(
                f"control character U+{ord(control.group()):04X} at position "
                f"{control.start()}; remove it (tabs and line breaks are fine)",
                param,
                ctx,
            )
        return value


TEXT = CommandLineText()

_Command = TypeVar("_Command", bound=Callable[..., Any])


def format_option(choices: Sequence[str], help: str) -> Callable[[_Command], _Command]:
    """The `--format` option every command that prints a report has: one of `choices`, the
    first by default, passed to the command as `output_format`."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


# --- KEY=VALUE options ---------------------------------------------------------------------


def parse_settings(
    settings: tuple[str, ...], option: str = "--set", example: str = ""
) -> dict[str, str]:
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
