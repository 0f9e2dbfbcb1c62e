"""Shrinking a failing generated input to a small one that still fails, so that a failure
shows the few operations that matter instead of all the ones generated.

A small delta-debugging loop of our own rather than Hypothesis: importing Hypothesis alone
takes 120-280 ms on the two-core machine the benchmarks run on (a third of the whole check of
the SQLite backend), it would become a runtime dependency of every `omi plugins check`, and
the checks generate one kind of input (a sequence of operations), which this shrinks well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")


def shrink(items: Sequence[Item], fails: Callable[[list[Item]], bool], budget: int) -> list[Item]:
    """The shortest sub-sequence of `items` found for which `fails` holds, trying at most
    `budget` candidates: chunks of half the length are removed first, then smaller ones,
    down to single items (ddmin's complement step). `fails(items)` is assumed."""
    current = list(items)
    chunk = max(1, len(current) // 2)
    tries = 0
    while tries < budget:
        start, removed = 0, False
        while start < len(current) and tries < budget:
            candidate = current[:start] + current[start + chunk :]
            tries += 1
            if candidate and fails(candidate):
                current, removed = candidate, True
            else:
                start += chunk
        if chunk == 1 and not removed:
            break
        if not removed:
            chunk = max(1, chunk // 2)
    return current
