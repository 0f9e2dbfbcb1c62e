"""PostgreSQL storage backend for OMI with pgvector"""

from importlib.metadata import version

from omi_storage_postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
__version__ = version("omi-storage-postgres")  # pyproject.toml's, the one to bump
