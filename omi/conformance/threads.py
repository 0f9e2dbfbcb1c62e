"""Checks of the guide's "Threads" section: one instance of each kind is called from several
threads at once, as one `omi.Memory` shared by an application's threads calls it."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from omi.conformance.authoring import CheckFailure, Context, check, expect
from omi.conformance.events import SAMPLE_PAYLOADS

#: How many threads call the plugin at once, and how many calls each makes.
THREADS, CALLS = 6, 8


def _in_threads(work: Callable[[int], Any], what: str) -> list[Any]:
    """work(thread number) in THREADS threads started together; their results in thread
    order. Fails naming the thread count and the first exception one of them raised."""
    start = threading.Barrier(THREADS)
    results: dict[int, Any] = {}
    errors: dict[int, BaseException] = {}

    def run(number: int) -> None:
        try:
            start.wait()
            results[number] = work(number)
        except BaseException as error:  # noqa: BLE001 - reported below, with its thread
            errors[number] = error

    threads = [
        threading.Thread(target=run, args=(number,), daemon=True, name=f"omi-check-thread-{number}")
        for number in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        number, error = min(errors.items())
        if isinstance(error, CheckFailure):
            raise error
        raise CheckFailure(
            f"{what} from {THREADS} threads at once to succeed",
            f"{type(error).__name__}: {error} (in thread {number}; "
            f"{len(errors)} of {THREADS} threads raised)",
            "guard shared state (a connection, a file, a cache) with a lock, or "
            "use a connection pool; a sqlite3 connection shared between threads "
            "needs check_same_thread=False and a lock",
        )
    return [results[number] for number in range(THREADS)]


@check(
    "storage",
    f"storage used from {THREADS} threads at once loses nothing and raises "
    f"nothing: every memory stored is recalled under its id",
    rules=("storage.threads",),
    why="one omi.Memory may be shared by several threads of an application, and OMI adds no "
    "lock around the backend",
    fix="guard the shared connection with a lock (or use a pool); sqlite3 needs "
    "check_same_thread=False",
)
def storage_is_thread_safe(ctx: Context) -> None:
    backend = ctx.plugin
    tag = f"zq{ctx.rng.getrandbits(40):010x}"

    def work(number: int) -> dict[str, str]:
        stored = {}
        for index in range(CALLS):
            word = f"{tag}t{number}n{index}"
            stored[
                backend.store_memory(
                    {"content": f"remember {word} from a thread", "metadata": {"thread": number}}
                )
            ] = word
            backend.recall(word, limit=3)
        return stored

    every: dict[str, str] = {}
    for stored in _in_threads(work, "store_memory() and recall()"):
        every.update(stored)
    expect(
        len(every) == THREADS * CALLS,
        f"{THREADS * CALLS} distinct ids from {THREADS} threads storing {CALLS} memories each",
        f"{len(every)} distinct ids",
        "generate ids that cannot collide between threads (uuid4 or a database sequence)",
    )
    for memory_id, word in every.items():
        found = [r.get("id") for r in backend.recall(word, limit=10) if isinstance(r, dict)]
        expect(
            memory_id in found,
            f"the memory {memory_id} stored from one of {THREADS} "
            f"threads found by its word {word!r}",
            f"ids {found}",
            "make each write complete under a lock; do not lose writes made at the same time",
        )


@check(
    "embedding",
    f"embed() called from {THREADS} threads at once gives each text its own "
    f"vector and raises nothing",
    rules=("embedding.threads",),
    why="OMI embeds in the thread that stores or recalls, so embed() may run in several "
    "threads at once",
    fix="open a connection per call, or hold a lock around a model that is not thread-safe",
)
def embed_is_thread_safe(ctx: Context) -> None:
    # three texts, each embedded by two threads at once: a vector swapped between threads shows
    texts = [f"thread {number} asks about topic {number * 7}" for number in range(3)]
    plugin = ctx.plugin  # built here: the threads share one instance
    alone = [plugin.embed(text) for text in texts] if ctx.has("deterministic") else None
    together = _in_threads(lambda number: plugin.embed(texts[number % 3]), "embed()")
    dimension = plugin.get_dimension()
    for number, vector in enumerate(together):
        expect(
            isinstance(vector, list) and len(vector) == dimension,
            f"a list of {dimension} floats from embed() in thread {number} of {THREADS}",
            f"{type(vector).__name__} of {len(vector) if hasattr(vector, '__len__') else '?'}",
            "keep per-call state local to the call, or hold a lock",
        )
        if alone is not None:
            expect(
                all(abs(x - y) <= 1e-5 for x, y in zip(vector, alone[number % 3], strict=True)),
                f"embed() in thread {number} of {THREADS} equal to embed() of the same text alone",
                "another vector (a result from another thread's call?)",
                "keep per-call state local to the call, or hold a lock around the model",
            )


@check(
    "event",
    f"handle() called from {THREADS} threads at once raises nothing",
    rules=("event.threads",),
    why="handlers run in the thread that caused the event, so handle() can run in several "
    "threads at once",
    fix="guard files and counters with a lock",
)
def handle_is_thread_safe(ctx: Context) -> None:
    kinds = list(SAMPLE_PAYLOADS.items())
    handler = ctx.plugin  # built here: the threads share one instance

    def work(number: int) -> None:
        for index in range(CALLS):
            event_type, payload = kinds[(number + index) % len(kinds)]
            handler.handle(event_type, copy.deepcopy(payload))

    _in_threads(work, "handle()")
