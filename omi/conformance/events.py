"""Checks for event handlers."""

from __future__ import annotations

import copy
import time
from typing import Any, Dict

from omi.conformance.registry import Context, check, difference, expect
from omi.events import EVENT_TYPES

_AT = "2026-01-01T12:00:00.000000+00:00"
#: One event of each type, shaped exactly as omi.host.Memory emits it (README, "Event
#: payloads"), so a handler that reads the documented keys passes the checks.
SAMPLE_PAYLOADS: Dict[str, Dict[str, Any]] = {
    "memory.stored": {"id": "m1", "content": "The user prefers tea.", "metadata": {"k": [1, 2]},
                      "session_id": "s1", "embedding_model": None, "timestamp": _AT},
    "memory.recalled": {"query": "tea", "limit": 10, "session_id": "s1", "timestamp": _AT,
                        "results": [{"id": "m1", "content": "The user prefers tea.",
                                     "metadata": {"k": [1, 2]}, "score": 1.5}]},
    "session.started": {"session_id": "s1", "metadata": {"agent": "test"}, "timestamp": _AT},
    "session.ended": {"session_id": "s1", "metadata": {"agent": "test"},
                      "duration_seconds": 100.0, "memories_stored": 3, "recalls": 1,
                      "error": None, "timestamp": _AT},
    "checkpoint.created": {"checkpoint_id": "c1", "memories": ["m1"], "reason": "compression",
                           "timestamp": _AT},
    "belief.updated": {"belief": "user likes tea", "old": 0.4, "new": 0.8, "evidence": ["m1"],
                       "timestamp": _AT},
}


@check("event", "handle() accepts every one of the six event types",
       why="the host emits all six lifecycle events to every handler; one that raises on any of "
           "them is reported as failing",
       fix="accept every type in omi.events.EVENT_TYPES, even if handle() does nothing for some")
def handles_every_event_type(ctx: Context) -> None:
    for event_type in EVENT_TYPES:
        ctx.plugin.handle(event_type, copy.deepcopy(SAMPLE_PAYLOADS[event_type]))


#: An event type OMI may add later, with its payload (which has a `timestamp`, as every
#: payload does): handlers must ignore it quietly.
UNKNOWN_EVENT = ("omi.future.event", {"anything": True, "timestamp": _AT})


@check("event", "unknown event types are ignored, not raised",
       why="later OMI releases add event types; a handler that raises on them breaks on upgrade",
       fix="return without doing anything for event types the handler does not know")
def unknown_event_types_are_ignored(ctx: Context) -> None:
    plugin = ctx.plugin  # outside the try: a constructor error is its own finding
    event_type, payload = UNKNOWN_EVENT
    try:
        plugin.handle(event_type, copy.deepcopy(payload))
    except Exception as error:  # noqa: BLE001 - raising is the finding
        expect(False, "no exception for an unknown event type",
               f"{type(error).__name__}: {error}",
               "return early for event types you do not handle; OMI adds new ones")


@check("event", "handle() does not change event_data",
       why="every handler gets the same event_data; changing it changes what the other handlers "
           "see",
       fix="copy event_data (copy.deepcopy) before changing or adding anything")
def event_data_is_not_mutated(ctx: Context) -> None:
    for event_type, payload in SAMPLE_PAYLOADS.items():
        given = copy.deepcopy(payload)
        ctx.plugin.handle(event_type, given)
        changed = difference(payload, given, "event_data")
        expect(changed is None, f"the {event_type} payload unchanged", str(changed),
               "copy event_data before adding fields to it")


@check("event", "handle() returns None for every event type, unknown ones included",
       why="the host ignores what handle() returns; a value returned there is usually a bug, "
           "such as work the handler meant to do",
       fix="return None from handle(); report results through your own channel (a log, a queue)")
def handle_returns_none(ctx: Context) -> None:
    for event_type, payload in [*SAMPLE_PAYLOADS.items(), UNKNOWN_EVENT]:
        result = ctx.plugin.handle(event_type, copy.deepcopy(payload))
        expect(result is None, f"None from handle({event_type!r}, ...)", result,
               "return nothing from handle(), also for the event types it ignores")


@check("event", "one handle() call returns within the call timeout",
       why="events are delivered while the host waits; a slow handler delays every memory stored",
       fix="queue the work (a thread, a task queue) and return, or give network calls a short "
           "timeout")
def handle_returns_promptly(ctx: Context) -> None:
    start = time.perf_counter()
    ctx.plugin.handle("session.started", copy.deepcopy(SAMPLE_PAYLOADS["session.started"]))
    elapsed = time.perf_counter() - start
    expect(elapsed <= ctx.call_timeout, f"at most {ctx.call_timeout:.1f} s",
           f"{elapsed:.2f} s", "do slow work (network) with a timeout or in the background")
