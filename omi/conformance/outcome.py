"""One check's outcome, and running one check in this process (`execute`).

Both the runner (the parent) and the worker (the child it starts) import this module, so a
spawned child never imports the parent's process management.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from omi.conformance.authoring import BuildFailure, Check, CheckFailure, Context, NotApplicable

PASSED, FAILED, SKIPPED, XFAIL, XPASS = "passed", "failed", "skipped", "xfail", "xpass"
#: A check of a "should" rule that the plugin does not follow: shown and counted, a failure
#: only under --strict (omi.testing: strict = True or --omi-strict).
ADVISORY = "advisory"
#: The plugin's service could not be reached (or refused the credentials): not a verdict.
NOT_TESTED = "not-tested"
#: Every status, in the order reports count them.
STATUSES = (PASSED, FAILED, ADVISORY, SKIPPED, NOT_TESTED, XFAIL, XPASS)

#: Seconds a check may take unless told otherwise (--timeout, check_timeout, OMI_CHECK_TIMEOUT).
DEFAULT_TIMEOUT = 60.0
#: The longest timeout accepted: a day (a larger one is a typo, not a plan).
LONGEST_TIMEOUT = 86_400.0
#: The address space a check process may use unless told otherwise (--memory-limit).
DEFAULT_MEMORY_LIMIT = 2 * 2**30
#: Less is a mistake (512 meant as megabytes?): a check process needs more to start.
SMALLEST_MEMORY_LIMIT = 32 * 2**20
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?")


def parse_memory_limit(text: str) -> int | None:
    """`2G`, `512M`, `1.5GiB` or a number of bytes, as bytes; `0` or `none`: no limit (None).

    Units are binary (1K = 1024 bytes). Raises ValueError naming the accepted forms.
    """
    cleaned = text.strip().lower()
    match = _SIZE.fullmatch(cleaned)
    if cleaned != "none" and not match:
        raise ValueError(
            f"--memory-limit takes a size such as 2G, 512M or 1073741824 (bytes), "
            f"or none (or 0) for no limit; got {text!r}"
        )
    if not match or float(match[1]) == 0:
        return None
    size = int(float(match[1]) * _UNITS[match[2]])
    if size < SMALLEST_MEMORY_LIMIT:
        raise ValueError(
            f"--memory-limit {text.strip()} is less than a check process needs "
            f"to start ({format_size(SMALLEST_MEMORY_LIMIT)}); give a size with "
            f"its unit, e.g. 512M or 2G"
        )
    return size


def default_timeout() -> float:
    """The per-check timeout both front ends use when not given one: OMI_CHECK_TIMEOUT, so CI
    can raise it for every suite at once, else DEFAULT_TIMEOUT. A bad value is a ValueError
    naming the variable."""
    text = os.environ.get("OMI_CHECK_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    return valid_timeout("OMI_CHECK_TIMEOUT", seconds, text)


def valid_timeout(name: str, seconds: Any, shown: str | None = None) -> float:
    """`seconds` as a float when it is a number above 0 and at most LONGEST_TIMEOUT, else a
    ValueError naming `name` and the value (`shown`: the text it was read from): nan, inf, 0,
    negative numbers and non-numbers are refused, so no clock inside a check overflows."""
    if not (
        isinstance(seconds, (int, float))
        and not isinstance(seconds, bool)
        and 0 < seconds <= LONGEST_TIMEOUT
    ):  # also refuses nan and inf
        got = shown if shown is not None else seconds
        raise ValueError(
            f"{name} must be a number of seconds above 0 and at most "
            f"{LONGEST_TIMEOUT:g}, e.g. 120; got {got!r}"
        )
    return float(seconds)


def format_size(size: int) -> str:
    """A size in bytes for people: `2 GiB`, `512 MiB`, `1.5 GiB`, `100 bytes`."""
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size / factor:.4g} {unit}"
    return f"{size} bytes"


def memory_limit_message(limit: int) -> str:
    return f"the plugin exceeded the memory limit of {format_size(limit)} (--memory-limit)"


@dataclass
class Outcome:
    """The result of one check; `duration` is the time spent in the check, in seconds."""

    name: str
    status: str
    duration: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The longest message a check's outcome keeps: a plugin's exception text can be any size,
#: and a report is read by people.
MESSAGE_LIMIT = 4000
#: What a plugin may raise to leave the program: inside a check it fails that check, the same
#: way under `omi plugins check` and under pytest, and ends neither.
EXITS = (KeyboardInterrupt, SystemExit)


def exit_failure(error: BaseException) -> str:
    """The failure of a check in which the plugin raised KeyboardInterrupt or SystemExit."""
    said = f"({error})" if str(error) else ""
    return str(
        CheckFailure(
            "the plugin's calls to return, or to raise an Exception",
            f"{type(error).__name__}{said} ({raised_at(error)})",
            "never raise KeyboardInterrupt or SystemExit from a plugin: they end the program "
            "that hosts it; raise an Exception",
        )
    )


def execute(
    check: Check,
    factory: Callable[[Path], Any],
    capabilities: Iterable[str],
    seed: int,
    call_timeout: float,
    close_instances: bool = True,
    memory_limit: int | None = None,
    workdir: Path | None = None,
) -> Outcome:
    """Run one check in this process and say how it went (passed, failed, advisory, skipped
    when the check found it does not apply, or not tested).

    `close_instances=False` leaves the instances `factory` returns open: the caller owns them
    (a pytest fixture that may be shared by several checks). `memory_limit` is the limit this
    process runs under: a check that runs out of memory fails saying it exceeded it.
    `workdir`: the check's scratch directory (removed at its end), else a new one.
    """
    given: dict[str, Any] = {} if workdir is None else {"workdir": workdir}
    context = Context(
        factory=factory,
        capabilities=frozenset(capabilities),
        seed=seed,
        call_timeout=call_timeout,
        close_instances=close_instances,
        **given,
    )
    # Made now: when memory has run out, the failure must not need any to be reported.
    exceeded = memory_limit_message(memory_limit) if memory_limit else None
    start = time.perf_counter()
    try:
        check.function(context)
        status, message = PASSED, ""
    except EXITS as error:  # the plugin's own: Ctrl-C never reaches a check process or thread
        status, message = FAILED, exit_failure(error)
    except NotApplicable as error:  # the check found it cannot judge this plugin
        status, message = SKIPPED, str(error)
    except Exception as error:  # noqa: BLE001 - any exception from the plugin is a failure
        status, message = _judged(error, check, factory, exceeded)
    finally:
        duration = time.perf_counter() - start
        context.cleanup()
    return Outcome(check.name, status, duration, one_line_message(message))


def _judged(
    error: Exception, check: Check, factory: Callable[[Path], Any], exceeded: str | None
) -> tuple[str, str]:
    """The status and message of a check that raised `error` (`exceeded`: the message of a
    memory limit, when there is one)."""
    if exceeded and _ran_out_of_memory(error):
        return FAILED, exceeded
    if (unreachable := _unreachable(error)) is not None:
        return NOT_TESTED, unreachable
    if isinstance(error, CheckFailure):
        # advice not followed is an advisory; a plugin that cannot be built is a failure
        advice = check.level == "should" and not isinstance(error, BuildFailure)
        return ADVISORY if advice else FAILED, str(error)
    return FAILED, str(
        CheckFailure(
            "the check's calls to succeed",
            f"{type(error).__name__}: {error} ({raised_at(error)})",
            _call_fix(factory),
        )
    )


def one_line_message(message: str) -> str:
    """`message` on one line, at most MESSAGE_LIMIT characters (saying how many were cut)."""
    text = " ".join(message[: MESSAGE_LIMIT * 2].split())
    if len(text) <= MESSAGE_LIMIT and len(message) <= MESSAGE_LIMIT * 2:
        return text
    return f"{text[:MESSAGE_LIMIT]}... (cut: {len(message):,} characters in all)"


def _unreachable(error: BaseException) -> str | None:
    """Imported at the first error: a run that passes does not need the module."""
    from omi.conformance.reachability import unusable_service

    return unusable_service(error)


def _call_fix(factory: Callable[[Path], Any]) -> str:
    """The fix for a call that raised: the author's to make, unless the plugin is one of
    OMI's own (whose author is not the person running the check)."""
    module = getattr(getattr(factory, "plugin_class", None), "__module__", "") or ""
    if module.startswith("omi."):
        return (
            "this plugin ships with omi-openclaw, it is not yours to change: check the "
            "options it was given (--option) and its service; if they are right, report "
            "this output to omi-openclaw"
        )
    return (
        "make that call handle the check's input, or declare the check in "
        "conformance_known_failures with the reason"
    )


def _ran_out_of_memory(error: BaseException | None) -> bool:
    """Whether a MemoryError is `error` or behind it (a check may wrap what it caught)."""
    for _ in range(100):  # a chain can loop: raise a from b, then b from a
        if error is None:
            return False
        if isinstance(error, MemoryError):
            return True
        error = error.__cause__ or error.__context__
    return False


def raised_at(error: BaseException) -> str:
    """Where an exception was raised: the innermost frame, as file:line in function."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "no traceback"
    frame = frames[-1]
    return f"raised at {Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def apply_known_failures(outcome: Outcome, known: dict[str, str]) -> Outcome:
    """A declared known failure that fails is an xfail; one that passes is an xpass."""
    reason = known.get(outcome.name)
    if reason is None:
        return outcome
    if outcome.status in (FAILED, ADVISORY):
        return Outcome(outcome.name, XFAIL, outcome.duration, f"{reason} ({outcome.message})")
    if outcome.status == PASSED:
        return Outcome(
            outcome.name,
            XPASS,
            outcome.duration,
            f"declared as a known failure ({reason}) but passed; remove it from "
            f"conformance_known_failures",
        )
    return outcome
