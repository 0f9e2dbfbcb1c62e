"""The guide's complete example plugin: DummyEmbedder, a local deterministic embedding provider"""

from omi_embedding_example.embedder import ExampleEmbedder

__all__ = ["ExampleEmbedder"]
__version__ = "0.1.0"
