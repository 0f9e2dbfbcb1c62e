"""The built-in SQLite backend on real files: WAL, FTS5 ranking, edges, threads, reopening."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from omi.builtin.sqlite import SQLiteBackend
from omi.conformance import Target, checks_for, run_suite
from omi.plugins import discover_plugins


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "memories.db"


@pytest.fixture
def backend(db: Path):
    backend = SQLiteBackend(db)
    yield backend
    backend.close()


def store(backend: SQLiteBackend, content: str, **metadata) -> str:
    return backend.store_memory({"content": content, "metadata": metadata})


def test_is_not_an_entry_point_so_a_fresh_install_lists_no_storage_backend():
    assert discover_plugins("omi.storage_backends")["omi.storage_backends"] == []


def test_passes_the_whole_conformance_suite_including_persistent():
    """Everything but the service check, which a backend with no service skips."""
    report = run_suite(Target(SQLiteBackend, "omi.builtin.sqlite:SQLiteBackend", "sqlite"))
    service = "recall_raises_when_its_service_fails"
    assert {o.name: o.status for o in report.outcomes} == {
        c.name: "skipped" if c.name == service else "passed" for c in checks_for("storage")
    }
    assert "data_survives_reopen" in {o.name for o in report.outcomes}


def test_the_file_uses_wal_and_the_requested_durability(db):
    for mode, level in (("normal", 1), ("full", 2)):
        backend = SQLiteBackend(db, synchronous=mode)
        store(backend, "x")
        connection = backend._connection()
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == level
        assert Path(f"{db}-wal").exists()
        backend.close()
    with sqlite3.connect(db) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in other.execute("SELECT name FROM sqlite_master")}
        assert {"memories", "edges", "memories_fts"} <= tables
        foreign = other.execute("PRAGMA foreign_key_list(edges)").fetchall()
        assert {(row[2], row[3], row[4]) for row in foreign} == {
            ("memories", "from_id", "id"),
            ("memories", "to_id", "id"),
        }


def test_recall_is_ranked_by_fts5_relevance(backend):
    weak = store(backend, "a long note that mentions tea once among many other words here")
    strong = store(backend, "tea and green tea")
    store(backend, "coffee only")
    both = store(backend, "green tea leaves")
    results = backend.recall("green tea")
    assert [r["id"] for r in results][-1] == weak
    assert set(r["id"] for r in results[:2]) == {strong, both}
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_a_long_memory_holding_every_word_ranks_above_short_ones_holding_some(backend):
    """BM25 alone ranks a short memory with one of the words above a long one with all."""
    some = [store(backend, "tea again"), store(backend, "green green green, and more green")]
    every = store(
        backend,
        "Yesterday the team talked about the green walls at length, and "
        "after lunch and a long walk someone made tea for everyone",
    )
    results = backend.recall("green tea")
    assert [r["id"] for r in results][0] == every and {r["id"] for r in results[1:]} == set(some)
    assert results[0]["score"] >= 1.0 > results[1]["score"] >= results[2]["score"] > 0.0
    assert backend.recall("tea tea")[0]["score"] >= 1.0  # one distinct word: held by every match


def test_queries_are_words_not_fts_syntax(backend):
    memory_id = store(backend, 'she said "NOT now" (AND later) near* the end')
    for query in ['"NOT now"', "NOT", "AND", "near*", "(later)", "end:", 'she said "', "-now"]:
        assert memory_id in [r["id"] for r in backend.recall(query)], query
    assert backend.recall("!!! ???") == []
    assert [r["id"] for r in backend.recall("now\0later")] == [memory_id]  # NUL splits words
    assert [r["id"] for r in backend.recall("\0 ")] == [memory_id]  # no words: most recent


@pytest.mark.parametrize(
    ("stored", "query"),
    [("Straße", "STRASSE"), ("STRASSE", "straße"), ("CAFÉ", "Café"), ("Café", "cafe")],
)
def test_recall_folds_case_as_unicode_does_and_returns_content_as_stored(backend, stored, query):
    """FTS5 alone folds one character at a time: `STRASSE` did not find `Straße`."""
    memory_id = store(backend, f"the {stored} corner")
    store(backend, "nothing to see")
    assert [(m["id"], m["content"]) for m in backend.recall(query)] == [
        (memory_id, f"the {stored} corner")
    ]


def test_a_file_indexed_before_casefolding_is_casefolded_when_opened(db):
    old = SQLiteBackend(db)
    memory_id = store(old, "Große Straße")
    old.close()
    with sqlite3.connect(db) as raw:  # as an earlier OMI wrote it: the text as stored
        raw.execute("UPDATE memories_fts SET content = 'Große Straße'")
        raw.execute("PRAGMA user_version = 0")
    reopened = SQLiteBackend(db)
    try:
        assert [m["id"] for m in reopened.recall("GROSSE strasse")] == [memory_id]
        assert reopened.recall("große")[0]["content"] == "Große Straße"
    finally:
        reopened.close()


def test_blank_query_returns_the_most_recent(backend):
    ids = [store(backend, f"note {n}") for n in range(5)]
    assert [r["id"] for r in backend.recall("   ", limit=3)] == ids[::-1][:3]


def test_edges_are_kept_deduplicated_and_checked(backend):
    a, b = store(backend, "a"), store(backend, "b")
    backend.add_edge(a, b, "supports")
    backend.add_edge(a, b, "supports")
    backend.add_edge(a, b, "contradicts")
    assert backend.edges(a) == [
        {"from_id": a, "to_id": b, "edge_type": "supports"},
        {"from_id": a, "to_id": b, "edge_type": "contradicts"},
    ]
    assert backend.edges(b) == []
    with pytest.raises(
        ValueError, match="Unknown memory id 'ghost'; store the memory before linking it"
    ):
        backend.add_edge("ghost", b, "x")
    with pytest.raises(ValueError, match="Unknown memory id 'ghost'"):
        backend.add_edge(a, "ghost", "x")
    with pytest.raises(ValueError, match="edge_type must be a non-empty string"):
        backend.add_edge(a, b, " ")


def test_the_database_itself_refuses_dangling_edges(backend):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        backend._connection().execute(
            "INSERT INTO edges (from_id, to_id, edge_type) VALUES ('x', 'y', 'z')"
        )


def test_everything_survives_close_and_reopen(db):
    backend = SQLiteBackend(db)
    a = store(backend, "durable words", source="test")
    b = store(backend, "more durable words")
    backend.add_edge(a, b, "related_to")
    backend.close()
    reopened = SQLiteBackend(str(db))
    try:
        assert {r["id"] for r in reopened.recall("durable")} == {a, b}
        assert reopened.recall("more")[0]["id"] == b
        by_id = {r["id"]: r for r in reopened.recall("durable")}
        assert by_id[a]["content"] == "durable words"
        assert by_id[a]["metadata"] == {"source": "test"}
        assert reopened.edges(a) == [{"from_id": a, "to_id": b, "edge_type": "related_to"}]
        assert reopened.count() == 2
    finally:
        reopened.close()


def test_safe_for_many_threads_on_one_instance(backend):
    errors = []

    def worker(index: int) -> None:
        try:
            for n in range(50):
                memory_id = store(backend, f"worker{index} item{n}")
                assert memory_id in [
                    r["id"] for r in backend.recall(f"worker{index} item{n}", limit=100)
                ]
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert backend.count() == 400


def test_two_instances_on_one_file_see_each_other(db):
    first, second = SQLiteBackend(db), SQLiteBackend(db)
    try:
        a = store(first, "written by the first")
        b = store(second, "written by the second")
        first.add_edge(a, b, "seen_by")
        assert [r["id"] for r in second.recall("first")] == [a]
        assert [r["id"] for r in first.recall("second")] == [b]
    finally:
        first.close()
        second.close()


def test_default_path_is_in_the_xdg_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    backend = SQLiteBackend()
    try:
        assert backend.path == tmp_path / "xdg" / "omi" / "memories.db"
        assert backend.path.exists()
    finally:
        backend.close()


def test_home_relative_paths_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    backend = SQLiteBackend("~/sub/m.db")
    backend.close()
    assert (tmp_path / "sub" / "m.db").exists()


@pytest.mark.parametrize(
    "memory, error, message",
    [
        ("text", TypeError, "memory must be a dict, got str"),
        ({}, ValueError, r"memory\['content'\] must be a non-empty string"),
        ({"content": " "}, ValueError, r"memory\['content'\] must be a non-empty string"),
        ({"content": 3}, ValueError, r"memory\['content'\] must be a non-empty string"),
        ({"content": "x", "metadata": {"s": {1, 2}}}, ValueError, "must be JSON-serialisable"),
        ({"content": "x", "score": float("nan")}, ValueError, "must be JSON-serialisable"),
        (
            {"content": "x", "metadata": {1: "one", "1": "two"}},
            ValueError,
            r"memory\['metadata'\] has the key 1 \(int\)",
        ),
        (
            {"content": "x", "embedding": [0.1, float("inf")]},
            ValueError,
            r"memory\['embedding'\]\[1\] is inf",
        ),
        ({"content": "x\udcff"}, ValueError, r"memory\['content'\] is not valid UTF-8 text"),
    ],
)
def test_bad_memories_are_rejected_and_nothing_is_written(backend, memory, error, message):
    with pytest.raises(error, match=message):
        backend.store_memory(memory)
    assert backend.count() == 0
    assert backend.recall("x") == []


@pytest.mark.parametrize(
    "query, limit, error",
    [
        ("x", -1, ValueError),
        ("x", True, ValueError),
        ("x", 2.0, ValueError),
        (None, 5, TypeError),
    ],
)
def test_bad_recall_arguments(backend, query, limit, error):
    with pytest.raises(error):
        backend.recall(query, limit)


def test_a_limit_beyond_sqlite_integers_means_every_match(backend):
    backend.store_memory({"content": "tea time"})
    assert len(backend.recall("tea", 10**23)) == 1
    assert len(backend.recall("", 10**23)) == 1


def test_unopenable_paths_and_bad_options_are_clear_errors(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(
        ValueError,
        match=f"Cannot open the SQLite database at {blocker}/m.db: "
        ".*; give `path` a writable file location",
    ):
        SQLiteBackend(blocker / "m.db")
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("this is not a database, " * 100)
    with pytest.raises(
        ValueError, match="Cannot open the SQLite database at .*notes.txt: file is not a database"
    ):
        SQLiteBackend(not_sqlite)
    assert not_sqlite.read_text().startswith("this is not a database")
    with pytest.raises(ValueError, match="synchronous must be one of normal, full, got 'off'"):
        SQLiteBackend(tmp_path / "m.db", synchronous="off")


def test_closed_backend_raises_and_close_is_idempotent(db):
    backend = SQLiteBackend(db)
    backend.close()
    backend.close()
    for call in (
        lambda: store(backend, "x"),
        lambda: backend.recall("x"),
        lambda: backend.add_edge("a", "b", "c"),
        backend.count,
    ):
        with pytest.raises(RuntimeError, match="is closed; create a new one"):
            call()


def test_a_full_database_reports_sqlites_error_with_the_path_and_keeps_what_was_stored(backend):
    first = store(backend, "kept")
    connection = backend._connection()
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count={pages + 2}")  # SQLite's own SQLITE_FULL
    with pytest.raises(sqlite3.OperationalError) as raised:
        for number in range(100):
            store(backend, f"{'x' * 3000} {number}")
    assert str(raised.value) == f"database or disk is full (the SQLite database at {backend.path})"
    assert raised.value.sqlite_errorname == "SQLITE_FULL"
    assert not connection.in_transaction
    stored = backend.count()
    assert [m["id"] for m in backend.recall("kept")] == [first]
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        backend.add_edge(first, first, "self " + "y" * 20_000)
    assert backend.count() == stored and backend.edges(first) == []


FILE_SIZE_LIMITED = """
import resource, signal, sys
from omi.builtin.sqlite import SQLiteBackend

backend = SQLiteBackend(sys.argv[1])
backend.store_memory({"content": "before the limit"})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))
try:
    for number in range(1000):
        backend.store_memory({"content": "x" * 2000 + str(number)})
except Exception as error:
    print(type(error).__name__, error, sep=": ")
print(backend.count())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE and SIGXFSZ are POSIX")
def test_a_file_size_limit_reports_sqlites_error_with_the_path(db):
    completed = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMITED, str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    error, count = completed.stdout.splitlines()
    assert error in (
        f"OperationalError: disk I/O error (the SQLite database at {db}): writing "
        f"failed; is a file-size limit (ulimit -f) reached or the disk failing?",
        f"OperationalError: database or disk is full (the SQLite database at {db})",
    )
    reopened = SQLiteBackend(db)
    assert reopened.count() == int(count) >= 1
    assert reopened.recall("before limit")[0]["content"] == "before the limit"
    reopened.close()


def write_raw(db: Path, memory_id: bytes | None, document: bytes, content: str = "tea") -> None:
    """A row as another program may write it: bytes SQLite keeps as TEXT, unchecked."""
    with sqlite3.connect(db) as other:
        other.execute(
            "INSERT INTO memories (id, content, document, created_at) "
            "VALUES (CAST(? AS TEXT), ?, CAST(? AS TEXT), 4e9)",  # the newest
            (memory_id, content, document),
        )
        other.execute(
            "INSERT INTO memories_fts (content, id) VALUES (?, CAST(? AS TEXT))",
            (content, memory_id),
        )
    other.close()


@pytest.mark.parametrize(
    "memory_id, document, problem",
    [
        (b"bad-document", b'{"content": "tea \xff"}', "is not valid UTF-8 (byte 0xFF)"),
        (b"bad-\xc3(-id", b'{"content": "tea"}', "is not valid UTF-8 (byte 0xC3)"),
        (b"not-json", b"{tea", "is not valid JSON (Expecting property name"),
        (b"a-list", b'["tea"]', "holds JSON list, not an object"),
        (None, b'{"content": "tea"}', "has no id or no document (a NULL, or a search entry "),
    ],
)
def test_a_row_another_program_broke_is_reported_once_and_recall_returns_the_rest(
    db, backend, caplog, memory_id, document, problem
):
    good = [store(backend, f"tea number {number}") for number in range(3)]
    write_raw(db, memory_id, document)
    with caplog.at_level("WARNING", logger="omi.builtin.sqlite"):
        for query, limit in (("tea", 10), ("tea", 3), ("", 3), ("tea number", 3), ("tea", 3)):
            found = backend.recall(query, limit)
            assert sorted(m["id"] for m in found) == sorted(good), (query, limit)
    shown = "NULL" if memory_id is None else repr(memory_id.decode("utf-8", "backslashreplace"))
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1, messages  # once, however many recalls meet the row
    assert messages[0].startswith(f"memory {shown} in {db} {problem}")
    assert messages[0].endswith(": recall skips it (was it written by another program?)")
