"""{{ cookiecutter.__class_name }}: the `{{ cookiecutter.__plugin_name }}` storage backend for OMI.

It works out of the box on one SQLite file: memories as JSON documents, word-match recall
ranked by how many query words a memory contains, and typed edges whose ends must exist.
Swap the SQL for your database; the behaviour is what OMI's conformance suite checks.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from omi.storage import StorageBackend


class {{ cookiecutter.__class_name }}(StorageBackend):
    """{{ cookiecutter.description|replace('\\', '\\\\')|replace('"', '\\"') }}"""

    # REQUIRED: the OMI plugin interface this class implements.
    interface_version = "1.0"
    # "persistent": data survives close() and a new instance on the same path.
    conformance_capabilities = {"persistent"}

    def __init__(self, path: Union[str, Path] = "memories.db") -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection: Optional[sqlite3.Connection] = sqlite3.connect(
            self.path, check_same_thread=False
        )
        with self._connection:
            self._connection.execute("PRAGMA foreign_keys = ON")
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS memory (id TEXT PRIMARY KEY, content TEXT NOT NULL,"
                " body TEXT NOT NULL, seq INTEGER NOT NULL)"
            )
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS link (source TEXT NOT NULL REFERENCES memory(id),"
                " target TEXT NOT NULL REFERENCES memory(id), kind TEXT NOT NULL,"
                " UNIQUE (source, target, kind))"
            )

    @classmethod
    def conformance_factory(cls, directory: Path,
                            **options: Any) -> "{{ cookiecutter.__class_name }}":
        """How OMI's conformance suite builds a test instance: its data lives in `directory`.
        `options` (`omi plugins check --option`, `plugin_options`) go to the constructor."""
        options.setdefault("path", directory / "memories.db")
        return cls(**options)

    def store_memory(self, memory: Dict[str, Any]) -> str:
        """Store a memory and return its ID"""
        if not isinstance(memory, dict):
            raise TypeError(f"memory must be a dict, got {type(memory).__name__}")
        content = memory.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ValueError("memory['content'] must be a non-empty string")
        memory_id = str(uuid.uuid4())
        try:  # JSON data only: a datetime or NaN is refused, not turned into something else
            body = json.dumps({key: value for key, value in memory.items() if key != "id"},
                              allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"memory must be JSON data: {error}") from None
        with self._lock, self._db() as db:
            db.execute(
                "INSERT INTO memory VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM memory))",
                (memory_id, content, body),
            )
        return memory_id

    def recall(self, query: str, limit: int = 10) -> List[Dict[str, Any]]:
        """Search memories by query: most matching words first, then newest first"""
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ValueError(f"limit must be an int of 0 or more, got {limit!r}")
        words = set(re.findall(r"\w+", query.casefold()))
        with self._lock:
            rows = self._db().execute(
                "SELECT id, content, body FROM memory ORDER BY seq DESC"
            ).fetchall()
        scored = []
        for memory_id, content, body in rows:
            text = set(re.findall(r"\w+", content.casefold()))
            score = len(words & text)
            if score or not words:
                scored.append((score, {**json.loads(body), "id": memory_id,
                                        "score": float(score)}))
        scored.sort(key=lambda item: item[0], reverse=True)  # stable: ties stay newest first
        return [memory for _, memory in scored[:limit]]

    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        """Create relationship between memories"""
        if not isinstance(edge_type, str) or not edge_type.strip():
            raise ValueError("edge_type must be a non-empty string")
        with self._lock, self._db() as db:
            for memory_id in (from_id, to_id):
                if db.execute("SELECT 1 FROM memory WHERE id = ?", (memory_id,)).fetchone() is None:
                    raise KeyError(f"no memory with id {memory_id!r}")
            db.execute("INSERT OR IGNORE INTO link VALUES (?, ?, ?)", (from_id, to_id, edge_type))

    def close(self) -> None:
        """Clean up resources; calling it again does nothing"""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("this backend is closed")
        return self._connection
