"""Unit tests for {{ cookiecutter.__class_name }}."""

from pathlib import Path
from typing import Iterator

import pytest
from omi.storage import StorageBackend

from {{ cookiecutter.__import_name }}.backend import {{ cookiecutter.__class_name }}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[{{ cookiecutter.__class_name }}]:
    backend = {{ cookiecutter.__class_name }}(path=tmp_path / "memories.db")
    yield backend
    backend.close()


def test_plugin_interface() -> None:
    assert issubclass({{ cookiecutter.__class_name }}, StorageBackend)
    assert {{ cookiecutter.__class_name }}.interface_version == "1.0"


def test_store_and_recall(backend: {{ cookiecutter.__class_name }}) -> None:
    memory_id = backend.store_memory({"content": "The user prefers green tea", "metadata": {"a": 1}})
    results = backend.recall("green tea")
    assert results[0]["id"] == memory_id
    assert results[0]["content"] == "The user prefers green tea"
    assert results[0]["metadata"] == {"a": 1}


def test_recall_ranks_by_matching_words_and_honours_limit(backend: {{ cookiecutter.__class_name }}) -> None:
    backend.store_memory({"content": "tea"})
    best = backend.store_memory({"content": "green tea at noon"})
    assert backend.recall("green tea")[0]["id"] == best
    assert len(backend.recall("tea", limit=1)) == 1
    assert backend.recall("tea", limit=0) == []


def test_edges_need_both_memories(backend: {{ cookiecutter.__class_name }}) -> None:
    first = backend.store_memory({"content": "first"})
    second = backend.store_memory({"content": "second"})
    backend.add_edge(first, second, "related_to")
    with pytest.raises(KeyError, match="missing"):
        backend.add_edge(first, "missing", "related_to")


def test_data_survives_reopening(tmp_path: Path) -> None:
    backend = {{ cookiecutter.__class_name }}(path=tmp_path / "memories.db")
    memory_id = backend.store_memory({"content": "kept across restarts"})
    backend.close()
    reopened = {{ cookiecutter.__class_name }}(path=tmp_path / "memories.db")
    assert reopened.recall("restarts")[0]["id"] == memory_id
    reopened.close()


def test_empty_content_is_rejected(backend: {{ cookiecutter.__class_name }}) -> None:
    with pytest.raises(ValueError, match="content"):
        backend.store_memory({"content": "  "})
