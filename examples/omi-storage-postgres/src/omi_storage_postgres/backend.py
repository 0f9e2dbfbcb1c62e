"""PostgresBackend: the `postgres` storage backend for OMI, on PostgreSQL through psycopg 3.

Memories live in one PostgreSQL schema (``omi`` unless told otherwise) whose tables are created
on first use (see `schema.py`). `recall` ranks full-text matches with ``ts_rank``; embeddings are
kept with their memory and searched by cosine similarity (`similar`) with pgvector when the
server has it, or with plain SQL over ``double precision[]`` when it does not. Every write is one
transaction, so a failed write leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import os
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import psycopg
from omi.storage import StorageBackend
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from omi_storage_postgres import conformance
from omi_storage_postgres.schema import (
    EDGE_FROM_CONSTRAINT,
    VECTOR_SEARCH_MODES,
    Layout,
    check_schema_name,
    ensure_layout,
)

DSN_VARIABLE = "OMI_POSTGRES_DSN"

#: An embedding as a query parameter: pgvector's text form, a list for double precision[],
#: or None for a memory without one.
EmbeddingParameter = Union[str, List[float], None]
#: (id, content, document JSON, embedding parameter): one memory, ready to insert.
Row = Tuple[str, str, str, EmbeddingParameter]


def _redacted(dsn: str) -> str:
    """The DSN without its password, for error messages."""
    params = {key: value for key, value in conninfo_to_dict(dsn).items() if key != "password"}
    return make_conninfo("", **params) or "(libpq defaults)"


def _resolve_dsn(dsn: Optional[str]) -> str:
    if dsn is None:
        dsn = os.environ.get(DSN_VARIABLE)
    if not dsn:
        raise ValueError(f"PostgresBackend needs a server: pass dsn='postgresql://user@host/db' "
                         f"or set {DSN_VARIABLE}")
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise ValueError(f"dsn is not a PostgreSQL connection string: {error}".strip()) from None
    return dsn


def _positive_int(name: str, value: Any, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise ValueError(f"{name} must be an integer from 1 to {maximum}, got {value!r}")
    return value


def _asynchronous_commits(conn: psycopg.Connection) -> None:
    conn.execute("SET synchronous_commit = off")


def _check_limit(limit: Any) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
    return limit


def _vector(value: Any, what: str, dimension: Optional[int]) -> List[float]:
    """A validated embedding: a non-empty sequence of finite numbers of the right length."""
    if hasattr(value, "tolist"):  # numpy arrays
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{what} must be a non-empty list of numbers, got "
                         f"{type(value).__name__}")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
               for x in value):
        raise ValueError(f"{what} must contain only finite numbers")
    if dimension is not None and len(value) != dimension:
        raise ValueError(f"{what} has {len(value)} dimensions; this schema keeps {dimension}")
    return [float(x) for x in value]


def _pgvector_text(vector: List[float]) -> str:
    """`vector` as pgvector reads it: [x,y,...] (repr keeps every digit of each float)."""
    return "[" + ",".join(repr(x) for x in vector) + "]"


class PostgresBackend(StorageBackend):
    """OMI memories in PostgreSQL: ranked full-text recall, vector search, typed edges.

    Safe to share between threads: each call borrows a connection from a pool. A memory is a
    dict with a non-empty str ``content``; an optional ``embedding`` (a list of numbers) is kept
    in its own column for `similar`; everything else is kept as JSON and comes back from
    `recall` with the ``id`` and a ``score`` (higher is better).
    """

    # REQUIRED: the OMI plugin interface this class implements.
    interface_version = "1.0"
    # "persistent": data survives close() and a new instance on the same schema.
    conformance_capabilities = {"persistent"}

    def __init__(
        self,
        dsn: Optional[str] = None,
        schema: str = "omi",
        *,
        text_search_config: str = "english",
        vector_search: str = "auto",
        dimension: Optional[int] = None,
        min_connections: int = 1,
        max_connections: int = 4,
        connect_timeout: float = 10.0,
        synchronous_commit: bool = True,
    ) -> None:
        """Connect to the server at `dsn` (default: $OMI_POSTGRES_DSN) and use `schema`.

        `vector_search` is "auto" (pgvector when available, else plain SQL), "pgvector"
        (required) or "plain"; `dimension` fixes the embedding length, which with pgvector
        also builds an HNSW index. `synchronous_commit=False` lets a commit return before
        its WAL reaches the disk: faster single writes (1.5-2x in bench_postgres), and a
        server crash may lose the last moments of writes (never corrupt them). Tables are
        created on first use, not here.
        """
        self.dsn = _resolve_dsn(dsn)
        self.schema = check_schema_name(schema)
        if not isinstance(text_search_config, str) or not text_search_config.strip():
            raise ValueError("text_search_config must name a text search configuration, "
                             "e.g. 'english' or 'simple'")
        if vector_search not in VECTOR_SEARCH_MODES:
            raise ValueError(f"vector_search must be one of {', '.join(VECTOR_SEARCH_MODES)}, "
                             f"got {vector_search!r}")
        self.text_search_config = text_search_config
        self.vector_search = vector_search
        self.dimension = None if dimension is None else _positive_int("dimension", dimension,
                                                                      16000)
        _positive_int("min_connections", min_connections, 1000)
        _positive_int("max_connections", max_connections, 1000)
        if (not isinstance(connect_timeout, (int, float)) or isinstance(connect_timeout, bool)
                or not 0 < connect_timeout <= 3600):
            raise ValueError(f"connect_timeout must be a number of seconds from 0 to 3600, got "
                             f"{connect_timeout!r}")
        if not isinstance(synchronous_commit, bool):
            raise ValueError(f"synchronous_commit must be true or false, got "
                             f"{synchronous_commit!r}")
        self.synchronous_commit = synchronous_commit
        if max_connections < min_connections:
            raise ValueError(f"max_connections ({max_connections}) must be at least "
                             f"min_connections ({min_connections})")
        self._layout: Optional[Layout] = None
        self._layout_lock = threading.Lock()
        # `check` replaces a pooled connection the server has dropped (a restart, a failover,
        # an idle timeout) before it is handed out, for one round trip per call.
        self._pool: Optional[ConnectionPool] = ConnectionPool(
            self.dsn, min_size=min_connections, max_size=max_connections, open=False,
            timeout=connect_timeout, check=ConnectionPool.check_connection,
            configure=None if synchronous_commit else _asynchronous_commits,
            # autocommit: a lone statement is its own transaction, without BEGIN and COMMIT
            # round trips; writes of several statements open one explicitly.
            kwargs={"autocommit": True, "connect_timeout": max(1, round(connect_timeout)),
                    # how the connections show in pg_stat_activity
                    "application_name": f"omi-storage-postgres:{self.schema}"},
            name=f"omi-postgres-{self.schema}",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout:
            self._pool.close()
            self._pool = None
            raise ConnectionError(self._why_unreachable(connect_timeout)) from None

    def _why_unreachable(self, timeout: float) -> str:
        where = _redacted(self.dsn)
        try:
            psycopg.connect(self.dsn, connect_timeout=max(1, round(timeout))).close()
            reason = f"no connection within {timeout:g} s"
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
        return (f"Cannot connect to PostgreSQL at '{where}': {reason}; check the DSN "
                f"(dsn= or {DSN_VARIABLE}) and that the server is running")

    @classmethod
    def conformance_factory(cls, directory: Path, **options: Any) -> PostgresBackend:
        """A backend in a schema of its own for `directory` (the same directory reopens it).

        OMI's conformance suite calls this; its schemas are dropped when the process exits,
        or else by a later check once their directory is gone (see `conformance.py`).
        """
        directory = Path(directory).resolve()
        backend = cls(schema=conformance.schema_for(directory), **options)
        with backend._connections().connection() as conn:
            conformance.claim(conn, backend.dsn, backend.schema, directory)
        return backend

    # --- connections and layout -----------------------------------------------------------

    def _connections(self) -> ConnectionPool:
        if self._pool is None:
            raise RuntimeError(f"PostgresBackend(schema {self.schema!r}) is closed; create a "
                               f"new one")
        return self._pool

    @property
    def layout(self) -> Layout:
        """How this schema's tables are built; creates them on first use."""
        pool = self._connections()
        with self._layout_lock:
            if self._layout is None:
                with pool.connection() as conn, conn.transaction():
                    self._layout = ensure_layout(conn, self.schema, self.text_search_config,
                                                 self.vector_search, self.dimension)
            return self._layout

    @property
    def vector_mode(self) -> str:
        """"pgvector" or "plain": how embeddings are stored and searched in this schema."""
        return self.layout.vector

    # --- writing --------------------------------------------------------------------------

    def _row(self, memory: Any, what: str, layout: Layout) -> Row:
        """(id, content, document JSON, embedding parameter) for one memory, validated."""
        if not isinstance(memory, dict):
            raise TypeError(f"{what} must be a dict, got {type(memory).__name__}")
        content = memory.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ValueError(f"{what}['content'] must be a non-empty string")
        document = {key: value for key, value in memory.items() if key != "id"}
        embedding = None
        if document.get("embedding") is not None:
            embedding = _vector(document.pop("embedding"), f"{what}['embedding']",
                                layout.dimension)
        try:
            encoded = json.dumps(document, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{what} must be JSON-serialisable: {error}") from None
        if "\\u0000" in encoded:
            raise ValueError(f"{what} contains a NUL character (\\x00), which PostgreSQL cannot "
                             f"store; remove it")
        parameter: EmbeddingParameter = embedding
        if embedding is not None and layout.vector == "pgvector":
            parameter = _pgvector_text(embedding)
        # The content column is what the full-text index reads (the memory itself comes back
        # from the document): case-folded here, because a database's locale may fold only
        # ASCII (C collation), and recall("CAFÉ") must find "Café".
        return uuid.uuid4().hex, content.casefold(), encoded, parameter

    def _insert(self, layout: Layout) -> sql.Composed:
        return sql.SQL("INSERT INTO {} (id, content, document, embedding) "
                       "VALUES (%s, %s, %s::json, %s::{})").format(
            layout.table("memories"), layout.vector_type())

    def store_memory(self, memory: Dict[str, Any]) -> str:
        """Store a memory and return its ID"""
        layout = self.layout
        return self._store(layout, [self._row(memory, "memory", layout)], "memory")[0]

    def store_memories(self, memories: Iterable[Dict[str, Any]]) -> List[str]:
        """Store many memories in one transaction and return their ids, in order.

        Every memory is validated first; if any is invalid or the server refuses one, none of
        them is stored.
        """
        layout = self.layout
        rows = [self._row(memory, f"memories[{index}]", layout)
                for index, memory in enumerate(memories)]
        return self._store(layout, rows, "memories")

    def _store(self, layout: Layout, rows: List[Row], what: str) -> List[str]:
        if rows:
            try:
                with self._connections().connection() as conn:
                    if len(rows) == 1:  # one statement: atomic by itself
                        conn.execute(self._insert(layout), rows[0])
                    else:
                        with conn.transaction(), conn.cursor() as cursor:
                            cursor.executemany(self._insert(layout), rows)
            except psycopg.Error as error:
                message = " ".join(str(error).split())
                raise RuntimeError(f"PostgreSQL refused to store the {what}: {message}; "
                                   f"nothing was stored") from error
        return [row[0] for row in rows]

    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        """Create relationship between memories (both must be stored; repeats are ignored)"""
        for name, value in (("from_id", from_id), ("to_id", to_id)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str id from store_memory(), got "
                                f"{type(value).__name__}")
        if not isinstance(edge_type, str) or not edge_type.strip():
            raise ValueError("edge_type must be a non-empty string")
        layout = self.layout
        try:
            with self._connections().connection() as conn:
                conn.execute(sql.SQL("INSERT INTO {} (from_id, to_id, edge_type) VALUES "
                                     "(%s, %s, %s) ON CONFLICT DO NOTHING")
                             .format(layout.table("edges")), (from_id, to_id, edge_type))
        except psycopg.errors.ForeignKeyViolation as error:
            unknown = from_id if error.diag.constraint_name == EDGE_FROM_CONSTRAINT else to_id
            raise ValueError(f"Unknown memory id '{unknown}'; store the memory before linking "
                             f"it") from None

    # --- reading --------------------------------------------------------------------------

    def _select(self, layout: Layout) -> sql.Composed:
        """The columns every read returns: id, document, embedding as float8[]."""
        embedding = (sql.SQL("m.embedding::real[]::double precision[]")
                     if layout.vector == "pgvector" else sql.SQL("m.embedding"))
        return sql.SQL("SELECT m.id, m.document, {} ").format(embedding)

    def _fetch(self, query: sql.Composed, params: Dict[str, Any]) -> List[Dict[str, Any]]:
        with self._connections().connection() as conn:
            # Unprepared: a prepared statement soon switches to a generic plan, which cannot
            # see the query's words and ranks 2x slower at 100,000 memories.
            rows = conn.execute(query, params, prepare=False).fetchall()
        results = []
        for memory_id, document, embedding, score in rows:
            if embedding is not None:
                document["embedding"] = embedding
            results.append({**document, "id": memory_id,
                            "score": 0.0 if score is None else float(score)})
        return results

    def recall(self, query: str, limit: int = 10) -> List[Dict[str, Any]]:
        """Search memories by query: any of its words, best ``ts_rank`` first, then newest.

        An empty query returns the newest memories (score 0.0).
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        _check_limit(limit)
        # NUL cannot be in a PostgreSQL text value; case-folded as the indexed text is
        query = query.replace("\0", " ").casefold()
        layout = self.layout
        if limit == 0:
            return []
        memories = layout.table("memories")
        if not query.strip():
            statement = sql.SQL("{select}, 0.0 FROM {memories} m ORDER BY m.seq DESC "
                                "LIMIT %(limit)s")
        else:  # plainto_tsquery ANDs the words; recall wants any of them, ranked
            statement = sql.SQL(
                "{select}, ts_rank(m.tsv, q.q) AS score FROM {memories} m, (SELECT "
                "replace(plainto_tsquery(%(config)s::regconfig, %(query)s)::text, ' & ', ' | ')"
                "::tsquery AS q) q WHERE m.tsv @@ q.q ORDER BY score DESC, m.seq DESC "
                "LIMIT %(limit)s")
        return self._fetch(statement.format(select=self._select(layout), memories=memories),
                           {"config": layout.text_search_config, "query": query,
                            "limit": limit})

    def similar(self, embedding: Sequence[float], limit: int = 10) -> List[Dict[str, Any]]:
        """The memories whose embeddings are closest to `embedding`, by cosine similarity.

        `score` is the cosine similarity (-1.0 to 1.0). Memories without an embedding, with
        one of another length, or with an all-zero one (no direction, no cosine) are not
        candidates.
        """
        _check_limit(limit)
        layout = self.layout
        vector = _vector(embedding, "embedding", layout.dimension)
        if not any(vector):
            raise ValueError("embedding must not be all zeros (it has no direction)")
        if limit == 0:
            return []
        params: Dict[str, Any] = {"dims": len(vector), "limit": limit}
        if layout.vector == "pgvector":
            params["v"] = _pgvector_text(vector)
            distance = sql.SQL("(m.embedding OPERATOR({op}) %(v)s::{type})").format(
                op=layout.extension_operator("<=>"), type=layout.vector_type())
            statement = sql.SQL(
                "{select}, 1 - {distance} FROM {memories} m WHERE m.embedding IS NOT NULL "
                "AND {dims}(m.embedding) = %(dims)s AND {norm}(m.embedding) > 0 "
                "ORDER BY {distance} LIMIT %(limit)s"
            ).format(select=self._select(layout), distance=distance,
                     memories=layout.table("memories"),
                     dims=layout.extension_operator("vector_dims"),
                     norm=layout.extension_operator("vector_norm"))
        else:
            params["v"] = vector
            statement = sql.SQL(
                "{select}, s.score FROM {memories} m, LATERAL (SELECT sum(a * b) / "
                "nullif(sqrt(sum(a * a)) * sqrt(sum(b * b)), 0) AS score FROM "
                "unnest(m.embedding, %(v)s::double precision[]) AS t(a, b)) s "
                "WHERE m.embedding IS NOT NULL AND cardinality(m.embedding) = %(dims)s "
                "AND s.score IS NOT NULL ORDER BY s.score DESC, m.seq DESC LIMIT %(limit)s"
            ).format(select=self._select(layout), memories=layout.table("memories"))
        return self._fetch(statement, params)

    def edges(self, memory_id: str) -> List[Dict[str, str]]:
        """The edges leaving `memory_id`, oldest first."""
        with self._connections().connection() as conn:
            rows = conn.execute(
                sql.SQL("SELECT from_id, to_id, edge_type FROM {} WHERE from_id = %s "
                        "ORDER BY seq").format(self.layout.table("edges")), (memory_id,)
            ).fetchall()
        return [{"from_id": f, "to_id": t, "edge_type": e} for f, t, e in rows]

    def count(self) -> int:
        """How many memories are stored."""
        with self._connections().connection() as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}")
                               .format(self.layout.table("memories"))).fetchone()
        assert row is not None  # count(*) returns one row
        return int(row[0])

    # --- lifecycle ------------------------------------------------------------------------

    def analyze(self) -> None:
        """VACUUM ANALYZE the tables, so recall is planned with fresh statistics.

        Worth calling after a bulk load: until autovacuum catches up (within minutes), the
        planner may scan every row instead of using the full-text index.
        """
        layout = self.layout
        with self._connections().connection() as conn:  # autocommit, as VACUUM needs
            for table in ("memories", "edges"):
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(layout.table(table)))

    def drop_schema(self) -> None:
        """Delete this backend's schema with every memory and edge in it, then close."""
        with self._connections().connection() as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                         .format(sql.Identifier(self.schema)))
        self.close()

    def close(self) -> None:
        """Clean up resources; calling it again does nothing"""
        with self._layout_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
