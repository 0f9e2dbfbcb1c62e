"""CohereEmbedder against a real HTTP server on 127.0.0.1 that speaks Cohere's v2 embed API."""

import time
from typing import Any, Callable, Dict

import pytest
from omi.builtin.http import (
    APIError,
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    UnreachableError,
)
from omi.embeddings import EmbeddingProvider

from fake_cohere import FakeCohere, text_vector
from omi_embedding_cohere import CohereEmbedder
from omi_embedding_cohere.embedder import MAX_TEXTS_PER_REQUEST

Make = Callable[..., CohereEmbedder]  # the `make` fixture: options -> an embedder


def test_plugin_interface() -> None:
    assert issubclass(CohereEmbedder, EmbeddingProvider)
    assert CohereEmbedder.interface_version == "1.0"


def test_one_request_in_cohere_v2_format(cohere: FakeCohere, make: Make) -> None:
    vector = make().embed("hello cohere")

    assert vector == pytest.approx(text_vector("hello cohere", 1024))
    request, = cohere.requests
    assert request["path"] == "/v2/embed"
    assert request["headers"]["Authorization"] == "Bearer test-key"
    assert request["body"] == {"model": "embed-english-v3.0", "texts": ["hello cohere"],
                               "input_type": "search_document", "embedding_types": ["float"],
                               "truncate": "END"}


def test_documents_and_queries_use_their_input_types(cohere: FakeCohere, make: Make) -> None:
    documents = make()
    queries = documents.for_queries()
    documents.embed("stored memory")
    queries.embed("what was stored?")
    documents.embed("another memory")

    sent = [request["body"]["input_type"] for request in cohere.requests]
    assert sent == ["search_document", "search_query", "search_document"]
    assert queries.get_model_name() == documents.get_model_name() == "embed-english-v3.0"


def test_batches_never_exceed_cohere_limit_of_96_texts(cohere: FakeCohere, make: Make) -> None:
    texts = [f"memory number {index}" for index in range(200)]

    vectors = make().embed_batch(texts)  # default batch_size is Cohere's limit
    assert [len(r["body"]["texts"]) for r in cohere.requests] == [96, 96, 8]
    assert vectors == [pytest.approx(text_vector(text, 1024)) for text in texts]

    cohere.requests.clear()
    assert make().embed_batch(texts, batch_size=500) == vectors  # capped at 96 per request
    assert [len(r["body"]["texts"]) for r in cohere.requests] == [96, 96, 8]

    cohere.requests.clear()
    make(batch_size=30).embed_batch(texts[:70])
    assert [len(r["body"]["texts"]) for r in cohere.requests] == [30, 30, 10]
    assert MAX_TEXTS_PER_REQUEST == 96


def test_an_empty_batch_sends_nothing(cohere: FakeCohere, make: Make) -> None:
    assert make().embed_batch([]) == []
    assert cohere.requests == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_text_is_rejected_before_any_request(cohere: FakeCohere, make: Make,
                                                    text: str) -> None:
    with pytest.raises(ValueError, match="Text cannot be empty"):
        make().embed_batch(["fine", text])
    assert cohere.requests == []


def test_dimension_is_learnt_from_the_first_answer(cohere: FakeCohere, make: Make) -> None:
    embedder = make(model="embed-english-light-v3.0")
    assert embedder.get_dimension() == 384
    assert len(cohere.requests) == 1
    assert len(embedder.embed("short")) == embedder.get_dimension()


def test_output_dimension_on_a_model_without_it_is_cohere_s_400(cohere: FakeCohere,
                                                                make: Make) -> None:
    embedder = make(model="embed-english-v3.0", output_dimension=256)
    with pytest.raises(APIError, match=r"HTTP 400: invalid request: output_dimension") as error:
        embedder.embed("shorter vectors")
    assert error.value.status == 400
    assert len(cohere.requests) == 1  # a 400 is not retried


def test_output_dimension_is_sent_and_known_without_a_request(cohere: FakeCohere,
                                                              make: Make) -> None:
    embedder = make(model="embed-v4.0", output_dimension=256)
    assert embedder.get_dimension() == 256
    assert cohere.requests == []
    assert len(embedder.embed("shorter vectors")) == 256
    assert cohere.requests[0]["body"]["output_dimension"] == 256


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_rate_limits_and_server_errors_are_retried(cohere: FakeCohere, make: Make,
                                                   status: int) -> None:
    cohere.then(status, {"message": "busy"}).then(status, {"message": "busy"})
    assert make().embed("eventually") == pytest.approx(text_vector("eventually", 1024))
    assert len(cohere.requests) == 3


def test_retries_back_off_and_honour_retry_after(cohere: FakeCohere, make: Make) -> None:
    cohere.then(503, {"message": "busy"}).then(503, {"message": "busy"})
    start = time.perf_counter()
    make(backoff=0.1).embed("patience")
    assert time.perf_counter() - start >= 0.1 + 0.2  # 0.1 s, then doubled

    cohere.requests.clear()
    cohere.then(429, {"message": "slow down"}, headers={"Retry-After": "0.4"})
    start = time.perf_counter()
    make(backoff=0.0).embed("patience")
    assert time.perf_counter() - start >= 0.4
    assert len(cohere.requests) == 2


def test_retries_are_bounded(cohere: FakeCohere, make: Make) -> None:
    for _ in range(3):
        cohere.then(503, {"message": "overloaded"})
    with pytest.raises(APIError, match=r"kept failing \(HTTP 503: overloaded\) after 2 retries"):
        make(max_retries=2).embed("never")
    assert len(cohere.requests) == 3


def test_a_wrong_key_says_where_keys_come_from(cohere: FakeCohere, make: Make) -> None:
    with pytest.raises(AuthenticationError, match=r"HTTP 401: invalid api token.*CO_API_KEY"):
        make(api_key="wrong-key").embed("hello")
    assert len(cohere.requests) == 1  # 401 is not retried


def test_an_unknown_model_is_named(cohere: FakeCohere, make: Make) -> None:
    with pytest.raises(NotFoundError, match="does not know the model 'embed-klingon-v9'"):
        make(model="embed-klingon-v9").embed("hello")


def test_other_refusals_carry_cohere_message(cohere: FakeCohere, make: Make) -> None:
    cohere.then(400, {"message": "invalid request: too many tokens"})
    with pytest.raises(APIError, match=r"HTTP 400: invalid request: too many tokens") as error:
        make().embed("hello")
    assert error.value.status == 400


def test_an_unreachable_server_names_the_url(closed_port_url: str) -> None:
    embedder = CohereEmbedder(api_key="k", base_url=closed_port_url, max_retries=1, backoff=0.0)
    with pytest.raises(UnreachableError, match=f"Cannot reach Cohere at {closed_port_url}"):
        embedder.embed("hello")


def test_a_server_slower_than_the_timeout_is_unreachable(cohere: FakeCohere, make: Make) -> None:
    cohere.then(200, {"embeddings": {"float": [[1.0]]}}, delay=4.0)
    start = time.perf_counter()
    with pytest.raises(UnreachableError, match="timed out"):
        make(timeout=0.2, max_retries=0).embed("hello")
    assert time.perf_counter() - start < 2.0  # the timeout, not the 4 s the server takes


@pytest.mark.parametrize("payload, message", [
    (b"<html>gateway</html>", "not JSON"),
    ({"id": "x", "embeddings": {"int8": [[1]]}}, "without embeddings.float"),
    ({"id": "x", "embeddings": {"float": "oops"}}, "embeddings.float is not a list"),
    ({"embeddings": {"float": [[0.1, 0.2], [0.3, 0.4]]}}, "2 embeddings for 1 texts"),
    ({"embeddings": {"float": [[0.1, "x"]]}}, "not a list of finite numbers"),
    ([1, 2, 3], "without embeddings.float"),
])
def test_malformed_answers_are_reported(cohere: FakeCohere, make: Make,
                                        payload: Any, message: str) -> None:
    cohere.then(200, payload)
    with pytest.raises(MalformedResponseError, match=message):
        make().embed("hello")


def test_a_vector_of_another_length_is_reported(cohere: FakeCohere, make: Make) -> None:
    embedder = make()
    embedder.embed("first")
    cohere.then(200, {"embeddings": {"float": [[0.5] * 10]}})
    with pytest.raises(MalformedResponseError, match="10-dimensional embedding where 1024"):
        embedder.embed("second")


def test_key_and_url_come_from_the_environment(cohere: FakeCohere,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", "test-key")
    monkeypatch.setenv("CO_API_URL", cohere.url)
    assert len(CohereEmbedder().embed("from the environment")) == 1024
    assert CohereEmbedder().base_url == cohere.url


def test_the_constructor_key_wins_over_the_environment(cohere: FakeCohere,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", "stale-key")
    CohereEmbedder(api_key="test-key", base_url=cohere.url).embed("hello")
    assert cohere.requests[0]["headers"]["Authorization"] == "Bearer test-key"


def test_a_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    with pytest.raises(ValueError, match="pass api_key=... or set the CO_API_KEY"):
        CohereEmbedder()


def test_the_default_url_is_cohere() -> None:
    assert CohereEmbedder(api_key="k").base_url == "https://api.cohere.com"


@pytest.mark.parametrize("options, message", [
    ({"input_type": "search"}, "input_type must be one of search_document, search_query"),
    ({"truncate": "MIDDLE"}, "truncate must be one of NONE, START, END"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"output_dimension": -5}, "output_dimension must be one of 256, 512, 1024, 1536"),
    ({"output_dimension": 300}, "output_dimension must be one of 256, 512, 1024, 1536"),
    ({"model": ""}, "model must be a non-empty string"),
    ({"timeout": 0}, "timeout must be positive"),
    ({"max_retries": -1}, "max_retries must be 0 or more"),
])
def test_bad_settings_are_rejected(options: Dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CohereEmbedder(api_key="k", **options)


def test_similarity_is_cosine(make: Make) -> None:
    embedder = make()
    a, b = embedder.embed("the cat sat"), embedder.embed("the cat ran")
    assert embedder.similarity(a, a) == pytest.approx(1.0)
    assert -1.0 <= embedder.similarity(a, b) < 1.0
    with pytest.raises(ValueError, match="different lengths"):
        embedder.similarity(a, a[:-1])
