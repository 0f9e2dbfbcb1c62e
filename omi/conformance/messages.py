"""What the check process (the parent, `runner`) and its children (`worker`) tell each other:
typed records, one JSON object a line, and the settings of a run as one frozen record.

The parent sends `Resolve` (phase 1, optional), then `RunChecks`, or `Stop`; the child answers
`Resolved`, then `Started` and `Finished` for each check and `Done` at the end.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from omi.conformance.authoring import CALL_TIMEOUT
from omi.conformance.outcome import DEFAULT_MEMORY_LIMIT, DEFAULT_TIMEOUT, Outcome


@dataclass(frozen=True)
class RunSettings:
    """How one plugin's checks run: the seed of the generated inputs, the seconds each check
    and each timed call may take, and the address space of a check process (None: no
    limit)."""

    seed: int = 0
    timeout: float = DEFAULT_TIMEOUT
    call_timeout: float = CALL_TIMEOUT
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT


@dataclass(frozen=True)
class Resolve:
    """Phase 1: import and validate the plugin `name` and describe it in plain data."""

    name: str
    group: str | None
    options: dict[str, Any]
    memory_limit: int | None


@dataclass(frozen=True)
class RunChecks:
    """Phase 2: run `checks` (names) of the plugin at `plugin` (module:Class), writing
    temporary files under `scratch`."""

    plugin: str
    options: dict[str, Any]
    checks: tuple[str, ...]
    capabilities: tuple[str, ...]
    settings: RunSettings = field(default_factory=RunSettings)
    scratch: str | None = None


@dataclass(frozen=True)
class Stop:
    """Nothing more to do: the child exits (a spare started in advance and not needed)."""


@dataclass(frozen=True)
class Resolved:
    """Phase 1's answer: what `target.describe` returned."""

    resolved: dict[str, Any]


@dataclass(frozen=True)
class Started:
    """The child is about to run the check `check`."""

    check: str


@dataclass(frozen=True)
class Finished:
    """A check's outcome."""

    outcome: Outcome


@dataclass(frozen=True)
class Done:
    """Every check of the RunChecks ran."""


Message = Resolve | RunChecks | Stop | Resolved | Started | Finished | Done
_KINDS = {
    kind.__name__: kind for kind in (Resolve, RunChecks, Stop, Resolved, Started, Finished, Done)
}


def encode(message: Message) -> str:
    """`message` as one line of JSON (no newline in it)."""
    return json.dumps({"kind": type(message).__name__, **asdict(message)})


def decode(line: str | bytes) -> Message:
    """The message a line of `encode` holds; ValueError for anything else."""
    data = json.loads(line)
    kind = _KINDS.get(str(data.pop("kind", ""))) if isinstance(data, dict) else None
    if kind is None:
        raise ValueError(f"not a message of the check processes: {str(line)[:80]!r}")
    if kind is RunChecks:
        data.update(
            checks=tuple(data["checks"]),
            capabilities=tuple(data["capabilities"]),
            settings=RunSettings(**data["settings"]),
        )
    elif kind is Finished:
        data["outcome"] = Outcome(**data["outcome"])
    message: Message = kind(**data)
    return message
