"""OMI's standard conformance suite: the same checks as `omi plugins check cohere`.

The embedder talks to a real HTTP server on 127.0.0.1 that speaks Cohere's v2 API
(tests/fake_cohere.py); nothing reaches the internet.
"""

from typing import Iterator

import pytest
from omi.testing import EmbeddingProviderConformance

from fake_cohere import FakeCohere
from omi_embedding_cohere.embedder import CohereEmbedder


@pytest.fixture(scope="module")
def cohere_server() -> Iterator[FakeCohere]:
    with FakeCohere("conformance-key") as server:
        yield server


class TestConformance(EmbeddingProviderConformance):
    # The suite version these tests were generated for; checks added later say so.
    suite_version = "0.4.0"
    # Checks your plugin cannot pass yet, with the reason: {"check_name": "why"}.
    known_failures = {}

    @pytest.fixture
    def plugin(self, cohere_server: FakeCohere) -> CohereEmbedder:
        return CohereEmbedder(api_key="conformance-key", base_url=cohere_server.url)
