"""The guide's complete example plugin: DummyEmbedder, a local deterministic embedding provider."""

from omi_embedding_example.embedder import DummyEmbedder

__all__ = ["DummyEmbedder"]
__version__ = "0.1.0"
