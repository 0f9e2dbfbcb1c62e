"""PostgreSQL storage (examples/omi-storage-postgres) beside OMI's SQLite backend, in one run.

At each size (10,000 and 100,000 memories; 2,000 and 10,000 with --quick) both backends are
filled with the same synthetic memories (12 words from a 2,000-word vocabulary, plus metadata),
then measured on the same operations:

- recall latency: 300 two-word `recall(query, limit=10)` calls, p50 and p99;
- store throughput: 1,000 more `store_memory` calls, one memory and one commit each, with
  PostgreSQL's default durable commits and again with `synchronous_commit=False` (a commit
  does not wait for its WAL flush; SQLite's WAL with synchronous=NORMAL does not either).

The backends take turns (each query on both, then ten rounds of 100 stores each), so a busy
machine slows them alike, after 50 untimed stores and recalls each to warm caches. PostgreSQL
is filled with `store_memories` in batches of 1,000, then `analyze()` (VACUUM ANALYZE, as the
package's README advises after a bulk load); SQLite with `store_memory` (it has no batch call).
Only the measured operations are compared. The figures are informational (no target): they
tell a user what moving to a server costs per call. The server is the one in
OMI_TEST_POSTGRES_DSN or OMI_POSTGRES_DSN; without either, this module measures in a child
process beside a throwaway server from scripts/postgres.sh (which installs PostgreSQL as root
when it is missing), so `python bench/run.py` alone gives every figure. The package is
imported from examples/ without being installed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Figure

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY_SIZE = 2_000
WORDS_PER_MEMORY = 12
EXTRA_STORES = 1_000
STORE_ROUNDS = 10
WARM_UP = 50
RECALLS = 300


def _vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set = set()
    while len(words) < VOCABULARY_SIZE:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 9))))
    return sorted(words)


def _memories(
    rng: random.Random, vocabulary: list[str], count: int, start: int
) -> list[dict[str, Any]]:
    return [
        {
            "content": " ".join(rng.choices(vocabulary, k=WORDS_PER_MEMORY)),
            "metadata": {"n": start + index, "source": "bench"},
        }
        for index in range(count)
    ]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _fill(backends: dict[str, Any], rng: random.Random, vocabulary: list[str], size: int) -> None:
    """The same `size` memories into each backend, each the fastest way its API offers."""
    for start in range(0, size, 1_000):
        batch = _memories(rng, vocabulary, min(1_000, size - start), start)
        backends["postgres"].store_memories(batch)
        for memory in batch:
            backends["sqlite"].store_memory(memory)
    backends["postgres"].analyze()  # what the package's README advises after a bulk load


def _compare(backends: dict[str, Any], size: int) -> dict[str, dict[str, float]]:
    """Fill the backends to `size`, then time recalls and stores, taking turns."""
    rng = random.Random(size)
    vocabulary = _vocabulary(rng)
    _fill(backends, rng, vocabulary, size)
    for backend in backends.values():  # warm caches and prepared statements, untimed
        for memory in _memories(rng, vocabulary, WARM_UP, size):
            backend.store_memory(memory)
        for _ in range(WARM_UP):
            backend.recall(" ".join(rng.sample(vocabulary, 2)), limit=10)
    readers = {name: backends[name] for name in ("postgres", "sqlite")}
    latencies: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(RECALLS):
        query = " ".join(rng.sample(vocabulary, 2))
        for name, backend in readers.items():
            began = time.perf_counter()
            results = backend.recall(query, limit=10)
            latencies[name].append(time.perf_counter() - began)
            if not results:
                raise AssertionError(f"{name}: recall({query!r}) found nothing in {size}")
    store_time = dict.fromkeys(backends, 0.0)
    per_round = EXTRA_STORES // STORE_ROUNDS
    for round_ in range(STORE_ROUNDS):
        chunk = _memories(rng, vocabulary, per_round, size + round_ * per_round)
        for name, backend in backends.items():
            began = time.perf_counter()
            for memory in chunk:
                backend.store_memory(memory)
            store_time[name] += time.perf_counter() - began
    figures = {name: {"store": EXTRA_STORES / seconds} for name, seconds in store_time.items()}
    for name, samples in latencies.items():
        figures[name].update(p50=statistics.median(samples), p99=_percentile(samples, 0.99))
    return figures


def _measure(backend_class: type, dsn: str, size: int) -> dict[str, dict[str, float]]:
    from omi.builtin.sqlite import SQLiteBackend

    schema = f"omi_bench_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="omi-bench-") as directory:
        backends = {
            "postgres": backend_class(dsn=dsn, schema=schema),
            # the same tables; only its commits skip waiting for the WAL flush
            "postgres_async": backend_class(dsn=dsn, schema=schema, synchronous_commit=False),
            "sqlite": SQLiteBackend(Path(directory) / "memories.db"),
        }
        try:
            return _compare(backends, size)
        finally:
            backends["sqlite"].close()
            backends["postgres_async"].close()
            backends["postgres"].drop_schema()


def run(quick: bool) -> list[Figure]:
    dsn = os.environ.get("OMI_TEST_POSTGRES_DSN") or os.environ.get("OMI_POSTGRES_DSN")
    if not dsn:
        return _beside_a_throwaway_server(quick)
    sys.path.insert(0, str(ROOT / "examples" / "omi-storage-postgres" / "src"))
    try:
        from omi_storage_postgres import PostgresBackend
    except ImportError as error:
        print(
            f"bench_postgres: skipped, cannot import omi_storage_postgres: {error} "
            f"(needs psycopg and psycopg-pool, in omi-openclaw's dev extra)",
            file=sys.stderr,
        )
        return []
    figures = []
    for size in (2_000, 10_000) if quick else (10_000, 100_000):
        measured = _measure(PostgresBackend, dsn, size)
        postgres, sqlite = measured["postgres"], measured["sqlite"]
        label = f"{size:,} memories"
        figures += [
            Figure(
                f"postgres store_memory, {label}",
                postgres["store"],
                "memories/s",
                sqlite["store"],
                "sqlite",
            ),
            Figure(
                f"postgres store_memory, synchronous_commit off, {label}",
                measured["postgres_async"]["store"],
                "memories/s",
                sqlite["store"],
                "sqlite",
            ),
            Figure(f"postgres recall p50, {label}", postgres["p50"], "s", sqlite["p50"], "sqlite"),
            Figure(f"postgres recall p99, {label}", postgres["p99"], "s", sqlite["p99"], "sqlite"),
        ]
    return figures


def _beside_a_throwaway_server(quick: bool) -> list[Figure]:
    """The figures measured by this module run as a script beside scripts/postgres.sh's server."""
    command = [
        "bash",
        str(ROOT / "scripts" / "postgres.sh"),
        sys.executable,
        __file__,
        *(["--quick"] if quick else []),
    ]
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)  # stderr shows progress
    if result.returncode != 0:
        print(
            "bench_postgres: skipped, no server (scripts/postgres.sh said why above); set "
            "OMI_TEST_POSTGRES_DSN to a server you own",
            file=sys.stderr,
        )
        return []
    return [Figure(**row) for row in json.loads(result.stdout)]


if __name__ == "__main__":  # run by _beside_a_throwaway_server with the server's DSN set
    print(json.dumps([dataclasses.asdict(figure) for figure in run("--quick" in sys.argv[1:])]))
