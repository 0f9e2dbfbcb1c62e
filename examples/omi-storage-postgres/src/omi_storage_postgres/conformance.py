"""Schemas for OMI's conformance suite: one per test directory, and never left behind.

`PostgresBackend.conformance_factory(directory)` gives each directory a schema of its own,
named from the directory, so instances are isolated and the same directory reopens the same
data. Each such schema carries a comment naming this host and the directory. The schemas a
process made are dropped when it exits; because a check's child process may end without
running exit handlers (a fork ends with os._exit, a timeout kills it), every new check schema
also sweeps away this host's check schemas whose directory is gone (the suite deletes a check's
directory when the check ends).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import socket
from pathlib import Path
from typing import Dict, Set

import psycopg
from psycopg import sql

PREFIX = "omi_check_"
_COMMENT = "omi-storage-postgres check: {host}:{directory}"

# Check schemas made by this process, dropped when it exits: {dsn: {schema, ...}}.
_MADE: Dict[str, Set[str]] = {}


def schema_for(directory: Path) -> str:
    return PREFIX + hashlib.sha1(str(directory).encode()).hexdigest()[:16]


def claim(conn: psycopg.Connection, dsn: str, schema: str, directory: Path) -> None:
    """Create `schema` for `directory` (labelled), after sweeping stale check schemas."""
    label = _COMMENT.format(host=socket.gethostname(), directory="")
    stale = conn.execute(
        "SELECT n.nspname, d.description FROM pg_namespace n JOIN pg_description d "
        "ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass "
        "WHERE n.nspname LIKE %s AND starts_with(d.description, %s)",
        (PREFIX.replace("_", r"\_") + "%", label),
    ).fetchall()
    for name, description in stale:
        if not os.path.exists(description[len(label):]):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
        sql.Identifier(schema),
        sql.Literal(_COMMENT.format(host=socket.gethostname(), directory=directory))))
    if not _MADE:
        atexit.register(_drop_made)
    _MADE.setdefault(dsn, set()).add(schema)


def _drop_made() -> None:
    for dsn, schemas in _MADE.items():
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                for schema in sorted(schemas):
                    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                                 .format(sql.Identifier(schema)))
        except psycopg.Error:  # the server is gone: nothing left to tidy
            pass
    _MADE.clear()
