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
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from omi import __version__
from omi.errors import ScaffoldError
from omi.plugins import KINDS
from omi.record import ANSWERS_FILE as ANSWERS_FILE  # re-exported: its home before record.py
from omi.record import record_rendering

#: Plugin type -> (entry-point group, class-name suffix), derived from the table of kinds.
PLUGIN_TYPES: Dict[str, tuple[str, str]] = {kind.name: (kind.group, kind.suffix)
                                            for kind in KINDS}
NAME_RULE = ("lowercase letters, digits and single hyphens, starting with a letter, "
             "2-40 characters, not a Python keyword")
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
    raise FileNotFoundError(f"omi-openclaw's templates are missing (looked in {here}); "
                            f"reinstall omi-openclaw")


def git_identity() -> Dict[str, str]:
    """author and email from `git config`, where git and the settings exist."""
    identity: Dict[str, str] = {}
    for key, setting in (("author", "user.name"), ("email", "user.email")):
        try:
            value = subprocess.run(["git", "config", "--get", setting], capture_output=True,
                                   text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return identity
        if value:
            identity[key] = value
    return identity


@dataclass
class Rendered:
    """What `new_plugin` made (or, on a dry run, would make)."""

    names: PluginNames
    project_dir: Path
    files: List[str] = field(default_factory=list)
    answers: Dict[str, Any] = field(default_factory=dict)


def template_variables(template: Path) -> Dict[str, Any]:
    """The variables of a template and their defaults, from its cookiecutter.json."""
    variables: Dict[str, Any] = json.loads((template / "cookiecutter.json").read_text(
        encoding="utf-8"))
    return variables


def new_plugin(
    plugin_type: str,
    name: str,
    output_dir: os.PathLike[str] | str = ".",
    variables: Optional[Dict[str, str]] = None,
    no_input: bool = True,
    dry_run: bool = False,
    template_dir: Optional[Path] = None,
) -> Rendered:
    """Render `omi-<type>-<name>` into `output_dir` and write its answers file.

    `variables` overrides template variables (author, email, description, license, ...);
    unknown ones are an error. Nothing is written when `dry_run` is true or anything fails.
    """
    names = plugin_names(plugin_type, name)
    output = Path(output_dir).expanduser().resolve()
    target = output / names.distribution
    if target.exists() or target.is_symlink():  # a dangling symlink is in the way too
        raise _exists(target)
    if not dry_run and (not output.is_dir() or not os.access(output, os.W_OK)):
        raise ScaffoldError(f"Cannot write to {output}: not a writable directory; "
                            f"create it or pass another -o DIR")
    template = template_dir or templates_root() / plugin_type
    defaults = template_variables(template)
    given = {**git_identity(), **(variables or {})}
    unknown = sorted(key for key in given if key not in defaults or key.startswith("_"))
    if unknown:
        settable = sorted(key for key in defaults if not key.startswith("_"))
        raise ScaffoldError(f"Unknown template variable(s) {', '.join(unknown)}; "
                            f"settable: {', '.join(settable)}")
    _check_values(given)
    choices = defaults.get("license")
    if isinstance(choices, list) and given.get("license", choices[0]) not in choices:
        raise ScaffoldError(f"Unknown license '{given['license']}'; choose one of: "
                            f"{', '.join(choices)}")
    # The names come from `names`, overriding the templates' own Jinja derivation of them
    # (which serves plain `cookiecutter` runs), so one function decides every name.
    given = {**given, "__plugin_name": names.name, "__dist_name": names.distribution,
             "__import_name": names.import_name, "__class_name": names.class_name,
             "__omi_version": __version__, "__omi_requirement": omi_requirement()}

    from omi.templating import render_tree, template_context

    context = template_context(defaults, given, prompt=not no_input)
    rendered_answers = _answers(plugin_type, names.name, defaults, context)
    _check_values(rendered_answers["variables"])  # answers typed at the prompts too
    try:
        scratch = Path(tempfile.mkdtemp(prefix=".omi-new-", dir=output if not dry_run else None))
    except OSError as error:  # os.access said yes (root, read-only mounts, /proc, ...)
        raise ScaffoldError(f"Cannot write to {output}: {error.strerror}; pass another "
                            f"-o DIR") from None
    try:
        rendered_path = render_tree(template, context, scratch)
        answers = record_rendering(rendered_path, rendered_answers)
        files = sorted(str(p.relative_to(rendered_path)) for p in rendered_path.rglob("*")
                       if p.is_file())
        if not dry_run:
            _move_into_place(rendered_path, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Rendered(names, target, files, answers)


def _exists(target: Path) -> ScaffoldError:
    return ScaffoldError(f"{target} already exists; choose another NAME or -o DIR "
                         f"(omi plugins new never overwrites)")


def _move_into_place(rendered: Path, target: Path) -> None:
    """Rename the finished rendering to `target`. Another `omi plugins new` may have put a
    project there since the first check; then this one lost, and says so."""
    try:
        os.rename(rendered, target)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
            raise _exists(target) from None
        raise


def _check_values(given: Dict[str, Any]) -> None:
    """Answers go into one-line strings of pyproject.toml and Python: text on one line, a
    version PyPI accepts, a repository URL (quotes and backslashes are escaped by the templates)."""
    for key, value in given.items():
        if not isinstance(value, str):
            raise ScaffoldError(f"Template variable {key} must be text, got {value!r}; "
                                f"give it as --set {key}=TEXT")
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise ScaffoldError(f"Template variable {key} must be one line of text without "
                                f"control characters, got {value!r}")
    repository = given.get("repository")
    if repository and not REPOSITORY_PATTERN.fullmatch(repository):
        raise ScaffoldError(f"Repository {repository!r} is not a web address like "
                            f"https://github.com/you/omi-plugin (no trailing slash)")
    version = given.get("version")
    if version is not None and not VERSION_PATTERN.fullmatch(version):
        raise ScaffoldError(f"Version {version!r} is not a PEP 440 version PyPI accepts; "
                            f"use e.g. 0.1.0, 1.0.0rc1 or 2.1.0.dev3")


def _answers(plugin_type: str, name: str, defaults: Dict[str, Any],
             context: Dict[str, Any]) -> Dict[str, Any]:
    """The answers file: enough to render the same project again from a newer template.

    The values are those of the rendering's `context`, so answers typed at the prompts are
    recorded too.
    """
    variables = {key: context[key] for key in defaults if not key.startswith("_")}
    return {
        "template": plugin_type,
        "omi_openclaw_version": __version__,
        "name": name,
        "variables": variables,
        "skip": [],
    }
