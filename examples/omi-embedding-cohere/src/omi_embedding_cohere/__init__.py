"""Cohere embeddings (the v2 /v2/embed API) for OMI."""

from importlib.metadata import version

from omi_embedding_cohere.embedder import CohereEmbedder

__all__ = ["CohereEmbedder"]
__version__ = version("omi-embedding-cohere")  # pyproject.toml's, the one to bump
