"""The host: one memory over a storage backend, an optional embedder and event handlers.

`Memory` is what an agent talks to. It stores and recalls memories through the storage
backend, embeds them when an embedding provider is configured, and emits the lifecycle events
to every handler through omi.dispatch. The event payloads are documented in the README
("Event payloads"); they are plain JSON-able dicts.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from omi.dispatch import Dispatcher, Handlers
from omi.embeddings import EmbeddingProvider
from omi.events import EVENT_TYPES
from omi.jsonvalues import json_problem
from omi.storage import StorageBackend

if TYPE_CHECKING:  # config (and PyYAML behind it) is imported only to build from a config
    from omi.config import Config, PathLike

__all__ = ["Memory", "Session"]

#: With an embedder, recall asks the backend for this many times `limit` candidates and
#: orders them by vector similarity to the query.
RERANK_POOL = 4
#: The most memories one recall returns: a bound on the work and the memory a caller's typo
#: (or a hostile argument) can ask for, and well inside every backend's integer range.
MAX_RECALL_LIMIT = 10_000

_current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "omi_current_session", default=None
)


_second_prefix = (0, "")  # (the second, its ISO text): formatting once a second is 4x cheaper


def _now() -> str:
    """The current UTC time as ISO 8601 with microseconds, e.g. 2026-05-01T12:00:00.123456+00:00."""
    global _second_prefix
    now = time.time()
    second = int(now)
    cached, prefix = _second_prefix
    if second != cached:
        prefix = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _second_prefix = (second, prefix)
    return f"{prefix}.{int((now - second) * 1_000_000):06d}+00:00"


@dataclass
class Session:
    """One agent session: stores and recalls inside `with memory.session()` are counted here
    and carry its id."""

    id: str
    metadata: dict[str, Any]
    started_at: float = field(default_factory=time.monotonic)
    memories_stored: int = 0
    recalls: int = 0
    host: Memory | None = field(default=None, repr=False)


class Memory:
    """OMI's memory: store, recall, link, sessions, and the lifecycle events.

    Build it from config with `Memory.from_config()` (see omi.config for the lookup order) or
    from instances: `Memory(storage=SQLiteBackend(path), embedder=..., handlers={...})`.
    With no storage given it uses the built-in SQLite backend in the user data directory.
    Dispatch options (`background`, `queue_size`, ...) go to omi.dispatch.Dispatcher.
    Safe to share between threads when the storage backend is.
    """

    def __init__(
        self,
        storage: StorageBackend | None = None,
        embedder: EmbeddingProvider | None = None,
        handlers: Handlers = (),
        **dispatch_options: Any,
    ) -> None:
        if storage is not None and not isinstance(storage, StorageBackend):
            raise TypeError(
                f"storage must be an omi.storage.StorageBackend, got {type(storage).__name__}"
            )
        if embedder is not None and not isinstance(embedder, EmbeddingProvider):
            raise TypeError(
                f"embedder must be an omi.embeddings.EmbeddingProvider, got "
                f"{type(embedder).__name__}"
            )
        self.dispatcher = Dispatcher(handlers, **dispatch_options)
        if storage is None:
            from omi.builtin.sqlite import SQLiteBackend

            try:
                storage = SQLiteBackend()
            except BaseException:
                self.dispatcher.close()  # no background thread left behind
                raise
        self.storage = storage
        self.embedder = embedder
        self._closed = False

    @classmethod
    def from_config(cls, config: PathLike | Config | None = None) -> Memory:
        """A Memory built from a config file path, a loaded omi.config.Config, or (None) the
        file found by the lookup order. Raises omi.config.ConfigError on any problem."""
        from omi.config import Config, build_plugins, load_config

        if not isinstance(config, Config):
            config = load_config(config)
        plugins = build_plugins(config)
        try:
            return cls(plugins.storage, plugins.embedder, plugins.handlers, **config.dispatch)
        except (TypeError, ValueError) as error:
            from omi.config import ConfigError

            for instance in (plugins.storage, plugins.embedder, *plugins.handlers.values()):
                _close(instance)
            where = f"{config.source}: " if config.source else ""
            raise ConfigError(f"{where}events: {error}") from None

    # --- the memory API -----------------------------------------------------------------

    def store(self, content: str, metadata: dict[str, Any] | None = None) -> str:
        """Store a memory (embedded first when there is an embedder) and return its id."""
        self._check_open()
        if not isinstance(content, str) or not content.strip():
            raise ValueError("content must be a non-empty string")
        if metadata is None:
            metadata = {}
        elif not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        problem = json_problem(content, "content") or json_problem(metadata, "metadata")
        if problem:
            raise ValueError(f"memory must be JSON-serialisable: {problem}")
        memory: dict[str, Any] = {"content": content, "metadata": metadata}
        session = self._session()
        if session is not None:
            memory["session_id"] = session.id
        if self.embedder is not None:
            memory["embedding"] = self.embedder.embed(content)
            memory["embedding_model"] = self.embedder.get_model_name()
        memory_id = self.storage.store_memory(memory)
        if session is not None:
            session.memories_stored += 1
        if self.dispatcher.has_handlers:
            self.dispatcher.dispatch(
                "memory.stored",
                {
                    "id": memory_id,
                    "content": content,
                    "metadata": metadata,
                    "session_id": memory.get("session_id"),
                    "embedding_model": memory.get("embedding_model"),
                    "timestamp": _now(),
                },
            )
        return memory_id

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """The memories that best match `query`, best first (at most `limit`).

        The backend finds and ranks them (full text for SQLite). With an embedder, the backend
        is asked for RERANK_POOL x limit candidates, which are ordered by the similarity of
        their stored vectors to the query's (added to each result as `similarity`).
        """
        self._check_open()
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        problem = json_problem(query, "query")
        if problem:
            raise ValueError(problem)
        if (
            not isinstance(limit, int)
            or isinstance(limit, bool)
            or not 0 <= limit <= MAX_RECALL_LIMIT
        ):
            raise ValueError(
                f"limit must be a non-negative integer up to {MAX_RECALL_LIMIT}, got {limit!r}"
            )
        if self.embedder is None or limit == 0 or not query.strip():
            results = self.storage.recall(query, limit)
        else:
            results = self._rerank(query, self.storage.recall(query, limit * RERANK_POOL), limit)
        session = self._session()
        if session is not None:
            session.recalls += 1
        if self.dispatcher.has_handlers:
            self.dispatcher.dispatch(
                "memory.recalled",
                {
                    "query": query,
                    "limit": limit,
                    "results": [
                        {key: item.get(key) for key in ("id", "content", "metadata", "score")}
                        for item in results
                    ],
                    "session_id": session.id if session else None,
                    "timestamp": _now(),
                },
            )
        return results

    def _rerank(
        self, query: str, candidates: list[dict[str, Any]], limit: int
    ) -> list[dict[str, Any]]:
        assert self.embedder is not None
        if not candidates:
            return []
        vector = self.embedder.embed(query)
        scored = []
        for item in candidates:
            stored = item.get("embedding")
            similarity = (
                self.embedder.similarity(vector, stored)
                if isinstance(stored, list) and len(stored) == len(vector)
                else None
            )
            scored.append({**item, "similarity": similarity})
        # Memories without a comparable vector (stored before the embedder was configured,
        # or by another model) keep their backend order after the ones that have one.
        scored.sort(
            key=lambda item: -item["similarity"] if item["similarity"] is not None else float("inf")
        )
        return scored[:limit]

    def link(self, from_id: str, to_id: str, edge_type: str) -> None:
        """Record a typed edge between two stored memories (the backend checks both exist)."""
        self._check_open()
        self.storage.add_edge(from_id, to_id, edge_type)

    @contextmanager
    def session(
        self, session_id: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Iterator[Session]:
        """`with memory.session() as s:` emits session.started, then session.ended on the way
        out (also when the block raises; the error is in the payload and re-raised)."""
        self._check_open()
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        problem = json_problem(metadata, "metadata")
        if problem:  # it goes into the session events, which are JSON for every handler
            raise ValueError(f"session metadata must be JSON-serialisable: {problem}")
        session = Session(session_id or uuid.uuid4().hex, dict(metadata or {}), host=self)
        self.emit("session.started", {"session_id": session.id, "metadata": session.metadata})
        token = _current_session.set(session)
        error: str | None = None
        try:
            yield session
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _current_session.reset(token)
            if not self._closed:
                self.emit(
                    "session.ended",
                    {
                        "session_id": session.id,
                        "metadata": session.metadata,
                        "duration_seconds": round(time.monotonic() - session.started_at, 6),
                        "memories_stored": session.memories_stored,
                        "recalls": session.recalls,
                        "error": error,
                    },
                )

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Send an event to every handler. For the rest of OMI: checkpoint.created,
        belief.updated. `timestamp` (ISO 8601, UTC) is added unless `data` has one."""
        self._check_open()
        if event_type not in EVENT_TYPES:
            raise ValueError(
                f"Unknown event type {event_type!r}; OMI's event types are: "
                f"{', '.join(EVENT_TYPES)}"
            )
        if not isinstance(data, dict):
            raise TypeError(f"event data must be a dict, got {type(data).__name__}")
        if self.dispatcher.has_handlers:
            self.dispatcher.dispatch(
                event_type, {**data, "timestamp": data.get("timestamp") or _now()}
            )

    def close(self) -> None:
        """Deliver queued events, then close handlers, the embedder and storage. Idempotent.

        Events still queued (or being delivered by other threads) when events.close_timeout
        runs out are logged and counted in `self.dispatcher.undelivered`, and no handler call
        starts after that. A handler is never closed during its handle(): one still in its call
        then is closed when the call returns (see omi.dispatch).
        """
        if self._closed:
            return
        self._closed = True
        try:
            self.dispatcher.close(close_handler=_close)
        finally:
            _close(self.embedder)
            self.storage.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Memory is closed; create a new one")

    def _session(self) -> Session | None:
        session = _current_session.get()
        return session if session is not None and session.host is self else None


def _close(instance: Any) -> None:
    """Close a plugin that has a close() (handlers and embedders may not); a failure is
    logged with the plugin's class, so one bad close() cannot keep the others open."""
    close = getattr(instance, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            import logging

            logging.getLogger("omi.host").exception("%s.close() failed", type(instance).__name__)
