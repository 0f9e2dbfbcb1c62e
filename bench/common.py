"""What every benchmark module returns, and the timing helpers they share.

A benchmark module is `bench/bench_<topic>.py` with a `run(quick: bool) -> list[Figure]`.
Targets are ratios against a baseline measured in the same run, so a slow machine slows
both sides and the ratio still means something.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Figure:
    """One measured figure: the subject, its baseline, and the target it is held to."""

    name: str
    value: float
    unit: str
    baseline: float | None = None  # same unit as value; None for absolute figures
    baseline_name: str = ""
    target: str = ""  # e.g. "ratio <= 1.30" or ">= 100000"
    passed: bool | None = None  # None when the figure is informational

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.value / self.baseline


def installed_env(**overrides: str) -> dict[str, str]:
    """The environment of a command as a user runs it: with its bytecode cache.

    pip compiles every installed module to bytecode, but an editable install and a shell with
    PYTHONDONTWRITEBYTECODE=1 (as in some CI and sandboxes) recompile omi and the plugins from
    source on every start, which no user pays. Without the variable, the warm-up run of each
    command writes the cache, for the subject and the baseline alike.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **overrides}


def ratio_figure(
    name: str, value: float, baseline: float, unit: str, baseline_name: str, limit: float
) -> Figure:
    """A figure held to `value / baseline <= limit`."""
    return Figure(
        name=name,
        value=value,
        unit=unit,
        baseline=baseline,
        baseline_name=baseline_name,
        target=f"ratio <= {limit:.2f}",
        passed=value / baseline <= limit,
    )


def interleaved_command_times(
    subject: Sequence[str],
    baseline: Sequence[str],
    repeat: int = 9,
    before_subject: Callable[[], None] | None = None,
    **kwargs,
) -> tuple[float, float]:
    """Median wall times of two commands run alternately, so drift hits both equally.

    `before_subject`, when given, runs (untimed) before each run of the subject: e.g. to
    delete a cache and time cold starts."""
    times: dict[int, list[float]] = {0: [], 1: []}
    for argv in (subject, baseline):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)
    for _ in range(repeat):
        for index, argv in enumerate((subject, baseline)):
            if index == 0 and before_subject is not None:
                before_subject()
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)
            times[index].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])
