"""Unit tests for {{ cookiecutter.__class_name }}."""

import pytest
from omi.embeddings import EmbeddingProvider

from {{ cookiecutter.__import_name }}.embedder import {{ cookiecutter.__class_name }}


def test_plugin_interface() -> None:
    """Verify plugin implements EmbeddingProvider"""
    assert issubclass({{ cookiecutter.__class_name }}, EmbeddingProvider)
    assert {{ cookiecutter.__class_name }}.interface_version == "1.0"


def test_embed_single() -> None:
    """Test single text embedding"""
    embedder = {{ cookiecutter.__class_name }}()
    result = embedder.embed("Hello world")

    assert isinstance(result, list)
    assert len(result) == embedder.get_dimension()
    assert all(isinstance(x, float) for x in result)


def test_embed_batch() -> None:
    """Test batch embedding"""
    embedder = {{ cookiecutter.__class_name }}()
    texts = ["First text", "Second text", "Third text"]
    results = embedder.embed_batch(texts, batch_size=2)

    assert len(results) == len(texts)
    assert all(len(r) == embedder.get_dimension() for r in results)
    assert results == [embedder.embed(text) for text in texts]


def test_similarity() -> None:
    """Test cosine similarity calculation"""
    embedder = {{ cookiecutter.__class_name }}()
    vec1 = embedder.embed("identical text")
    vec2 = embedder.embed("identical text")

    similarity = embedder.similarity(vec1, vec2)
    assert 0.99 <= similarity <= 1.0  # Should be nearly identical


def test_shared_words_score_higher_than_unrelated_text() -> None:
    embedder = {{ cookiecutter.__class_name }}()
    anchor = embedder.embed("the quarterly revenue report")
    assert embedder.similarity(anchor, embedder.embed("revenue report for the quarter")) > \
        embedder.similarity(anchor, embedder.embed("a kitten asleep on the sofa"))


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="Text cannot be empty"):
        {{ cookiecutter.__class_name }}().embed(text)


def test_bad_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="dimension"):
        {{ cookiecutter.__class_name }}(dimension=0)
