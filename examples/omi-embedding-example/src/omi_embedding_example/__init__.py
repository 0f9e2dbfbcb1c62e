"""The guide's complete example plugin: DummyEmbedder, a local deterministic embedding provider."""

from importlib.metadata import version

from omi_embedding_example.embedder import DummyEmbedder

__all__ = ["DummyEmbedder"]
__version__ = version("omi-embedding-example")  # pyproject.toml's, the one to bump
