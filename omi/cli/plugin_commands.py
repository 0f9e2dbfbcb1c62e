"""The `omi plugins` commands: list, cache, new, update, diff, check and matrix.

Their own module because they are most of the command line's options: `omi --help`, `omi store`
and the rest build none of them. omi.cli.root names the group in its table of lazy subcommands
and imports this module when a `plugins` command line arrives; the plain forms of
`plugins list` never get here (omi.cli.launch answers them).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import click

from omi import __version__
from omi.cli.toolkit import TEXT, OmiGroup, format_option, parse_settings, unique_keys
from omi.errors import OperationFailed, UsageError, did_you_mean
from omi.kinds import KIND_NAMES, KINDS
from omi.textsafety import json_text, plugin_output_to_stderr, visible

if TYPE_CHECKING:  # imported by the commands that use them
    from pathlib import Path

    from omi.conformance.messages import RunSettings
    from omi.scaffold import Rendered
    from omi.update import UpdatePlan


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


@click.group(cls=OmiGroup)
def plugins() -> None:
    """List, create, check and update OMI plugins."""


# --- omi plugins list -----------------------------------------------------------------------


@plugins.command("list")
@format_option(["text", "json"], "Text for people, JSON (schema in the README) for scripts.")
@click.option(
    "--group",
    metavar="GROUP",
    help=f"Only this group: {', '.join(kind.group for kind in KINDS)} "
    f"(or {', '.join(KIND_NAMES)}).",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also show each plugin's distribution, module and import time, slowest first.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when any plugin fails to load (for CI); the list is printed all the same.",
)
def list_plugins(output_format: str, group: str | None, verbose: bool, strict: bool) -> None:
    """List installed plugins, loading each one to validate it.

    A broken plugin is shown with ✗ and the reason; plugins that OMI_LOAD_PLUGINS keeps out
    are shown as skipped and are not imported. In a project directory whose pyproject.toml
    declares plugins, a note says when the installed entry points differ from it.

    \b
    Examples:
      omi plugins list
      omi plugins list --group storage --verbose
      omi plugins list --format json
      omi plugins list --strict
    """
    from omi.listing import list_output, strict_failure

    text, failed = list_output(group, output_format, verbose)
    click.echo(text)
    if strict and failed:
        raise OperationFailed(strict_failure(failed))


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
@format_option(["text", "json"], "Text for people, JSON for scripts.")
def plugins_cache_show(output_format: str) -> None:
    """Show where this interpreter's plugin index is, its key, its age and its entries; and
    which config files are kept parsed (never their contents).

    \b
    Examples:
      omi plugins cache show
      omi plugins cache show --format json
    """
    from omi import cachefiles, configcache, index

    report = index.show()
    report["configs"] = configcache.entries()
    if output_format == "json":
        click.echo(json_text(report))
        return
    key = report["key"]
    v = visible  # entry points and paths are text OMI did not write
    lines = [
        f"file: {v(report['file'])}",
        f"status: {report['status']}"
        + ("" if report["enabled"] else f" (disabled by {cachefiles.SWITCH})"),
        f"interpreter: {v(key['executable'])} ({v(key['implementation'])})",
        "sys.path:",
        *(f"  {v(entry) or '(current directory)'}" for entry in key["path"]),
    ]
    if "age_seconds" in report:
        lines.insert(2, f"age: {report['age_seconds']:.0f} s")
        lines.append(f"entries: {len(report['entries'])}")
        lines += [
            f"  {v(e['group'])}: {v(e['name'])} = {v(e['value'])} "
            f"({v(e['distribution'])} {v(e['version'])})"
            for e in report["entries"]
        ]
    lines.append(f"parsed config files: {len(report['configs'])}")
    for entry in report["configs"]:
        age = f"{entry['age_seconds']:.0f} s old, " if "age_seconds" in entry else ""
        lines.append(f"  {v(entry['config'] or entry['file'])} ({age}{entry['status']})")
    click.echo("\n".join(lines))


@plugins_cache.command("clear")
def plugins_cache_clear() -> None:
    """Delete the plugin index of every interpreter, and the parsed config files kept beside
    it; the next command scans (and parses) again.

    \b
    Example:
      omi plugins cache clear
    """
    from omi import cachefiles, configcache, index

    removed = index.clear()
    configs = configcache.clear()
    click.echo(
        f"Removed {len(removed)} plugin index file(s) and {len(configs)} parsed config "
        f"file(s) from {cachefiles.cache_dir()}"
    )


# --- omi plugins new ------------------------------------------------------------------------


class NewCommand(click.Command):
    """`plugins new`, whose help ends with every --set variable and its default, read from
    the templates only when the help is shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from omi.scaffold import settable_defaults

        with formatter.section("Template variables (--set KEY=VALUE, default)"):
            formatter.write_dl(list(settable_defaults().items()))
        super().format_epilog(ctx, formatter)


@plugins.command("new", cls=NewCommand)
@click.argument("plugin_type", metavar=f"{{{'|'.join(KIND_NAMES)}}}", type=click.Choice(KIND_NAMES))
@click.argument("name")
@click.option(
    "-o",
    "--output-dir",
    default=".",
    show_default=True,
    type=click.Path(),
    help="Where the omi-<type>-<name> directory is created.",
)
@click.option("--no-input", is_flag=True, help="Do not prompt; use defaults and the values given.")
@click.option("--author", type=TEXT, help="Author name (default: git config user.name).")
@click.option("--email", type=TEXT, help="Author e-mail (default: git config user.email).")
@click.option("--description", type=TEXT, help="One-line description of the plugin.")
@click.option("--license", "license_", type=TEXT, help="MIT (default), Apache-2.0 or BSD-3-Clause.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    type=TEXT,
    help="Any other template variable (e.g. --set version=0.2.0; all are listed "
    "below). Repeatable.",
)
@click.option(
    "--git",
    is_flag=True,
    help="Make the project a git repository with one commit "
    "of every file (omi plugins update wants a clean tree).",
)
@click.option("--dry-run", is_flag=True, help="List the files it would write; write nothing.")
def new_plugin_command(
    plugin_type: str,
    name: str,
    output_dir: str,
    no_input: bool,
    author: str | None,
    email: str | None,
    description: str | None,
    license_: str | None,
    settings: tuple[str, ...],
    git: bool,
    dry_run: bool,
) -> None:
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
    variables = {
        key: value
        for key, value in (
            ("author", author),
            ("email", email),
            ("description", description),
            ("license", license_),
        )
        if value is not None
    }
    variables.update(parse_settings(settings))
    from omi.interrupts import sigterm_as_interrupt

    interactive = not no_input and sys.stdin.isatty()
    try:
        with sigterm_as_interrupt("nothing was written"):
            made = new_plugin(
                plugin_type,
                name,
                output_dir,
                variables,
                no_input=not interactive,
                dry_run=dry_run,
                git=git,
            )
    except EOFError:  # Ctrl-D at a prompt: stop as Ctrl-C does (nothing is left behind)
        raise click.Abort() from None
    _echo_made(made, dry_run, git)


def _echo_made(made: Rendered, dry_run: bool, git: bool) -> None:
    """What `plugins new` says it made (or would make), and the commands to run next."""
    if dry_run:
        click.echo(f"Would create {made.project_dir} with {len(made.files)} files:")
        for path in made.files:
            click.echo(f"  {path}")
        return
    where = os.path.relpath(made.project_dir)
    place = "" if where == made.names.distribution else f" in {where}"
    click.echo(
        f"Created {made.names.distribution}{place}: the {made.names.class_name} "
        f"class, registered as '{made.names.name}' in {made.names.group}."
    )
    if git:
        click.echo("It is a git repository with one commit of every file.")
    click.echo("\nNext:")
    click.echo(f"  pip install -e '{where}[testing]'")
    click.echo(f"  pytest {where}")
    click.echo(f"  omi plugins check {made.names.plugin_type}:{made.names.name}")


# --- omi plugins update ---------------------------------------------------------------------

UPDATE_MARKS = {
    "added": "A",
    "updated": "M",
    "merged": "M",
    "deleted": "D",
    "conflict": "C",
    "skipped": "S",
}


@plugins.command("update")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 when the project is behind the installed templates "
    "and list the files an update would change (for CI).",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the diff the update would make; write nothing."
)
@click.option(
    "--skip",
    "skips",
    multiple=True,
    metavar="GLOB",
    help="Leave files (or folders) matching GLOB alone; remembered in "
    ".omi-template.json. Repeatable.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    type=TEXT,
    help="Change a template answer (e.g. --set description=...) and re-render. Repeatable.",
)
@click.option(
    "--allow-dirty",
    is_flag=True,
    help="Update even though the git work tree has uncommitted changes.",
)
@click.option(
    "--init",
    "init",
    is_flag=True,
    help="Record the answers from pyproject.toml for a project that has no "
    ".omi-template.json, taking it as current with the installed templates.",
)
def update_plugin_command(
    path: str,
    check_only: bool,
    dry_run: bool,
    skips: tuple[str, ...],
    settings: tuple[str, ...],
    allow_dirty: bool,
    init: bool,
) -> None:
    """Bring a plugin made by `omi plugins new` up to date with the installed templates.

    The template's changes since PATH (default: the current directory) was generated or last
    updated are merged into it file by file: your edits are kept; where you and the template
    changed the same lines, the file gets <<<<<<< conflict markers and the command exits 1.
    The implementation module and its unit tests are yours: written once, never updated.
    `omi plugins diff` shows what you changed against the template.

    \b
    Examples:
      omi plugins update --check
      omi plugins update --dry-run
      omi plugins update path/to/omi-embedding-mine --skip README.md
      omi plugins update --init
    """
    from pathlib import Path

    if check_only and dry_run:
        raise UsageError("--check and --dry-run do not go together; pick one")
    if init and (check_only or dry_run):
        raise UsageError("--init records answers; it does not go with --check or --dry-run")
    project = Path(path).resolve()
    if init:
        _record_answers(project, skips, parse_settings(settings))
        return
    from omi.update import plan_update

    plan = plan_update(project, skips, parse_settings(settings))
    if not plan.behind and (check_only or not plan.record_changed):
        click.echo(_current_line(plan))
        _echo_footer(plan)
    elif check_only:
        _report_behind(plan)
    elif dry_run:
        _report_dry_run(plan)
    else:
        _apply_update(plan, project, allow_dirty)


def _project_name(plan: UpdatePlan) -> str:
    return f"omi-{plan.answers['template']}-{plan.answers['name']}"


def _current_line(plan: UpdatePlan) -> str:
    return f"{_project_name(plan)} is current with the omi-openclaw {__version__} templates."


def _record_answers(project: Path, skips: tuple[str, ...], settings: dict[str, str]) -> None:
    """`--init`: record the answers of a project that has no answers file."""
    from omi.record import ANSWERS_FILE
    from omi.update import init_record

    answers, different = init_record(project, skips, settings)
    click.echo(
        f"Recorded answers for omi-{answers['template']}-{answers['name']} in "
        f"{ANSWERS_FILE}: it now tracks the omi-openclaw {__version__} templates."
    )
    if different:
        click.echo(
            f"{len(different)} file(s) differ from the template and count as your "
            f"own edits, which updates keep: {', '.join(different)}"
        )


def _report_behind(plan: UpdatePlan) -> None:
    """`--check` on a project behind the templates: the files an update would change, exit 1."""
    click.echo(
        f"{_project_name(plan)} is behind the omi-openclaw {__version__} templates "
        f"(last updated with {plan.from_version}); omi plugins update would change:"
    )
    _echo_changes(plan.changes)
    _echo_footer(plan)
    raise OperationFailed()


def _report_dry_run(plan: UpdatePlan) -> None:
    """`--dry-run`: the diff an update would make; exit 1 when it would leave conflicts."""
    _echo_diff(plan.changes)
    click.echo(
        f"Dry run: {sum(c.writes for c in plan.changes)} file(s) would change, "
        f"{len(plan.conflicts)} with conflicts; nothing written."
    )
    _echo_footer(plan)
    if plan.conflicts:
        raise OperationFailed()


def _apply_update(plan: UpdatePlan, project: Path, allow_dirty: bool) -> None:
    """Write the update (or only the answers file), then say what changed; exit 1 on
    conflicts."""
    from omi.interrupts import sigterm_as_interrupt
    from omi.record import ANSWERS_FILE
    from omi.update import apply_update, check_worktree

    # Recording that a note was shown touches the answers file alone, on any work tree.
    noting_only = not plan.behind and not plan.answers_changed
    note = None if noting_only else check_worktree(project, allow_dirty, list(plan.contents()))
    if note:
        click.echo(f"Note: {note}", err=True)
    with sigterm_as_interrupt("nothing was written"):
        apply_update(plan)
    if not plan.behind:
        recorded = "that the note below was shown" if noting_only else "the new answers"
        click.echo(f"Recorded {recorded} in {ANSWERS_FILE}; {_current_line(plan)}")
        _echo_footer(plan)
        return
    click.echo(
        f"Updated {_project_name(plan)} to the omi-openclaw {__version__} templates "
        f"(from {plan.from_version}):"
    )
    _echo_changes(plan.changes)
    _echo_footer(plan)
    if plan.conflicts:
        raise OperationFailed(
            f"{len(plan.conflicts)} file(s) have conflicts: resolve the "
            f"<<<<<<< markers (or the notes above), then commit"
        )


def _echo_footer(plan: UpdatePlan) -> None:
    """Which files the update keeps current and which it leaves to the author; the notes."""
    if plan.yours:
        click.echo(
            f"Yours, never updated (written once): {', '.join(plan.yours)}; the update "
            f"keeps the other {len(plan.managed)} template file(s) current."
        )
    for note in plan.notes:
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
            before, after = (
                (content or b"").decode("utf-8").splitlines(keepends=True)
                for content in (change.before, change.after)
            )
        except UnicodeDecodeError:
            click.echo(f"Binary file {change.path} would change")
            continue
        old = f"a/{change.path}" if change.before is not None else "/dev/null"
        new = f"b/{change.path}" if change.after is not None else "/dev/null"
        for line in difflib.unified_diff(before, after, old, new):
            click.echo(line if line.endswith("\n") else line + "\n", nl=False)


# --- omi plugins diff -----------------------------------------------------------------------

DIFF_SUMMARIES = {
    "deleted": "deleted by you",
    "replaced": "no longer a regular file",
    "binary": "changed (binary, control characters or over 1 MiB; not shown)",
}


@plugins.command("diff")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--name-only", is_flag=True, help="Print only the paths of the changed files.")
def diff_plugin_command(path: str, name_only: bool) -> None:
    """Show what you changed in a plugin made by `omi plugins new`, against the template.

    The template side is the rendering PATH (default: the current directory) was generated or
    last updated from, so the diff holds your own work only: a unified diff with a/ for the
    template and b/ for your files. Files you added are not shown.

    \b
    Examples:
      omi plugins diff
      omi plugins diff --name-only
      omi plugins diff path/to/omi-storage-mine > my-changes.patch
    """
    from omi.templatediff import template_diff

    version, changed = template_diff(path)
    if not changed:
        click.echo(f"No changes against the omi-openclaw {version} template.", err=True)
    for found in changed:
        if name_only:
            click.echo(found.path)
        elif found.lines:
            for line in found.lines:
                click.echo(
                    line if line.endswith("\n") else line + "\n\\ No newline at end of file\n",
                    nl=False,
                )
        else:
            click.echo(f"{found.path}: {DIFF_SUMMARIES[found.status]}")


# --- omi plugins check ----------------------------------------------------------------------


@plugins.command("check")
@click.argument("name", required=False)
@click.option("--all", "check_all", is_flag=True, help="Check every installed plugin.")
@click.option(
    "--no-builtins",
    "no_builtins",
    is_flag=True,
    help="With --all, leave out the plugins that ship with omi-openclaw.",
)
@click.option(
    "--group",
    metavar="GROUP",
    help="The group of NAME when several have it; with --all, only the plugins of that group.",
)
@format_option(["text", "json", "junit"], "Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option(
    "-k",
    "pattern",
    metavar="PATTERN",
    help="Only checks whose name contains PATTERN or matches it as a glob.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail on advisories (advice not followed) and when a declared known failure passes.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the randomized checks."
)
@click.option(
    "--timeout",
    type=Seconds(max=86_400),
    default=None,
    show_default="$OMI_CHECK_TIMEOUT, else 60",
    help="Seconds each check may take; a check still running then fails, showing "
    "where the plugin was stuck, and the run goes on.",
)
@click.option(
    "--memory-limit",
    "memory_limit",
    metavar="SIZE",
    default="2G",
    show_default=True,
    help="Memory (address space) each check process may use: 2G, 512M, 1.5G or a "
    "number of bytes; 0 or none for no limit. A plugin that goes past it fails the "
    "check it was in. Enforced where the system has RLIMIT_AS (Linux, BSD); plugins "
    "built on large native libraries (e.g. torch) may need more.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Passed to the plugin's constructor (JSON values are decoded; {workdir} is "
    "the check's scratch directory). Repeatable.",
)
@click.option(
    "--list-checks",
    "list_checks",
    is_flag=True,
    help="List the checks (of NAME's type: embedding, storage or event) and exit.",
)
@click.option(
    "--explain",
    metavar="CHECK",
    help="Print what the check CHECK does, why OMI needs it and the usual fix, and exit.",
)
@click.option(
    "--grade",
    "show_grade",
    is_flag=True,
    help="After the report, print the plugin's grade (bronze to platinum) and the "
    "checklist of rules behind it.",
)
@click.option(
    "--badge",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the grade as a shields.io endpoint JSON to FILE (implies --grade).",
)
def check_plugin(
    name: str | None,
    check_all: bool,
    no_builtins: bool,
    group: str | None,
    output_format: str,
    output: str | None,
    pattern: str | None,
    strict: bool,
    seed: int,
    timeout: float | None,
    memory_limit: str,
    options: tuple[str, ...],
    list_checks: bool,
    explain: str | None,
    show_grade: bool,
    badge: str | None,
) -> None:
    """Validate an installed plugin, then prove it behaves with the conformance suite.

    NAME is a plugin name, GROUP:NAME, or an importable package.module:Class. Phase 1 is
    validate_plugin (exit 2 on failure); phase 2 runs each check in a child process with a
    timeout and a memory limit (exit 1 when any fails). A plugin whose service cannot be
    reached is not tested, which is not failed: exit 3 when no plugin could be tested, 0 when
    the others passed. Ctrl-C or SIGTERM stops the run, killing the check processes and
    removing their files (exit 130 or 143).

    \b
    Examples:
      omi plugins check my-embedder
      omi plugins check storage:postgres --option dsn=postgresql:///omi
      omi plugins check --all --format junit -o conformance.xml
      omi plugins check --all --no-builtins
      omi plugins check --list-checks storage
      omi plugins check --explain recall_honours_limit
    """
    if explain is not None:
        if name or check_all or list_checks:
            raise UsageError(
                "--explain CHECK goes alone; drop the plugin NAME, --all and --list-checks"
            )
        _explain_check(explain)
        return
    if list_checks:
        _list_checks(name)
        return
    _check_selection(name, check_all, no_builtins)
    _check_grade_options(show_grade or badge is not None, check_all or bool(pattern), badge)
    plugin_options, settings = _run_settings(options, seed, memory_limit, timeout)
    if output is not None:
        _check_writable(output)
    reports = _run_checks(name, group, plugin_options, pattern, settings, not no_builtins)
    _echo_report(reports, output_format, strict, output)
    if show_grade or badge is not None:
        _echo_grade(name or "", group, reports, badge)
    from omi.conformance.suite import exit_code

    click.get_current_context().exit(exit_code(reports, strict))


def _list_checks(interface: str | None) -> None:
    """What `--list-checks [TYPE]` prints: one line a check, of every type or of TYPE."""
    from omi import conformance

    if interface and interface not in KIND_NAMES:
        raise UsageError(
            f"--list-checks takes {', '.join(KIND_NAMES[:-1])} or "
            f"{KIND_NAMES[-1]}, not {interface!r}"
            f"{did_you_mean(interface, KIND_NAMES)}"
        )
    for item in conformance.all_checks():
        if not interface or interface == item.interface:
            needs = f" [needs {', '.join(sorted(item.requires))}]" if item.requires else ""
            click.echo(
                f"{item.interface:9} {item.name:40} {item.description}{needs} "
                f"[{item.level}: {', '.join(item.rules)}]"
            )


def _run_settings(
    options: tuple[str, ...], seed: int, memory_limit: str, timeout: float | None
) -> tuple[dict[str, Any], RunSettings]:
    """The plugin's --option values and the settings of the run: the seed, the timeout of each
    check (--timeout, else $OMI_CHECK_TIMEOUT, else 60) and the memory limit in bytes; a bad
    one is a usage error."""
    from omi.conformance.messages import RunSettings
    from omi.conformance.outcome import default_timeout, parse_memory_limit
    from omi.conformance.target import parse_option

    try:
        plugin_options = unique_keys((parse_option(text) for text in options), "--option")
        seconds = default_timeout() if timeout is None else timeout
        return plugin_options, RunSettings(
            seed, seconds, memory_limit=parse_memory_limit(memory_limit)
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def _run_checks(
    name: str | None,
    group: str | None,
    plugin_options: dict[str, Any],
    pattern: str | None,
    settings: RunSettings,
    builtins: bool,
) -> list[Any]:
    """The reports of NAME's checks (of every plugin's, with --all); Ctrl-C or SIGTERM ends
    the command with 128 + the signal's number, once the check processes are gone."""
    from omi import conformance
    from omi.conformance.runner import Interrupted

    try:
        with plugin_output_to_stderr():
            return conformance.check_plugins(
                [name] if name else None,
                group,
                plugin_options,
                pattern,
                settings,
                builtins,
            )
    except Interrupted as stop:
        click.echo(
            f"Error: interrupted by {stop}: the check processes were killed and their "
            f"scratch files removed",
            err=True,
        )
        raise SystemExit(128 + stop.signum) from None


def _echo_report(reports: list[Any], output_format: str, strict: bool, output: str | None) -> None:
    """The report in `output_format`, printed, or written to `output` with a summary line."""
    from omi import conformance

    rendered = conformance.RENDERERS[output_format](reports, strict)
    if not output:
        click.echo(rendered)
        return
    from pathlib import Path

    from omi.atomic import write_atomically

    report = Path(output).absolute()
    write_atomically(report.parent, {report.name: (rendered + "\n").encode("utf-8")})
    click.echo(conformance.summary_line(reports))


def _check_selection(name: str | None, check_all: bool, no_builtins: bool) -> None:
    """A plugin NAME or --all, and --no-builtins only with --all (exit 2 otherwise)."""
    if bool(name) == check_all:
        raise UsageError("give a plugin NAME or --all (not both); see omi plugins list")
    if no_builtins and not check_all:
        raise UsageError("--no-builtins goes with --all; a plugin NAME is checked whoever wrote it")


def _check_grade_options(grading: bool, partial: bool, badge: str | None) -> None:
    if grading and partial:
        raise UsageError(
            "--grade and --badge grade one plugin on its whole suite: give a "
            "plugin NAME, without --all or -k"
        )
    if badge is not None:
        _check_writable(badge, "--badge", "omi-badge.json")


def _echo_grade(name: str, group: str | None, reports: list[Any], badge: str | None) -> None:
    """The grade of the plugin `name`, checked in `reports`, from its installed metadata."""
    from omi.matrix.grade import render_checklist
    from omi.matrix.local import grade_installed

    title, result, document = grade_installed(name, group, reports)
    click.echo(visible(render_checklist(title, result)))
    if badge is not None:
        from omi.matrix.run import write_text

        write_text(badge, document + "\n")
        click.echo(f"Wrote the badge ({result.tier or 'ungraded'}) to {badge}")


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
    from omi.conformance.rules import RULES

    for name in item.rules:
        rule = RULES[name]
        click.echo(
            f"  Proves the rule {name} ({rule.level}): {rule.interface} {rule.method}: {rule.text}"
        )
    if item.requires:
        click.echo(f"  Runs only when the plugin declares: {', '.join(sorted(item.requires))}")
    if item.unless:
        click.echo(f"  Does not apply when the plugin declares: {', '.join(sorted(item.unless))}")


def _check_writable(path: str, option: str = "-o", example: str = "report.xml") -> None:
    if not path:  # it would name the current directory, which the report would replace
        raise UsageError(f"{option} is empty; give the report's file name, e.g. {option} {example}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise UsageError(
            f"cannot write the report to {path}: {directory} is not a writable directory"
        )


# --- omi plugins matrix -----------------------------------------------------------------------


class PythonVersion(click.ParamType):  # type: ignore[type-arg]
    """X.Y, as the matrix's --python takes it."""

    name = "X.Y"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        parts = str(value).split(".")
        if len(parts) != 2 or not all(part.isdigit() and len(part) <= 3 for part in parts):
            self.fail(f"{value!r} is not a Python version; give X.Y, e.g. 3.12", param, ctx)
        return str(value)


def _matrix_output(matrix: Any, output_format: str, html: str | None) -> None:
    """Print the matrix in `output_format`, write the HTML page, exit with its exit code."""
    from omi.matrix.render import RENDERERS
    from omi.matrix.run import write_text

    if html is not None:
        from omi.matrix.html import render_html

        write_text(html, render_html(matrix))
    click.echo(RENDERERS[output_format](matrix))
    click.get_current_context().exit(matrix.exit_code())


FORMAT_OPTION = format_option(
    ["text", "json", "markdown"],
    "A table for people, the omi-matrix/1 JSON document (see the docs) or Markdown for a "
    "pull-request comment.",
)
HTML_OPTION = click.option(
    "--html",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also write the matrix as one self-contained HTML page.",
)


@plugins.group("matrix", cls=OmiGroup, invoke_without_command=True)
@click.option(
    "--plugin",
    "plugin_reqs",
    multiple=True,
    metavar="REQ",
    type=TEXT,
    help="A plugin: anything pip installs (name with a range, wheel, directory). Repeatable.",
)
@click.option(
    "--plugins-file",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="A file of plugins, one REQ a line (# starts a comment).",
)
@click.option(
    "--omi",
    "omi_reqs",
    multiple=True,
    metavar="REQ",
    type=TEXT,
    help="An omi-openclaw to test against (e.g. omi-openclaw==0.4.0, a wheel, a "
    "checkout). Repeatable.",
)
@click.option(
    "--baseline",
    metavar="REQ",
    type=TEXT,
    help="The omi-openclaw the candidates are compared with: a cell that passes on "
    "it and fails on a candidate is a regression.",
)
@click.option(
    "--python",
    "pythons",
    multiple=True,
    type=PythonVersion(),
    help="A Python X.Y (pythonX.Y on PATH; default this one). Repeatable.",
)
@click.option(
    "--find-links",
    "find_links",
    multiple=True,
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False),
    help="Also look for distributions in DIR (a wheelhouse). Repeatable.",
)
@click.option("--offline", is_flag=True, help="Use no package index: only --find-links.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=None,
    show_default="the number of cores",
    help="Cells run at once.",
)
@click.option(
    "--installer",
    type=click.Choice(["auto", "uv", "pip"]),
    default="auto",
    show_default=True,
    help="auto: uv when it is installed, else venv + pip.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    show_default="$XDG_CACHE_HOME/omi/matrix",
    help="Where environments are kept.",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Make every environment again (resolving ranges "
    "anew) even when one with the same inputs is cached.",
)
@click.option(
    "--timeout",
    type=Seconds(max=86_400),
    default=60.0,
    show_default=True,
    help="Seconds each conformance check may take.",
)
@FORMAT_OPTION
@HTML_OPTION
@click.option(
    "--github-matrix",
    is_flag=True,
    help="Print the cells as a GitHub Actions "
    'strategy matrix ({"include": [...]}) instead of running them.',
)
@click.pass_context
def matrix_command(
    ctx: click.Context,
    plugin_reqs: tuple[str, ...],
    plugins_file: Any,
    omi_reqs: tuple[str, ...],
    baseline: str | None,
    pythons: tuple[str, ...],
    find_links: tuple[str, ...],
    offline: bool,
    jobs: int | None,
    installer: str,
    cache_dir: str | None,
    refresh: bool,
    timeout: float,
    output_format: str,
    html: str | None,
    github_matrix: bool,
) -> None:
    """Check many plugins against omi-openclaw releases and Pythons, each cell in its own
    environment; with --baseline, report the regressions.

    Each cell (plugin x omi x python) installs both into a cached, isolated environment (uv
    when installed, else venv + pip) and runs omi plugins check there for each plugin the
    distribution registers. Exit 1 when a cell fails (with --baseline: only for a
    regression), 2 for usage errors.

    \b
    Examples:
      omi plugins matrix --plugin omi-embedding-cohere --omi omi-openclaw==0.4.0 --omi .
      omi plugins matrix --plugins-file plugins.txt --baseline omi-openclaw==0.4.0 --omi . \\
          --html matrix.html
      omi plugins matrix --plugins-file plugins.txt --omi . --github-matrix
      omi plugins matrix merge reports/*.json --format markdown
    """
    if ctx.invoked_subcommand is not None:
        _refuse_run_options(ctx.invoked_subcommand, plugin_reqs, omi_reqs, baseline)
        return
    from omi.matrix.run import Matrix

    plugin_list = list(plugin_reqs) + (_read_plugins_file(plugins_file) if plugins_file else [])
    _check_requirements(plugin_list, omi_reqs, baseline)
    if html is not None:
        _check_writable(html, "--html", "matrix.html")
    matrix = Matrix(
        list(dict.fromkeys(plugin_list)),
        list(dict.fromkeys(omi_reqs)),
        list(dict.fromkeys(pythons)) or [_this_python()],
        baseline,
    )
    if github_matrix:
        from omi.matrix.render import github_matrix as render_github

        click.echo(render_github(matrix))
        return
    _run_matrix(matrix, find_links, offline, jobs, installer, cache_dir, refresh, timeout)
    _matrix_output(matrix, output_format, html)


def _refuse_run_options(
    subcommand: str, plugin_reqs: tuple[str, ...], omi_reqs: tuple[str, ...], baseline: str | None
) -> None:
    """The run's options given with a subcommand (`matrix --omi X merge ...`) are a usage error."""
    given = [
        name
        for name, value in (
            ("--plugin", plugin_reqs),
            ("--omi", omi_reqs),
            ("--baseline", baseline),
        )
        if value
    ]
    if given:
        raise UsageError(
            f"{', '.join(given)} go with the run, not with '{subcommand}'; "
            "see omi plugins matrix --help"
        )


def _check_requirements(
    plugin_list: list[str], omi_reqs: tuple[str, ...], baseline: str | None
) -> None:
    """At least one plugin and one omi; none that an installer would read as an option."""
    if not plugin_list:
        raise UsageError("give at least one --plugin REQ (or --plugins-file FILE)")
    if not omi_reqs and not baseline:
        raise UsageError("give at least one --omi REQ (or a --baseline REQ)")
    for requirement in [*plugin_list, *omi_reqs, *([baseline] if baseline else [])]:
        if requirement.startswith("-") or not requirement.strip():
            raise UsageError(
                f"{requirement!r} is not a requirement (an installer would read "
                f"it as an option); give a name with a range, a wheel or a "
                f"directory"
            )


def _this_python() -> str:
    import sys

    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _read_plugins_file(stream: Any) -> list[str]:
    text = stream.read((1 << 20) + 1)
    if len(text) > 1 << 20:
        raise UsageError(f"--plugins-file {stream.name} is larger than 1 MiB")
    return [
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    ]


def _run_matrix(
    matrix: Any,
    find_links: tuple[str, ...],
    offline: bool,
    jobs: int | None,
    installer: str,
    cache_dir: str | None,
    refresh: bool,
    timeout: float,
) -> None:
    """Run the cells, with what makes the environments and a progress line on a terminal."""
    import sys
    from pathlib import Path

    from omi.cachefiles import cache_dir as omi_cache_dir
    from omi.matrix import envs
    from omi.matrix.cells import Settings
    from omi.matrix.run import run_matrix

    chosen = envs.choose_installer(installer)
    for python in matrix.pythons:
        envs.find_python(python)  # a missing Python is a usage error before anything runs
    settings = Settings(
        Path(cache_dir or os.path.join(omi_cache_dir(), "matrix")).absolute(),
        chosen,
        find_links,
        offline,
        refresh,
        timeout,
    )
    tty = sys.stderr.isatty()
    if tty:  # early word on a terminal; every output format says it too
        click.echo(f"Environments: {chosen.describe()}, cached in {settings.cache}", err=True)

    def progress(done: int, total: int, cell: Any) -> None:
        click.echo(
            f"\r\033[K[{done}/{total}] {cell.status}: {visible(cell.plugin)} x "
            f"{visible(cell.omi)} x py{cell.python}",
            nl=done == total,
            err=True,
        )

    run_matrix(matrix, settings, jobs or os.cpu_count() or 1, progress if tty else None)


@matrix_command.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@FORMAT_OPTION
@HTML_OPTION
def matrix_merge(reports: tuple[str, ...], output_format: str, html: str | None) -> None:
    """Join the JSON reports of matrix jobs (one cell each, e.g. from --github-matrix) into
    one matrix: the same table, JSON and HTML as a run on one machine, regressions marked
    anew. Exit codes as for a run.

    \b
    Example:
      omi plugins matrix merge reports/*.json --html matrix.html
    """
    from omi.matrix.run import merge

    if html is not None:
        _check_writable(html, "--html", "matrix.html")
    _matrix_output(merge(reports), output_format, html)
