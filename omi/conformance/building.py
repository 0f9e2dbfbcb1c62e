"""Building test instances of a plugin: `InstanceFactory`, the recipe both the runner and
`omi.testing` follow, and the fix to print when it fails."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omi.conformance.authoring import (
    BUILD_FIX,
    CheckFailure,
    Context,
    build_failure,
    expect,
    shorten,
)


@contextmanager
def _working_directory(directory: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


def _expand(options: dict[str, Any], directory: Path) -> dict[str, Any]:
    return {
        key: value.replace("{workdir}", str(directory)) if isinstance(value, str) else value
        for key, value in options.items()
    }


@dataclass(frozen=True)
class InstanceFactory:
    """How to build a test instance of `plugin_class` whose data lives in a given directory.

    In order: a `conformance_factory` classmethod (given the directory when it takes a
    positional argument, and the options), else the constructor with `options`, run inside
    the directory so relative default paths land there. "{workdir}" in a str option value
    becomes the directory. The class and options are a recipe a fresh interpreter can follow
    too (the `deterministic` check compares vectors across processes).
    """

    plugin_class: type
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, directory: Path) -> Any:
        """A new instance; a CheckFailure saying what to fix when it cannot be built."""
        custom = getattr(self.plugin_class, "conformance_factory", None)
        try:
            if callable(custom):
                args = (directory,) if _takes_directory(custom) else ()
                return custom(*args, **_expand(self.options, directory))
            with _working_directory(directory):
                return self.plugin_class(**_expand(self.options, directory))
        except Exception as error:  # noqa: BLE001 - any constructor error is the finding
            raise build_failure(
                error, build_fix(self.plugin_class, self.options, error), self.options
            ) from None


def build_fix(plugin_class: type, options: dict[str, Any], error: BaseException) -> str:
    """How to fix a plugin the suite could not build with `options` (naming options, never
    their values): its conformance_factory raised; or its constructor needs arguments that
    were not given (a TypeError); or, failing those, the generic fix."""
    name = plugin_class.__name__
    if callable(getattr(plugin_class, "conformance_factory", None)):
        return (
            f"{name}.conformance_factory() raised: make it build a test instance in the "
            f"directory it is given; if it needs options, give them (omi plugins check "
            f"--option KEY=VALUE, or plugin_options under pytest)"
        )
    missing = _missing_arguments(plugin_class, options) if isinstance(error, TypeError) else []
    if not missing:
        return BUILD_FIX
    some = len(missing) > 1
    return (
        f"{name} needs the option{'s' if some else ''} {', '.join(missing)}, which "
        f"{'were' if some else 'was'} not given: pass {'them' if some else 'it'} with "
        f"omi plugins check {' '.join(f'--option {key}=VALUE' for key in missing)} "
        f"(under pytest: plugin_options = {{{', '.join(f'{key!r}: ...' for key in missing)}"
        f"}}), or define a conformance_factory() classmethod that builds a test instance"
    )


def _missing_arguments(plugin_class: type, options: dict[str, Any]) -> list[str]:
    """The required keyword-capable parameters of the constructor that `options` lacks."""
    try:
        parameters = inspect.signature(plugin_class).parameters.values()
    except (TypeError, ValueError):  # no signature to read
        return []
    return [
        parameter.name
        for parameter in parameters
        if parameter.default is parameter.empty
        and parameter.name not in options
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]


def _takes_directory(factory: Any) -> bool:
    """Whether a conformance_factory takes the directory: `(cls, **options)` does not."""
    return any(
        parameter.kind
        in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD, parameter.VAR_POSITIONAL)
        for parameter in inspect.signature(factory).parameters.values()
    )


def instance_factory(plugin_class: type, options: dict[str, Any]) -> InstanceFactory:
    """The factory the runner and `omi.testing` build instances with (see InstanceFactory)."""
    return InstanceFactory(plugin_class, dict(options))


#: An option no plugin has: the options check builds each plugin with it.
UNKNOWN_OPTION = "omi_check_unknown_option"
UNKNOWN_OPTION_FIX = (
    "take named keyword options without **kwargs (Python then refuses an "
    "unknown one, naming it), or raise TypeError naming each option left in "
    "**kwargs"
)


def expect_unknown_option_refused(ctx: Context) -> None:
    """The constructor, given the options the suite builds the plugin with (none when a
    conformance_factory builds it) and one more it cannot know, raises TypeError or ValueError
    naming that one: a misspelt key in config.yaml is reported, not ignored."""
    plugin = ctx.plugin  # one the suite cannot build fails as every check does, saying why
    factory = ctx.factory
    custom = isinstance(factory, InstanceFactory) and callable(
        getattr(factory.plugin_class, "conformance_factory", None)
    )
    plugin_class, options = (
        (factory.plugin_class, {} if custom else factory.options)
        if isinstance(factory, InstanceFactory)
        else (type(plugin), {})
    )
    if not _takes_any_keyword(plugin_class):
        return  # Python itself refuses an unknown keyword, naming it
    directory = ctx.workdir / "unknown-option"
    directory.mkdir(parents=True, exist_ok=True)
    expected = f"{plugin_class.__name__}(..., {UNKNOWN_OPTION}=...) to raise an error naming it"
    try:
        with _working_directory(directory):
            built = plugin_class(**_expand(options, directory), **{UNKNOWN_OPTION: "x"})
    except (TypeError, ValueError) as error:
        expect(
            UNKNOWN_OPTION in str(error),
            expected,
            f"{type(error).__name__}: {shorten(str(error))}",
            UNKNOWN_OPTION_FIX,
        )
        return
    except Exception as error:  # noqa: BLE001 - any other error is the finding
        raise CheckFailure(
            expected, f"{type(error).__name__}: {shorten(str(error))}", UNKNOWN_OPTION_FIX
        ) from None
    close = getattr(built, "close", None)
    if callable(close):
        close()
    raise CheckFailure(expected, "an instance: the option was ignored", UNKNOWN_OPTION_FIX)


def _takes_any_keyword(plugin_class: type) -> bool:
    """Whether the constructor has **kwargs (or a signature Python cannot read)."""
    try:
        parameters = inspect.signature(plugin_class).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)
