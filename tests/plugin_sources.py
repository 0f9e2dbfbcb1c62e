"""Source text of small plugin modules, installed as real distributions by the tests and by
bench/bench_cli.py (bench/run.py puts this directory on sys.path, as pytest does)."""

EMBEDDER = """
from typing import List
from omi.embeddings import EmbeddingProvider


class {cls}(EmbeddingProvider):
    interface_version = {version!r}

    def embed(self, text: str) -> List[float]:
        return [float(len(text)), 1.0]

    def embed_batch(self, texts: List[str], batch_size: int = 8) -> List[List[float]]:
        return [self.embed(text) for text in texts]

    def similarity(self, embedding1: List[float], embedding2: List[float]) -> float:
        return 1.0

    def get_dimension(self) -> int:
        return 2

    def get_model_name(self) -> str:
        return "test-model"
"""

BACKEND = """
from omi.storage import StorageBackend


class {cls}(StorageBackend):
    interface_version = "1.0"

    def __init__(self):
        self.memories = []

    def store_memory(self, memory):
        self.memories.append(memory)
        return str(len(self.memories))

    def recall(self, query, limit=10):
        return []

    def add_edge(self, from_id, to_id, edge_type):
        return None

    def close(self):
        return None
"""

HANDLER = """
from omi.events import EventHandler


class {cls}(EventHandler):
    interface_version = "1.0"

    def handle(self, event_type, event_data):
        return None
"""


def embedder(cls: str = "MyCustomEmbedder", version: str = "1.0") -> str:
    return EMBEDDER.format(cls=cls, version=version)


def backend(cls: str = "MyBackend") -> str:
    return BACKEND.format(cls=cls)


def handler(cls: str = "MyHandler") -> str:
    return HANDLER.format(cls=cls)
