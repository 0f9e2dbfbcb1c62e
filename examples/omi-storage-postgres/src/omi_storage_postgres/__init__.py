"""PostgreSQL storage backend for OMI with pgvector"""

from omi_storage_postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
__version__ = "0.1.0"
