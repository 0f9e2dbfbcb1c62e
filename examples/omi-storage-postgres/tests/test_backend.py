"""Unit tests for PostgresBackend, on a real PostgreSQL server."""

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Set, Tuple, Type

import psycopg
import pytest
from omi.storage import StorageBackend
from psycopg.rows import TupleRow

from omi_storage_postgres.backend import PostgresBackend

#: The conftest fixtures' types: a direct connection (`sql`), a backend builder (`make_backend`).
Connection = psycopg.Connection[TupleRow]
MakeBackend = Callable[..., PostgresBackend]


def value(sql: Connection, query: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the one row `query` returns."""
    row = sql.execute(query, params).fetchone()
    assert row is not None, f"no row from {query}"
    return row[0]


def schemas(sql: Connection, name: str) -> int:
    count: int = value(sql, "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (name,))
    return count


def test_plugin_interface() -> None:
    assert issubclass(PostgresBackend, StorageBackend)
    assert PostgresBackend.interface_version == "1.0"
    assert "persistent" in PostgresBackend.conformance_capabilities


# --- store and recall -------------------------------------------------------------------------

def test_store_and_recall_round_trip(backend: PostgresBackend) -> None:
    memory = {"content": "The user prefers green tea", "metadata": {"a": 1, "tags": ["x"]},
              "embedding": [0.5, -1.0, 2.0]}
    memory_id = backend.store_memory(memory)
    [found] = backend.recall("green tea")
    assert found["id"] == memory_id
    assert found["content"] == memory["content"]
    assert found["metadata"] == {"a": 1, "tags": ["x"]}
    assert found["embedding"] == [0.5, -1.0, 2.0]
    assert found["score"] > 0


def test_schema_is_created_on_first_use(make_backend: MakeBackend, sql: Connection,
                                        fresh_schema: str) -> None:
    backend = make_backend()
    assert schemas(sql, fresh_schema) == 0, "constructing a backend must not write anything"
    backend.store_memory({"content": "first"})
    assert schemas(sql, fresh_schema) == 1
    tables = {row[0] for row in sql.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
        (fresh_schema,))}
    assert tables == {"memories", "edges", "omi_layout"}


def test_recall_ranks_by_ts_rank_and_matches_any_word(backend: PostgresBackend) -> None:
    one_word = backend.store_memory({"content": "tea"})
    both_words = backend.store_memory({"content": "green tea at noon"})
    other = backend.store_memory({"content": "green walls"})
    results = backend.recall("green tea")
    assert [r["id"] for r in results][0] == both_words
    assert {r["id"] for r in results} == {one_word, both_words, other}
    assert results[0]["score"] > results[-1]["score"]


def test_recall_uses_the_language_stemmer(backend: PostgresBackend) -> None:
    memory_id = backend.store_memory({"content": "She was running marathons"})
    assert [r["id"] for r in backend.recall("runs marathon")] == [memory_id]


def test_recall_honours_limit_and_breaks_ties_newest_first(backend: PostgresBackend) -> None:
    ids = [backend.store_memory({"content": f"tea number {n}"}) for n in range(5)]
    assert backend.recall("tea", limit=0) == []
    assert [r["id"] for r in backend.recall("tea", limit=2)] == ids[:-3:-1]
    assert len(backend.recall("tea", limit=50)) == 5


def test_empty_query_returns_the_newest(backend: PostgresBackend) -> None:
    first = backend.store_memory({"content": "first"})
    second = backend.store_memory({"content": "second"})
    assert [(r["id"], r["score"]) for r in backend.recall("  ")] == [(second, 0.0), (first, 0.0)]


def test_queries_that_could_be_tsquery_syntax_are_plain_words(backend: PostgresBackend) -> None:
    memory_id = backend.store_memory({"content": "cats & dogs | birds"})
    for query in ("cats & dogs", "!dogs", "birds:*", "(cats", "'dogs'", "a | | b"):
        results = backend.recall(query)
        assert isinstance(results, list)
    assert [r["id"] for r in backend.recall("(cats")] == [memory_id]
    assert backend.recall("the and of") == []  # only stop words: nothing to match


@pytest.mark.parametrize("query, limit, error", [
    (None, 10, TypeError), (b"tea", 10, TypeError),
    ("tea", -1, ValueError), ("tea", 1.5, ValueError), ("tea", True, ValueError),
])
def test_recall_rejects_bad_arguments(backend: PostgresBackend, query: Any, limit: Any,
                                      error: Type[Exception]) -> None:
    with pytest.raises(error, match="query|limit"):
        backend.recall(query, limit=limit)


@pytest.mark.parametrize("memory, message", [
    ("just text", "must be a dict"),
    ({"metadata": {}}, r"\['content'\] must be a non-empty string"),
    ({"content": "   "}, r"\['content'\] must be a non-empty string"),
    ({"content": "x", "metadata": {1, 2}}, "JSON-serialisable"),
    ({"content": "x", "score": float("nan")}, "JSON-serialisable"),
    ({"content": "nul \x00 inside"}, "NUL character"),
    ({"content": "x", "metadata": {"k": "a\x00b"}}, "NUL character"),
    ({"content": "x", "embedding": []}, "non-empty list of numbers"),
    ({"content": "x", "embedding": "0.1 0.2"}, "non-empty list of numbers"),
    ({"content": "x", "embedding": [0.1, float("inf")]}, "finite numbers"),
    ({"content": "x", "embedding": [0.1, "0.2"]}, "finite numbers"),
])
def test_store_rejects_bad_memories_and_stores_nothing(backend: PostgresBackend, memory: Any,
                                                       message: str) -> None:
    backend.store_memory({"content": "already here"})
    with pytest.raises((TypeError, ValueError), match=message):
        backend.store_memory(memory)
    assert backend.count() == 1


def test_store_does_not_keep_the_callers_id(backend: PostgresBackend) -> None:
    memory_id = backend.store_memory({"id": "mine", "content": "ids are the backend's"})
    assert memory_id != "mine"
    assert backend.recall("ids")[0]["id"] == memory_id


# --- transactions -----------------------------------------------------------------------------

def test_store_memories_is_one_transaction(backend: PostgresBackend, sql: Connection,
                                           fresh_schema: str) -> None:
    backend.store_memory({"content": "before"})  # creates the tables
    sql.execute(f"""
        CREATE FUNCTION "{fresh_schema}".refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.content LIKE '%poison%' THEN RAISE EXCEPTION 'poison refused'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_poison BEFORE INSERT ON "{fresh_schema}".memories
            FOR EACH ROW EXECUTE FUNCTION "{fresh_schema}".refuse_poison();
    """)
    batch = [{"content": "fine one"}, {"content": "fine two"}, {"content": "poison"}]
    with pytest.raises(RuntimeError, match="poison refused.*nothing was stored"):
        backend.store_memories(batch)
    assert backend.count() == 1
    assert backend.recall("fine") == []
    with pytest.raises(RuntimeError, match="refused to store the memory"):
        backend.store_memory({"content": "more poison"})
    assert backend.store_memories(batch[:2]) and backend.count() == 3


def test_store_memories_validates_every_memory_before_writing(backend: PostgresBackend) -> None:
    with pytest.raises(ValueError, match=r"memories\[2\]\['content'\]"):
        backend.store_memories([{"content": "a"}, {"content": "b"}, {"content": ""}])
    assert backend.count() == 0
    ids = backend.store_memories({"content": f"batch {n}"} for n in range(3))
    assert len(set(ids)) == 3 and backend.count() == 3
    assert backend.store_memories([]) == []


# --- edges ------------------------------------------------------------------------------------

def test_edges_link_stored_memories_once(backend: PostgresBackend) -> None:
    first = backend.store_memory({"content": "first"})
    second = backend.store_memory({"content": "second"})
    # Returning nothing is the interface's contract: checked at run time too.
    assert backend.add_edge(first, second, "related_to") is None  # type: ignore[func-returns-value]
    backend.add_edge(first, second, "related_to")  # a repeat is ignored
    backend.add_edge(first, second, "supports")
    assert backend.edges(first) == [
        {"from_id": first, "to_id": second, "edge_type": "related_to"},
        {"from_id": first, "to_id": second, "edge_type": "supports"},
    ]
    assert backend.edges(second) == []


@pytest.mark.parametrize("unknown_end", ["from", "to"])
def test_edges_to_unknown_ids_name_the_id_and_store_nothing(backend: PostgresBackend,
                                                            unknown_end: str) -> None:
    known = backend.store_memory({"content": "known"})
    args = ("missing-1", known) if unknown_end == "from" else (known, "missing-1")
    with pytest.raises(ValueError, match="Unknown memory id 'missing-1'; store the memory"):
        backend.add_edge(*args, "related_to")
    assert backend.edges(known) == [] and backend.edges("missing-1") == []


def test_edges_are_foreign_keys_enforced_by_the_server(backend: PostgresBackend, sql: Connection,
                                                       fresh_schema: str) -> None:
    first = backend.store_memory({"content": "first"})
    second = backend.store_memory({"content": "second"})
    backend.add_edge(first, second, "related_to")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        sql.execute(f'INSERT INTO "{fresh_schema}".edges (from_id, to_id, edge_type) '
                    f"VALUES (%s, 'nowhere', 'x')", (first,))
    sql.execute(f'DELETE FROM "{fresh_schema}".memories WHERE id = %s', (second,))
    assert backend.edges(first) == []  # ON DELETE CASCADE


@pytest.mark.parametrize("args, error, message", [
    ((1, "b", "x"), TypeError, "from_id must be a str"),
    (("a", None, "x"), TypeError, "to_id must be a str"),
    (("a", "b", " "), ValueError, "edge_type must be a non-empty string"),
])
def test_add_edge_rejects_bad_arguments(backend: PostgresBackend, args: Tuple[Any, ...],
                                        error: Type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        backend.add_edge(*args)


# --- vectors ----------------------------------------------------------------------------------

def test_similar_ranks_by_cosine_similarity(backend: PostgresBackend) -> None:
    east = backend.store_memory({"content": "east", "embedding": [1.0, 0.0]})
    north_east = backend.store_memory({"content": "north east", "embedding": [1.0, 1.0]})
    west = backend.store_memory({"content": "west", "embedding": [-1.0, 0.0]})
    backend.store_memory({"content": "no vector"})
    backend.store_memory({"content": "three dims", "embedding": [1.0, 0.0, 0.0]})
    results = backend.similar([2.0, 0.0])
    assert [r["id"] for r in results] == [east, north_east, west]
    assert [round(r["score"], 4) for r in results] == [1.0, 0.7071, -1.0]
    assert [r["id"] for r in backend.similar([0.0, 1.0], limit=1)] == [north_east]
    assert backend.similar([1.0, 0.0], limit=0) == []


@pytest.mark.parametrize("vector_search", ["auto", "plain"])
def test_an_all_zero_embedding_is_kept_but_never_a_candidate(make_backend: MakeBackend,
                                                             vector_search: str) -> None:
    """It has no direction, so no cosine: pgvector's would be NaN (not JSON), plain SQL's NULL."""
    backend = make_backend(vector_search=vector_search)
    zero = backend.store_memory({"content": "zero", "embedding": [0.0, 0.0]})
    west = backend.store_memory({"content": "west", "embedding": [-1.0, 0.0]})
    assert [(r["id"], r["score"]) for r in backend.similar([1.0, 0.0])] == [(west, -1.0)]
    assert [r["id"] for r in backend.recall("zero")] == [zero]


@pytest.mark.parametrize("embedding, message", [
    ([0.0, 0.0], "all zeros"), ([], "non-empty list"), ([1.0, float("nan")], "finite"),
])
def test_similar_rejects_bad_vectors(backend: PostgresBackend, embedding: List[float],
                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        backend.similar(embedding)


def test_dimension_is_enforced(make_backend: MakeBackend) -> None:
    backend = make_backend(dimension=3)
    backend.store_memory({"content": "right", "embedding": [1, 2, 3]})
    with pytest.raises(ValueError, match="has 2 dimensions; this schema keeps 3"):
        backend.store_memory({"content": "wrong", "embedding": [1, 2]})
    with pytest.raises(ValueError, match="has 4 dimensions"):
        backend.similar([1, 2, 3, 4])
    assert backend.count() == 1


def test_plain_vector_search_can_be_forced(make_backend: MakeBackend, sql: Connection,
                                           fresh_schema: str) -> None:
    backend = make_backend(vector_search="plain")
    assert backend.vector_mode == "plain"
    column_type = value(
        sql, "SELECT data_type FROM information_schema.columns WHERE table_schema = %s AND "
        "table_name = 'memories' AND column_name = 'embedding'", (fresh_schema,))
    assert column_type == "ARRAY"
    memory_id = backend.store_memory({"content": "x", "embedding": [0.1, 0.2]})
    assert backend.similar([0.1, 0.2])[0]["id"] == memory_id


def test_auto_uses_pgvector_exactly_when_the_server_has_it(backend: PostgresBackend,
                                                           has_pgvector: bool) -> None:
    expected = "pgvector" if has_pgvector else "plain"
    assert backend.vector_mode == expected


def test_pgvector_mode_stores_and_searches_vectors(make_backend: MakeBackend, has_pgvector: bool,
                                                   sql: Connection, fresh_schema: str) -> None:
    if not has_pgvector:
        with pytest.raises(ValueError, match="pgvector extension is not available.*"
                                             "postgresql-<version>-pgvector"):
            make_backend(vector_search="pgvector").store_memory({"content": "x"})
        assert schemas(sql, fresh_schema) == 0  # rolled back: nothing half-created
        pytest.skip("pgvector is not installed on this server; the refusal was checked")
    backend = make_backend(vector_search="pgvector", dimension=2)
    near = backend.store_memory({"content": "near", "embedding": [1.0, 0.1]})
    far = backend.store_memory({"content": "far", "embedding": [-1.0, 0.0]})
    assert [r["id"] for r in backend.similar([1.0, 0.0])] == [near, far]
    assert backend.recall("near")[0]["embedding"] == pytest.approx([1.0, 0.1], abs=1e-6)
    indexes = sql.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s",
                          (fresh_schema,)).fetchall()
    assert any("hnsw" in row[0] for row in indexes)


# --- layout recorded per schema ---------------------------------------------------------------

def test_a_schema_keeps_the_settings_it_was_built_with(make_backend: MakeBackend) -> None:
    make_backend(text_search_config="simple", dimension=2).store_memory({"content": "x"})
    with pytest.raises(ValueError, match="created with text_search_config 'simple' "
                                         r"\(asked: 'english'\), dimension 2 \(asked: 3\)"):
        make_backend(dimension=3).count()
    reopened = make_backend(text_search_config="simple")
    assert reopened.count() == 1 and reopened.dimension is None
    assert reopened.layout.dimension == 2


def test_metadata_comes_back_as_written_even_floats_jsonb_would_make_integers(
        backend: PostgresBackend) -> None:
    metadata = {"avogadro": 6.02e23, "big": 1e16, "tiny": 1e-07, "whole": 1.0, "n": 10**20}
    memory_id = backend.store_memory({"content": "constants", "metadata": metadata})
    [found] = backend.recall("constants")
    assert found["id"] == memory_id and found["metadata"] == metadata
    assert [type(value) for value in found["metadata"].values()] == [float] * 4 + [int]


def test_a_layout_1_schema_is_upgraded_to_json_documents_on_first_use(make_backend: MakeBackend,
                                                                      sql: Connection,
                                                                      fresh_schema: str) -> None:
    make_backend().store_memory({"content": "old memory", "metadata": {"k": [1, 2]}})
    sql.execute(f'ALTER TABLE "{fresh_schema}".memories ALTER COLUMN document TYPE jsonb')
    sql.execute(f"UPDATE \"{fresh_schema}\".omi_layout SET value = '1' WHERE key = 'version'")
    upgraded = make_backend()
    assert [r["metadata"] for r in upgraded.recall("old")] == [{"k": [1, 2]}]
    assert sql.execute("SELECT data_type FROM information_schema.columns WHERE table_schema = "
                       "%s AND table_name = 'memories' AND column_name = 'document'",
                       (fresh_schema,)).fetchone() == ("json",)
    assert sql.execute(f"SELECT value FROM \"{fresh_schema}\".omi_layout WHERE key = "
                       f"'version'").fetchone() == ("2",)
    upgraded.store_memory({"content": "new memory", "metadata": {"big": 1e20}})
    assert [r["metadata"] for r in make_backend().recall("new")] == [{"big": 1e20}]


def test_unknown_text_search_config_is_refused(make_backend: MakeBackend) -> None:
    with pytest.raises(ValueError, match="'klingon' is not a text search configuration"):
        make_backend(text_search_config="klingon").count()


# --- configuration ----------------------------------------------------------------------------

def test_dsn_comes_from_the_environment(dsn: str, fresh_schema: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMI_POSTGRES_DSN", dsn)
    backend = PostgresBackend(schema=fresh_schema)
    try:
        assert backend.count() == 0
    finally:
        backend.close()


def test_missing_dsn_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMI_POSTGRES_DSN", raising=False)
    with pytest.raises(ValueError, match="pass dsn=.* or set OMI_POSTGRES_DSN"):
        PostgresBackend()


@pytest.mark.parametrize("options, message", [
    ({"dsn": "host=x port"}, "not a PostgreSQL connection string"),
    ({"schema": "Bad-Name"}, "schema must be a lower-case PostgreSQL identifier"),
    ({"schema": "x" * 64}, "schema must be a lower-case PostgreSQL identifier"),
    ({"vector_search": "faiss"}, "vector_search must be one of auto, pgvector, plain"),
    ({"dimension": 0}, "dimension must be an integer from 1 to 16000"),
    ({"text_search_config": ""}, "text_search_config must name"),
    ({"min_connections": 3, "max_connections": 2}, "must be at least min_connections"),
    ({"max_connections": "8"}, "max_connections must be an integer from 1 to 1000"),
    ({"connect_timeout": 0}, "connect_timeout must be a number of seconds"),
    ({"connect_timeout": "10"}, "connect_timeout must be a number of seconds"),
    ({"synchronous_commit": "off"}, "synchronous_commit must be true or false"),
])
def test_bad_options_are_refused_before_connecting(dsn: str, options: Dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostgresBackend(**{"dsn": dsn, **options})


def test_unreachable_server_names_it_without_the_password(tmp_path: Path) -> None:
    dsn = f"host={tmp_path} port=5999 user=nobody password=s3cret dbname=nothing"
    with pytest.raises(ConnectionError) as error:
        PostgresBackend(dsn=dsn, connect_timeout=2)
    message = str(error.value)
    assert message.startswith("Cannot connect to PostgreSQL at '")
    assert f"host={tmp_path}" in message and "port=5999" in message
    assert "No such file or directory" in message  # the server's own reason
    assert "s3cret" not in message and "OMI_POSTGRES_DSN" in message


# --- lifecycle, pool, persistence --------------------------------------------------------------

def test_close_is_idempotent_and_every_method_refuses_afterwards(backend: PostgresBackend) -> None:
    memory_id = backend.store_memory({"content": "x"})
    backend.close()
    backend.close()
    calls: List[Callable[[], object]] = [
        lambda: backend.store_memory({"content": "y"}), lambda: backend.recall("x"),
        lambda: backend.add_edge(memory_id, memory_id, "self"), lambda: backend.count(),
        lambda: backend.similar([1.0]), lambda: backend.edges(memory_id)]
    for call in calls:
        with pytest.raises(RuntimeError, match="is closed; create a new one"):
            call()


def test_pool_serves_many_threads_with_few_connections(make_backend: MakeBackend) -> None:
    backend = make_backend(max_connections=2)
    errors: List[Exception] = []

    def work(worker: int) -> None:
        try:
            for n in range(20):
                backend.store_memory({"content": f"worker{worker} item {n}"})
                backend.recall(f"worker{worker}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert backend.count() == 160
    assert len(backend.recall("worker3", limit=100)) == 20


def test_connections_dropped_by_the_server_are_replaced(make_backend: MakeBackend, sql: Connection,
                                                        fresh_schema: str) -> None:
    backend = make_backend(min_connections=2, max_connections=2)
    memory_id = backend.store_memory({"content": "still here after the drop"})
    killed = value(
        sql, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = %s", (f"omi-storage-postgres:{fresh_schema}",))
    assert killed >= 2
    assert [r["id"] for r in backend.recall("drop")] == [memory_id]
    assert backend.store_memory({"content": "and writes go on"})


@pytest.mark.parametrize("synchronous", [True, False])
def test_synchronous_commit_is_set_on_every_pooled_connection(make_backend: MakeBackend,
                                                              synchronous: bool) -> None:
    backend = make_backend(synchronous_commit=synchronous, min_connections=2,
                           max_connections=2)
    backend.store_memory({"content": "committed"})
    settings: Set[str] = set()
    with backend._connections().connection() as first, \
            backend._connections().connection() as second:
        for conn in (first, second):
            settings.add(value(conn, "SHOW synchronous_commit"))
    assert settings == {"on" if synchronous else "off"}
    assert backend.recall("committed")[0]["content"] == "committed"


def test_data_survives_into_another_process(backend: PostgresBackend, dsn: str,
                                            fresh_schema: str) -> None:
    """`persistent`: what one process stored, a new process on the same schema recalls."""
    script = ("import sys; from omi_storage_postgres import PostgresBackend; "
              "b = PostgresBackend(dsn=sys.argv[1], schema=sys.argv[2]); "
              "print(b.store_memory({'content': 'written by a child', 'metadata': {'k': 2}})); "
              "b.close()")
    memory_id = subprocess.run([sys.executable, "-c", script, dsn, fresh_schema], check=True,
                               capture_output=True, text=True).stdout.strip()
    [found] = backend.recall("child")
    assert (found["id"], found["metadata"]) == (memory_id, {"k": 2})


def test_analyze_refreshes_statistics_so_recall_uses_the_index(backend: PostgresBackend,
                                                               sql: Connection,
                                                               fresh_schema: str) -> None:
    backend.store_memories([{"content": f"filler text number {n}"} for n in range(3000)])
    backend.store_memory({"content": "needle in the haystack"})
    backend.analyze()
    stats = sql.execute("SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM "
                        "pg_stat_user_tables WHERE schemaname = %s AND relname = 'memories'",
                        (fresh_schema,)).fetchone()
    assert stats == (True, True)
    plan = "\n".join(row[0] for row in sql.execute(
        f'EXPLAIN SELECT id FROM "{fresh_schema}".memories '
        f"WHERE tsv @@ to_tsquery('english', 'needle')"))
    assert "memories_tsv_idx" in plan
    assert [r["content"] for r in backend.recall("needle")] == ["needle in the haystack"]


def test_drop_schema_removes_everything(make_backend: MakeBackend, sql: Connection,
                                        fresh_schema: str) -> None:
    backend = make_backend()
    backend.store_memory({"content": "x"})
    backend.drop_schema()
    assert schemas(sql, fresh_schema) == 0
    with pytest.raises(RuntimeError, match="closed"):
        backend.count()


def test_conformance_schemas_are_isolated_and_dropped_at_exit(dsn: str, sql: Connection,
                                                              tmp_path: Path) -> None:
    script = ("import sys; from pathlib import Path; "
              "from omi_storage_postgres import PostgresBackend; "
              "make = lambda name: PostgresBackend.conformance_factory("
              "Path(sys.argv[1]) / name, dsn=sys.argv[2]); "
              "a, b = make('a'), make('b'); "
              "a.store_memory({'content': 'only in a'}); "
              "assert b.recall('only') == [] and a.schema != b.schema; "
              "a.close(); assert make('a').count() == 1; print(a.schema, b.schema)")
    names = subprocess.run([sys.executable, "-c", script, str(tmp_path), dsn], check=True,
                           capture_output=True, text=True).stdout.split()
    assert len(names) == 2 and all(name.startswith("omi_check_") for name in names)
    assert [schemas(sql, name) for name in names] == [0, 0]


def test_check_schemas_left_by_a_killed_process_are_swept_once_their_directory_is_gone(
        dsn: str, sql: Connection, tmp_path: Path) -> None:
    script = ("import os, sys; from pathlib import Path; "
              "from omi_storage_postgres import PostgresBackend; "
              "b = PostgresBackend.conformance_factory(Path(sys.argv[1]), dsn=sys.argv[2]); "
              "b.store_memory({'content': 'left behind'}); print(b.schema, flush=True); "
              "os._exit(0)")  # like a forked check child: no exit handlers run
    gone, kept = tmp_path / "gone", tmp_path / "kept"
    gone.mkdir()
    kept.mkdir()
    names = [subprocess.run([sys.executable, "-c", script, str(directory), dsn], check=True,
                            capture_output=True, text=True).stdout.strip()
             for directory in (gone, kept)]
    assert [schemas(sql, name) for name in names] == [1, 1]
    gone.rmdir()
    (tmp_path / "next").mkdir()
    PostgresBackend.conformance_factory(tmp_path / "next", dsn=dsn).close()
    assert [schemas(sql, name) for name in names] == [0, 1]
    kept.rmdir()
