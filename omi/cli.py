"""The `omi` command line.

Commands only parse arguments, call a library function and format its result. Anything
heavier than click is imported inside the command that needs it, so `omi --help` stays fast.

Exit codes: 0 success, 1 a check or operation failed, 2 usage or validation error.
"""

from __future__ import annotations

import math
import os
import re
from typing import TYPE_CHECKING, Any, Iterable, Optional

import click

from omi import __version__
from omi.errors import OmiError, OperationFailed, UsageError, did_you_mean
from omi.kinds import KIND_NAMES, KINDS
from omi.listing import format_plugin_line, one_line, plugin_output_to_stderr  # noqa: F401

if TYPE_CHECKING:  # the host is imported by the commands that use it
    from omi.host import Memory


class BadInput(click.ClickException):
    """Click's own usage errors (a missing argument, an unknown option), as one line (exit 2)."""

    exit_code = 2


def error_line(error: BaseException) -> str:
    """One line for an unexpected error; one without a message (a MemoryError) is named by
    its type rather than printed as a bare 'Error: '."""
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
    --debug both keep their traceback. Click's usage errors too are one line."""

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
                click.echo(f"Error: {one_line(error)}", err=True)
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


class Seconds(click.FloatRange):
    """A positive, finite number of seconds up to `max` (FloatRange alone lets nan through,
    which compares false with both bounds)."""

    name = "seconds"

    def __init__(self, max: float) -> None:
        super().__init__(min=0, max=max, min_open=True)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds; give e.g. 60", param, ctx)
        return seconds


@click.group(cls=OmiGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


@cli.group(cls=OmiGroup)
def plugins() -> None:
    """List, create, check and update OMI plugins."""


# --- omi plugins list -----------------------------------------------------------------------


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
    help=f"Only this group: {', '.join(kind.group for kind in KINDS)} "
    f"(or {', '.join(KIND_NAMES)}).",
)
@click.option(
    "-v", "--verbose", is_flag=True,
    help="Also show each plugin's distribution, module and import time, slowest first.",
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
    from omi.listing import list_report, render_list

    report, registry = list_report(group)
    click.echo(render_list(report, output_format, verbose, registry.import_seconds,
                           registry.misplaced(tuple(report))))


# --- omi plugins cache -----------------------------------------------------------------------


@plugins.group("cache", cls=OmiGroup)
def plugins_cache() -> None:
    """Inspect or clear the plugin index, the cache that spares each start a scan of every
    installed distribution. It is checked against sys.path before each use, so it is
    never stale; OMI_NO_CACHE=1 turns it off.

    \b
    Examples:
      omi plugins cache show
      omi plugins cache clear
    """


@plugins_cache.command("show")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Text for people, JSON for scripts.")
def plugins_cache_show(output_format: str) -> None:
    """Show where this interpreter's plugin index is, its key, its age and its entries.

    \b
    Examples:
      omi plugins cache show
      omi plugins cache show --format json
    """
    from omi import index

    report = index.show()
    if output_format == "json":
        import json

        click.echo(json.dumps(report, indent=2))
        return
    key = report["key"]
    lines = [f"file: {report['file']}",
             f"status: {report['status']}" + ("" if report["enabled"]
                                              else f" (disabled by {index.SWITCH})"),
             f"interpreter: {key['executable']} ({key['implementation']})",
             "sys.path:", *(f"  {entry or '(current directory)'}" for entry in key["path"])]
    if "age_seconds" in report:
        lines.insert(2, f"age: {report['age_seconds']:.0f} s")
        lines.append(f"entries: {len(report['entries'])}")
        lines += [f"  {e['group']}: {e['name']} = {e['value']} "
                  f"({e['distribution']} {e['version']})" for e in report["entries"]]
    click.echo("\n".join(lines))


@plugins_cache.command("clear")
def plugins_cache_clear() -> None:
    """Delete the plugin index of every interpreter, and the parsed config files kept beside
    it; the next command scans (and parses) again.

    \b
    Example:
      omi plugins cache clear
    """
    from omi import configcache, index

    removed = index.clear()
    configs = configcache.clear()
    click.echo(f"Removed {len(removed)} plugin index file(s) and {len(configs)} parsed config "
               f"file(s) from {index.cache_dir()}")


# --- omi plugins new ------------------------------------------------------------------------


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


class NewCommand(click.Command):
    """`plugins new`, whose help ends with every --set variable and its default, read from
    the templates only when the help is shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from omi.scaffold import settable_defaults

        with formatter.section("Template variables (--set KEY=VALUE, default)"):
            formatter.write_dl(list(settable_defaults().items()))
        super().format_epilog(ctx, formatter)


@plugins.command("new", cls=NewCommand)
@click.argument("plugin_type", metavar=f"{{{'|'.join(KIND_NAMES)}}}",
                type=click.Choice(KIND_NAMES))
@click.argument("name")
@click.option("-o", "--output-dir", default=".", show_default=True, type=click.Path(),
              help="Where the omi-<type>-<name> directory is created.")
@click.option("--no-input", is_flag=True, help="Do not prompt; use defaults and the values given.")
@click.option("--author", type=TEXT, help="Author name (default: git config user.name).")
@click.option("--email", type=TEXT, help="Author e-mail (default: git config user.email).")
@click.option("--description", type=TEXT, help="One-line description of the plugin.")
@click.option("--license", "license_", type=TEXT,
              help="MIT (default), Apache-2.0 or BSD-3-Clause.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", type=TEXT,
              help="Any other template variable (e.g. --set version=0.2.0; all are listed "
              "below). Repeatable.")
@click.option("--git", is_flag=True, help="Make the project a git repository with one commit "
              "of every file (omi plugins update wants a clean tree).")
@click.option("--dry-run", is_flag=True, help="List the files it would write; write nothing.")
def new_plugin_command(plugin_type: str, name: str, output_dir: str, no_input: bool,
                       author: str | None, email: str | None, description: str | None,
                       license_: str | None, settings: tuple[str, ...], git: bool,
                       dry_run: bool) -> None:
    """Render a new plugin package, omi-TYPE-NAME, ready to install, test and publish.

    NAME uses lowercase letters, digits and single hyphens and starts with a letter; it
    becomes the entry-point name, the distribution omi-TYPE-NAME and the package
    omi_TYPE_NAME. A NAME that an installed plugin of that type (a built-in too) already has
    is refused. On a terminal, each answer is checked as it is typed.

    \b
    Examples:
      omi plugins new embedding my-embedder --git
      omi plugins new storage redis -o ~/src --no-input --author "Ada Lovelace"
      omi plugins new event slack --dry-run
    """
    import sys

    from omi.scaffold import new_plugin, plugin_names, refuse_taken_name

    refuse_taken_name(plugin_names(plugin_type, name))
    variables = {key: value for key, value in (("author", author), ("email", email),
                 ("description", description), ("license", license_)) if value is not None}
    variables.update(parse_settings(settings))
    interactive = not no_input and sys.stdin.isatty()
    made = new_plugin(plugin_type, name, output_dir, variables, no_input=not interactive,
                      dry_run=dry_run, git=git)
    if dry_run:
        click.echo(f"Would create {made.project_dir} with {len(made.files)} files:")
        for path in made.files:
            click.echo(f"  {path}")
        return
    where = os.path.relpath(made.project_dir)
    click.echo(f"Created {made.names.distribution} in {where}: the {made.names.class_name} "
               f"class, registered as '{made.names.name}' in {made.names.group}.")
    if git:
        click.echo("It is a git repository with one commit of every file.")
    click.echo("\nNext:")
    click.echo(f"  pip install -e '{where}[test]'")
    click.echo(f"  pytest {where}")
    click.echo(f"  omi plugins check {made.names.plugin_type}:{made.names.name}")


# --- omi plugins update ---------------------------------------------------------------------

UPDATE_MARKS = {"added": "A", "updated": "M", "merged": "M", "deleted": "D", "conflict": "C",
                "skipped": "S"}


@plugins.command("update")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 when the project is behind the installed templates "
              "and list the files an update would change (for CI).")
@click.option("--dry-run", is_flag=True, help="Print the diff the update would make; write "
              "nothing.")
@click.option("--skip", "skips", multiple=True, metavar="GLOB",
              help="Leave files (or folders) matching GLOB alone; remembered in "
              ".omi-template.json. Repeatable.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", type=TEXT,
              help="Change a template answer (e.g. --set description=...) and re-render. "
              "Repeatable.")
@click.option("--allow-dirty", is_flag=True,
              help="Update even though the git work tree has uncommitted changes.")
@click.option("--init", "init", is_flag=True,
              help="Record the answers from pyproject.toml for a project that has no "
              ".omi-template.json, taking it as current with the installed templates.")
def update_plugin_command(path: str, check_only: bool, dry_run: bool, skips: tuple[str, ...],
                          settings: tuple[str, ...], allow_dirty: bool, init: bool) -> None:
    """Bring a plugin made by `omi plugins new` up to date with the installed templates.

    The template's changes since PATH (default: the current directory) was generated or last
    updated are merged into it file by file: your edits are kept; where you and the template
    changed the same lines, the file gets <<<<<<< conflict markers and the command exits 1.

    \b
    Examples:
      omi plugins update --check
      omi plugins update --dry-run
      omi plugins update path/to/omi-embedding-mine --skip README.md
      omi plugins update --init
    """
    from pathlib import Path

    from omi import update

    if check_only and dry_run:
        raise UsageError("--check and --dry-run do not go together; pick one")
    if init and (check_only or dry_run):
        raise UsageError("--init records answers; it does not go with --check or --dry-run")
    project = Path(path).resolve()
    if init:
        answers, different = update.init_record(project, skips, parse_settings(settings))
        click.echo(f"Recorded answers for omi-{answers['template']}-{answers['name']} in "
                   f"{update.ANSWERS_FILE}: it now tracks the omi-openclaw {__version__} "
                   f"templates.")
        if different:
            click.echo(f"{len(different)} file(s) differ from the template and count as your "
                       f"own edits, which updates keep: {', '.join(different)}")
        return
    plan = update.plan_update(project, skips, parse_settings(settings))
    name = f"omi-{plan.answers['template']}-{plan.answers['name']}"
    current = f"{name} is current with the omi-openclaw {__version__} templates."
    if not plan.behind and (check_only or not plan.record_changed):
        click.echo(current)
        _echo_notes(plan.notes)
        return
    if check_only:
        click.echo(f"{name} is behind the omi-openclaw {__version__} templates (last updated "
                   f"with {plan.from_version}); omi plugins update would change:")
        _echo_changes(plan.changes)
        _echo_notes(plan.notes)
        raise OperationFailed()
    if dry_run:
        _echo_diff(plan.changes)
        click.echo(f"Dry run: {sum(c.writes for c in plan.changes)} file(s) would change, "
                   f"{len(plan.conflicts)} with conflicts; nothing written.")
        _echo_notes(plan.notes)
        if plan.conflicts:
            raise OperationFailed()
        return
    note = update.check_worktree(project, allow_dirty, list(plan.contents()))
    if note:
        click.echo(f"Note: {note}", err=True)
    update.apply_update(plan)
    if not plan.behind:
        click.echo(f"Recorded the new answers in {update.ANSWERS_FILE}; {current}")
        _echo_notes(plan.notes)
        return
    click.echo(f"Updated {name} to the omi-openclaw {__version__} templates (from "
               f"{plan.from_version}):")
    _echo_changes(plan.changes)
    _echo_notes(plan.notes)
    if plan.conflicts:
        raise OperationFailed(f"{len(plan.conflicts)} file(s) have conflicts: resolve the "
                              f"<<<<<<< markers (or the notes above), then commit")


def _echo_notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"Note: {note}")


def _echo_changes(changes: list[Any]) -> None:
    if not any(change.status != "skipped" for change in changes):
        click.echo("  (no file changes; the project already has the template's changes)")
    for change in changes:
        note = f": {change.note}" if change.note else ""
        click.echo(f"  {UPDATE_MARKS[change.status]} {change.path}{note}")


def _echo_diff(changes: list[Any]) -> None:
    """Unified diffs of what the update would write."""
    import difflib

    for change in changes:
        if not change.writes:
            continue
        try:
            before, after = ((content or b"").decode("utf-8").splitlines(keepends=True)
                             for content in (change.before, change.after))
        except UnicodeDecodeError:
            click.echo(f"Binary file {change.path} would change")
            continue
        old = f"a/{change.path}" if change.before is not None else "/dev/null"
        new = f"b/{change.path}" if change.after is not None else "/dev/null"
        for line in difflib.unified_diff(before, after, old, new):
            click.echo(line if line.endswith("\n") else line + "\n", nl=False)


# --- omi plugins check ----------------------------------------------------------------------


@plugins.command("check")
@click.argument("name", required=False)
@click.option("--all", "check_all", is_flag=True, help="Check every installed plugin.")
@click.option("--group", metavar="GROUP", help="The group of NAME when several have it.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "junit"]),
              default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("-k", "pattern", metavar="PATTERN", help="Only checks whose name contains PATTERN "
              "or matches it as a glob.")
@click.option("--strict", is_flag=True, help="Fail when a declared known failure passes.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the randomized checks.")
@click.option("--timeout", type=Seconds(max=86_400), default=None,
              show_default="$OMI_CHECK_TIMEOUT, else 60",
              help="Seconds each check may take; a check still running then fails, showing "
              "where the plugin was stuck, and the run goes on.")
@click.option("--memory-limit", "memory_limit", metavar="SIZE", default="2G", show_default=True,
              help="Memory (address space) each check process may use: 2G, 512M, 1.5G or a "
              "number of bytes; 0 or none for no limit. A plugin that goes past it fails the "
              "check it was in. Enforced where the system has RLIMIT_AS (Linux, BSD); plugins "
              "built on large native libraries (e.g. torch) may need more.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Passed to the plugin's constructor (JSON values are decoded; {workdir} is "
              "the check's scratch directory). Repeatable.")
@click.option("--list-checks", "list_checks", is_flag=True,
              help="List the checks (of NAME's type: embedding, storage or event) and exit.")
@click.option("--explain", metavar="CHECK",
              help="Print what the check CHECK does, why OMI needs it and the usual fix, "
              "and exit.")
def check_plugin(name: str | None, check_all: bool, group: str | None, output_format: str,
                 output: str | None, pattern: str | None, strict: bool, seed: int,
                 timeout: float | None, memory_limit: str, options: tuple[str, ...],
                 list_checks: bool, explain: str | None) -> None:
    """Validate an installed plugin, then prove it behaves with the conformance suite.

    NAME is a plugin name, GROUP:NAME, or an importable package.module:Class. Phase 1 is
    validate_plugin (exit 2 on failure); phase 2 runs each check in a child process with a
    timeout and a memory limit (exit 1 when any fails). Ctrl-C or SIGTERM stops the run,
    killing the check processes and removing their files (exit 130 or 143).

    \b
    Examples:
      omi plugins check my-embedder
      omi plugins check storage:postgres --option dsn=postgresql:///omi
      omi plugins check --all --format junit -o conformance.xml
      omi plugins check --list-checks storage
      omi plugins check --explain recall_honours_limit
    """
    from omi import conformance
    from omi.conformance import runner
    from omi.conformance.outcome import default_timeout
    from omi.conformance.target import parse_option

    if explain is not None:
        if name or check_all or list_checks:
            raise UsageError("--explain CHECK goes alone; drop the plugin NAME, --all and "
                             "--list-checks")
        _explain_check(explain)
        return
    if list_checks:
        interface = name if name in KIND_NAMES else None
        if name and interface is None:
            raise UsageError(f"--list-checks takes {', '.join(KIND_NAMES[:-1])} or "
                             f"{KIND_NAMES[-1]}, not {name!r}{did_you_mean(name, KIND_NAMES)}")
        for item in conformance.all_checks():
            if interface in (None, item.interface):
                needs = f" [needs {', '.join(sorted(item.requires))}]" if item.requires else ""
                click.echo(f"{item.interface:9} {item.name:40} {item.description}{needs}")
        return
    if bool(name) == check_all:
        raise UsageError("give a plugin NAME or --all (not both); see omi plugins list")
    try:
        parsed = unique_keys((parse_option(text) for text in options), "--option")
        limit = runner.parse_memory_limit(memory_limit)
        if timeout is None:
            timeout = default_timeout()
    except ValueError as error:
        raise UsageError(str(error)) from None
    if output is not None:
        _check_writable(output)
    try:
        with plugin_output_to_stderr():
            reports = conformance.check_plugins([name] if name else None, group, parsed,
                                                pattern, seed, timeout, limit)
    except runner.Interrupted as stop:
        click.echo(f"Error: interrupted by {stop}: the check processes were killed and their "
                   f"scratch files removed", err=True)
        raise SystemExit(128 + stop.signum) from None
    rendered = conformance.RENDERERS[output_format](reports, strict)
    if output:
        from pathlib import Path

        from omi.atomic import write_atomically

        report = Path(output).absolute()
        write_atomically(report.parent, {report.name: (rendered + "\n").encode("utf-8")})
        click.echo(conformance.summary_line(reports))
    else:
        click.echo(rendered)
    click.get_current_context().exit(max(report.exit_code(strict) for report in reports))


def _explain_check(name: str) -> None:
    """What `--explain` prints: the check's description, why it exists and the usual fix."""
    from omi.conformance.registry import REGISTRY, unknown_check

    problem = unknown_check(name)
    if problem:
        raise UsageError(f"--explain names {problem}")
    item = REGISTRY[name]
    click.echo(f"{item.name} ({item.interface} check, since omi-openclaw {item.since})")
    click.echo(f"  What it proves: {item.description}")
    click.echo(f"  Why: {item.why}")
    click.echo(f"  Usual fix: {item.fix}")
    if item.requires:
        click.echo(f"  Runs only when the plugin declares: {', '.join(sorted(item.requires))}")
    if item.unless:
        click.echo(f"  Does not apply when the plugin declares: "
                   f"{', '.join(sorted(item.unless))}")


def _check_writable(path: str) -> None:
    if not path:  # it would name the current directory, which the report would replace
        raise UsageError("-o is empty; give the report's file name, e.g. -o report.xml")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise UsageError(f"cannot write the report to {path}: {directory} is not a writable "
                       f"directory")


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
    with plugin_output_to_stderr(), _open_memory(config_path) as memory:
        results = memory.recall(query, limit)
    shown = [{key: value for key, value in item.items() if key != "embedding"}
             for item in results]
    if output_format == "json":
        import json

        click.echo(json.dumps({"schema": "omi.recall/1", "query": query, "limit": limit,
                               "results": shown}, indent=2, ensure_ascii=False))
        return
    if not shown:
        click.echo(f"No memories match {query!r}.")
    for rank, item in enumerate(shown, 1):
        metadata = item.get("metadata") or {}
        tags = " ".join(f"{key}={value}" for key, value in metadata.items())
        click.echo(f"{rank:>2}. {item['id']}  {one_line(item['content'])}"
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

    config = load_config(config_path)
    document = mask_secrets(config.effective())
    if output_format == "json":
        import json

        click.echo(json.dumps({"source": config.source and str(config.source), **document},
                              indent=2))
        return
    import yaml

    origin = config.source or "no config file found, so these are the defaults"
    click.echo(f"# {origin}")
    click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True).rstrip())


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="omi")
