"""The `omi plugins` commands: list, cache, new, update and check.

Their own module because they are most of the command line's options: `omi --help`, `omi store`
and the rest build none of them. omi.cli names the group in its table of lazy subcommands and
imports this module when a `plugins` command line arrives.
"""

from __future__ import annotations

import math
import os
from typing import Any

import click

from omi import __version__
from omi.cli import TEXT, OmiGroup, parse_settings, unique_keys
from omi.errors import OperationFailed, UsageError, did_you_mean
from omi.kinds import KIND_NAMES, KINDS
from omi.listing import plugin_output_to_stderr, visible


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
    """Show where this interpreter's plugin index is, its key, its age and its entries; and
    which config files are kept parsed (never their contents).

    \b
    Examples:
      omi plugins cache show
      omi plugins cache show --format json
    """
    from omi import configcache, index

    report = index.show()
    report["configs"] = configcache.entries()
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
    lines.append(f"parsed config files: {len(report['configs'])}")
    for entry in report["configs"]:
        age = f"{entry['age_seconds']:.0f} s old, " if "age_seconds" in entry else ""
        lines.append(f"  {entry['config'] or entry['file']} ({age}{entry['status']})")
    click.echo(visible("\n".join(lines)))  # entry points and paths are text OMI did not write


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
@click.option("--group", metavar="GROUP", help="The group of NAME when several have it; with "
              "--all, only the plugins of that group.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "junit"]),
              default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("-k", "pattern", metavar="PATTERN", help="Only checks whose name contains PATTERN "
              "or matches it as a glob.")
@click.option("--strict", is_flag=True, help="Fail on advisories (advice not followed) and "
              "when a declared known failure passes.")
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
                click.echo(f"{item.interface:9} {item.name:40} {item.description}{needs} "
                           f"[{item.level}: {', '.join(item.rules)}]")
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
    from omi.conformance.rules import RULES

    for name in item.rules:
        rule = RULES[name]
        click.echo(f"  Proves the rule {name} ({rule.level}): {rule.interface} "
                   f"{rule.method}: {rule.text}")
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
