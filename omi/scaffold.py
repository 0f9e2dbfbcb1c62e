"""`omi plugins new`: plugin name rules and rendering the cookiecutter templates.

One function, `plugin_names`, derives every name a plugin has from NAME (distribution,
import package, entry point, class) and the rendering is given those names, so they can never
disagree. Answers are data, never template source (see `omi.templating`). Rendering goes to a
temporary directory beside the target and is renamed into place at the end: a failure leaves
nothing.
"""

from __future__ import annotations

import errno
import json
import keyword
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omi import __version__
from omi.errors import ScaffoldError
from omi.kinds import KINDS, kind_of
from omi.record import record_rendering

#: Plugin type -> (entry-point group, class-name suffix), derived from the table of kinds.
PLUGIN_TYPES: dict[str, tuple[str, str]] = {kind.name: (kind.group, kind.suffix) for kind in KINDS}
NAME_RULE = (
    "lowercase letters, digits and single hyphens, starting with a letter, "
    "2-40 characters, not a Python keyword"
)
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# A PEP 440 public version without epoch or local part: what PyPI takes and authors write.
VERSION_PATTERN = re.compile(r"\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?")
# Where the project's source lives: pyproject's Source, Issues and Changelog links.
REPOSITORY_PATTERN = re.compile(r"https?://[^\s\"'\\<>]+(?<!/)")


@dataclass(frozen=True)
class PluginNames:
    """Every name of one plugin, all derived from the plugin NAME."""

    plugin_type: str
    name: str

    @property
    def distribution(self) -> str:
        return f"omi-{self.plugin_type}-{self.name}"

    @property
    def import_name(self) -> str:
        return f"omi_{self.plugin_type}_{self.name.replace('-', '_')}"

    @property
    def class_name(self) -> str:
        # capitalize(), not title(): "gpt4all" is Gpt4all, as the templates' Jinja `title` makes it.
        suffix = PLUGIN_TYPES[self.plugin_type][1]
        return "".join(part.capitalize() for part in self.name.split("-")) + suffix

    @property
    def group(self) -> str:
        return PLUGIN_TYPES[self.plugin_type][0]


def suggest_name(name: str) -> str:
    """A valid name close to `name`, for the error message."""
    text = re.sub(r"[^a-z0-9]+", "-", name.strip().lower().replace("_", "-")).strip("-")
    text = re.sub(r"^[0-9-]+", "", text)[:40].strip("-")
    if len(text) < 2:
        text = f"my-{text}" if text else "my-plugin"
    if keyword.iskeyword(text.replace("-", "_")):
        text = f"{text}-plugin"
    return text


def plugin_names(plugin_type: str, name: str) -> PluginNames:
    """Check NAME against the rules and derive the plugin's names; raise ScaffoldError."""
    if plugin_type not in PLUGIN_TYPES:
        raise ScaffoldError(
            f"Unknown plugin type '{plugin_type}'; choose one of: {', '.join(PLUGIN_TYPES)}"
        )
    problem = None
    if "/" in name or "\\" in name or name in (".", ".."):
        problem = "it contains a path separator (use -o DIR to choose where it goes)"
    elif not 2 <= len(name) <= 40:
        problem = f"it is {len(name)} characters long"
    elif not NAME_PATTERN.fullmatch(name):
        problem = "it has characters or hyphens the rule does not allow"
    elif keyword.iskeyword(name.replace("-", "_")):
        problem = "it is a Python keyword"
    if problem:
        raise ScaffoldError(
            f"Invalid plugin name '{name}': {problem}. Names use {NAME_RULE}; "
            f"try '{suggest_name(name)}'"
        )
    return PluginNames(plugin_type, name)


def omi_requirement(version: str = __version__) -> str:
    """The compatible range of omi-openclaw for generated plugins: >=X.Y,<X.(Y+1)."""
    from packaging.version import Version

    major, minor = Version(version).release[:2]
    return f"omi-openclaw>={major}.{minor},<{major}.{minor + 1}"


def templates_root() -> Path:
    """The templates: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "embedding" / "cookiecutter.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"omi-openclaw's templates are missing (looked in {here}); reinstall omi-openclaw"
    )


#: The answers whose default is a git setting, when git has one.
GIT_DEFAULTS = {"author": "user.name", "email": "user.email"}


def git_identity() -> dict[str, str]:
    """author and email from `git config`, where git and the settings exist."""
    from omi.git import config_value

    identity = {key: config_value(setting) for key, setting in GIT_DEFAULTS.items()}
    return {key: value for key, value in identity.items() if value}


def refuse_taken_name(names: PluginNames) -> None:
    """ScaffoldError when an installed distribution (omi-openclaw's built-ins too) registers
    the entry point the new plugin would: installed beside it, one would shadow the other."""
    from omi.plugins import discover_group, distribution_name

    owners = sorted(
        {
            distribution_name(entry_point)
            for entry_point in discover_group(names.group)
            if entry_point.name == names.name
        }
    )
    if owners:
        noun = kind_of(names.plugin_type).noun
        article = "an" if noun[0] in "aeiou" else "a"
        raise ScaffoldError(
            f"'{names.name}' is already {article} {noun} ({', '.join(owners)}); pick another name"
        )


def settable_defaults() -> dict[str, str]:
    """Each variable --set may give, with its default as `omi plugins new --help` shows it: a
    default that differs by plugin type is given for each type."""
    from omi.templating import template_context

    shown: dict[str, dict[str, str]] = {}
    for plugin_type in PLUGIN_TYPES:
        defaults = template_variables(templates_root() / plugin_type)
        values = template_context(defaults, {})
        for key, default in defaults.items():
            if key.startswith("_"):
                continue
            text = repr(values[key]) if values[key] == "" else str(values[key])
            if isinstance(default, list):
                text += f" (or {', '.join(str(choice) for choice in default[1:])})"
            if key in GIT_DEFAULTS:
                text = f"git config {GIT_DEFAULTS[key]}, else {text}"
            shown.setdefault(key, {})[plugin_type] = text
    return {
        key: next(iter(by_type.values()))
        if len(set(by_type.values())) == 1
        else "; ".join(f"{plugin_type}: {text}" for plugin_type, text in by_type.items())
        for key, by_type in shown.items()
    }


@dataclass
class Rendered:
    """What `new_plugin` made (or, on a dry run, would make)."""

    names: PluginNames
    project_dir: Path
    files: list[str] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)


def template_variables(template: Path) -> dict[str, Any]:
    """The variables of a template and their defaults, from its cookiecutter.json."""
    variables: dict[str, Any] = json.loads(
        (template / "cookiecutter.json").read_text(encoding="utf-8")
    )
    return variables


def new_plugin(
    plugin_type: str,
    name: str,
    output_dir: os.PathLike[str] | str = ".",
    variables: dict[str, str] | None = None,
    no_input: bool = True,
    dry_run: bool = False,
    template_dir: Path | None = None,
    git: bool = False,
) -> Rendered:
    """Render `omi-<type>-<name>` into `output_dir` and write its answers file.

    `variables` overrides template variables (author, email, description, license, ...);
    unknown ones are an error. Answers typed at the prompts (unless `no_input`) are checked as
    they are typed. With `git`, the project is a git repository holding one commit of it all.
    Nothing is written when `dry_run` is true or anything fails.
    """
    names = plugin_names(plugin_type, name)
    if git:
        from omi.git import require_git

        require_git()
    output, target = _destination(names, output_dir, dry_run)
    template = template_dir or templates_root() / plugin_type
    defaults = template_variables(template)
    given = _checked_variables(defaults, {**git_identity(), **(variables or {})}, names)

    from omi.templating import render_tree, template_context

    context = template_context(defaults, given, prompt=not no_input, check=check_answer)
    rendered_answers = _answers(plugin_type, names.name, defaults, context)
    _check_values(rendered_answers["variables"])  # answers typed at the prompts too
    scratch = _scratch(output, inside=not dry_run)
    try:
        rendered_path = render_tree(template, context, scratch)
        answers = record_rendering(rendered_path, rendered_answers)
        files = sorted(
            str(p.relative_to(rendered_path)) for p in rendered_path.rglob("*") if p.is_file()
        )
        if not dry_run:
            if git:  # before the move: a commit git refuses leaves nothing
                _commit_rendering(rendered_path, names, context)
            _move_into_place(rendered_path, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Rendered(names, target, files, answers)


def _destination(
    names: PluginNames, output_dir: os.PathLike[str] | str, dry_run: bool
) -> tuple[Path, Path]:
    """The output directory and the project's place in it; ScaffoldError when the place is
    taken or (unless `dry_run`) the directory cannot be written."""
    output = Path(output_dir).expanduser().resolve()
    target = output / names.distribution
    if target.exists() or target.is_symlink():  # a dangling symlink is in the way too
        raise _exists(target)
    if not dry_run and (not output.is_dir() or not os.access(output, os.W_OK)):
        raise ScaffoldError(
            f"Cannot write to {output}: not a writable directory; create it or pass another -o DIR"
        )
    return output, target


def _checked_variables(
    defaults: dict[str, Any], given: dict[str, str], names: PluginNames
) -> dict[str, Any]:
    """The variables given for the template, checked against it, with the names added."""
    unknown = sorted(key for key in given if key not in defaults or key.startswith("_"))
    if unknown:
        settable = sorted(key for key in defaults if not key.startswith("_"))
        raise ScaffoldError(
            f"Unknown template variable(s) {', '.join(unknown)}; settable: {', '.join(settable)}"
        )
    _check_values(given)
    choices = defaults.get("license")
    if isinstance(choices, list) and given.get("license", choices[0]) not in choices:
        raise ScaffoldError(
            f"Unknown license '{given['license']}'; choose one of: {', '.join(choices)}"
        )
    # The names come from `names`, overriding the templates' own Jinja derivation of them
    # (which serves plain `cookiecutter` runs), so one function decides every name.
    return {
        **given,
        "__plugin_name": names.name,
        "__dist_name": names.distribution,
        "__import_name": names.import_name,
        "__class_name": names.class_name,
        "__omi_version": __version__,
        "__omi_requirement": omi_requirement(),
    }


def _scratch(output: Path, inside: bool) -> Path:
    """A new private directory to render into: inside `output` (so the finished project is
    renamed into place, never copied), or the system's temporary directory for a dry run."""
    try:
        return Path(tempfile.mkdtemp(prefix=".omi-new-", dir=output if inside else None))
    except OSError as error:  # os.access said yes (root, read-only mounts, /proc, ...)
        raise ScaffoldError(
            f"Cannot write to {output}: {error.strerror}; pass another -o DIR"
        ) from None


def _commit_rendering(project: Path, names: PluginNames, context: dict[str, Any]) -> None:
    """The project's first commit, by the author answers where git knows nobody."""
    from omi.git import commit_everything

    identity = {setting: str(context[key]) for key, setting in GIT_DEFAULTS.items()}
    commit_everything(
        project,
        f"Create {names.distribution} with omi plugins new (omi-openclaw {__version__})",
        identity,
    )


def _exists(target: Path) -> ScaffoldError:
    return ScaffoldError(
        f"{target} already exists; choose another NAME or -o DIR (omi plugins new never overwrites)"
    )


def _move_into_place(rendered: Path, target: Path) -> None:
    """Rename the finished rendering to `target`. Another `omi plugins new` may have put a
    project there since the first check; then this one lost, and says so."""
    try:
        os.rename(rendered, target)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
            raise _exists(target) from None
        raise


def check_answer(key: str, value: Any) -> None:
    """Raise ScaffoldError when `value` cannot be the answer to `key`. Answers go into one-line
    strings of pyproject.toml and Python: text on one line, a version PyPI accepts, a
    repository URL (quotes and backslashes are escaped by the templates). The one check of an
    answer, whether given with --set, recorded, or typed at a prompt."""
    if not isinstance(value, str):
        raise ScaffoldError(
            f"Template variable {key} must be text, got {value!r}; give it as --set {key}=TEXT"
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ScaffoldError(
            f"Template variable {key} must be one line of text without "
            f"control characters, got {value!r}"
        )
    if key == "repository" and value and not REPOSITORY_PATTERN.fullmatch(value):
        raise ScaffoldError(
            f"Repository {value!r} is not a web address like "
            f"https://github.com/you/omi-plugin (no trailing slash)"
        )
    if key == "version" and not VERSION_PATTERN.fullmatch(value):
        raise ScaffoldError(
            f"Version {value!r} is not a PEP 440 version PyPI accepts; "
            f"use e.g. 0.1.0, 1.0.0rc1 or 2.1.0.dev3"
        )


def _check_values(given: dict[str, Any]) -> None:
    for key, value in given.items():
        check_answer(key, value)


def _answers(
    plugin_type: str, name: str, defaults: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """The answers file, from the rendering's `context` (so answers typed at the prompts are
    recorded too): enough to render the same project again from a newer template."""
    variables = {key: context[key] for key in defaults if not key.startswith("_")}
    return {
        "template": plugin_type,
        "omi_openclaw_version": __version__,
        "name": name,
        "variables": variables,
        "skip": [],
    }
