"""The guide's complete example plugin: DummyEmbedder, a local deterministic embedding provider."""

from importlib.metadata import PackageNotFoundError, version

from omi_embedding_example.embedder import DummyEmbedder

__all__ = ["DummyEmbedder"]
try:
    __version__ = version("omi-embedding-example")  # pyproject.toml's, the one to bump
except PackageNotFoundError:  # imported from a checkout that is not installed (src/ on the path)
    __version__ = "0+unknown"
