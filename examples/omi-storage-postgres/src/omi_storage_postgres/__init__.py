"""PostgreSQL storage backend for OMI with pgvector"""

from importlib.metadata import PackageNotFoundError, version

from omi_storage_postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
try:
    __version__ = version("omi-storage-postgres")  # pyproject.toml's, the one to bump
except PackageNotFoundError:  # imported from the source tree (bench/), not installed
    __version__ = "0+unknown"
