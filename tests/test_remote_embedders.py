"""The nim and ollama embedders against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from fake_servers import FakeNIM, FakeOllama, Flood, closed_port_url, text_vector

from omi.builtin.http import (
    MAX_RESPONSE_BYTES,
    APIError,
    AuthenticationError,
    JSONClient,
    MalformedResponseError,
    NotFoundError,
    UnreachableError,
)
from omi.builtin.nim import NIMEmbedder
from omi.builtin.ollama import OllamaEmbedder
from omi.embeddings import EmbeddingProvider
from omi.plugins import load_plugin, validate_plugin


def make_nim(server, **options):
    return NIMEmbedder(api_key="nim-test-key", base_url=server.url, backoff=0.0, **options)


def make_ollama(server, **options):
    return OllamaEmbedder(base_url=server.url, backoff=0.0, **options)


KINDS = [(FakeNIM, make_nim), (FakeOllama, make_ollama)]


@pytest.fixture(params=KINDS, ids=["nim", "ollama"])
def api(request):
    server_class, factory = request.param
    with server_class() as server:
        yield server, lambda **options: factory(server, **options)


@pytest.mark.parametrize("name, cls", [("nim", NIMEmbedder), ("ollama", OllamaEmbedder)])
def test_registered_as_entry_points_and_valid(name, cls):
    assert load_plugin("omi.embedding_providers", name) is cls
    validate_plugin(cls, EmbeddingProvider)


def test_embed_and_batch_speak_the_api(api):
    server, make = api
    embedder = make(batch_size=2)
    texts = ["alpha beta", "gamma", "delta epsilon", "zeta", "eta"]
    vectors = embedder.embed_batch(texts)
    assert vectors == [pytest.approx(text_vector(t, server.dimension)) for t in texts]
    assert [len(r["body"]["input"]) for r in server.requests] == [2, 2, 1]
    assert embedder.embed("gamma") == pytest.approx(vectors[1])
    assert embedder.get_dimension() == server.dimension
    assert embedder.similarity(vectors[0], vectors[0]) == pytest.approx(1.0)
    assert embedder.embed_batch(texts, batch_size=10) == vectors
    assert embedder.embed_batch([]) == []


def test_nim_sends_model_input_type_and_key():
    with FakeNIM() as server:
        NIMEmbedder(api_key="nim-test-key", base_url=server.url, input_type="query").embed("hi")
        request = server.requests[0]
    assert request["path"] == "/v1/embeddings"
    assert request["headers"]["Authorization"] == "Bearer nim-test-key"
    assert request["body"] == {
        "input": ["hi"],
        "model": "nvidia/nv-embedqa-e5-v5",
        "input_type": "query",
        "encoding_format": "float",
    }


def test_key_and_url_come_from_the_environment(monkeypatch):
    with FakeNIM() as nim, FakeOllama() as ollama:
        monkeypatch.setenv("NVIDIA_API_KEY", "nim-test-key")
        monkeypatch.setenv("NIM_BASE_URL", nim.url)
        monkeypatch.setenv("OLLAMA_HOST", ollama.url.removeprefix("http://"))
        assert len(NIMEmbedder().embed("x")) == nim.dimension
        assert len(OllamaEmbedder().embed("x")) == ollama.dimension


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_rejected_before_any_request(api, text):
    server, make = api
    with pytest.raises(ValueError, match="Text cannot be empty"):
        make().embed(text)
    with pytest.raises(ValueError, match="Text cannot be empty"):
        make().embed_batch(["fine", text])
    assert server.requests == []


def test_a_missing_key_says_where_to_set_it(monkeypatch):
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    with FakeNIM() as server:
        embedder = NIMEmbedder(base_url=server.url, backoff=0.0)
        with pytest.raises(
            AuthenticationError,
            match="wants an API key and none was given .*set `api_key` in config or NVIDIA_API_KEY",
        ):
            embedder.embed("hello")
        assert "Authorization" not in server.requests[0]["headers"]


def test_wrong_key_is_an_authentication_error():
    with FakeNIM() as server:
        embedder = NIMEmbedder(api_key="wrong", base_url=server.url, backoff=0.0)
        with pytest.raises(AuthenticationError, match="rejected the API key .HTTP 401"):
            embedder.embed("hello")
        assert len(server.requests) == 1  # a wrong key is not retried


def test_unknown_model_names_the_model(api):
    server, make = api
    with pytest.raises(NotFoundError, match="'no-such-model'"):
        make(model="no-such-model").embed("hello")


def test_ollama_unknown_model_says_how_to_pull_it():
    with FakeOllama() as server:
        with pytest.raises(NotFoundError, match="run `ollama pull missing`"):
            make_ollama(server, model="missing").embed("hello")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_failures_are_retried(api, status):
    server, make = api
    server.then(status, {"error": "busy"}).then(status, {"error": "busy"})
    assert len(make().embed("hello")) == server.dimension
    assert len(server.requests) == 3


def test_retries_are_bounded(api):
    server, make = api
    for _ in range(5):
        server.then(503, {"error": "down"})
    with pytest.raises(APIError, match="kept failing .HTTP 503: down. after 2 retries"):
        make(max_retries=2).embed("hello")
    assert len(server.requests) == 3


def test_retry_after_is_honoured(api):
    server, make = api
    server.then(429, {"error": "slow down"}, headers={"Retry-After": "0.3"})
    start = time.perf_counter()
    make().embed("hello")
    assert time.perf_counter() - start >= 0.3  # backoff is 0 here: only Retry-After waited
    assert len(server.requests) == 2


def test_unreachable_server_is_named():
    url = closed_port_url()
    for embedder in (
        NIMEmbedder(api_key="k", base_url=url, max_retries=1, backoff=0.0),
        OllamaEmbedder(base_url=url, max_retries=1, backoff=0.0),
    ):
        with pytest.raises(UnreachableError, match=f"Cannot reach .* at {url}"):
            embedder.embed("hello")


def test_timeout_is_an_unreachable_error(api):
    server, make = api
    server.then(200, {}, delay=1.0)
    with pytest.raises(UnreachableError, match="timed out"):
        make(timeout=0.2, max_retries=0).embed("hello")


def test_a_server_trickling_its_answer_cannot_hold_the_caller_past_the_timeout(api):
    """The timeout bounded each read, so a byte every 0.05 s kept a 0.25 s timeout from ever
    firing: the embed waited out the whole answer (10 s here)."""
    server, make = api
    server.then(200, {"padding": "x" * 200}, trickle=0.05)
    start = time.perf_counter()
    with pytest.raises(UnreachableError, match="timed out"):
        make(timeout=0.25, max_retries=0).embed("hello")
    assert time.perf_counter() - start < 1.25


def test_an_error_answer_whose_body_never_comes_is_still_an_api_error(api):
    """Reading the body of an error answer timed out inside the handler of the HTTPError,
    so a bare TimeoutError escaped instead of the APIError with the status."""
    server, make = api
    server.then(500, {"error": "overloaded"}, trickle=2.0)
    with pytest.raises(APIError, match=r"HTTP 500: no details") as info:
        make(timeout=0.25, max_retries=0).embed("hello")
    assert info.value.status == 500


def test_a_key_in_the_url_is_not_quoted_in_errors():
    url = closed_port_url()
    embedder = NIMEmbedder(api_key="k", base_url=f"{url}/v1?api_key=SECRET42", max_retries=0)
    with pytest.raises(UnreachableError) as info:
        embedder.embed("hello")
    assert "SECRET42" not in str(info.value) and "api_key=****" in str(info.value)


def test_a_keyless_nim_does_not_quote_a_token_of_its_url(monkeypatch):
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)

    class Locked(FakeNIM):
        def route(self, path, headers, body):
            return 401, {"detail": "Authentication failed"}

    with Locked() as server:
        embedder = NIMEmbedder(base_url=f"{server.url}/?token=SECRET42", max_retries=0)
        with pytest.raises(AuthenticationError, match="wants an API key") as info:
            embedder.embed("hello")
    assert "SECRET42" not in str(info.value) and "token=****" in str(info.value)


@pytest.mark.parametrize(
    "payload", [b"not json", {"nothing": "here"}, {"data": [{"index": 0}], "embeddings": "nope"}]
)
def test_malformed_responses_are_reported(api, payload):
    server, make = api
    server.then(200, payload)
    with pytest.raises(MalformedResponseError):
        make().embed("hello")


def test_vectors_of_the_wrong_count_or_values_are_malformed():
    with FakeOllama() as server:
        server.then(200, {"embeddings": [[1.0, 2.0], [3.0, 4.0]]})
        with pytest.raises(MalformedResponseError, match="2 embeddings for 1 texts"):
            make_ollama(server).embed("one")
        server.then(200, {"embeddings": [["a", "b"]]})
        with pytest.raises(MalformedResponseError, match="finite numbers"):
            make_ollama(server).embed("one")
        server.then(200, {"embeddings": [[1.0] * (server.dimension + 1)]})
        embedder = make_ollama(server, dimension=server.dimension)
        with pytest.raises(MalformedResponseError, match="17-dimensional embedding where 16"):
            embedder.embed("one")


@pytest.mark.parametrize(
    "option, value",
    [
        ("batch_size", 0),
        ("batch_size", "8"),
        ("batch_size", 10_001),
        ("dimension", -3),
        ("dimension", 10**9),
        ("timeout", 0),
    ],
)
def test_bad_options_are_rejected_at_construction(option, value):
    with pytest.raises(ValueError, match=option):
        OllamaEmbedder(**{option: value})


@pytest.mark.parametrize("cls", [NIMEmbedder, OllamaEmbedder])
@pytest.mark.parametrize(
    "option, value",
    [
        ("timeout", "30"),
        ("timeout", float("nan")),
        ("timeout", True),
        ("backoff", -1),
        ("backoff", "0.5"),
        ("max_retries", 1.5),
        ("max_retries", "3"),
        ("max_retries", -1),
        ("batch_size", True),
        ("dimension", True),
        ("timeout", 1e300),
        ("timeout", float("inf")),
        ("timeout", 3601),
        ("backoff", 61),
        ("backoff", float("inf")),
        ("max_retries", 11),
    ],
)
def test_every_numeric_option_is_checked_when_built_not_when_first_used(cls, option, value):
    """A negative backoff used to surface as 'sleep length must be non-negative' on the first
    retry, a str timeout as a TypeError from inside the client."""
    with pytest.raises(ValueError, match=f"^{option} must be "):
        cls(**{option: value})


def test_bad_nim_input_type():
    with pytest.raises(ValueError, match="input_type must be 'passage' or 'query'"):
        NIMEmbedder(api_key="k", input_type="document")


@pytest.mark.parametrize(
    "cls, server_class, options",
    [
        (NIMEmbedder, FakeNIM, {"api_key": "nim-test-key"}),
        # Ollama's suite runs in the inner loop in test_check_cli.py, NIM's here
        pytest.param(OllamaEmbedder, FakeOllama, {}, marks=pytest.mark.slow),
    ],
)
def test_both_pass_the_conformance_suite_against_loopback_servers(cls, server_class, options):
    from omi.conformance import Target, checks_for, run_suite

    with server_class() as server:
        target = Target(
            cls,
            f"{cls.__module__}:{cls.__name__}",
            cls.__name__,
            {**options, "base_url": server.url, "backoff": 0},
        )
        report = run_suite(target)
    statuses = {outcome.name: outcome.status for outcome in report.outcomes}
    assert report.exit_code() == 0, statuses
    # real servers promise neither determinism nor meaning: the checks needing either are skipped
    needing = {check.name for check in checks_for("embedding") if check.requires}
    assert {name for name, status in statuses.items() if status != "passed"} == needing
    assert needing >= {"embed_is_deterministic", "similarity_tracks_meaning"}


def test_a_fake_server_that_breaks_fails_the_test_instead_of_printing():
    class Broken(FakeOllama):
        def route(self, path, headers, body):
            raise RuntimeError("bug in the fake")

    with pytest.raises(AssertionError, match="(?s)Broken failed while serving.*bug in the fake"):
        with Broken() as server:
            with pytest.raises(UnreachableError):
                make_ollama(server, max_retries=0).embed("hello")


def test_a_client_that_hangs_up_is_counted_not_printed(capfd):
    with FakeOllama() as server:
        server.then(200, {"embeddings": [[1.0]] * 1}, delay=0.5)
        with pytest.raises(UnreachableError, match="timed out"):
            make_ollama(server, timeout=0.1, max_retries=0).embed("hello")
    assert server.errors == []
    assert "Exception occurred during processing" not in capfd.readouterr().err


# --- bounded answers: no server can make the client hold more than a limit in memory --------

FRAMINGS = ["length", "chunked", "close"]


def test_an_answer_announced_over_the_limit_is_refused_before_its_body_is_read(api):
    """The server sends the headers and holds the body back: reading any of it would wait
    out the whole timeout instead of failing at once."""
    server, make = api
    flood = Flood(MAX_RESPONSE_BYTES + 1, withhold=True)
    server.then(200, flood)
    embedder = make(timeout=5, max_retries=0)
    start = time.perf_counter()
    with pytest.raises(MalformedResponseError) as info:
        embedder.embed("hello")
    assert time.perf_counter() - start < 2
    assert flood.sent == 0
    assert str(info.value).startswith(f"{embedder.service} at {server.url}/")
    assert str(info.value).endswith(
        f" announced an answer of 268,435,457 bytes, more than the 256 MiB an answer may "
        f"have; check that the base URL is the {embedder.service} API, or ask for less per "
        f"request (a smaller batch_size)"
    )


@pytest.mark.parametrize("cls", [NIMEmbedder, OllamaEmbedder])
def test_the_refusal_of_a_long_answer_does_not_quote_a_token_of_the_url(cls):
    with FakeNIM() as server:
        server.then(200, Flood(MAX_RESPONSE_BYTES + 1, withhold=True))
        embedder = cls(api_key="k", base_url=f"{server.url}/?token=SECRET42", max_retries=0)
        with pytest.raises(MalformedResponseError, match="announced an answer") as info:
            embedder.embed("hello")
    assert "SECRET42" not in str(info.value) and "token=****" in str(info.value)


@pytest.mark.parametrize("framing", FRAMINGS)
def test_an_endless_answer_is_cut_off_at_the_limit_and_never_held_whole(framing):
    """256 MiB offered with a Content-Length, chunked, or until the connection closes: the
    client refuses it at 64 KiB, so the server cannot even send most of it, and the memory the
    client used stays far below what was offered."""
    with FakeOllama() as server:
        client = JSONClient(server.url, "Ollama", max_retries=0, max_response_bytes=64 * 1024)
        client.post("/api/embed", {"model": "nomic-embed-text", "input": ["imports done"]})
        flood = Flood(256 * 1024 * 1024, framing, start=b'{"embeddings": [[')
        server.then(200, flood)
        tracemalloc.start()
        try:
            with pytest.raises(MalformedResponseError) as info:
                client.post("/api/embed", {"model": "m", "input": ["hello"]})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    said = (
        "announced an answer of 268,435,456 bytes, more"
        if framing == "length"
        else "sent an answer longer"
    )
    assert str(info.value) == (
        f"Ollama at {server.url}/api/embed {said} than the 64 KiB an answer may have; check "
        f"that the base URL is the Ollama API, or ask for less per request (a smaller "
        f"batch_size)"
    )
    assert peak < 2 * 1024 * 1024
    assert flood.sent < flood.size // 4


@pytest.mark.parametrize("framing", FRAMINGS)
def test_an_answer_of_exactly_the_limit_is_read_and_one_byte_more_is_not(framing):
    start = b'{"embeddings": [[0.5, 1.5]]}'
    with FakeOllama() as server:
        client = JSONClient(server.url, "Ollama", max_retries=0, max_response_bytes=100_000)
        server.then(200, Flood(100_000, framing, start=start, piece=4096))
        assert client.post("/api/embed", {}) == {"embeddings": [[0.5, 1.5]]}
        server.then(200, Flood(100_001, framing, start=start, piece=4096))
        with pytest.raises(MalformedResponseError, match="than the 100,000 bytes an answer"):
            client.post("/api/embed", {})


@pytest.mark.parametrize("framing", FRAMINGS)
def test_a_huge_error_answer_gives_the_usual_message_from_its_first_bytes(api, framing):
    server, make = api
    flood = Flood(256 * 1024 * 1024, framing, start=b'{"error": "input too long"}')
    server.then(400, flood)
    with pytest.raises(APIError) as info:
        make(max_retries=0).embed("hello")
    assert str(info.value).endswith("refused the request (HTTP 400: input too long)")
    assert info.value.status == 400
    assert flood.sent < flood.size // 4


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_an_answer_of_no_announced_length_dripping_in_still_ends_at_the_timeout(api, framing):
    """The answer is read a piece at a time; every read gets only what is left of the
    timeout, as the single read did."""
    server, make = api
    server.then(200, Flood(10_000, framing, piece=1, pause=0.05))
    start = time.perf_counter()
    with pytest.raises(UnreachableError, match="timed out"):
        make(timeout=0.25, max_retries=0).embed("hello")
    assert time.perf_counter() - start < 1.25


@pytest.mark.parametrize("value", [0, -1, True, "1000", 1.5])
def test_the_answer_limit_is_checked_when_the_client_is_built(value):
    with pytest.raises(ValueError, match="^max_response_bytes must be a positive integer"):
        JSONClient("http://127.0.0.1:1", "Ollama", max_response_bytes=value)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_answer_broken_off_is_retried_then_named_as_unreachable(api, framing):
    """A server that hangs up before the end its framing promised: the client tries again,
    then says it could not reach the service; no http.client exception leaks out."""
    server, make = api
    for _ in range(2):
        server.then(200, Flood(100_000, framing, start=b'{"embeddings": [[', cut=5_000))
    embedder = make(max_retries=1)
    with pytest.raises(UnreachableError) as info:
        embedder.embed("hello")
    message = str(info.value)
    assert message.startswith(f"Cannot reach {embedder.service} at {server.url}/")
    assert (
        "the answer broke off 95,000 bytes before its end"
        if framing == "length"
        else "IncompleteRead"
    ) in message and "\n" not in message
    assert message.endswith("check the base URL and that the server is running")


@pytest.mark.parametrize(
    "status, body",
    [
        (401, {"error": "invalid key sk-echoed-9f8e7d6c5b4a"}),
        (400, {"detail": "Authorization 'Bearer sk-echoed-9f8e7d6c5b4a' is malformed"}),
        (200, Flood(60, start=b"not json: your key was sk-echoed-9f8e7d6c5b4a")),
    ],
)
def test_an_answer_echoing_the_api_key_never_shows_it(status, body):
    """A server may quote the key it got back in its answer; the error quoting that answer
    says **** instead."""
    with FakeNIM() as server:
        server.then(status, body)
        embedder = NIMEmbedder(api_key="sk-echoed-9f8e7d6c5b4a", base_url=server.url, max_retries=0)
        with pytest.raises(APIError) as info:
            embedder.embed("hello")
    assert "sk-echoed-9f8e7d6c5b4a" not in str(info.value)
    assert "****" in str(info.value)
