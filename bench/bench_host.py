"""The host and its default storage: what `Memory` adds, how fast events fan out, how SQLite grows.

- Host overhead: the same store+recall workload through `Memory` (no handlers, no embedder)
  and straight on `SQLiteBackend`, in alternating rounds (target ratio <= 1.10). Both files
  live in /dev/shm when there is one: without disk flushes the backend is faster, so the
  host's own cost weighs more and the ratio is stricter (and steadier).
- Dispatch: `Memory.emit` of a memory.stored-sized event to 5 no-op handlers, in the caller's
  thread (target >= 100,000 events/s); background dispatch is shown for information.
- SQLite: store throughput and recall p50/p99 as the database grows to 10k and 100k memories
  (information: the curve, no target).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Figure, ratio_figure

from omi.builtin.sqlite import SQLiteBackend
from omi.events import EventHandler
from omi.host import Memory

VOCABULARY = [f"w{index:04d}" for index in range(5000)]
WORDS_PER_MEMORY = 12


class NoOp(EventHandler):
    interface_version = "1.0"

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        return None


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choices(VOCABULARY, k=WORDS_PER_MEMORY))


def host_overhead(directory: Path, quick: bool) -> Figure:
    """Median time of one store+recall pair on each side, the sides alternating pair by pair
    so that the machine's noise and the files' growth hit both alike."""
    pairs = 1_000 if quick else 5_000
    rng = random.Random(1)
    direct = SQLiteBackend(directory / "direct.db")
    host = Memory(SQLiteBackend(directory / "host.db"))

    def on_direct(text: str, query: str) -> None:
        direct.store_memory({"content": text, "metadata": {}})
        direct.recall(query, 10)

    def on_host(text: str, query: str) -> None:
        host.store(text, {})
        host.recall(query, 10)

    times: dict[str, list[float]] = {"direct": [], "host": []}
    sides = [("direct", on_direct), ("host", on_host)]
    clock = time.perf_counter
    for index in range(pairs):
        text, query = sentence(rng), " ".join(rng.choices(VOCABULARY, k=2))
        for name, function in sides if index % 2 else reversed(sides):
            start = clock()
            function(text, query)
            times[name].append(clock() - start)
    direct.close()
    host.close()
    return ratio_figure(
        "Memory store+recall, no handlers (median pair)",
        statistics.median(times["host"]),
        statistics.median(times["direct"]),
        "s",
        "SQLiteBackend directly",
        1.10,
    )


def dispatch_rate(directory: Path, quick: bool, background: bool) -> Figure:
    events = 20_000 if quick else 100_000
    handlers = {f"noop{index}": NoOp() for index in range(5)}
    memory = Memory(
        SQLiteBackend(directory / f"events-{background}.db"),
        handlers=handlers,
        background=background,
        queue_size=10_000,
    )
    payload = {
        "id": "0" * 32,
        "content": "remember to rotate the deploy key on mondays",
        "metadata": {"source": "bench", "user": "ada"},
        "session_id": None,
        "embedding_model": None,
    }
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(events):
            memory.emit("memory.stored", payload)
        memory.dispatcher.flush()
        best = max(best, events / (time.perf_counter() - start))
    memory.close()
    if background:
        return Figure(
            "emit to 5 no-op handlers, background", best, "events/s", target="(information)"
        )
    return Figure(
        "emit to 5 no-op handlers, in-process",
        best,
        "events/s",
        target=">= 100,000",
        passed=best >= 100_000,
    )


def sqlite_growth(directory: Path, quick: bool) -> list[Figure]:
    checkpoints = [1_000, 10_000] if quick else [1_000, 10_000, 30_000, 100_000]
    rng = random.Random(2)
    backend = SQLiteBackend(directory / "growth.db")
    figures: list[Figure] = []
    stored = 0
    for size in checkpoints:
        previous, start = stored, time.perf_counter()
        while stored < size:
            backend.store_memory({"content": sentence(rng), "metadata": {"n": stored}})
            stored += 1
        rate = (size - previous) / (time.perf_counter() - start)
        latencies = []
        for _ in range(300):
            query = " ".join(rng.choices(VOCABULARY, k=2))
            begin = time.perf_counter()
            backend.recall(query, 10)
            latencies.append(time.perf_counter() - begin)
        latencies.sort()
        label = f"{size:,}"
        figures += [
            Figure(
                f"SQLite store, {previous:,} to {label} memories",
                rate,
                "memories/s",
                target="(information)",
            ),
            Figure(
                f"SQLite recall p50 at {label}",
                latencies[len(latencies) // 2],
                "s",
                target="(information)",
            ),
            Figure(
                f"SQLite recall p99 at {label}",
                latencies[int(len(latencies) * 0.99)],
                "s",
                target="(information)",
            ),
        ]
        print(f"  sqlite: {label} memories stored", file=sys.stderr, flush=True)
    backend.close()
    return figures


def run(quick: bool) -> list[Figure]:
    memory_fs = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="omi-bench-host-", dir=memory_fs) as shm:
        overhead = host_overhead(Path(shm), quick)
    with tempfile.TemporaryDirectory(prefix="omi-bench-host-") as tmp:
        directory = Path(tmp)
        return [
            overhead,
            dispatch_rate(directory, quick, background=False),
            dispatch_rate(directory, quick, background=True),
            *sqlite_growth(directory, quick),
        ]
