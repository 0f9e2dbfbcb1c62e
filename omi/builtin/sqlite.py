"""The default storage backend: one SQLite file, full-text recall, edges with referential checks.

It is OMI's own default rather than an entry point, so a fresh install lists no storage
backends; config selects it as `backend: sqlite` (or by saying nothing).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from omi.jsonvalues import json_problem
from omi.paths import default_database_path
from omi.storage import StorageBackend
from omi.textsafety import visible

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(content, id UNINDEXED);
CREATE TABLE IF NOT EXISTS memories (
    id         TEXT PRIMARY KEY,
    content    TEXT NOT NULL,
    document   TEXT NOT NULL,          -- the stored memory as JSON, without its id
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS edges (
    from_id   TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    to_id     TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    edge_type TEXT NOT NULL,
    PRIMARY KEY (from_id, to_id, edge_type)
);
"""
# WAL's recommended setting: a commit survives a crash of the process; only a power cut can
# lose the last commits (never corrupt the file). "full" also fsyncs every commit.
SYNCHRONOUS_MODES = ("normal", "full")
#: SQLite integers are 64-bit; a larger LIMIT would not even bind.
SQLITE_MAX_INTEGER = 2**63 - 1


#: PRAGMA user_version of a file whose search index holds casefolded text (0: as stored).
CASEFOLDED_INDEX = 1


def _fts_words(query: str) -> list[str]:
    """The distinct casefolded words of free text as quoted FTS5 strings, which cannot be a
    syntax error. The index holds casefolded text too: FTS5 folds one character at a time,
    so without it `STRASSE` would not find `Straße`."""
    # NUL would end the query string inside FTS5 ("unterminated string"): it separates words.
    words = [word.replace('"', '""') for word in query.casefold().replace("\0", " ").split()]
    return [f'"{word}"' for word in dict.fromkeys(words)]


# A memory's id and document as SQLite stores them, decoded by SQLiteBackend._memory: a row that
# another program wrote with invalid UTF-8 would make the sqlite3 module fail the whole query.
_RAW_ID_DOCUMENT = "CAST(m.id AS BLOB), CAST(m.document AS BLOB)"


def _naming_file(error: sqlite3.Error, path: Path) -> sqlite3.Error:
    """`error` (its type, message and SQLite codes) with the database file it was about."""
    hint = ""
    if getattr(error, "sqlite_errorname", "") == "SQLITE_IOERR_WRITE":  # EFBIG, EIO...
        hint = ": writing failed; is a file-size limit (ulimit -f) reached or the disk failing?"
    named = type(error)(f"{error} (the SQLite database at {path}){hint}")
    for attribute in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(error, attribute):
            setattr(named, attribute, getattr(error, attribute))
    return named


def _decoded(raw_id: bytes | None, document: bytes | None) -> tuple[dict[str, Any] | None, str]:
    """(the memory a row's document holds, "") or (None, what is wrong with the row)."""
    if raw_id is None or document is None:
        return None, "has no id or no document (a NULL, or a search entry without a memory)"
    try:
        raw_id.decode("utf-8")
        memory = json.loads(document.decode("utf-8"))
    except UnicodeDecodeError as error:
        return None, f"is not valid UTF-8 (byte 0x{error.object[error.start]:02X})"
    except ValueError as error:
        return None, f"is not valid JSON ({error})"
    if not isinstance(memory, dict):
        return None, f"holds JSON {type(memory).__name__}, not an object"
    return memory, ""


def _score(every: int, rank: float) -> float:
    """Higher is better: 1 and more for a memory holding every word of the query, under 1 for
    one holding some; within each, FTS5's BM25 relevance (-rank) squashed into [0, 1)."""
    relevance = max(0.0, -rank)
    return every + relevance / (1.0 + relevance)


class SQLiteBackend(StorageBackend):
    """Memories in one SQLite file (WAL), ranked full-text recall (FTS5), typed edges.

    Safe to share between threads: one connection, one lock. A memory is a dict with a
    non-empty str `content`; everything else in it (metadata, embedding, ...) is kept as JSON
    and comes back from `recall` with the `id` and a `score` (higher is better: memories
    holding every word of the query first, then by BM25 relevance).
    """

    interface_version = "1.0"
    conformance_capabilities = {"persistent"}

    def __init__(
        self, path: str | os.PathLike[str] | None = None, synchronous: str = "normal"
    ) -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, got {synchronous!r}"
            )
        self.path = Path(path).expanduser() if path is not None else default_database_path()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._unreadable: set[bytes | None] = set()  # ids of the rows recall skips
        try:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._casefold_index(self._db)
        except (OSError, sqlite3.Error) as error:
            self.close()
            raise ValueError(
                f"Cannot open the SQLite database at {self.path}: {error}; give "
                f"`path` a writable file location"
            ) from None

    def _casefold_index(self, db: sqlite3.Connection) -> None:
        """Casefold the search text of a file written before the index was casefolded."""
        if db.execute("PRAGMA user_version").fetchone()[0] >= CASEFOLDED_INDEX:
            return
        db.create_function(
            "omi_casefold",
            1,
            lambda text: text.casefold() if isinstance(text, str) else text,
            deterministic=True,
        )
        self._write(
            [
                ("UPDATE memories_fts SET content = omi_casefold(content)", ()),
                (f"PRAGMA user_version = {CASEFOLDED_INDEX}", ()),
            ]
        )

    @classmethod
    def conformance_factory(cls, directory: Path) -> SQLiteBackend:
        return cls(path=Path(directory) / "memories.db")

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"SQLiteBackend({self.path}) is closed; create a new one")
        return self._db

    def store_memory(self, memory: dict[str, Any]) -> str:
        if not isinstance(memory, dict):
            raise TypeError(f"memory must be a dict, got {type(memory).__name__}")
        content = memory.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ValueError("memory['content'] must be a non-empty string")
        document = {key: value for key, value in memory.items() if key != "id"}
        problem = json_problem(document, "memory")
        if problem:
            raise ValueError(f"memory must be JSON-serialisable: {problem}")
        try:
            encoded = json.dumps(document, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"memory must be JSON-serialisable: {error}") from None
        memory_id = uuid.uuid4().hex
        with self._lock:
            self._write(
                [
                    (
                        "INSERT INTO memories (id, content, document, created_at) "
                        "VALUES (?, ?, ?, ?)",
                        (memory_id, content, encoded, time.time()),
                    ),
                    (
                        "INSERT INTO memories_fts (content, id) VALUES (?, ?)",
                        (content.casefold(), memory_id),
                    ),
                ]
            )
        return memory_id

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run `statements` in one transaction. On an error, roll back what is left of it
        (after some errors, a full disk among them, SQLite has rolled it back already, and a
        second ROLLBACK would fail, hiding the first error) and raise the error, naming the
        file."""
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement, parameters in statements:
                    db.execute(statement, parameters)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise _naming_file(error, self.path) from None

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        limit = min(limit, SQLITE_MAX_INTEGER)  # "at most limit" all the same; no OverflowError
        words = _fts_words(query)
        with self._lock:
            db = self._connection()
            wanted = limit
            while True:  # more rows when unreadable ones took some of the places
                rows = self._rows(db, words, wanted) if limit else []
                memories = [memory for memory in map(self._memory, rows) if memory is not None]
                if len(memories) >= limit or len(rows) < wanted:
                    return memories[:limit]
                wanted = min(SQLITE_MAX_INTEGER, wanted + 2 * (len(rows) - len(memories)))

    def _rows(
        self, db: sqlite3.Connection, words: list[str], limit: int
    ) -> list[tuple[bytes | None, bytes | None, int, float]]:
        if words:
            return self._ranked_rows(db, words, limit)
        # no words at all: the most recent memories, score 0.0
        return db.execute(
            f"SELECT {_RAW_ID_DOCUMENT}, 0, 0.0 FROM memories m ORDER BY created_at DESC LIMIT ?",
            (limit,),
        ).fetchall()

    def _memory(self, row: tuple[bytes | None, bytes | None, int, float]) -> dict[str, Any] | None:
        """The memory of a row; None, reported once, when another program wrote one that is
        not UTF-8 text holding a JSON object."""
        raw_id, document, every, rank = row
        memory, problem = _decoded(raw_id, document)
        if memory is not None and raw_id is not None:
            return {**memory, "id": raw_id.decode("utf-8"), "score": _score(every, rank)}
        if raw_id not in self._unreadable:
            self._unreadable.add(raw_id)
            shown = "NULL" if raw_id is None else repr(raw_id.decode("utf-8", "backslashreplace"))
            logging.getLogger(__name__).warning(
                "memory %s in %s %s: recall skips it (was it written by another program?)",
                visible(shown),
                visible(self.path),
                problem,
            )
        return None

    @staticmethod
    def _ranked_rows(
        db: sqlite3.Connection, words: list[str], limit: int
    ) -> list[tuple[bytes | None, bytes | None, int, float]]:
        """(id, document, holds every word, FTS5 rank) of the best `limit` matches.

        Memories holding every word come first (they match better than those holding a few,
        however BM25 weighs their lengths), each group by BM25: for one word, one query;
        for more, one for all of them (AND) and one for any (OR), 20% more time. Each ranks
        inside FTS5 first and reads only the `limit` winning documents, 5x faster at 100k
        memories than ranking the join (README, Performance). A search entry without its
        memory (another program's doing) comes back as a row without a document, so that
        recall counts it as unreadable, not as the end of the matches.
        """
        query = (
            f"SELECT {_RAW_ID_DOCUMENT}, hit.rank FROM (SELECT id, rank FROM memories_fts "
            "WHERE memories_fts MATCH ? ORDER BY rank LIMIT ?) AS hit "
            "LEFT JOIN memories m ON m.id = hit.id ORDER BY hit.rank"
        )
        rows = [
            (memory_id, document, 1, rank)
            for memory_id, document, rank in db.execute(query, (" AND ".join(words), limit))
        ]
        if len(rows) < limit and len(words) > 1:
            seen = {row[0] for row in rows}
            some = db.execute(query, (" OR ".join(words), limit + len(rows)))
            rows += [
                (memory_id, document, 0, rank)
                for memory_id, document, rank in some
                if memory_id not in seen
            ][: limit - len(rows)]
        return rows

    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        if not isinstance(edge_type, str) or not edge_type.strip():
            raise ValueError("edge_type must be a non-empty string")
        with self._lock:
            db = self._connection()
            known = {
                row[0]
                for row in db.execute(
                    "SELECT id FROM memories WHERE id IN (?, ?)", (from_id, to_id)
                )
            }
            missing = [memory_id for memory_id in (from_id, to_id) if memory_id not in known]
            if missing:
                raise ValueError(
                    f"Unknown memory id '{missing[0]}'; store the memory before linking it"
                )
            self._write(
                [
                    (
                        "INSERT OR IGNORE INTO edges (from_id, to_id, edge_type) VALUES (?, ?, ?)",
                        (from_id, to_id, edge_type),
                    )
                ]
            )

    def edges(self, memory_id: str) -> list[dict[str, str]]:
        """The edges leaving `memory_id`, oldest first."""
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    "SELECT from_id, to_id, edge_type FROM edges WHERE from_id = ? ORDER BY rowid",
                    (memory_id,),
                )
                .fetchall()
            )
        return [{"from_id": f, "to_id": t, "edge_type": e} for f, t, e in rows]

    def count(self) -> int:
        """How many memories are stored."""
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM memories").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
