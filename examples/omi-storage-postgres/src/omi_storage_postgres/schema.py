"""The tables in one PostgreSQL schema, created on first use, and the layout they were built with.

A schema holds:

- ``omi_layout(key, value)``: the layout version, the text search configuration and the vector
  column type the tables were built with, so a later instance uses (or refuses) the same ones;
- ``memories``: one row per memory, the memory as ``json`` (kept as written: ``jsonb`` would
  turn a float such as 1e+20 into an integer), a generated ``tsvector`` for ranked full-text
  recall (GIN index), and its embedding, as a pgvector ``vector`` when the extension is
  available and as ``double precision[]`` otherwise;
- ``edges``: typed edges whose ends are foreign keys to ``memories`` (deleted with them).

Creation runs in one transaction under an advisory lock, so two processes starting at once
cannot half-create the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Optional

import psycopg
from psycopg import sql

LAYOUT_VERSION = "2"  # 1 kept documents as jsonb; opening one upgrades it
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
VECTOR_SEARCH_MODES = ("auto", "pgvector", "plain")
# Constraint names, so a foreign-key violation says which end of the edge is unknown.
EDGE_FROM_CONSTRAINT = "edges_from_id_fkey"
EDGE_TO_CONSTRAINT = "edges_to_id_fkey"


@dataclass(frozen=True)
class Layout:
    """How the tables of one schema were built."""

    schema: str
    text_search_config: str
    vector: str  # "pgvector" or "plain"
    dimension: Optional[int]
    extension_schema: Optional[str]  # where pgvector's type and operators live

    def table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def vector_type(self) -> sql.Composable:
        """The SQL type of the embedding column (and of vector parameters)."""
        if self.vector == "plain":
            return sql.SQL("double precision[]")
        base = sql.SQL("{}.vector").format(sql.Identifier(self.extension_schema or "public"))
        return base if self.dimension is None else sql.SQL("{}({})").format(
            base, sql.Literal(self.dimension))

    def extension_operator(self, name: str) -> sql.Composable:
        """A pgvector operator or function, qualified with the extension's schema."""
        return sql.SQL("{}.{}").format(sql.Identifier(self.extension_schema or "public"),
                                       sql.SQL(name))


def check_schema_name(schema: str) -> str:
    if not isinstance(schema, str) or not SCHEMA_NAME.match(schema):
        raise ValueError(
            f"schema must be a lower-case PostgreSQL identifier (letters, digits, _; at most 63 "
            f"characters, not starting with a digit), got {schema!r}"
        )
    return schema


def _pgvector_schema(conn: psycopg.Connection) -> Optional[str]:
    row = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'vector'"
    ).fetchone()
    return row[0] if row else None


def _enable_pgvector(conn: psycopg.Connection) -> Optional[str]:
    """The schema of pgvector, creating the extension when the server has it and we may."""
    found = _pgvector_schema(conn)
    if found is not None:
        return found
    try:
        with conn.transaction():  # a savepoint: a refusal must not abort the outer transaction
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
    except psycopg.Error:  # not installed on the server, or not allowed: plain vectors
        return None
    return _pgvector_schema(conn)


def _create_tables(conn: psycopg.Connection, layout: Layout) -> None:
    memories, edges = layout.table("memories"), layout.table("edges")
    conn.execute(sql.SQL("""
        CREATE TABLE {memories} (
            id         text PRIMARY KEY,
            seq        bigint GENERATED ALWAYS AS IDENTITY,
            content    text NOT NULL,
            document   json NOT NULL,
            embedding  {vector},
            tsv        tsvector GENERATED ALWAYS AS (to_tsvector({config}::regconfig, content))
                       STORED,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )""").format(memories=memories, vector=layout.vector_type(),
                     config=sql.Literal(layout.text_search_config)))
    conn.execute(sql.SQL("CREATE INDEX ON {} USING gin (tsv)").format(memories))
    conn.execute(sql.SQL("CREATE INDEX ON {} (seq)").format(memories))
    conn.execute(sql.SQL("""
        CREATE TABLE {edges} (
            from_id    text NOT NULL,
            to_id      text NOT NULL,
            edge_type  text NOT NULL,
            seq        bigint GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (from_id, to_id, edge_type),
            CONSTRAINT {from_fk} FOREIGN KEY (from_id) REFERENCES {memories} (id)
                ON DELETE CASCADE,
            CONSTRAINT {to_fk} FOREIGN KEY (to_id) REFERENCES {memories} (id) ON DELETE CASCADE
        )""").format(edges=edges, memories=memories,
                     from_fk=sql.Identifier(EDGE_FROM_CONSTRAINT),
                     to_fk=sql.Identifier(EDGE_TO_CONSTRAINT)))
    conn.execute(sql.SQL("CREATE INDEX ON {} (to_id)").format(edges))
    if layout.vector == "pgvector" and layout.dimension is not None:
        _create_vector_index(conn, layout)


def _create_vector_index(conn: psycopg.Connection, layout: Layout) -> None:
    """An HNSW cosine index (pgvector >= 0.5); older pgvector searches exactly, unindexed."""
    try:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE INDEX ON {} USING hnsw (embedding {}.vector_cosine_ops)")
                         .format(layout.table("memories"),
                                 sql.Identifier(layout.extension_schema or "public")))
    except psycopg.Error:
        pass


def ensure_layout(conn: psycopg.Connection, schema: str, text_search_config: str,
                  vector_search: str, dimension: Optional[int]) -> Layout:
    """Create the schema's tables if they are missing; return the layout they have.

    Raises ValueError when existing tables were built with settings that contradict the ones
    asked for, or when pgvector is required but unavailable. Runs inside `conn`'s transaction.
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"omi-storage-postgres:{schema}",))
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    meta = sql.SQL("{}.omi_layout").format(sql.Identifier(schema))
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, "
                         "value text NOT NULL)").format(meta))
    recorded: Dict[str, str] = dict(conn.execute(sql.SQL("SELECT key, value FROM {}").format(meta))
                                    .fetchall())
    if recorded:
        return _existing_layout(conn, schema, recorded, text_search_config, vector_search,
                                dimension)
    try:
        with conn.transaction():
            conn.execute("SELECT %s::regconfig", (text_search_config,))
    except psycopg.errors.UndefinedObject:
        raise ValueError(f"text_search_config {text_search_config!r} is not a text search "
                         f"configuration of this server; see \\dF in psql (e.g. 'english', "
                         f"'simple')") from None
    extension_schema = None if vector_search == "plain" else _enable_pgvector(conn)
    if vector_search == "pgvector" and extension_schema is None:
        raise ValueError(
            "vector_search='pgvector' but the pgvector extension is not available on this "
            "server; install it (Debian: apt-get install postgresql-<version>-pgvector) or use "
            "vector_search='auto'"
        )
    layout = Layout(schema, text_search_config, "pgvector" if extension_schema else "plain",
                    dimension, extension_schema)
    _create_tables(conn, layout)
    values = {"version": LAYOUT_VERSION, "text_search_config": text_search_config,
              "vector": layout.vector, "dimension": "" if dimension is None else str(dimension)}
    with conn.cursor() as cursor:
        cursor.executemany(sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s)").format(meta),
                           list(values.items()))
    return layout


def _upgrade_from_1(conn: psycopg.Connection, schema: str) -> None:
    """Documents from jsonb to json. What jsonb already changed (1e+20 read back as an
    integer) stays changed; documents written from now on come back as written."""
    conn.execute(sql.SQL("ALTER TABLE {}.memories ALTER COLUMN document TYPE json USING "
                         "document::json").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("UPDATE {}.omi_layout SET value = %s WHERE key = 'version'")
                 .format(sql.Identifier(schema)), (LAYOUT_VERSION,))


def _existing_layout(conn: psycopg.Connection, schema: str, recorded: Dict[str, str],
                     text_search_config: str, vector_search: str,
                     dimension: Optional[int]) -> Layout:
    if recorded.get("version") == "1":
        _upgrade_from_1(conn, schema)
        recorded["version"] = LAYOUT_VERSION
    if recorded.get("version") != LAYOUT_VERSION:
        raise ValueError(f"schema {schema!r} has layout version {recorded.get('version')!r}; "
                         f"this omi-storage-postgres reads version {LAYOUT_VERSION}; use the "
                         f"release that created it or a new schema")
    built_dimension = int(recorded["dimension"]) if recorded.get("dimension") else None
    conflicts = []
    if recorded["text_search_config"] != text_search_config:
        conflicts.append(f"text_search_config {recorded['text_search_config']!r} "
                         f"(asked: {text_search_config!r})")
    if vector_search != "auto" and recorded["vector"] != vector_search:
        conflicts.append(f"vector_search {recorded['vector']!r} (asked: {vector_search!r})")
    if dimension is not None and built_dimension != dimension:
        conflicts.append(f"dimension {built_dimension} (asked: {dimension})")
    if conflicts:
        raise ValueError(f"schema {schema!r} was created with {', '.join(conflicts)}; use the "
                         f"same settings or another schema")
    extension_schema = None
    if recorded["vector"] == "pgvector":
        extension_schema = _pgvector_schema(conn)
        if extension_schema is None:
            raise ValueError(f"schema {schema!r} keeps pgvector vectors but the pgvector "
                             f"extension is not installed in this database; CREATE EXTENSION "
                             f"vector")
    return Layout(schema, recorded["text_search_config"], recorded["vector"], built_dimension,
                  extension_schema)
