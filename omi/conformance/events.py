"""Checks for event handlers."""

from __future__ import annotations

import copy
import time
from typing import Any

from omi.conformance.authoring import (
    CheckFailure,
    Context,
    check,
    difference,
    expect,
    expect_close_twice,
    shorten,
)
from omi.conformance.building import UNKNOWN_OPTION_FIX, expect_unknown_option_refused
from omi.conformance.outcome import raised_at
from omi.events import EVENT_TYPES

_AT = "2026-01-01T12:00:00.000000+00:00"
#: One event of each type, shaped exactly as omi.host.Memory emits it (README, "Event
#: payloads"), so a handler that reads the documented keys passes the checks.
SAMPLE_PAYLOADS: dict[str, dict[str, Any]] = {
    "memory.stored": {
        "id": "m1",
        "content": "The user prefers tea.",
        "metadata": {"k": [1, 2]},
        "session_id": "s1",
        "embedding_model": None,
        "timestamp": _AT,
    },
    "memory.recalled": {
        "query": "tea",
        "limit": 10,
        "session_id": "s1",
        "timestamp": _AT,
        "results": [
            {
                "id": "m1",
                "content": "The user prefers tea.",
                "metadata": {"k": [1, 2]},
                "score": 1.5,
            }
        ],
    },
    "session.started": {"session_id": "s1", "metadata": {"agent": "test"}, "timestamp": _AT},
    "session.ended": {
        "session_id": "s1",
        "metadata": {"agent": "test"},
        "duration_seconds": 100.0,
        "memories_stored": 3,
        "recalls": 1,
        "error": None,
        "timestamp": _AT,
    },
    "checkpoint.created": {
        "checkpoint_id": "c1",
        "memories": ["m1"],
        "reason": "compression",
        "timestamp": _AT,
    },
    "belief.updated": {
        "belief": "user likes tea",
        "old": 0.4,
        "new": 0.8,
        "evidence": ["m1"],
        "timestamp": _AT,
    },
}


#: The same events as the host emits them in other circumstances: outside a session
#: (`session_id` None), with an embedding provider, with non-ASCII text and nested data, a
#: session that ended with an error, and the free-form payloads holding nested lists.
OTHER_PAYLOADS: dict[str, dict[str, Any]] = {
    "memory.stored": {
        "id": "m2",
        "content": "Der Nutzer trinkt gern Tee 🍵 — 日本語 \u200f",
        "metadata": {"nested": {"list": [1, 2.5, None, {"deep": ["ü"]}]}, "ключ": "значение"},
        "session_id": None,
        "embedding_model": "nv-embedqa-e5-v5",
        "timestamp": _AT,
    },
    "memory.recalled": {
        "query": "Tee 🍵",
        "limit": 3,
        "session_id": None,
        "timestamp": _AT,
        "results": [],
    },
    "session.started": {"session_id": "s2", "metadata": {}, "timestamp": _AT},
    "session.ended": {
        "session_id": "s2",
        "metadata": {"nested": {"agent": ["a", "b"]}},
        "duration_seconds": 0.000125,
        "memories_stored": 0,
        "recalls": 0,
        "error": "KeyError: 'x'",
        "timestamp": _AT,
    },
    "checkpoint.created": {
        "checkpoint_id": "c2",
        "memories": [],
        "reason": None,
        "extra": {"nested": [[1, 2], {"ä": None}]},
        "timestamp": _AT,
    },
    "belief.updated": {
        "belief": "Nutzer mag Tee",
        "old": None,
        "new": 1.0,
        "evidence": [],
        "timestamp": _AT,
    },
}


@check(
    "event",
    "handle() accepts every one of the six event types, in each payload shape the "
    "host emits (outside a session, non-ASCII, nested data, an error)",
    rules=("handle.every_type",),
    why="the host emits all six lifecycle events to every handler; one that raises on any of "
    "them is reported as failing",
    fix="accept every type in omi.events.EVENT_TYPES, even if handle() does nothing for some, "
    "and read payload keys that may be None (session_id, error) as such",
)
def handles_every_event_type(ctx: Context) -> None:
    for payloads, shape in (
        (SAMPLE_PAYLOADS, "in a session"),
        (OTHER_PAYLOADS, "outside a session, non-ASCII, nested"),
    ):
        for event_type in EVENT_TYPES:
            _deliver(ctx, event_type, payloads[event_type], shape)


def _deliver(ctx: Context, event_type: str, payload: dict[str, Any], shape: str) -> Any:
    """handle(event_type, a copy of payload); a failure names the event type and the shape."""
    plugin = ctx.plugin  # outside the try: a constructor error is its own finding
    try:
        return plugin.handle(event_type, copy.deepcopy(payload))
    except CheckFailure:
        raise
    except Exception as error:  # noqa: BLE001 - raising is the finding
        raise CheckFailure(
            f"handle({event_type!r}, ...) to accept the payload ({shape})",
            f"{type(error).__name__}: {error} ({raised_at(error)}); the payload "
            f"was {shorten(payload, 200)}",
            "accept every documented payload: keys may hold None, non-ASCII text "
            "and nested lists and dicts",
        ) from None


#: An event type OMI may add later, with its payload (which has a `timestamp`, as every
#: payload does): handlers must ignore it quietly.
UNKNOWN_EVENT = ("omi.future.event", {"anything": True, "timestamp": _AT})


@check(
    "event",
    "unknown event types are ignored, not raised",
    rules=("handle.unknown_type",),
    why="later OMI releases add event types; a handler that raises on them breaks on upgrade",
    fix="return without doing anything for event types the handler does not know",
)
def unknown_event_types_are_ignored(ctx: Context) -> None:
    plugin = ctx.plugin  # outside the try: a constructor error is its own finding
    event_type, payload = UNKNOWN_EVENT
    try:
        plugin.handle(event_type, copy.deepcopy(payload))
    except Exception as error:  # noqa: BLE001 - raising is the finding
        expect(
            False,
            "no exception for an unknown event type",
            f"{type(error).__name__}: {error}",
            "return early for event types you do not handle; OMI adds new ones",
        )


@check(
    "event",
    "handle() does not change event_data",
    rules=("handle.read_only",),
    why="every handler gets the same event_data; changing it changes what the other handlers see",
    fix="copy event_data (copy.deepcopy) before changing or adding anything",
)
def event_data_is_not_mutated(ctx: Context) -> None:
    for event_type, payload in SAMPLE_PAYLOADS.items():
        given = copy.deepcopy(payload)
        ctx.plugin.handle(event_type, given)
        changed = difference(payload, given, "event_data")
        expect(
            changed is None,
            f"the {event_type} payload unchanged",
            str(changed),
            "copy event_data before adding fields to it",
        )


@check(
    "event",
    "handle() returns None for every event type, unknown ones included",
    rules=("handle.returns_none",),
    why="the host ignores what handle() returns; a value returned there is usually a bug, "
    "such as work the handler meant to do",
    fix="return None from handle(); report results through your own channel (a log, a queue)",
)
def handle_returns_none(ctx: Context) -> None:
    for event_type, payload in [*SAMPLE_PAYLOADS.items(), UNKNOWN_EVENT]:
        result = ctx.plugin.handle(event_type, copy.deepcopy(payload))
        expect(
            result is None,
            f"None from handle({event_type!r}, ...)",
            result,
            "return nothing from handle(), also for the event types it ignores",
        )


#: How many rounds of events the promptness check times: the slowest call counts.
PROMPT_ROUNDS = 2


@check(
    "event",
    "every handle() call returns within the call timeout, over several calls of each event type",
    rules=("handle.prompt",),
    why="events are delivered while the host waits; a slow handler delays every memory stored",
    fix="queue the work (a thread, a task queue) and return, or give network calls a short timeout",
)
def handle_returns_promptly(ctx: Context) -> None:
    calls = [("session.started", SAMPLE_PAYLOADS["session.started"])]
    calls += [item for _ in range(PROMPT_ROUNDS) for item in SAMPLE_PAYLOADS.items()]
    for number, (event_type, payload) in enumerate(calls, 1):
        start = time.perf_counter()
        ctx.plugin.handle(event_type, copy.deepcopy(payload))
        elapsed = time.perf_counter() - start
        expect(
            elapsed <= ctx.call_timeout,
            f"at most {ctx.call_timeout:.1f} s for each call",
            f"{elapsed:.2f} s for handle({event_type!r}, ...), call {number} of {len(calls)}",
            "do slow work (network) with a timeout or in the background",
        )


@check(
    "event",
    "close(), when the handler has one, can be called twice",
    rules=("event.close",),
    why="hosts close handlers on shutdown and in error paths, so close() may run twice",
    fix="set a closed flag in close() and return at once when it is already set",
)
def handler_close_is_idempotent(ctx: Context) -> None:
    expect_close_twice(ctx)


@check(
    "event",
    "the constructor refuses an option it does not know, naming it",
    rules=("event.options",),
    why="OMI passes every key of the plugin's config.yaml section as a keyword option; a "
    "misspelt key that is ignored leaves the setting at its default without a word",
    fix=UNKNOWN_OPTION_FIX,
)
def handler_refuses_unknown_options(ctx: Context) -> None:
    expect_unknown_option_refused(ctx)
