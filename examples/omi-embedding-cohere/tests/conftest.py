"""Fixtures: a real Cohere-speaking HTTP server on 127.0.0.1 and embedders pointed at it."""

import socket
from typing import Any, Callable, Iterator

import pytest

from fake_cohere import FakeCohere
from omi_embedding_cohere import CohereEmbedder

API_KEY = "test-key"


@pytest.fixture
def cohere() -> Iterator[FakeCohere]:
    """A fresh fake Cohere API for one test (its request log starts empty)."""
    with FakeCohere(API_KEY) as server:
        yield server


@pytest.fixture
def make(cohere: FakeCohere) -> Callable[..., CohereEmbedder]:
    """make(**options) -> a CohereEmbedder talking to the fake, retrying without delay."""

    def make_embedder(**options: Any) -> CohereEmbedder:
        options = {"api_key": API_KEY, "base_url": cohere.url, "backoff": 0.0, **options}
        return CohereEmbedder(**options)

    return make_embedder


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
