"""What a check module needs to write checks, and nothing else: the `check` decorator, which
only marks a function with what it proves (the registry collects marked functions from the
modules it lists), `Context`, `CheckFailure` and the helpers that raise it, and
`NotApplicable`.

Check modules import this module only (and `building`); the registry imports them. No module
here imports the registry, so the import graph has no cycle.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from omi.conformance.rules import RULES
from omi.kinds import KIND_NAMES

INTERFACES = KIND_NAMES
#: The first release that shipped the suite (see CHANGELOG.md): a check without `since=`
#: dates from it.
FIRST_SUITE_VERSION = "0.4.0"
#: Seconds one call of the plugin may take in the checks that time its calls
#: (`handle_returns_promptly`, `embed_is_deterministic`); a pytest suite may set its own.
CALL_TIMEOUT = 10.0
#: The attribute `check` sets on the function it marks.
MARK = "omi_conformance_check"


class CheckFailure(AssertionError):
    """A plugin did not behave: says what was expected, what came back, and how to fix it."""

    def __init__(self, expected: str, got: str, fix: str) -> None:
        super().__init__(f"expected {expected}; got {got}; fix: {fix}")
        self.expected, self.got, self.fix = expected, got, fix


class NotApplicable(Exception):
    """Raised by a check that finds, once it looks at the plugin, that it cannot judge it (no
    service to point elsewhere, say): the check is skipped, with this reason. Capabilities
    decide most skips before a check runs (`Check.skip_reason`)."""


class BuildFailure(CheckFailure):
    """The plugin could not be built: a failure of any check, advice or not."""


#: The fix for a plugin that could not be built, when nothing more precise is known.
BUILD_FIX = (
    "give the plugin the options it needs (omi plugins check --option KEY=VALUE; "
    "under pytest, plugin_options or the fixture), or define a conformance_factory() "
    "classmethod that builds a test instance"
)


def build_failure(
    error: BaseException, fix: str = BUILD_FIX, options: dict[str, Any] | None = None
) -> CheckFailure:
    """The failure of a check that could not build the plugin: what it raised, with no
    credential in it (neither a secret among `options`, the options it was given, which its
    message may quote, nor any other), and `fix`."""
    from omi.masking import mask_error

    return BuildFailure("a test instance of the plugin", mask_error(error, options), fix)


def expect(condition: bool, expected: str, got: Any, fix: str) -> None:
    """Fail the running check unless `condition` holds."""
    if not condition:
        raise CheckFailure(expected, got if isinstance(got, str) else shorten(got), fix)


def shorten(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: Characters shown on each side of the first difference between two strings.
CONTEXT = 16


@dataclass(frozen=True)
class Difference:
    """Where a value that came back first differs from the one given, so a check can say it
    and pick the fix that matches: `kind` is "cut", "unicode", "encoding", "text", "number"
    (an int for a float or the reverse), "type", "value", "missing", "extra" or "length"."""

    path: str
    kind: str
    text: str

    def __str__(self) -> str:
        return self.text


def difference(expected: Any, got: Any, path: str = "value") -> Difference | None:
    """The first place where `got` differs from `expected`, or None when they are the same.

    Types count (True is not 1, 1 is not 1.0, a tuple is not a list), dicts are compared key
    by key and lists item by item, and a long string is shown around its first differing
    character: a long value is never cut off before the part that differs.
    """
    if isinstance(expected, dict) and isinstance(got, dict):
        for key, value in expected.items():
            if key not in got:
                return Difference(path, "missing", f"{path}[{key!r}] is missing")
            found = difference(value, got[key], f"{path}[{key!r}]")
            if found is not None:
                return found
        extra = [key for key in got if key not in expected]
        return (
            Difference(path, "extra", f"{path} has the key {extra[0]!r}, which was not given")
            if extra
            else None
        )
    if isinstance(expected, list) and isinstance(got, list):
        for index, (item, other) in enumerate(zip(expected, got, strict=False)):
            found = difference(item, other, f"{path}[{index}]")
            if found is not None:
                return found
        if len(got) == len(expected):
            return None
        return Difference(path, "length", f"{path} has {len(got)} items instead of {len(expected)}")
    if isinstance(expected, str) and isinstance(got, str):
        return None if got == expected else _text_difference(expected, got, path)
    if type(got) is not type(expected):
        numbers = all(type(value) in (int, float) for value in (expected, got))
        return Difference(
            path,
            "number" if numbers else "type",
            f"{path} is {_typed(got)} instead of {_typed(expected)}",
        )
    if got != expected:
        return Difference(path, "value", f"{path} is {_typed(got)} instead of {_typed(expected)}")
    return None


def _typed(value: Any) -> str:
    return f"{shorten(value, 60)} ({type(value).__name__})"


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix, by bisection (slices compare at C speed)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _excerpt(text: str, start: int, end: int) -> str:
    """text[start:end] in ASCII escapes (a combining mark or a right-to-left character is
    visible as its code point), with "..." where it was cut."""
    start, end = max(0, start), min(len(text), end)
    return ("..." if start else "") + ascii(text[start:end]) + ("..." if end < len(text) else "")


def _text_difference(expected: str, got: str, path: str) -> Difference:
    at = _common_prefix(expected, got)
    if at == len(got):
        return Difference(
            path,
            "cut",
            (
                f"{path} is cut off: {len(got):,} of {len(expected):,} characters came back, "
                f"ending {_excerpt(got, at - CONTEXT, at)}; the rest, from character {at:,}, "
                f"begins {_excerpt(expected, at, at + CONTEXT)}"
            ),
        )
    if at == len(expected):
        return Difference(
            path,
            "text",
            (
                f"{path} has {len(got) - at:,} characters more than the {at:,} given: "
                f"{_excerpt(got, at, at + CONTEXT)}"
            ),
        )
    import unicodedata

    forms: tuple[Literal["NFC", "NFD", "NFKC", "NFKD"], ...] = ("NFC", "NFD", "NFKC", "NFKD")
    if any(unicodedata.normalize(form, expected) == got for form in forms):
        kind = "unicode"
    elif got[at] in "?\ufffd" and not expected[at].isascii():
        kind = "encoding"
    else:
        kind = "text"
    return Difference(
        path,
        kind,
        (
            f"{path} differs from character {at:,} of {len(expected):,}: given "
            f"{_excerpt(expected, at - CONTEXT, at + CONTEXT)}, came back "
            f"{_excerpt(got, at - CONTEXT, at + CONTEXT)} ({len(got):,} characters)"
        ),
    )


#: What refuses an argument of the wrong type: TypeError is Python's usual answer and
#: ValueError the guide's for any bad input, so either is a refusal; not refusing, or failing
#: by accident (AttributeError, a database error), is the finding.
WRONG_TYPE: tuple[type[Exception], ...] = (TypeError, ValueError)


def names_of(kinds: tuple[type[BaseException], ...]) -> str:
    """ "TypeError or ValueError", for a message."""
    return " or ".join(kind.__name__ for kind in kinds)


def expect_raises(
    kinds: tuple[type[BaseException], ...], call: Callable[[], Any], expected: str, fix: str
) -> BaseException:
    """Fail unless `call()` raises one of `kinds`; return the exception it raised.

    A CheckFailure from inside `call` (the instance could not be built) is passed on as is.
    """
    try:
        value = call()
    except CheckFailure:
        raise
    except kinds as error:
        return error
    except Exception as error:  # noqa: BLE001 - the wrong exception is the finding
        raise CheckFailure(expected, f"{type(error).__name__}: {error}", fix) from None
    raise CheckFailure(expected, f"no exception (returned {shorten(value)})", fix)


@dataclass(frozen=True)
class Check:
    """One named check of one interface."""

    name: str
    interface: str
    description: str
    function: Callable[[Context], None]
    requires: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()  # capabilities that make the check not apply
    since: str = FIRST_SUITE_VERSION
    why: str = ""  # why OMI needs the behaviour (omi plugins check --explain)
    fix: str = ""  # the usual fix when a plugin fails it
    #: "must": a failure fails the plugin; "should": advice, reported as `advisory` (a
    #: failure only under --strict). "should" when every rule it proves is.
    level: str = "must"
    #: The names of the rules (`rules.RULES`) the check proves.
    rules: tuple[str, ...] = ()

    def skip_reason(self, declared: frozenset[str]) -> str | None:
        """Why this check does not apply to a plugin declaring `declared`, or None."""
        missing = sorted(self.requires - declared)
        if missing:
            return (
                f"needs capability {', '.join(map(repr, missing))} (declare it in "
                f"conformance_capabilities if the plugin has it)"
            )
        excluded = sorted(self.unless & declared)
        if excluded:
            return f"does not apply: the plugin declares {', '.join(map(repr, excluded))}"
        return None


#: A check function; the decorator hands it back unchanged, so it keeps its own type.
CheckFunction = TypeVar("CheckFunction", bound=Callable[["Context"], None])


def check(
    interface: str,
    description: str,
    requires: tuple[str, ...] = (),
    unless: tuple[str, ...] = (),
    since: str = FIRST_SUITE_VERSION,
    why: str = "",
    fix: str = "",
    rules: tuple[str, ...] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Mark the decorated function as the check of that name (the function's name), proving
    `rules` (names in `rules.RULES`); the registry collects it from the module it lists
    (`registry.CHECK_MODULES`). Marking registers nothing.

    `why` (what the behaviour is for) and `fix` (the usual fix) are what `--explain` prints
    beside the description; every check says both. The check is advice ("should", its
    failures advisories) when every rule it proves is.
    """
    if interface not in INTERFACES:
        raise ValueError(f"unknown interface {interface!r}")
    if not why.strip() or not fix.strip():
        raise ValueError("a check needs why= and fix= (what --explain prints)")
    unknown = [name for name in rules if name not in RULES]
    if not rules or unknown:
        raise ValueError(
            f"a check needs rules= naming the rules it proves (omi.conformance."
            f"rules.RULES){f'; unknown: {unknown}' if unknown else ''}"
        )
    level = "should" if all(RULES[name].level == "should" for name in rules) else "must"

    def mark(function: CheckFunction) -> CheckFunction:
        setattr(
            function,
            MARK,
            Check(
                function.__name__,
                interface,
                description,
                function,
                frozenset(requires),
                frozenset(unless),
                since,
                why,
                fix,
                level,
                tuple(rules),
            ),
        )
        return function

    return mark


@dataclass
class Context:
    """What a check gets: a way to build instances, a scratch directory, a seeded RNG.

    `make(location)` builds a new plugin instance whose data lives in `workdir/location`
    (the same location again means reopening the same data). Every instance built is closed
    when the check ends, unless `close_instances` is False (the factory's caller owns them).
    """

    factory: Callable[[Path], Any]
    capabilities: frozenset[str]
    seed: int = 0
    call_timeout: float = CALL_TIMEOUT
    close_instances: bool = True
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="omi-check-")))
    _instances: list[Any] = field(default_factory=list)
    _default: Any | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def make(self, location: str = "default") -> Any:
        directory = self.workdir / location
        directory.mkdir(parents=True, exist_ok=True)
        try:
            instance = self.factory(directory)
        except CheckFailure:  # the factory said why itself (see building.InstanceFactory)
            raise
        except Exception as error:  # noqa: BLE001 - any constructor error is the finding
            raise build_failure(error) from None
        self._instances.append(instance)
        return instance

    @property
    def plugin(self) -> Any:
        """The instance most checks use, built on first use."""
        if self._default is None:
            self._default = self.make()
        return self._default

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def cleanup(self) -> None:
        for instance in self._instances if self.close_instances else ():
            close_quietly(instance)
        self._instances.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)


def close_quietly(instance: Any) -> None:
    """Close a plugin instance a check built, when it has close(): an error from it is
    another check's finding (close_is_idempotent and its kin), and the check may have closed
    it already."""
    close = getattr(instance, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - judged by the close checks, not here
            pass


def expect_close_twice(ctx: Context) -> None:
    """A fresh instance, used once, closed twice (when it has close()): the second call must
    not raise. An instance the caller owns (a pytest fixture) is never closed here."""
    if not ctx.close_instances:
        return  # the fixture's instance: closing it would break the checks after this one
    plugin = ctx.make("closing")
    close = getattr(plugin, "close", None)
    if not callable(close):
        return
    close()
    try:
        close()
    except Exception as error:  # noqa: BLE001 - raising is the finding
        raise CheckFailure(
            "a second close() to do nothing",
            f"{type(error).__name__}: {error}",
            "return at once from close() when already closed",
        ) from None
