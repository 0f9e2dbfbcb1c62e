"""omi.Memory, the host: real SQLite files, real handlers, real loopback embedding servers."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import plugin_sources as src
import pytest
from fake_servers import FakeNIM, FakeOllama, closed_port_url
from handlers import Gated
from run_omi import omi as omi_cli
from run_omi import omi_process

import omi
from omi.builtin.ollama import OllamaEmbedder
from omi.builtin.sqlite import SQLiteBackend
from omi.config import Config, ConfigError, load_config
from omi.events import EVENT_TYPES, EventHandler
from omi.host import MAX_RECALL_LIMIT, Memory
from omi.jsonvalues import MAX_JSON_DEPTH

ISO_TIMESTAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$"


class Recorder(EventHandler):
    interface_version = "1.0"

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.closed = False

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        self.events.append((event_type, event_data))

    def close(self) -> None:
        self.closed = True

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [data for kind, data in self.events if kind == event_type]


class Exploding(EventHandler):
    interface_version = "1.0"

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        raise ConnectionError("webhook down")


class Vandal(EventHandler):
    interface_version = "1.0"

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        event_data.clear()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "memories.db"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def memory(db: Path, recorder: Recorder):
    with Memory(SQLiteBackend(db), handlers={"recorder": recorder}) as host:
        yield host


def without_timestamp(data: dict[str, Any]) -> dict[str, Any]:
    assert data["timestamp"]
    return {key: value for key, value in data.items() if key != "timestamp"}


# --- store, recall, link --------------------------------------------------------------------


def test_store_and_recall_on_a_real_file_that_survives_reopening(db):
    with Memory(SQLiteBackend(db)) as memory:
        first = memory.store("the deploy key rotates on mondays", {"source": "ops"})
        memory.store("ada prefers short answers")
        results = memory.recall("deploy key")
    assert [r["id"] for r in results] == [first]
    assert results[0]["content"] == "the deploy key rotates on mondays"
    assert results[0]["metadata"] == {"source": "ops"}
    with Memory(SQLiteBackend(db)) as reopened:
        assert [r["id"] for r in reopened.recall("deploy")] == [first]
        assert len(reopened.recall("", limit=10)) == 2


def test_default_storage_is_sqlite_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with Memory() as memory:
        memory.store("kept by default")
        assert memory.storage.path == tmp_path / "data" / "omi" / "memories.db"
    assert (tmp_path / "data" / "omi" / "memories.db").exists()


def test_link_records_edges_and_checks_both_ids(memory):
    a, b = memory.store("first"), memory.store("second")
    memory.link(a, b, "supports")
    assert memory.storage.edges(a) == [{"from_id": a, "to_id": b, "edge_type": "supports"}]
    with pytest.raises(ValueError, match="Unknown memory id 'nope'"):
        memory.link(a, "nope", "supports")


@pytest.mark.parametrize(
    "content, metadata, error, message",
    [
        ("", None, ValueError, "content must be a non-empty string"),
        ("   ", None, ValueError, "content must be a non-empty string"),
        (None, None, ValueError, "content must be a non-empty string"),
        ("ok", ["not", "a", "dict"], TypeError, "metadata must be a dict, got list"),
        ("ok", {"when": object()}, ValueError, "memory must be JSON-serialisable"),
        (
            "ok",
            {1: "x"},
            ValueError,
            r"metadata has the key 1 \(int\); JSON keys are strings, "
            r"e.g. '1'",
        ),
        (
            "ok",
            {"a": [{"b": {(1, 2): "x"}}]},
            ValueError,
            r"metadata\['a'\]\[0\]\['b'\] has the key "
            r"\(1, 2\) \(tuple\)",
        ),
        (
            "ok",
            {"a": [0.5, float("nan")]},
            ValueError,
            r"metadata\['a'\]\[1\] is nan, which JSON "
            r"cannot hold; use a finite number or None",
        ),
        ("ok", {"a": float("-inf")}, ValueError, r"metadata\['a'\] is -inf"),
        ("ok", {"a": {1, 2}}, ValueError, r"metadata\['a'\] has type set, which JSON cannot hold"),
        ("ok", {"a": [b"raw"]}, ValueError, r"metadata\['a'\]\[0\] has type bytes"),
        (
            "ok",
            {"deep": json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))},
            ValueError,
            rf"metadata\['deep'\](\[0\]){{{MAX_JSON_DEPTH - 1}}} nests more than "
            rf"{MAX_JSON_DEPTH} levels deep; flatten it",
        ),
        (
            "bad \udcff\udcfe",
            None,
            ValueError,
            r"content is not valid UTF-8 text: lone surrogate "
            r"U\+DCFF at index 4; decode bytes with errors='strict' or 'replace'",
        ),
        ("ok", {"a": ["\ud800"]}, ValueError, r"metadata\['a'\]\[0\] is not valid UTF-8 text"),
        ("ok", {"k\udcff": 1}, ValueError, r"the key of metadata\['k\\udcff'\] is not valid UTF-8"),
    ],
)
def test_bad_store_input_is_rejected_and_nothing_is_stored(
    memory, recorder, content, metadata, error, message
):
    with pytest.raises(error, match=message):
        memory.store(content, metadata)
    assert memory.storage.count() == 0
    assert recorder.events == []


@pytest.mark.parametrize("limit", [-1, 1.5, True, "3", MAX_RECALL_LIMIT + 1, 10**23])
def test_bad_limits_are_rejected(memory, limit):
    with pytest.raises(ValueError, match="limit must be a non-negative integer"):
        memory.recall("x", limit)


def test_the_largest_limit_works_also_with_an_embedder(db):
    """The embedder asks the backend for RERANK_POOL x limit candidates, beyond the host's
    bound: the backend takes that."""
    with (
        FakeOllama() as server,
        Memory(SQLiteBackend(db), embedder=OllamaEmbedder(base_url=server.url)) as memory,
    ):
        memory.store("one note")
        assert len(memory.recall("note", MAX_RECALL_LIMIT)) == 1


def test_a_query_that_is_not_valid_unicode_is_named(memory, recorder):
    with pytest.raises(
        ValueError,
        match=r"^query is not valid UTF-8 text: lone surrogate "
        r"U\+DCFF at index 1",
    ):
        memory.recall("x\udcff")
    assert recorder.events == []


def test_session_metadata_must_be_json_data(memory, recorder):
    with pytest.raises(
        ValueError,
        match=r"session metadata must be JSON-serialisable: "
        r"metadata\['agent'\] has type set",
    ):
        with memory.session(metadata={"agent": {"claw"}}):
            pass  # pragma: no cover
    assert recorder.events == []


def test_a_query_must_be_text(memory):
    with pytest.raises(TypeError, match="query must be a str, got NoneType"):
        memory.recall(None)


def test_storage_and_embedder_types_are_checked(db):
    with pytest.raises(TypeError, match="storage must be an omi.storage.StorageBackend, got str"):
        Memory(str(db))
    with pytest.raises(TypeError, match="embedder must be an omi.embeddings.EmbeddingProvider"):
        Memory(SQLiteBackend(db), embedder=lambda text: [1.0])


def test_a_closed_memory_refuses_work_and_close_is_idempotent(db, recorder):
    memory = Memory(SQLiteBackend(db), handlers=[recorder])
    memory.close()
    memory.close()
    assert recorder.closed
    for call in (
        lambda: memory.store("x"),
        lambda: memory.recall("x"),
        lambda: memory.emit("belief.updated", {}),
        lambda: memory.session().__enter__(),
    ):
        with pytest.raises(RuntimeError, match="this Memory is closed; create a new one"):
            call()


def test_omi_memory_is_exported_lazily():
    code = (
        "import sys, omi; assert 'omi.host' not in sys.modules; "
        "assert 'sqlite3' not in sys.modules; from omi import Memory; "
        "assert Memory.__module__ == 'omi.host'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert omi.Memory is Memory
    with pytest.raises(AttributeError, match="module 'omi' has no attribute 'Nope'"):
        omi.Nope  # noqa: B018


# --- events ---------------------------------------------------------------------------------


def test_store_and_recall_emit_the_documented_payloads(memory, recorder):
    memory_id = memory.store("buy milk", {"list": "shopping"})
    results = memory.recall("milk", limit=5)
    stored, recalled = recorder.of("memory.stored"), recorder.of("memory.recalled")
    assert without_timestamp(stored[0]) == {
        "id": memory_id,
        "content": "buy milk",
        "metadata": {"list": "shopping"},
        "session_id": None,
        "embedding_model": None,
    }
    assert without_timestamp(recalled[0]) == {
        "query": "milk",
        "limit": 5,
        "session_id": None,
        "results": [
            {
                "id": memory_id,
                "content": "buy milk",
                "metadata": {"list": "shopping"},
                "score": results[0]["score"],
            }
        ],
    }
    assert stored[0]["timestamp"] < recalled[0]["timestamp"]
    import re

    assert re.match(ISO_TIMESTAMP, stored[0]["timestamp"])


def test_a_session_emits_start_and_end_and_tags_its_memories(memory, recorder):
    with memory.session("s-1", {"agent": "claw"}) as session:
        memory_id = memory.store("inside the session")
        memory.recall("inside")
        memory.recall("session")
    assert session.id == "s-1"
    assert recorder.of("memory.stored")[0]["id"] == memory_id
    assert [kind for kind, _ in recorder.events] == [
        "session.started",
        "memory.stored",
        "memory.recalled",
        "memory.recalled",
        "session.ended",
    ]
    assert without_timestamp(recorder.of("session.started")[0]) == {
        "session_id": "s-1",
        "metadata": {"agent": "claw"},
    }
    ended = without_timestamp(recorder.of("session.ended")[0])
    assert ended.pop("duration_seconds") >= 0
    assert ended == {
        "session_id": "s-1",
        "metadata": {"agent": "claw"},
        "memories_stored": 1,
        "recalls": 2,
        "error": None,
    }
    assert recorder.of("memory.stored")[0]["session_id"] == "s-1"
    assert memory.recall("inside")[0]["session_id"] == "s-1"  # kept with the memory
    assert (
        memory.store("after the session") and recorder.of("memory.stored")[1]["session_id"] is None
    )


def test_a_session_that_raises_reports_the_error_and_re_raises(memory, recorder):
    with pytest.raises(KeyError):
        with memory.session() as session:
            raise KeyError("lost")
    ended = recorder.of("session.ended")[0]
    assert ended["session_id"] == session.id and len(session.id) == 32
    assert ended["error"] == "KeyError: 'lost'"


def test_sessions_nest_and_belong_to_their_own_memory(memory, recorder, tmp_path):
    other_recorder = Recorder()
    with Memory(SQLiteBackend(tmp_path / "other.db"), handlers=[other_recorder]) as other:
        with memory.session("outer"):
            with memory.session("inner"):
                memory.store("in inner")
                other.store("not in any session of its own")
            memory.store("in outer")
    assert [d["session_id"] for d in recorder.of("memory.stored")] == ["inner", "outer"]
    assert other_recorder.of("memory.stored")[0]["session_id"] is None


def test_sessions_are_per_thread(memory, recorder):
    seen = {}

    def worker() -> None:
        seen["id"] = memory.store("from another thread")

    with memory.session("main-only"):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    by_id = {d["id"]: d["session_id"] for d in recorder.of("memory.stored")}
    assert by_id[seen["id"]] is None


def test_emit_for_the_rest_of_omi(memory, recorder):
    memory.emit("checkpoint.created", {"checkpoint_id": "c1"})
    memory.emit(
        "belief.updated",
        {"belief": "b", "confidence": 0.9, "timestamp": "2026-01-01T00:00:00+00:00"},
    )
    assert recorder.of("checkpoint.created")[0]["checkpoint_id"] == "c1"
    assert recorder.of("belief.updated")[0]["timestamp"] == "2026-01-01T00:00:00+00:00"
    with pytest.raises(ValueError) as info:
        memory.emit("memory.deleted", {})
    assert str(info.value) == (
        "Unknown event type 'memory.deleted'; OMI's event types are: " + ", ".join(EVENT_TYPES)
    )
    with pytest.raises(TypeError, match="event data must be a dict, got list"):
        memory.emit("belief.updated", [])
    assert len(recorder.events) == 2


def test_a_failing_handler_never_loses_the_memory_nor_stops_the_others(db, recorder, caplog):
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        with Memory(
            SQLiteBackend(db),
            handlers={"webhook": Exploding(), "vandal": Vandal(), "recorder": recorder},
        ) as memory:
            memory_id = memory.store("must survive")
            assert [r["id"] for r in memory.recall("survive")] == [memory_id]
    assert recorder.of("memory.stored")[0]["content"] == "must survive"
    assert (
        "Event handler 'webhook' failed on memory.stored; the memory is kept and the "
        "other handlers still get the event"
    ) in caplog.messages


def test_background_dispatch_is_flushed_on_close(db, recorder):
    with Memory(SQLiteBackend(db), handlers=[recorder], background=True, queue_size=10) as m:
        for n in range(100):
            m.store(f"memory number {n}")
    assert [d["content"] for d in recorder.of("memory.stored")] == [
        f"memory number {n}" for n in range(100)
    ]


def test_a_closed_handler_is_never_called_even_when_close_times_out(db, caplog):
    class SlowAndStrict(Recorder):
        """Slow, and counts every call made after its close()."""

        calls_after_close = 0

        def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
            self.calls_after_close += self.closed
            time.sleep(0.01)

    handler = SlowAndStrict()
    memory = Memory(
        SQLiteBackend(db), handlers={"slow": handler}, background=True, close_timeout=0.1
    )
    for n in range(100):
        memory.store(f"memory number {n}")
    with caplog.at_level(logging.ERROR, logger="omi.events"):
        memory.close()
    time.sleep(0.5)
    assert handler.closed and handler.calls_after_close == 0
    lost = memory.dispatcher.undelivered
    assert 0 < lost < 100
    assert caplog.messages[0].startswith(
        f"{lost - 1} queued events and the one in progress were NOT delivered"
    )


def test_many_threads_share_one_memory(memory, recorder):
    def worker(index: int) -> None:
        for n in range(25):
            memory.store(f"thread{index} item{n}")
            memory.recall(f"thread{index}", limit=3)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert memory.storage.count() == 150
    assert len(recorder.of("memory.stored")) == 150
    assert len(memory.recall("thread3", limit=100)) == 25


# --- with an embedder -----------------------------------------------------------------------


def test_store_embeds_and_recall_orders_by_similarity(db):
    with FakeOllama(dimension=32) as server:
        embedder = OllamaEmbedder(base_url=server.url, backoff=0.0)
        with Memory(SQLiteBackend(db), embedder=embedder) as memory:
            short = memory.store("apples")
            long = memory.store("apples pears plums figs kiwis")
            memory.store("cars")  # a third memory, so that 'pears' weighs in full-text ranking
            stored = memory.storage.recall("plums")[0]
            assert stored["embedding"] == pytest.approx(embedder.embed(stored["content"]))
            assert stored["embedding_model"] == "nomic-embed-text"
            lexical = memory.storage.recall("apples apples pears")
            results = memory.recall("apples apples pears", limit=2)
        texts = [r["body"]["input"] for r in server.requests]
    assert [r["id"] for r in lexical] == [long, short]  # full text favours the longer match
    assert [r["id"] for r in results] == [short, long]  # the vectors say otherwise
    assert results[0]["similarity"] > results[1]["similarity"] > 0
    assert ["apples apples pears"] in texts


def test_memories_without_a_comparable_vector_come_after(db):
    with Memory(SQLiteBackend(db)) as plain:
        old = plain.store("apples stored before any embedder")
    with FakeOllama() as server:
        with Memory(SQLiteBackend(db), OllamaEmbedder(base_url=server.url)) as memory:
            new = memory.store("apples with a vector")
            results = memory.recall("apples")
    assert [r["id"] for r in results] == [new, old]
    assert results[1]["similarity"] is None


def test_an_unreachable_embedder_stores_nothing(db, recorder):
    embedder = OllamaEmbedder(base_url=closed_port_url(), max_retries=0)
    with Memory(SQLiteBackend(db), embedder=embedder, handlers=[recorder]) as memory:
        with pytest.raises(Exception, match="Cannot reach Ollama"):
            memory.store("needs a vector")
        assert memory.storage.count() == 0
    assert recorder.events == []


# --- from config ----------------------------------------------------------------------------


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_from_config_wires_a_real_nim_server_with_key_and_url_from_the_environment(
    tmp_path, monkeypatch, db
):
    with FakeNIM() as server:
        monkeypatch.setenv("NVIDIA_API_KEY", "nim-test-key")
        monkeypatch.setenv("NIM_BASE_URL", server.url)
        config = write_config(
            tmp_path / "omi.yaml",
            f"embedding: {{provider: nim, batch_size: 4}}\n"
            f"storage: {{backend: sqlite, path: '{db}'}}\n",
        )
        with Memory.from_config(config) as memory:
            memory.store("configured by yaml")
        assert server.requests[0]["headers"]["Authorization"] == "Bearer nim-test-key"
    with Memory(SQLiteBackend(db)) as plain:
        assert len(plain.recall("yaml")[0]["embedding"]) == server.dimension


def test_from_config_with_explicit_key_and_url(tmp_path, db, monkeypatch):
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    with FakeNIM(api_key="from-config") as server:
        monkeypatch.setenv("MY_NIM_KEY", "from-config")
        config = write_config(
            tmp_path / "omi.yaml",
            "embedding:\n  provider: nim\n  api_key: ${MY_NIM_KEY}\n"
            f"  base_url: {server.url}\n"
            f"storage: {{backend: sqlite, path: '{db}'}}\n",
        )
        with Memory.from_config(str(config)) as memory:
            memory.store("keyed")
        assert server.requests[0]["headers"]["Authorization"] == "Bearer from-config"


def with_bad_dispatch(path: Path) -> Config:
    """The config at `path` with a dispatch option that only the Dispatcher refuses: a file
    could not carry it, since load_config checks the options before anything is built."""
    config = load_config(path)
    config.dispatch = {"queue_size": 0}
    return config


def test_bad_dispatch_options_in_config_name_the_file_and_close_storage(tmp_path, db):
    config = write_config(tmp_path / "omi.yaml", f"storage: {{backend: sqlite, path: '{db}'}}\n")
    with pytest.raises(ConfigError) as info:
        Memory.from_config(with_bad_dispatch(config))
    assert str(info.value) == (f"{config}: events: queue_size must be a positive integer, got 0")
    assert db.exists() and not Path(f"{db}-wal").exists()  # SQLite removes it on close


@pytest.mark.parametrize(
    "options, problem",
    [
        ("{queue_size: 0}", "events: queue_size must be a positive integer, got 0"),
        ("{close_timeout: .inf}", "events: close_timeout must be at most 3,600 seconds, got inf"),
        (
            "{put_timeout: 1.0e+300}",
            "events: put_timeout must be at most 3,600 seconds, got 1e+300",
        ),
        (
            "{put_timeout: 1e300}",
            "events.put_timeout must be a number in plain digits, not a "
            "string; write it without quotes",
        ),
        (
            "{slow_handler_seconds: .nan}",
            "events: slow_handler_seconds must be a number of seconds above 0, got nan",
        ),
        ("{close_timeout: -1}", "events: close_timeout must be a number of seconds above 0"),
        ("{put_timeout: 0}", "events: put_timeout must be a number of seconds above 0, got 0"),
        ("{queue_size: 1000001}", "events: queue_size must be at most 1,000,000, got 1000001"),
        ('{background: "${FLAG:-yes}"}', "events.background must be true or false, not a string"),
    ],
)
def test_bad_dispatch_options_are_refused_when_the_file_is_read(tmp_path, db, options, problem):
    """Before, `close_timeout: .inf` passed the checks and overflowed inside close(): `omi
    store` stored the memory and then exited 1, which promises that nothing was stored."""
    config = write_config(
        tmp_path / "omi.yaml", f"storage: {{backend: sqlite, path: '{db}'}}\nevents: {options}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(info.value).startswith(f"{config}: {problem}")
    result = omi_cli("store", "kept?", "--config", str(config))
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"Error: {info.value}\n")
    assert not db.exists()  # nothing was built, so nothing was stored


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli_config(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("OMI_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return write_config(
        tmp_path / "test.yaml", f"storage: {{backend: sqlite, path: '{tmp_path / 'cli.db'}'}}\n"
    )


def test_cli_store_then_recall(cli_config):
    stored = omi_cli(
        "store",
        "the deploy key rotates on mondays",
        "--meta",
        "source=ops",
        "--meta",
        "team=infra",
        "--config",
        str(cli_config),
    )
    assert stored.returncode == 0, stored.stderr
    memory_id = stored.stdout.strip()
    assert len(memory_id) == 32
    omi_cli("store", "ada prefers short answers", "--config", str(cli_config))
    result = omi_cli("recall", "deploy key", "--config", str(cli_config))
    assert result.returncode == 0
    assert result.stdout == (
        f" 1. {memory_id}  the deploy key rotates on mondays  [source=ops team=infra]\n"
    )
    empty = omi_cli("recall", "zebra", "--config", str(cli_config))
    assert empty.returncode == 0 and empty.stdout == "No memories match 'zebra'.\n"


def test_cli_recall_json_and_limit(cli_config):
    for n in range(4):
        omi_cli("store", f"note {n} about tea", "--config", str(cli_config))
    document = json.loads(
        omi_cli(
            "recall", "tea", "--limit", "3", "--format", "json", "--config", str(cli_config)
        ).stdout
    )
    assert document["schema"] == "omi.recall/1"
    assert document["query"] == "tea" and document["limit"] == 3
    assert len(document["results"]) == 3
    assert set(document["results"][0]) == {"id", "content", "metadata", "score"}


def test_cli_uses_omi_config_and_never_prints_embeddings(tmp_path, monkeypatch, db):
    with FakeOllama() as server:
        config = write_config(
            tmp_path / "env.yaml",
            f"embedding: {{provider: ollama, base_url: '{server.url}'}}\n"
            f"storage: {{backend: sqlite, path: '{db}'}}\n",
        )
        monkeypatch.setenv("OMI_CONFIG", str(config))
        assert omi_cli("store", "vectors stay inside").returncode == 0
        document = json.loads(omi_cli("recall", "vectors", "--format", "json").stdout)
    (item,) = document["results"]
    assert "embedding" not in item and item["similarity"] == pytest.approx(3**-0.5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["store", ""], 'Error: TEXT is empty; give the memory\'s text, e.g. omi store "..."'),
        (
            ["store", "x", "--meta", "novalue"],
            "Error: --meta takes KEY=VALUE, got 'novalue'; e.g. --meta source=cli",
        ),
        (["store", "x", "--meta", "=v"], "Error: --meta takes KEY=VALUE, got '=v'"),
        (
            ["store", "x", "--config", "missing.yaml"],
            "Error: --config names missing.yaml, which is not a file; fix the path or create the file",
        ),
        (
            ["recall", "x", "--config", "bad.yaml"],
            "Error: bad.yaml: unknown top-level key 'embeddings' (did you mean 'embedding'?)",
        ),
    ],
)
def test_cli_usage_errors_exit_2_with_one_line(cli_config, args, message):
    write_config(Path("bad.yaml"), "embeddings: {provider: nim}\n")
    result = omi_cli(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_cli_limit_must_be_positive(cli_config):
    result = omi_cli("recall", "x", "--limit", "0", "--config", str(cli_config))
    assert result.returncode == 2 and "Invalid value for '--limit'" in result.stderr


def test_cli_operation_failure_exits_1_and_stores_nothing(tmp_path, db):
    config = write_config(
        tmp_path / "down.yaml",
        f"embedding: {{provider: ollama, base_url: '{closed_port_url()}', "
        f"max_retries: 0}}\nstorage: {{backend: sqlite, path: '{db}'}}\n",
    )
    result = omi_cli("store", "x", "--config", str(config))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: Cannot reach Ollama at http://127.0.0.1:")
    with Memory(SQLiteBackend(db)) as memory:
        assert memory.storage.count() == 0


def test_the_installed_script_stores_and_recalls(tmp_path, monkeypatch):
    monkeypatch.delenv("OMI_CONFIG", raising=False)
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    stored = omi_process("store", "written by the real script", cwd=tmp_path, **env)
    assert stored.returncode == 0, stored.stderr
    recalled = omi_process("recall", "script", "--format", "json", cwd=tmp_path, **env)
    assert json.loads(recalled.stdout)["results"][0]["id"] == stored.stdout.strip()
    assert (tmp_path / "data" / "omi" / "memories.db").exists()


def test_cli_output_is_only_the_id_even_when_a_handler_prints(tmp_path, make_dist):
    make_dist(
        "omi-event-chatty",
        entry_points={"omi.event_handlers": {"chatty": "chatty_handler:Chatty"}},
        files={
            "chatty_handler.py": "from omi.events import EventHandler\n\n"
            "class Chatty(EventHandler):\n    interface_version = '1.0'\n\n"
            "    def handle(self, event_type, event_data):\n"
            "        print('handled', event_type)\n"
        },
    )
    config = write_config(
        tmp_path / "chatty.yaml",
        f"storage: {{backend: sqlite, path: '{tmp_path / 'c.db'}'}}\n"
        f"events: {{handlers: [chatty]}}\n",
    )
    stored = omi_cli("store", "quiet please", "--config", str(config))
    assert stored.returncode == 0, stored.stderr
    assert len(stored.stdout.strip()) == 32 and "handled memory.stored" in stored.stderr
    recalled = omi_cli("recall", "quiet", "--format", "json", "--config", str(config))
    assert json.loads(recalled.stdout)["results"][0]["id"] == stored.stdout.strip()
    assert "handled memory.recalled" in recalled.stderr


def test_bad_dispatch_options_close_the_embedder_too(tmp_path, db, make_dist):
    closing = src.embedder("Closing") + (
        "\n    def close(self):\n        import pathlib\n"
        f"        pathlib.Path({str(tmp_path / 'closed')!r}).write_text('yes')\n"
    )
    make_dist(
        "omi-embedding-closing",
        entry_points={"omi.embedding_providers": {"closing": "closing_mod:Closing"}},
        files={"closing_mod.py": closing},
    )
    config = write_config(
        tmp_path / "omi.yaml",
        f"embedding: {{provider: closing}}\nstorage: {{backend: sqlite, path: '{db}'}}\n",
    )
    with pytest.raises(ConfigError, match="queue_size must be a positive integer"):
        Memory.from_config(with_bad_dispatch(config))
    assert (tmp_path / "closed").read_text() == "yes"


def test_default_storage_that_cannot_open_leaves_no_event_thread(tmp_path, monkeypatch, recorder):
    (tmp_path / "not-a-dir").write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "not-a-dir"))
    before = set(threading.enumerate())
    with pytest.raises(ValueError, match="Cannot open the SQLite database"):
        Memory(handlers=[recorder], background=True)
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


def test_cli_recall_escapes_what_other_programs_stored(cli_config, tmp_path):
    """The CLI refuses control characters, but the Python API stores any text: recall shows
    them escaped rather than letting a memory drive the terminal."""
    with Memory(SQLiteBackend(tmp_path / "cli.db")) as memory:
        memory_id = memory.store("red \x1b[31m alert\x9b2J", {"from\x07": "api\x1b]0;x\x07"})
    result = omi_cli("recall", "alert", "--config", str(cli_config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f" 1. {memory_id}  red \\x1b[31m alert\\x9b2J  [from\\x07=api\\x1b]0;x\\x07]\n"
    )


@pytest.mark.parametrize(
    "background",
    [False, pytest.param(True, marks=pytest.mark.slow)],  # a second each
)
def test_memory_close_never_closes_a_handler_during_another_threads_handle(tmp_path, background):
    handler = Gated()
    memory = Memory(
        SQLiteBackend(tmp_path / "m.db"),
        handlers={"in-call": handler},
        background=background,
        close_timeout=1,
    )
    storing = threading.Thread(target=memory.store, args=("hello",))
    storing.start()
    assert handler.entered.wait(5)
    memory.close()  # gives up after 1 s: the handler is still in its call
    assert handler.log == ["handle"]
    handler.release.set()
    storing.join(5)
    deadline = time.monotonic() + 5
    while handler.log[-1] != "close" and time.monotonic() < deadline:
        time.sleep(0.01)  # the background thread closes it as its call returns
    assert handler.log == ["handle", "returned", "close"]
    assert memory.dispatcher.undelivered == 1
