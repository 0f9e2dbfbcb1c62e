"""Cohere embeddings (the v2 /v2/embed API) for OMI."""

from omi_embedding_cohere.embedder import CohereEmbedder

__all__ = ["CohereEmbedder"]
__version__ = "0.1.0"
