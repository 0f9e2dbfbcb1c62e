"""A real PostgreSQL server for the tests: its DSN comes from the environment.

Set OMI_TEST_POSTGRES_DSN (or OMI_POSTGRES_DSN) to a database the tests may create schemas in;
omi-openclaw's `scripts/test.sh` starts a throwaway server and sets both.
"""

import os
import uuid
from typing import Any, Callable, Iterator, List

import psycopg
import pytest
from psycopg.rows import TupleRow

from omi_storage_postgres import PostgresBackend


@pytest.fixture(scope="session")
def dsn() -> str:
    found = os.environ.get("OMI_TEST_POSTGRES_DSN") or os.environ.get("OMI_POSTGRES_DSN")
    if not found:
        pytest.fail("these tests need a PostgreSQL server: set OMI_TEST_POSTGRES_DSN, e.g. "
                    "'postgresql://user@localhost/omi_test' (see README, Development)",
                    pytrace=False)
    return found


@pytest.fixture
def sql(dsn: str) -> Iterator[psycopg.Connection[TupleRow]]:
    """A direct autocommit connection, to look at what the backend did."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def fresh_schema(dsn: str) -> Iterator[str]:
    """The name of a schema no one uses yet; dropped after the test."""
    schema = f"omi_test_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def make_backend(dsn: str, fresh_schema: str) -> Iterator[Callable[..., PostgresBackend]]:
    """Build backends on the test's schema (options may override it); all closed after."""
    made: List[PostgresBackend] = []

    def make(**options: Any) -> PostgresBackend:
        backend = PostgresBackend(**{"dsn": dsn, "schema": fresh_schema, **options})
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def backend(make_backend: Callable[..., PostgresBackend]) -> PostgresBackend:
    return make_backend()


@pytest.fixture(scope="session")
def has_pgvector(dsn: str) -> bool:
    """Whether the server can create the pgvector extension."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
    assert row is not None  # count(*) returns one row
    available: int = row[0]
    return available > 0
