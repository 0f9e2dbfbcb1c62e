"""Rendering the plugin templates (cookiecutter's format) with answers that are data.

cookiecutter renders every value of its context as a Jinja template, so an answer was code:
`{{ 7*7 }}` became 49, and `{{ cycler.__init__.__globals__.os.system(...) }}` ran a command,
whether typed, given with --set or read from an answers file in someone's pull request. Here
only the template's own text is template source (the defaults in cookiecutter.json, the files
and their names); answers are values, which Jinja inserts and never evaluates. Everything
renders in Jinja's sandbox besides, with cookiecutter's extensions (`{% now %}`, `slugify`...),
so templates work as they do under `cookiecutter`.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cookiecutter.environment import ExtensionLoaderMixin
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from omi.confine import check_relative

__all__ = ["TemplateEnvironment", "render_tree", "template_context"]


# cookiecutter has no type hints, so its mixin is Any to a type checker.
class TemplateEnvironment(ExtensionLoaderMixin, ImmutableSandboxedEnvironment):  # type: ignore[misc]
    """cookiecutter's Jinja environment, in the sandbox: undefined names are errors, and its
    extensions are loaded, with any a template's `_extensions` variable adds."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        super().__init__(
            context={"cookiecutter": variables},
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render_text(self, source: str, context: Mapping[str, Any]) -> str:
        return self.from_string(source).render(cookiecutter=context)


#: Raises ValueError, with a message for the person typing, when a value cannot be an answer.
Check = Callable[[str, Any], None]


def template_context(
    variables: Mapping[str, Any],
    given: Mapping[str, Any],
    prompt: bool = False,
    check: Check | None = None,
) -> dict[str, Any]:
    """The values of a template's `variables` (cookiecutter.json), in its order.

    A value in `given` is taken as it is; any other is its default rendered against the values
    before it (a list is a choice, its first item the default). With `prompt`, each variable
    not starting with `_` is asked on the terminal, offering that value; what is typed is taken
    as it is too, once `check(key, value)` accepts it: a value it refuses is reported and asked
    again, so one typo does not cost the answers before it.
    """
    environment = TemplateEnvironment(variables)
    asked = [key for key in variables if not key.startswith("_")]
    context: dict[str, Any] = {}
    for key, default in variables.items():
        choices = (
            [environment.render_text(str(choice), context) for choice in default]
            if isinstance(default, list)
            else None
        )
        if key in given:
            value = given[key]
        else:
            value = choices[0] if choices else environment.render_text(str(default), context)
        if prompt and key in asked:
            prefix = f"  [dim][{asked.index(key) + 1}/{len(asked)}][/] "
            value = _ask_until_valid(key, value, choices, prefix, check)
        context[key] = value
    return context


def _ask_until_valid(
    key: str, value: Any, choices: Sequence[str] | None, prefix: str, check: Check | None
) -> Any:
    while True:
        answer = _ask(key, value, choices, prefix)
        try:
            if check is not None:
                check(key, answer)
        except ValueError as error:
            print(f"Error: {error}", file=sys.stderr, flush=True)
            continue
        return answer


def _ask(key: str, value: Any, choices: Sequence[str] | None, prefix: str) -> Any:
    """cookiecutter's own prompts, so `omi plugins new` asks as `cookiecutter` does; a choice
    takes its number, as cookiecutter's does, or its name in any case."""
    from cookiecutter.prompt import read_user_variable

    if choices is None:
        return read_user_variable(key, value, prefix=prefix)
    options = [value, *(choice for choice in choices if choice != value)]
    numbered = {str(number): option for number, option in enumerate(options, 1)}
    named = {str(option).casefold(): option for option in options}
    listed = "\n".join(
        f"    [bold magenta]{number}[/] - [bold]{option}[/]" for number, option in numbered.items()
    )
    while True:
        answer = str(
            read_user_variable(
                f"Select {key}\n{listed}\n    Choose the {key} by number or name",
                "1",
                prefix=prefix,
            )
        ).strip()
        chosen = numbered.get(answer, named.get(answer.casefold()))
        if chosen is not None:
            return chosen
        print(
            f"Error: {answer!r} is not one of the options; type its number (1-{len(options)}) "
            f"or its name, e.g. {options[0]}",
            file=sys.stderr,
            flush=True,
        )


def render_tree(template: Path, context: Mapping[str, Any], output: Path) -> Path:
    """Render the project folder of `template` into `output`; return the rendered project.

    The project folder is the one whose name is a template (`{{cookiecutter.…}}`). Names and
    contents of its files are rendered with `context`, and every file is text. A rendered path
    must be plain and relative (`omi.confine.check_relative`): a value cannot move a file
    elsewhere.
    """
    environment = TemplateEnvironment(context)
    source = _project_folder(template)
    project = output / check_relative(environment.render_text(source.name, context))
    for folder, _, names in os.walk(source):
        for name in sorted(names):
            file = Path(folder, name)
            relative = environment.render_text(file.relative_to(source).as_posix(), context)
            target = project / check_relative(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = environment.render_text(file.read_text(encoding="utf-8"), context)
            target.write_bytes(text.encode("utf-8"))
            shutil.copymode(file, target)
    return project


def _project_folder(template: Path) -> Path:
    folders = [
        path
        for path in template.iterdir()
        if path.is_dir() and "{{" in path.name and "cookiecutter" in path.name
    ]
    if len(folders) != 1:
        raise FileNotFoundError(
            f"{template} is not a cookiecutter template: it needs exactly one "
            f"folder named like {{{{cookiecutter.name}}}}, found "
            f"{len(folders)}"
        )
    return folders[0]
