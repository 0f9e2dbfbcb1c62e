"""Unit tests for CohereEmbedder."""

import pytest
from omi.embeddings import EmbeddingProvider

from omi_embedding_cohere.embedder import CohereEmbedder


def test_plugin_interface():
    """Verify plugin implements EmbeddingProvider"""
    assert issubclass(CohereEmbedder, EmbeddingProvider)
    assert CohereEmbedder.interface_version == "1.0"


def test_embed_single():
    """Test single text embedding"""
    embedder = CohereEmbedder()
    result = embedder.embed("Hello world")

    assert isinstance(result, list)
    assert len(result) == embedder.get_dimension()
    assert all(isinstance(x, float) for x in result)


def test_embed_batch():
    """Test batch embedding"""
    embedder = CohereEmbedder()
    texts = ["First text", "Second text", "Third text"]
    results = embedder.embed_batch(texts, batch_size=2)

    assert len(results) == len(texts)
    assert all(len(r) == embedder.get_dimension() for r in results)
    assert results == [embedder.embed(text) for text in texts]


def test_similarity():
    """Test cosine similarity calculation"""
    embedder = CohereEmbedder()
    vec1 = embedder.embed("identical text")
    vec2 = embedder.embed("identical text")

    similarity = embedder.similarity(vec1, vec2)
    assert 0.99 <= similarity <= 1.0  # Should be nearly identical


def test_shared_words_score_higher_than_unrelated_text():
    embedder = CohereEmbedder()
    anchor = embedder.embed("the quarterly revenue report")
    assert embedder.similarity(anchor, embedder.embed("revenue report for the quarter")) > \
        embedder.similarity(anchor, embedder.embed("a kitten asleep on the sofa"))


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_rejected(text):
    with pytest.raises(ValueError, match="Text cannot be empty"):
        CohereEmbedder().embed(text)


def test_bad_configuration_is_rejected():
    with pytest.raises(ValueError, match="dimension"):
        CohereEmbedder(dimension=0)
