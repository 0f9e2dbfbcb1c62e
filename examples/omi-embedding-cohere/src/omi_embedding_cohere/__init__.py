"""Cohere embeddings (the v2 /v2/embed API) for OMI."""

from importlib.metadata import PackageNotFoundError, version

from omi_embedding_cohere.embedder import CohereEmbedder

__all__ = ["CohereEmbedder"]
try:
    __version__ = version("omi-embedding-cohere")  # pyproject.toml's, the one to bump
except PackageNotFoundError:  # imported from a checkout that is not installed (src/ on the path)
    __version__ = "0+unknown"
