"""OMI's standard conformance suite: the same checks as `omi plugins check postgres`.

Instances are built as `omi plugins check` builds them, through
`PostgresBackend.conformance_factory`: each gets a schema of its own on the server in
OMI_POSTGRES_DSN (dropped when the test process exits).
"""

import pytest
from omi.testing import StorageBackendConformance

from omi_storage_postgres.backend import PostgresBackend


@pytest.fixture(autouse=True)
def _server(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMI_POSTGRES_DSN", dsn)


class TestConformance(StorageBackendConformance):
    # The suite version these tests were generated for; checks added later say so.
    suite_version = "0.4.0"
    # Built like `omi plugins check postgres` builds it: conformance_factory(directory).
    plugin_class = PostgresBackend
    # No known failures: every check passes.
    known_failures = {}
