"""Cost of `omi plugins check`: the framework's own overhead against the time inside the plugin.

Two plugins are checked end to end through the real command, each run as a user runs it:

- `BenchEmbedder`, an in-process embedder with 1,000-dimensional vectors. It computes like a
  small local model: hashed token embeddings through six residual MLP blocks (1,000 -> 2,000 ->
  1,000), at most 64 tokens a text, about 48 MFLOP a token (MiniLM-L6, with 384-dimensional
  vectors, costs about 21), so the suite spends realistic time inside it.
- `TimedSQLiteBackend`, OMI's own `omi.builtin.sqlite:SQLiteBackend` unchanged, given by import
  path; the subclass only adds the timing below.

Both plugins append the wall time of every call into one of their methods to a file (outermost
calls only, so `embed_batch` calling `embed` counts once; the write itself is outside the timed
span, so it is charged to the framework). Module imports are not plugin time; numpy, which the
embedder imports on its first call like a lazily loaded model, is. Overhead is the whole
command's wall time minus the plugin's time: CLI start-up, validation, the child process, the
checks' own assertions and the report. The embedder gets one BLAS thread: on a busy two-core
machine OpenBLAS's spinning threads made it two to three times slower and its timing erratic.
Targets, from the issues: overhead <= 20% of the plugin's time, and the whole command <= 3.5 s,
for the in-process embedder; the whole command <= 2 s for SQLite, whose overhead is
informational (its operations take well under a millisecond, so fixed costs dominate).
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from omi.builtin.sqlite import SQLiteBackend
from omi.embeddings import EmbeddingProvider, cosine_similarity

TIME_FILE = "OMI_BENCH_PLUGIN_TIME"  # each outermost plugin call appends its seconds here
_depth = [0]
_log: list = []


def _record(seconds: float) -> None:
    """Append one call's time, flushed at once: the child may be killed or never run atexit."""
    if not _log:
        _log.append(open(os.environ[TIME_FILE], "a", encoding="utf-8"))  # noqa: SIM115
    _log[0].write(f"{seconds!r}\n")
    _log[0].flush()


def timed(method: Callable[..., Any]) -> Callable[..., Any]:
    """Count the wall time of the outermost call into a plugin method."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _depth[0] += 1
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            _depth[0] -= 1
            if _depth[0] == 0:
                _record(time.perf_counter() - start)

    return wrapper


class BenchEmbedder(EmbeddingProvider):
    """A deterministic 1,000-dimensional embedder that computes like a small local model."""

    interface_version = "1.0"
    conformance_capabilities = {"deterministic"}
    DIMENSION, HIDDEN, LAYERS, VOCABULARY, MAX_TOKENS = 1000, 2000, 6, 4096, 64

    @timed
    def __init__(self) -> None:
        self._table, self._layers = _weights()

    @timed
    def embed(self, text: str) -> list[float]:
        import numpy as np

        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("Text cannot be empty")
        tokens = [
            int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
            % self.VOCABULARY
            for word in text.lower().split()[: self.MAX_TOKENS]
        ]
        state = self._table[tokens]
        for expand, contract in self._layers:  # residual MLP blocks, as in a transformer
            state = state + np.tanh(state @ expand) @ contract
        pooled = state.mean(axis=0, dtype=np.float64)
        return (pooled / np.linalg.norm(pooled)).tolist()

    @timed
    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be 1 or more, got {batch_size}")
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise (TypeError if not isinstance(text, str) else ValueError)(
                    f"every text must be a non-empty str, got {text!r}"
                )
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            vectors += [self.embed(text) for text in texts[start : start + batch_size]]
        return vectors

    @timed
    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        return cosine_similarity(embedding1, embedding2)

    @timed
    def get_dimension(self) -> int:
        return self.DIMENSION

    @timed
    def get_model_name(self) -> str:
        return "bench-mlp-1000"


@functools.lru_cache(maxsize=1)
def _weights() -> tuple[Any, list]:
    """The model's fixed random weights, built once per process like a loaded model."""
    import numpy as np

    rng = np.random.default_rng(1000)
    size, hidden = BenchEmbedder.DIMENSION, BenchEmbedder.HIDDEN

    def dense(rows: int, columns: int) -> Any:
        return rng.standard_normal((rows, columns), dtype=np.float32) / np.float32(rows**0.5)

    table = rng.standard_normal((BenchEmbedder.VOCABULARY, size), dtype=np.float32)
    return table, [(dense(size, hidden), dense(hidden, size)) for _ in range(BenchEmbedder.LAYERS)]


class TimedSQLiteBackend(SQLiteBackend):
    """OMI's SQLite backend, unchanged, with its interface methods timed."""

    __init__ = timed(SQLiteBackend.__init__)
    store_memory = timed(SQLiteBackend.store_memory)
    recall = timed(SQLiteBackend.recall)
    add_edge = timed(SQLiteBackend.add_edge)
    close = timed(SQLiteBackend.close)


# --- the benchmark --------------------------------------------------------------------------


def _check_once(omi: str, target: str, env: dict[str, str], time_file: str) -> tuple[float, float]:
    """Run `omi plugins check TARGET` once: (wall time, time spent inside the plugin)."""
    import subprocess

    open(time_file, "w").close()
    start = time.perf_counter()
    completed = subprocess.run(
        [omi, "plugins", "check", target],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"omi plugins check {target} failed:\n{completed.stdout}")
    with open(time_file, encoding="utf-8") as stream:
        inside = sum(float(line) for line in stream if line.strip())
    return wall, inside


def run(quick: bool) -> list:
    import statistics
    import sys
    import tempfile
    from pathlib import Path

    from common import Figure, installed_env, ratio_figure

    omi = str(Path(sys.executable).with_name("omi"))
    repeat = 3 if quick else 7
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        time_file = str(Path(tmp) / "plugin-time")
        env = installed_env(
            PYTHONPATH=str(Path(__file__).resolve().parent),
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            **{TIME_FILE: time_file},
        )
        for label, target, ratio_limit, wall_limit in (
            ("1,000-dim in-process embedder", "bench_check:BenchEmbedder", 0.20, 3.5),
            ("omi.builtin.sqlite", "bench_check:TimedSQLiteBackend", None, 2.0),
        ):
            _check_once(omi, target, env, time_file)  # warm-up: bytecode, OS caches
            runs = sorted(_check_once(omi, target, env, time_file) for _ in range(repeat))
            wall, inside = runs[len(runs) // 2]  # the run of median wall time
            overhead = wall - inside
            name = f"omi plugins check, {label}"
            if ratio_limit is not None:
                figures.append(
                    ratio_figure(
                        f"{name}: framework overhead",
                        overhead,
                        inside,
                        "s",
                        "time inside the plugin",
                        ratio_limit,
                    )
                )
            else:
                figures.append(
                    Figure(
                        f"{name}: framework overhead",
                        overhead,
                        "s",
                        inside,
                        "time inside the plugin",
                    )
                )
            figures.append(
                Figure(
                    f"{name}: whole command",
                    wall,
                    "s",
                    target=f"<= {wall_limit:g} s",
                    passed=wall <= wall_limit,
                )
            )
            print(
                f"  {label}: wall {statistics.median(r[0] for r in runs):.3f}s median",
                file=sys.stderr,
            )
    return figures
