"""OMI's standard conformance suite: the same checks as `omi plugins check dummy`."""

import pytest
from omi.testing import EmbeddingProviderConformance

from omi_embedding_example.embedder import DummyEmbedder


class TestConformance(EmbeddingProviderConformance):
    # The suite version these tests were generated for; checks added later say so.
    suite_version = "0.4.0"
    # Checks your plugin cannot pass yet, with the reason: {"check_name": "why"}.
    known_failures = {}

    @pytest.fixture
    def plugin(self) -> DummyEmbedder:
        return DummyEmbedder()
