"""Unit tests for DummyEmbedder: every abstract method, and every error a user can cause."""

from typing import Any, Dict

import pytest
from omi.embeddings import EmbeddingProvider

from omi_embedding_example import DummyEmbedder


def test_plugin_interface() -> None:
    """Verify plugin implements EmbeddingProvider"""
    assert issubclass(DummyEmbedder, EmbeddingProvider)
    assert DummyEmbedder.interface_version == "1.0"


def test_embed_single() -> None:
    """Test single text embedding"""
    embedder = DummyEmbedder()
    result = embedder.embed("Hello world")

    assert isinstance(result, list)
    assert len(result) == embedder.get_dimension() == 256
    assert all(isinstance(x, float) for x in result)
    assert sum(x * x for x in result) == pytest.approx(1.0)


def test_embed_batch_keeps_order_and_matches_embed() -> None:
    """Test batch embedding"""
    embedder = DummyEmbedder()
    texts = ["First text", "Second text", "Third text"]
    results = embedder.embed_batch(texts, batch_size=2)

    assert len(results) == len(texts)
    assert all(len(r) == embedder.get_dimension() for r in results)
    assert results == [embedder.embed(text) for text in texts]
    assert embedder.embed_batch(texts) == results  # the constructor's batch_size
    assert embedder.embed_batch([]) == []


def test_the_same_text_gives_the_same_vector_across_instances() -> None:
    assert DummyEmbedder().embed("stable text") == DummyEmbedder().embed("stable text")
    assert DummyEmbedder().embed("stable text") != DummyEmbedder().embed("other text")


def test_similarity() -> None:
    """Test cosine similarity calculation"""
    embedder = DummyEmbedder()
    vec1 = embedder.embed("identical text")
    vec2 = embedder.embed("identical text")

    similarity = embedder.similarity(vec1, vec2)
    assert 0.99 <= similarity <= 1.0  # Should be nearly identical
    assert embedder.similarity(vec1, [-x for x in vec1]) == pytest.approx(-1.0)


def test_shared_words_score_higher_than_unrelated_text() -> None:
    embedder = DummyEmbedder()
    anchor = embedder.embed("the quarterly revenue report")
    assert embedder.similarity(anchor, embedder.embed("revenue report for the quarter")) > \
        embedder.similarity(anchor, embedder.embed("a kitten asleep on the sofa"))


def test_dimension_and_model_name_are_configurable() -> None:
    embedder = DummyEmbedder(model="dummy-small", dimension=8)
    assert embedder.get_dimension() == 8
    assert len(embedder.embed("eight numbers")) == 8
    assert embedder.get_model_name() == "dummy-small"
    assert DummyEmbedder().get_model_name() == "dummy-hashing-v1"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="Text cannot be empty"):
        DummyEmbedder().embed(text)


def test_a_bad_text_in_a_batch_is_named() -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] must be str, got int"):
        DummyEmbedder().embed_batch(["fine", 42])  # type: ignore[list-item]  # the bad input under test


def test_a_single_string_is_not_mistaken_for_a_list_of_characters() -> None:
    with pytest.raises(TypeError, match="use embed"):
        DummyEmbedder().embed_batch("hello")  # type: ignore[arg-type]  # the mistake under test


def test_vectors_of_different_lengths_cannot_be_compared() -> None:
    embedder = DummyEmbedder()
    with pytest.raises(ValueError, match="different lengths"):
        embedder.similarity(embedder.embed("a"), DummyEmbedder(dimension=8).embed("a"))


@pytest.mark.parametrize("options, message", [
    ({"dimension": 0}, "dimension must be a positive integer, got 0"),
    ({"dimension": "256"}, "dimension must be a positive integer, got '256'"),
    ({"batch_size": -1}, "batch_size must be a positive integer, got -1"),
    ({"model": " "}, "model must be a non-empty string"),
])
def test_bad_configuration_is_rejected(options: Dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DummyEmbedder(**options)


def test_bad_batch_size_per_call_is_rejected() -> None:
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        DummyEmbedder().embed_batch(["a"], batch_size=0)
