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


def plugin_output_to_stderr() -> Any:
    """A context in which whatever plugins print goes to stderr, so that stdout carries only
    the command's own output (a plugin printing on import must not break --format json)."""
    import contextlib
    import sys

    return contextlib.redirect_stdout(sys.stderr)


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
    with plugin_output_to_stderr():
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


# --- omi plugins new ------------------------------------------------------------------------


def parse_settings(settings: tuple[str, ...], option: str = "--set",
                   example: str = "") -> dict[str, str]:
    """KEY=VALUE options as a dict: --set of `new` and `update`, --meta of `store`."""
    variables = {}
    for text in settings:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            hint = f"; e.g. {example}" if example else ""
            raise BadInput(f"{option} takes KEY=VALUE, got {text!r}{hint}")
        variables[key.strip()] = value
    return variables


@plugins.command("new")
@click.argument("plugin_type", metavar="{embedding|storage|event}",
                type=click.Choice(["embedding", "storage", "event"]))
@click.argument("name")
@click.option("-o", "--output-dir", default=".", show_default=True, type=click.Path(),
              help="Where the omi-<type>-<name> directory is created.")
@click.option("--no-input", is_flag=True, help="Do not prompt; use defaults and the values given.")
@click.option("--author", help="Author name (default: git config user.name).")
@click.option("--email", help="Author e-mail (default: git config user.email).")
@click.option("--description", help="One-line description of the plugin.")
@click.option("--license", "license_", help="MIT (default), Apache-2.0 or BSD-3-Clause.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any other template variable (e.g. --set version=0.2.0). Repeatable.")
@click.option("--dry-run", is_flag=True, help="List the files it would write; write nothing.")
def new_plugin_command(plugin_type: str, name: str, output_dir: str, no_input: bool,
                       author: str | None, email: str | None, description: str | None,
                       license_: str | None, settings: tuple[str, ...], dry_run: bool) -> None:
    """Render a new plugin package, omi-TYPE-NAME, ready to install, test and publish.

    NAME uses lowercase letters, digits and single hyphens and starts with a letter; it
    becomes the entry-point name, the distribution omi-TYPE-NAME and the package
    omi_TYPE_NAME.

    \b
    Examples:
      omi plugins new embedding my-embedder
      omi plugins new storage redis -o ~/src --no-input --author "Ada Lovelace"
      omi plugins new event slack --dry-run
    """
    import sys

    from omi.scaffold import ScaffoldError, new_plugin

    variables = {key: value for key, value in (("author", author), ("email", email),
                 ("description", description), ("license", license_)) if value is not None}
    variables.update(parse_settings(settings))
    interactive = not no_input and sys.stdin.isatty()
    try:
        made = new_plugin(plugin_type, name, output_dir, variables, no_input=not interactive,
                          dry_run=dry_run)
    except ScaffoldError as error:
        raise BadInput(one_line(error)) from None
    if dry_run:
        click.echo(f"Would create {made.project_dir} with {len(made.files)} files:")
        for path in made.files:
            click.echo(f"  {path}")
        return
    where = os.path.relpath(made.project_dir)
    click.echo(f"Created {made.names.distribution} in {where}: the {made.names.class_name} "
               f"class, registered as '{made.names.name}' in {made.names.group}.")
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
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
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
        raise BadInput("--check and --dry-run do not go together; pick one")
    if init and (check_only or dry_run):
        raise BadInput("--init records answers; it does not go with --check or --dry-run")
    project = Path(path).resolve()
    try:
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
    except update.UpdateError as error:
        raise BadInput(one_line(error)) from None
    name = f"omi-{plan.answers['template']}-{plan.answers['name']}"
    if not plan.behind and not plan.record_changed:
        click.echo(f"{name} is current with the omi-openclaw {__version__} templates.")
        return
    if check_only:
        if not plan.behind:
            click.echo(f"{name} is current with the omi-openclaw {__version__} templates.")
            return
        click.echo(f"{name} is behind the omi-openclaw {__version__} templates (last updated "
                   f"with {plan.from_version}); omi plugins update would change:")
        _echo_changes(plan.changes)
        raise SystemExit(1)
    if dry_run:
        _echo_diff(plan.changes)
        click.echo(f"Dry run: {sum(c.writes for c in plan.changes)} file(s) would change, "
                   f"{len(plan.conflicts)} with conflicts; nothing written.")
        if plan.conflicts:
            raise SystemExit(1)
        return
    if not allow_dirty:
        state, detail = update.git_worktree_state(project)
        if state == "dirty":
            raise BadInput(f"the git work tree has uncommitted changes ({detail}); commit or "
                           f"stash them so the update is one reviewable change, or pass "
                           f"--allow-dirty")
        if state != "clean":
            click.echo(f"Note: {detail}, so the update cannot be checked against a commit; "
                       f"updating anyway.", err=True)
    update.apply_update(plan)
    if not plan.behind:
        click.echo(f"Recorded the new answers in {update.ANSWERS_FILE}; {name} is current with "
                   f"the omi-openclaw {__version__} templates.")
        return
    click.echo(f"Updated {name} to the omi-openclaw {__version__} templates (from "
               f"{plan.from_version}):")
    _echo_changes(plan.changes)
    if plan.conflicts:
        raise OperationFailed(f"{len(plan.conflicts)} file(s) have conflicts: resolve the "
                              f"<<<<<<< markers (or the notes above), then commit")


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
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, help="Seconds each check may take.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Passed to the plugin's constructor (JSON values are decoded; {workdir} is "
              "the check's scratch directory). Repeatable.")
@click.option("--list-checks", "list_checks", is_flag=True,
              help="List the checks (of NAME's type: embedding, storage or event) and exit.")
def check_plugin(name: str | None, check_all: bool, group: str | None, output_format: str,
                 output: str | None, pattern: str | None, strict: bool, seed: int,
                 timeout: float, options: tuple[str, ...], list_checks: bool) -> None:
    """Validate an installed plugin, then prove it behaves with the conformance suite.

    NAME is a plugin name, GROUP:NAME, or an importable package.module:Class. Phase 1 is
    validate_plugin (exit 2 on failure); phase 2 runs each check in a child process with a
    timeout (exit 1 when any fails).

    \b
    Examples:
      omi plugins check my-embedder
      omi plugins check storage:postgres --option dsn=postgresql:///omi
      omi plugins check --all --format junit -o conformance.xml
      omi plugins check --list-checks storage
    """
    from omi import conformance
    from omi.conformance import runner
    from omi.conformance.target import parse_option
    from omi.plugins import GROUPS, discover_plugins, skip_reason

    if list_checks:
        interface = {"embedding": "embedding", "storage": "storage", "event": "event"}.get(
            name or "", None)
        if name and interface is None:
            raise BadInput(f"--list-checks takes embedding, storage or event, not {name!r}")
        for item in conformance.all_checks():
            if interface in (None, item.interface):
                needs = f" [needs {', '.join(sorted(item.requires))}]" if item.requires else ""
                click.echo(f"{item.interface:9} {item.name:40} {item.description}{needs}")
        return
    if bool(name) == check_all:
        raise BadInput("give a plugin NAME or --all (not both); see omi plugins list")
    try:
        parsed = dict(parse_option(text) for text in options)
    except ValueError as error:
        raise BadInput(str(error)) from None
    if output:
        _check_writable(output)
    try:
        runner.forks()  # OMI_CHECK_PROCESS is valid
    except ValueError as error:
        raise BadInput(str(error)) from None
    # A name two distributions register is one (failing) plugin, reported once.
    names = (list(dict.fromkeys(f"{g}:{ep.name}" for g, eps in discover_plugins().items()
                                if g in GROUPS for ep in eps if skip_reason(ep) is None))
             if check_all else [name])
    try:
        with plugin_output_to_stderr():
            reports = _check_each(names, group, parsed, pattern, seed, timeout, check_all)
    finally:
        runner.discard_spare()
    if not reports:
        raise BadInput("nothing to check: no installed plugin has a check matching the "
                       "selection; see omi plugins list and --list-checks")
    rendered = conformance.RENDERERS[output_format](reports, strict)
    if output:
        from pathlib import Path

        from omi.atomic import write_atomically

        report = Path(output).absolute()
        write_atomically(report.parent, {report.name: (rendered + "\n").encode("utf-8")})
        click.echo(conformance.summary_line(reports))
    else:
        click.echo(rendered)
    code = max((report.exit_code(strict) for report in reports), default=0)
    if code:
        raise SystemExit(code)


def _check_each(names: list[str], group: str | None, options: dict[str, Any],
                pattern: str | None, seed: int, timeout: float, check_all: bool) -> list[Any]:
    """Phase 1 and phase 2 for each plugin named; a report per plugin."""
    from omi import conformance
    from omi.conformance import runner
    from omi.conformance.target import resolve_target
    from omi.plugins import PluginError, PluginValidationError, validate_plugin

    reports = []
    for plugin_name in names:
        runner.prestart()  # the child starts up while this process imports and validates
        try:
            target, base = resolve_target(plugin_name, group, options)
        except PluginError as error:
            if not check_all:
                raise
            reports.append(conformance.Report(plugin_name, "?", seed, one_line(error)))
            continue
        try:
            validate_plugin(target.plugin_class, base)
            target.check_declarations()
        except (PluginValidationError, ValueError) as error:
            reports.append(conformance.Report(target.label, "?", seed, one_line(error)))
            continue
        if options and not check_all and not callable(
                getattr(target.plugin_class, "conformance_factory", None)):
            from omi.config import options_problem

            problem = options_problem(target.plugin_class, options, partial=True)
            if problem:  # a typo in --option, said once instead of under every check
                raise BadInput(f"--option: {target.plugin_class.__name__} {problem}")
        if pattern and not conformance.select_checks(target.interface, pattern):
            if check_all:
                continue
            raise BadInput(f"no {target.interface} check matches -k {pattern!r}; "
                           f"see omi plugins check --list-checks {target.interface}")
        reports.append(conformance.run_suite(target, pattern, seed, timeout))
    return reports


def _check_writable(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise BadInput(f"cannot write the report to {path}: {directory} is not a writable "
                       f"directory")


# --- omi store / recall / config ------------------------------------------------------------

CONFIG_OPTION_HELP = ("The config file to use (default: $OMI_CONFIG, ./omi.yaml, then "
                      "~/.config/omi/config.yaml; none found means the defaults).")


def _open_memory(config_path: str | None) -> Any:
    """The host built from config; a configuration problem is a usage error (exit 2)."""
    from omi.config import ConfigError
    from omi.host import Memory

    try:
        return Memory.from_config(config_path)
    except ConfigError as error:
        raise BadInput(one_line(error)) from None


@cli.command("store")
@click.argument("text")
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE",
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
        raise BadInput("TEXT is empty; give the memory's text, e.g. omi store \"...\"")
    metadata = parse_settings(meta, "--meta", "--meta source=cli")
    with plugin_output_to_stderr(), _open_memory(config_path) as memory:
        memory_id = memory.store(text, metadata)
    click.echo(memory_id)


@cli.command("recall")
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="At most this many memories.")
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
    secrets (keys named like api_key, token, password, secret) masked.

    \b
    Examples:
      omi config show
      OMI_CONFIG=prod.yaml omi config show --format json
    """
    from omi.config import ConfigError, load_config, mask_secrets

    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise BadInput(one_line(error)) from None
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
