"""Plugins for the conformance tests: correct ones, and broken ones that each break one rule.

The runner imports these by "conformance_plugins:Class" in a child process (tests/ is on the
child's sys.path), exactly as it imports an installed plugin.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import random
import re
import socket
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from omi.builtin.sqlite import SQLiteBackend
from omi.embeddings import EmbeddingProvider, cosine_similarity
from omi.events import EVENT_TYPES, EventHandler
from omi.storage import StorageBackend


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("Text cannot be empty")


def _check_batch(texts: list[str], batch_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be 1 or more, got {batch_size}")
    for text in texts:
        _check_text(text)


class HashEmbedder(EmbeddingProvider):
    """Correct: feature-hashed words into a unit vector."""

    interface_version = "1.0"
    conformance_capabilities = {"deterministic"}
    dimension = 64

    def embed(self, text: str) -> list[float]:
        _check_text(text)
        vector = [0.0] * self.dimension
        for word in text.lower().split():
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vector[digest[0] % self.dimension] += 1.0 if digest[1] % 2 else -1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector] if any(vector) else [1.0] + [0.0] * (self.dimension - 1)

    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        _check_batch(texts, batch_size)
        return [self.embed(text) for text in texts]

    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        return cosine_similarity(embedding1, embedding2)

    def get_dimension(self) -> int:
        return self.dimension

    def get_model_name(self) -> str:
        return "hash-64"


class ValueErrorForNonStr(HashEmbedder):
    """Correct: refuses text that is not a str with ValueError, the guide's exception for any
    bad input, where Python's own functions would say TypeError."""

    def embed(self, text: str) -> list[float]:
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return super().embed(text)


class CachesLists(HashEmbedder):
    """Caches vectors and hands out the cached list itself: a caller that changes it changes
    every later result for that text."""

    def __init__(self) -> None:
        self._cache: dict[str, list[float]] = {}

    def embed(self, text: str) -> list[float]:
        if text not in self._cache:
            self._cache[text] = super().embed(text)
        return self._cache[text]


class RingCache(HashEmbedder):
    """Caches the last 128 vectors in a ring but never forgets a key when its slot is reused:
    once more than 128 texts were embedded, an old text gets a newer text's vector."""

    SLOTS = 128

    def __init__(self) -> None:
        self._slot_of: dict[str, int] = {}
        self._ring: list[list[float]] = [[] for _ in range(self.SLOTS)]

    def embed(self, text: str) -> list[float]:
        if text not in self._slot_of:
            self._slot_of[text] = len(self._slot_of) % self.SLOTS
            self._ring[self._slot_of[text]] = super().embed(text)
        return list(self._ring[self._slot_of[text]])


class CoercesText(HashEmbedder):
    """Embeds str(text) whatever it is given: None becomes the word "None"."""

    def embed(self, text: str) -> list[float]:
        return super().embed(str(text))


class SkipsBlankTexts(HashEmbedder):
    """Leaves blank texts out of a batch (one vector fewer) and ignores batch_size."""

    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        return [self.embed(text) for text in texts if text.strip()]


class CaseSensitive(HashEmbedder):
    """Correct: tells words apart by case and by the whitespace around them."""

    def embed(self, text: str) -> list[float]:
        _check_text(text)
        vector = [0.0] * self.dimension
        for index, part in enumerate(re.split(r"(\s+)", text)):
            digest = hashlib.blake2b(f"{index}:{part}".encode(), digest_size=8).digest()
            vector[digest[0] % self.dimension] += 1.0 if digest[1] % 2 else -1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector] if any(vector) else [1.0] + [0.0] * (self.dimension - 1)


class NormalisingBatchCache(CaseSensitive):
    """Caches batch vectors under the text lower-cased with its whitespace collapsed, so texts
    differing only in case or spacing get the first one's vector."""

    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        _check_batch(texts, batch_size)
        seen: dict[str, list[float]] = {}
        return [
            list(seen.setdefault(" ".join(text.lower().split()), self.embed(text)))
            for text in texts
        ]


class NormalisesInPlace(HashEmbedder):
    """Scales the vectors it compares to length 1 in place: a long stored vector changes."""

    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        for vector in (embedding1, embedding2):
            norm = math.sqrt(sum(x * x for x in vector)) or 1.0
            vector[:] = [x / norm for x in vector]
        return max(-1.0, min(1.0, sum(x * y for x, y in zip(embedding1, embedding2, strict=True))))


class ClosesItsClientTwice(HashEmbedder):
    """close() closes its HTTP client; the second call finds none."""

    def __init__(self) -> None:
        self._client: list[str] | None = ["connection"]

    def close(self) -> None:
        self._client.clear()  # type: ignore[union-attr]
        self._client = None


class SharesScratchBetweenThreads(HashEmbedder):
    """Keeps the text being embedded on the instance: two threads at once swap vectors."""

    conformance_capabilities = {"deterministic"}

    def embed(self, text: str) -> list[float]:
        self._current = text
        time.sleep(0.002)
        return super().embed(self._current)


class WrongDimension(HashEmbedder):
    def get_dimension(self) -> int:
        return self.dimension + 1


class UnstableDimension(HashEmbedder):
    calls = 0

    def get_dimension(self) -> int:
        UnstableDimension.calls += 1
        return self.dimension + UnstableDimension.calls % 2


class NonFinite(HashEmbedder):
    def embed(self, text: str) -> list[float]:
        return [math.nan] + super().embed(text)[1:]


class BatchDisagrees(HashEmbedder):
    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        _check_batch(texts, batch_size)
        return [self.embed(text) for text in reversed(texts)]


class IgnoresBatchSize(HashEmbedder):
    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        return [self.embed(text) for text in texts[:batch_size]]


class SimilarityOutOfRange(HashEmbedder):
    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        return 2.0 * cosine_similarity(embedding1, embedding2)


class AcceptsEmptyText(HashEmbedder):
    def embed(self, text: str) -> list[float]:
        return super().embed(text if not isinstance(text, str) or text.strip() else "empty")


class Nondeterministic(HashEmbedder):
    def embed(self, text: str) -> list[float]:
        return super().embed(f"{text} {time.perf_counter_ns()}")


class MutatesTexts(HashEmbedder):
    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        vectors = super().embed_batch(texts, batch_size)
        texts.sort()
        return vectors


class LaxSimilarity(HashEmbedder):
    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        n = min(len(embedding1), len(embedding2))
        return cosine_similarity(embedding1[:n], embedding2[:n])


class ClaimsSemantic(HashEmbedder):
    """Gives every text the same vector, so meaning cannot show, yet declares 'semantic'."""

    conformance_capabilities = {"deterministic", "semantic"}

    def embed(self, text: str) -> list[float]:
        super().embed(text)  # keeps the empty-text check
        return [1.0] + [0.0] * (self.dimension - 1)


class EmptyBatchIsNone(HashEmbedder):
    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        return super().embed_batch(texts, batch_size) if texts else None  # type: ignore


class AsciiOnly(HashEmbedder):
    def embed(self, text: str) -> list[float]:
        _check_text(text)
        return super().embed(text.encode("ascii").decode())


class NoModelName(HashEmbedder):
    def get_model_name(self) -> str:
        return ""


class NeedsApiKey(HashEmbedder):
    """Correct, but its constructor needs an option: `--option api_key=...`."""

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.api_key = api_key


class NeedsKeyAndRegion(HashEmbedder):
    """Correct, but its constructor needs two options, one of them keyword-only."""

    def __init__(self, api_key: str, *, region: str, retries: int = 3) -> None:
        self.api_key, self.region, self.retries = api_key, region, retries


class FactoryRaises(HashEmbedder):
    """Its conformance_factory fails, quoting the key it was given (as a careless one might)."""

    @classmethod
    def conformance_factory(cls, directory: Path, **options: Any) -> FactoryRaises:
        raise ConnectionError(f"the service refused the key {options.get('api_key')}")


#: Plugins the suite cannot build, each with options, what it raises and the fix every check
#: then gives (the same in omi plugins check and omi.testing).
BUILD_FAILURES = [  # (class name, options, what it raised, the fix)
    (
        "NeedsApiKey",
        {},
        "TypeError: NeedsApiKey.__init__() missing 1 required positional argument: 'api_key'",
        "NeedsApiKey needs the option api_key, which was not given: pass it with omi plugins check "
        "--option api_key=VALUE (under pytest: plugin_options = {'api_key': ...}), or define a "
        "conformance_factory() classmethod that builds a test instance",
    ),
    (
        "NeedsKeyAndRegion",
        {"retries": 1},
        "TypeError: NeedsKeyAndRegion.__init__() missing 1 required positional argument: 'api_key'",
        "NeedsKeyAndRegion needs the options api_key, region, which were not given: pass them with "
        "omi plugins check --option api_key=VALUE --option region=VALUE (under pytest: "
        "plugin_options = {'api_key': ..., 'region': ...}), or define a conformance_factory() "
        "classmethod that builds a test instance",
    ),
    (
        "FactoryRaises",
        {"api_key": "s3cret-value"},
        "ConnectionError: the service refused the key ****",
        "FactoryRaises.conformance_factory() raised: make it build a test instance in the "
        "directory it is given; if it needs options, give them (omi plugins check --option "
        "KEY=VALUE, or plugin_options under pytest)",
    ),
    (
        "NeedsApiKey",
        {"api_key": ""},
        "ValueError: api_key must not be empty",
        "give the plugin the options it needs (omi plugins check --option KEY=VALUE; under "
        "pytest, plugin_options or the fixture), or define a conformance_factory() classmethod "
        "that builds a test instance",
    ),
]
BUILD_FAILURE_IDS = ["missing-argument", "missing-arguments", "factory-raised", "generic"]


class AllocatesWithoutBound(HashEmbedder):
    """Correct, except that embed_batch of any text allocates until memory runs out."""

    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        hoard = []
        while texts:
            hoard.append(bytearray(32 * 2**20))  # zero-filled: really taken, not just reserved
        return []


class DiesOfMemory(HashEmbedder):
    """Dies the way an interpreter out of memory does when it cannot even raise."""

    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        os.write(2, b"Fatal Python error: _PyErr_NormalizeException: MemoryError\n")
        os._exit(1)


class KnownBatchFailure(BatchDisagrees):
    conformance_known_failures = {"batch_matches_single": "the remote API reorders batches"}


class WronglyKnownFailure(HashEmbedder):
    conformance_known_failures = {"batch_matches_single": "we thought it was broken"}


class OneDimensional(EmbeddingProvider):
    """Correct, if of little use: one dimension, the sign of a stable hash of the text."""

    interface_version = "1.0"
    conformance_capabilities = {"deterministic"}

    def embed(self, text: str) -> list[float]:
        _check_text(text)
        return [1.0 if hashlib.blake2b(text.encode()).digest()[0] % 2 else -1.0]

    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        _check_batch(texts, batch_size)
        return [self.embed(text) for text in texts]

    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        return cosine_similarity(embedding1, embedding2)

    def get_dimension(self) -> int:
        return 1

    def get_model_name(self) -> str:
        return "sign-1"


class AngularSimilarity(HashEmbedder):
    """Correct: its similarity is not cosine but the angle, scaled to [-1, 1] (1 - 2θ/π)."""

    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        return 1.0 - 2.0 * math.acos(cosine_similarity(embedding1, embedding2)) / math.pi


class ResizableEmbedder(HashEmbedder):
    """Correct; its dimension is an option, so another process must be given it too."""

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension


class SaltedHash(HashEmbedder):
    """Hashes words with Python's hash(), salted per process: the same vector for the same
    text within one process, another one in the next, yet it declares 'deterministic'."""

    def embed(self, text: str) -> list[float]:
        _check_text(text)
        vector = [0.0] * self.dimension
        for word in text.lower().split():
            vector[hash(word) % self.dimension] += 1.0
        norm = math.sqrt(sum(x * x for x in vector))
        return [x / norm for x in vector]


class SlowToLoad(HashEmbedder):
    """Correct, but takes a minute to load its model."""

    def __init__(self) -> None:
        time.sleep(60)


class DedupesBatch(HashEmbedder):
    """Embeds each distinct text of a batch once and returns those vectors: a batch with
    duplicates gets fewer vectors than texts."""

    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        _check_batch(texts, batch_size)
        return [self.embed(text) for text in dict.fromkeys(texts)]


class DotProductSimilarity(HashEmbedder):
    """Scores with the raw dot product: right for its own unit vectors, unbounded for others."""

    def similarity(self, embedding1: list[float], embedding2: list[float]) -> float:
        if len(embedding1) != len(embedding2):
            raise ValueError("Cannot compare embeddings of different lengths")
        return math.fsum(x * y for x, y in zip(embedding1, embedding2, strict=True))


class IntIds(SQLiteBackend):
    def store_memory(self, memory: dict[str, Any]) -> str:
        return len(super().store_memory(memory))  # type: ignore[return-value]


class DuplicateIds(SQLiteBackend):
    def store_memory(self, memory: dict[str, Any]) -> str:
        super().store_memory(memory)
        return "same-id"


class IgnoresLimit(SQLiteBackend):
    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return super().recall(query, limit=1000)


class DropsSomeMemories(SQLiteBackend):
    """Silently loses every third memory an instance is given (the counter starts again with
    each instance): only a longer random sequence notices."""

    stored = 0

    def store_memory(self, memory: dict[str, Any]) -> str:
        self.stored += 1
        if self.stored % 3 == 0:
            return f"lost-{self.stored}"
        return super().store_memory(memory)


class MutatesMemory(SQLiteBackend):
    def store_memory(self, memory: dict[str, Any]) -> str:
        memory["id"] = super().store_memory(memory)
        return memory["id"]


class DropsMetadata(SQLiteBackend):
    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        results = super().recall(query, limit)
        return [{k: v for k, v in r.items() if k != "metadata"} for r in results]


class MatchesOneWordOnly(SQLiteBackend):
    """Finds a memory by one of its words, but not by its whole content."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return super().recall(query, limit) if len(query.split()) == 1 else []


class RecallsTuples(SQLiteBackend):
    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return [tuple(r.items()) for r in super().recall(query, limit)]  # type: ignore


class SharesOneFile(SQLiteBackend):
    """Every instance of one check opens the same file, whatever location it is given."""

    @classmethod
    def conformance_factory(cls, directory: Path) -> SQLiteBackend:
        return cls(path=directory.parent / "shared.db")


class SharesOneFileAndSaysSo(SharesOneFile):
    conformance_capabilities = {"persistent", "shared"}


class StartsWithAWelcomeMemory(SQLiteBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.count():
            self.store_memory({"content": "remember: welcome to OMI", "metadata": {}})


class EdgesNeedTheirOwnTypes(SQLiteBackend):
    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        if edge_type not in ("parent", "child"):
            raise ValueError(f"unsupported edge type {edge_type!r}")
        super().add_edge(from_id, to_id, edge_type)


class AcceptsUnknownEdges(SQLiteBackend):
    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        try:
            super().add_edge(from_id, to_id, edge_type)
        except ValueError:
            pass


class ClosingTwiceFails(SQLiteBackend):
    def close(self) -> None:
        if self._db is None:
            raise RuntimeError("already closed")
        super().close()


class UsableAfterClose(SQLiteBackend):
    def close(self) -> None:
        pass


class ForgetfulButClaimsPersistent(SQLiteBackend):
    """Keeps everything in memory while claiming data survives reopening."""

    @classmethod
    def conformance_factory(cls, directory: Path) -> SQLiteBackend:
        return cls(path=":memory:")


class ReversedRanking(SQLiteBackend):
    """Sorts by FTS5's rank descending, where rank is lower for better matches: worst first."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return super().recall(query, limit=1_000_000)[::-1][:limit]


class ShuffledResults(SQLiteBackend):
    """Returns the matches in no particular order (as a set, or shards merged unsorted)."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        results = super().recall(query, limit)
        random.Random(query).shuffle(results)
        return results


class ScoresAreDistances(SQLiteBackend):
    """Ranks well but reports FTS5's bm25() as the score, where lower means better."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return [{**result, "score": -result["score"]} for result in super().recall(query, limit)]


class KeepsOnlyContentAndMetadata(SQLiteBackend):
    """Returns content, metadata, id and score only: the host's embedding, embedding_model and
    session_id are lost."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return [
            {key: result[key] for key in ("content", "metadata", "id", "score")}
            for result in super().recall(query, limit)
        ]


class DecimalScores(SQLiteBackend):
    """Ranks well but gives each score as a decimal.Decimal (as a NUMERIC column returns it)."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        from decimal import Decimal

        return [
            {**result, "score": Decimal(repr(result["score"]))}
            for result in super().recall(query, limit)
        ]


class NormalisesUnicode(SQLiteBackend):
    """Stores content in Unicode NFC form: an accent typed as a combining mark comes back as
    one precomposed character."""

    def store_memory(self, memory: dict[str, Any]) -> str:
        if isinstance(memory, dict) and isinstance(memory.get("content"), str):
            memory = {**memory, "content": unicodedata.normalize("NFC", memory["content"])}
        return super().store_memory(memory)


class CutsContentAt64K(SQLiteBackend):
    """Keeps at most 65,535 characters of content, like a MySQL TEXT column."""

    def store_memory(self, memory: dict[str, Any]) -> str:
        if isinstance(memory, dict) and isinstance(memory.get("content"), str):
            memory = {**memory, "content": memory["content"][:65_535]}
        return super().store_memory(memory)


class DeduplicatesContent(SQLiteBackend):
    """Returns the id of a memory with the same content instead of storing it again."""

    def store_memory(self, memory: dict[str, Any]) -> str:
        content = memory.get("content") if isinstance(memory, dict) else None
        row = (
            self._connection()
            .execute("SELECT id FROM memories WHERE content = ?", (content,))
            .fetchone()
        )
        return row[0] if row else super().store_memory(memory)


class ClosesOnlyForWrites(SQLiteBackend):
    """close() marks the backend closed, but only store_memory() looks at the mark; the
    connection is left for the garbage collector."""

    closed = False

    def close(self) -> None:
        self.closed = True

    def store_memory(self, memory: dict[str, Any]) -> str:
        if self.closed:
            raise RuntimeError("this backend is closed")
        return super().store_memory(memory)


class MigratesOnEveryOpen(SQLiteBackend):
    """Runs a clean-up meant for files of an old version on every open: it drops the None
    values from every stored memory's metadata."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        db = self._connection()
        for memory_id, document in db.execute("SELECT id, document FROM memories").fetchall():
            memory = json.loads(document)
            memory["metadata"] = {
                key: value for key, value in memory["metadata"].items() if value is not None
            }
            db.execute(
                "UPDATE memories SET document = ? WHERE id = ?", (json.dumps(memory), memory_id)
            )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _bm25(words: set, texts: dict[str, list[str]]) -> dict[str, float]:
    """Okapi BM25 (k1 = 1.2, b = 0.75) of each text holding one of `words` or more."""
    average = sum(map(len, texts.values())) / max(1, len(texts))
    holding = {word: sum(word in set(text) for text in texts.values()) for word in words}
    scores = {}
    for key, text in texts.items():
        matched = words.intersection(text)
        if not matched:
            continue
        scores[key] = math.fsum(
            math.log(1 + (len(texts) - holding[word] + 0.5) / (holding[word] + 0.5))
            * text.count(word)
            * 2.2
            / (text.count(word) + 1.2 * (0.25 + 0.75 * len(text) / average))
            for word in matched
        )
    return scores


class DocumentStore(StorageBackend):
    """Correct, and unlike SQLiteBackend wherever a check could wrongly rely on it: one JSON
    file rewritten whole on every change, random uuid4 ids, an extra key in every result
    ("rank"), and a ranking of its own: memories holding all of the query's words first, then
    by a BM25 score."""

    interface_version = "1.0"
    conformance_capabilities = {"persistent"}

    def __init__(self, path: str = "memories.json") -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._data: dict[str, Any] | None = self._load()

    @classmethod
    def conformance_factory(cls, directory: Path) -> DocumentStore:
        return cls(str(directory / "memories.json"))

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"memories": {}, "edges": []}
        return json.loads(self.path.read_text(encoding="utf-8"))

    def _save(self) -> None:
        self._write(self._open())

    def _write(self, data: dict[str, Any]) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.path)

    def _open(self) -> dict[str, Any]:
        if self._data is None:
            raise RuntimeError(f"DocumentStore({self.path}) is closed")
        return self._data

    def store_memory(self, memory: dict[str, Any]) -> str:
        if not isinstance(memory, dict):
            raise TypeError(f"memory must be a dict, got {type(memory).__name__}")
        if not isinstance(memory.get("content"), str) or not memory["content"].strip():
            raise ValueError("memory['content'] must be a non-empty string")
        kept = {key: value for key, value in memory.items() if key != "id"}
        try:
            kept = json.loads(json.dumps(kept, allow_nan=False))
        except (TypeError, ValueError) as error:
            raise ValueError(f"memory must be JSON data: {error}") from None
        with self._lock:
            memory_id = self._new_id()
            self._open()["memories"][memory_id] = kept
            self._save()
        return memory_id

    def _new_id(self) -> str:
        return str(uuid.uuid4())

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ValueError(f"limit must be an int of 0 or more, got {limit!r}")
        with self._lock:
            memories = dict(self._open()["memories"])
            scored = sorted(
                ((score, memory_id) for memory_id, score in self._scores(query, memories).items()),
                reverse=True,
            )
        return [
            {**copy.deepcopy(memories[memory_id]), "id": memory_id, "score": score, "rank": rank}
            for rank, (score, memory_id) in enumerate(scored[:limit], 1)
        ]

    def _scores(self, query: str, memories: dict[str, Any]) -> dict[str, float]:
        """The score of each memory that matches `query` (higher is better): those holding
        every word of the query first, then by BM25."""
        words = set(_words(query))
        bm25 = _bm25(
            words, {memory_id: _words(memory["content"]) for memory_id, memory in memories.items()}
        )
        return {
            memory_id: float(words <= set(_words(memories[memory_id]["content"])))
            + score / (1.0 + score)
            for memory_id, score in bm25.items()
        }

    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        if not isinstance(edge_type, str) or not edge_type.strip():
            raise ValueError("edge_type must be a non-empty string")
        with self._lock:
            data = self._open()
            for memory_id in (from_id, to_id):
                if memory_id not in data["memories"]:
                    raise KeyError(f"unknown memory id {memory_id!r}")
            if [from_id, to_id, edge_type] not in data["edges"]:
                data["edges"].append([from_id, to_id, edge_type])
                self._save()

    def close(self) -> None:
        with self._lock:
            self._data = None


class TypeErrorsForTypes(SQLiteBackend):
    """Correct: refuses arguments of the wrong type with TypeError, as Python's own functions
    do (content of 42, metadata holding a datetime or a set, a limit of "3" or 2.5), and wrong
    values with ValueError."""

    def store_memory(self, memory: dict[str, Any]) -> str:
        if isinstance(memory, dict) and not isinstance(memory.get("content", ""), str):
            raise TypeError(f"content must be a str, got {type(memory['content']).__name__}")
        if isinstance(memory, dict):
            json.dumps(memory, allow_nan=False)  # TypeError: not JSON data; ValueError: NaN
        return super().store_memory(memory)

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise TypeError(f"limit must be an int, got {type(limit).__name__}")
        return super().recall(query, limit)


class HandsOutItsRows(DocumentStore):
    """Returns the dicts it keeps, with the id and score written into them: a caller that
    changes a result (the host adds 'similarity' when it re-ranks) changes the stored memory."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        rows = self._open()["memories"]
        handed = []
        for result in super().recall(query, limit):
            row = rows[result["id"]]
            row.update(id=result["id"], score=result["score"])
            handed.append(row)
        return handed


class SequenceIds(DocumentStore):
    """Correct: ids from a sequence of its own ("1", "2", ...), as a database's would be, kept
    in the file so that a reopened store goes on where it stopped; two stores give the same
    ids, each naming its own memory."""

    def _new_id(self) -> str:
        data = self._open()
        data["next_id"] = data.get("next_id", 0) + 1
        return str(data["next_id"])


class FTS5Ranked(SQLiteBackend):
    """Correct: ranks by SQLite FTS5's own bm25() over any of the query's words, nothing else
    (a short memory holding one word may come before a long one holding them all)."""

    @staticmethod
    def _ranked_rows(db: Any, words: list[str], limit: int) -> list[Any]:
        rows = db.execute(  # id and document as BLOBs, as SQLiteBackend reads them
            "SELECT CAST(m.id AS BLOB), CAST(m.document AS BLOB), bm25(memories_fts) "
            "FROM memories_fts JOIN memories m ON m.id = memories_fts.id "
            "WHERE memories_fts MATCH ? ORDER BY bm25(memories_fts) LIMIT ?",
            (" OR ".join(words), limit),
        ).fetchall()
        return [(memory_id, document, 0, rank) for memory_id, document, rank in rows]


class PlainBM25(DocumentStore):
    """Correct: ranks by Okapi BM25 alone, its score."""

    def _scores(self, query: str, memories: dict[str, Any]) -> dict[str, float]:
        return _bm25(
            set(_words(query)),
            {memory_id: _words(memory["content"]) for memory_id, memory in memories.items()},
        )


def _trigrams(text: str) -> set:
    """pg_trgm's trigrams: of each word, lower-cased and padded with two spaces in front and
    one behind."""
    grams = set()
    for word in _words(text):
        padded = f"  {word} "
        grams.update(padded[index : index + 3] for index in range(len(padded) - 2))
    return grams


class TrigramSimilarity(DocumentStore):
    """Correct: ranks as PostgreSQL's pg_trgm similarity() does (shared trigrams over all
    trigrams), among the memories holding a word of the query; the score is the similarity."""

    def __init__(self, path: str = "memories.json") -> None:
        super().__init__(path)
        self._grams: dict[str, set] = {}

    def _scores(self, query: str, memories: dict[str, Any]) -> dict[str, float]:
        words, wanted = set(_words(query)), _trigrams(query)
        scores = {}
        for memory_id, memory in memories.items():
            if memory_id not in self._grams:
                self._grams[memory_id] = _trigrams(memory["content"])
            if words.isdisjoint(_words(memory["content"])):
                continue
            grams = self._grams[memory_id]
            scores[memory_id] = len(grams & wanted) / len(grams | wanted)
        return scores


class OwnVectors(DocumentStore):
    """Correct: a vector store. Every memory gets a vector of its own (word counts) and recall
    returns the nearest memories by cosine similarity, the score: unrelated ones too, at 0.0,
    as a nearest-neighbour search does."""

    def _scores(self, query: str, memories: dict[str, Any]) -> dict[str, float]:
        wanted = _counts(query)
        return {
            memory_id: _cosine(wanted, _counts(memory["content"]))
            for memory_id, memory in memories.items()
        }


def _counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in _words(text):
        counts[word] = counts.get(word, 0) + 1
    return counts


def _cosine(a: dict[str, int], b: dict[str, int]) -> float:
    dot = sum(count * b.get(word, 0) for word, count in a.items())
    norms = math.sqrt(sum(x * x for x in a.values())) * math.sqrt(sum(x * x for x in b.values()))
    return dot / norms if norms else 0.0


class NewestFirst(DocumentStore):
    """Returns the memories holding a word of the query newest first, with no score: a list
    in the order of storing, not a ranking."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        order = {memory_id: index for index, memory_id in enumerate(self._open()["memories"])}
        results = sorted(
            super().recall(query, 1_000_000), key=lambda r: order[r["id"]], reverse=True
        )
        return [
            {key: value for key, value in result.items() if key != "score"}
            for result in results[:limit]
        ]


class StringifiesValues(SQLiteBackend):
    """Stores what JSON cannot hold as its str (json.dumps(default=str)): a datetime in the
    metadata comes back as a str, silently."""

    def store_memory(self, memory: dict[str, Any]) -> str:
        if isinstance(memory, dict):
            memory = json.loads(json.dumps(memory, default=str))
        return super().store_memory(memory)


class CoercesRecallArguments(SQLiteBackend):
    """Makes do with what it is given: str(query), and a limit turned into an int of 0 or
    more."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return super().recall(str(query), max(0, int(limit or 0)))


class AnyEdgeType(SQLiteBackend):
    """Files an edge with a blank type under 'related_to'."""

    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        super().add_edge(from_id, to_id, edge_type.strip() or "related_to")


class RawFullTextQuery(SQLiteBackend):
    """Passes the query to FTS5's MATCH as it is: quotes and operators are syntax there."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        rows = (
            self._connection()
            .execute(
                "SELECT m.id, m.document FROM memories_fts JOIN memories m ON m.id = "
                "memories_fts.id WHERE memories_fts MATCH ? ORDER BY rank LIMIT ?",
                (query, limit),
            )
            .fetchall()
        )
        return [{**json.loads(document), "id": memory_id} for memory_id, document in rows]


class OneThreadConnection(SQLiteBackend):
    """Opens its connection with sqlite3's default check_same_thread=True: only the thread
    that built it may use it."""

    def __init__(self, path: Any = None) -> None:
        import sqlite3

        super().__init__(path)
        self._db.close()  # type: ignore[union-attr]
        self._db = sqlite3.connect(str(self.path), isolation_level=None)


class HonoursCallerIds(DocumentStore):
    """Uses the memory's own 'id' key as its id when it has one."""

    def store_memory(self, memory: dict[str, Any]) -> str:
        memory_id = super().store_memory(memory)
        wanted = memory.get("id") if isinstance(memory, dict) else None
        if isinstance(wanted, str):
            with self._lock:
                memories = self._open()["memories"]
                memories[wanted] = memories.pop(memory_id)
                self._save()
            return wanted
        return memory_id


class EdgesToAnyId(DocumentStore):
    """Accepts any id that looks like one of its own (a uuid), stored here or not."""

    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        for memory_id in (from_id, to_id):
            uuid.UUID(memory_id)  # raises ValueError, naming nothing, for "missing-..."
        with self._lock:
            self._open()["edges"].append([from_id, to_id, edge_type])


class CachesQueries(DocumentStore):
    """Remembers each query's results for good: a memory stored since is not found by it."""

    def __init__(self, path: str = "memories.json") -> None:
        super().__init__(path)
        self._answers: dict[Any, list[dict[str, Any]]] = {}

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        key = (query, limit)
        if key not in self._answers:
            self._answers[key] = super().recall(query, limit)
        return copy.deepcopy(self._answers[key])


class LimitsBeforeRanking(DocumentStore):
    """Takes the first `limit` matches in the order of storing, then ranks those."""

    def _scores(self, query: str, memories: dict[str, Any]) -> dict[str, float]:
        return super()._scores(query, memories)

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        with self._lock:
            memories = self._open()["memories"]
            words = set(_words(query))
            first = dict(
                list(
                    (memory_id, memory)
                    for memory_id, memory in memories.items()
                    if words & set(_words(memory["content"]))
                )[:limit]
            )
            scores = self._scores(query, first)
        ranked = sorted(first, key=lambda memory_id: scores.get(memory_id, 0.0), reverse=True)
        return [
            {
                **copy.deepcopy(first[memory_id]),
                "id": memory_id,
                "score": scores.get(memory_id, 0.0),
            }
            for memory_id in ranked
        ]


class CaseSensitiveSearch(DocumentStore):
    """Matches words exactly as written: CAFÉ does not find Café."""

    @staticmethod
    def _fold(text: str) -> str:
        return text

    def _scores(self, query: str, memories: dict[str, Any]) -> dict[str, float]:
        words = set(re.findall(r"\w+", self._fold(query)))
        held = {
            memory_id: words & set(re.findall(r"\w+", self._fold(memory["content"])))
            for memory_id, memory in memories.items()
        }
        return {memory_id: float(len(found)) for memory_id, found in held.items() if found}


class LowersCase(CaseSensitiveSearch):
    """Compares lower() words: CAFÉ finds Café, but STRASSE does not find Straße."""

    @staticmethod
    def _fold(text: str) -> str:
        return text.lower()


class IndexesFirst64K(DocumentStore):
    """Searches only the first 65,536 characters of each memory (a prefix index)."""

    def _scores(self, query: str, memories: dict[str, Any]) -> dict[str, float]:
        return super()._scores(
            query,
            {
                memory_id: {**memory, "content": memory["content"][:65_536]}
                for memory_id, memory in memories.items()
            },
        )


class RefusesQueriesWithoutWords(SQLiteBackend):
    """Refuses a query without words, as embed() refuses blank text."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        if isinstance(query, str) and not query.strip():
            raise ValueError("query cannot be empty")
        return super().recall(query, limit)


class StripsContent(SQLiteBackend):
    """Stores content stripped of the whitespace around it."""

    def store_memory(self, memory: dict[str, Any]) -> str:
        if isinstance(memory, dict) and isinstance(memory.get("content"), str):
            memory = {**memory, "content": memory["content"].strip()}
        return super().store_memory(memory)


class NestsDottedKeys(SQLiteBackend):
    """Turns the metadata key "a.b" into {"a": {"b": ...}}, as some document stores do."""

    def store_memory(self, memory: dict[str, Any]) -> str:
        if isinstance(memory, dict) and isinstance(memory.get("metadata"), dict):
            nested: dict[str, Any] = {}
            for key, value in memory["metadata"].items():
                head, _, rest = key.partition(".")
                if rest and isinstance(nested.setdefault(head, {}), dict):
                    nested[head][rest] = value
                else:
                    nested[key] = value
            memory = {**memory, "metadata": nested}
        return super().store_memory(memory)


class StoreNeedsBucket(DocumentStore):
    """Correct, but its constructor needs an option (and no conformance_factory)."""

    conformance_factory = None

    def __init__(self, bucket: str, path: str = "memories.json") -> None:
        super().__init__(path)
        self.bucket = bucket


class TruncatesOnOpen(DocumentStore):
    """Opens its file with mode "w+" (meant: create it if missing), which empties it."""

    def _load(self) -> dict[str, Any]:
        with self.path.open("w+", encoding="utf-8") as stream:
            text = stream.read()
        return json.loads(text) if text else {"memories": {}, "edges": []}


class SavesOnlyItsOwnWrites(DocumentStore):
    """Reads what earlier sessions saved but saves only what it stored itself: the memories of
    the session before last are gone after the next reopen."""

    def __init__(self, path: str = "memories.json") -> None:
        super().__init__(path)
        self._loaded = set(self._open()["memories"])

    def _save(self) -> None:
        data = self._open()
        self._write(
            {
                **data,
                "memories": {
                    memory_id: memory
                    for memory_id, memory in data["memories"].items()
                    if memory_id not in self._loaded
                },
            }
        )


class DeadlocksInAddEdge(SQLiteBackend):
    """Correct until an edge between stored memories: then it takes a lock it already holds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._edges_lock = threading.Lock()

    def add_edge(self, source_id: str, target_id: str, edge_type: str) -> None:
        with self._edges_lock:
            super().add_edge(source_id, target_id, edge_type)  # raises for an unknown id
            with self._edges_lock:
                pass


class JSONLinesHandler(EventHandler):
    """Correct: appends each known event as one JSON line."""

    interface_version = "1.0"

    def __init__(self, path: str = "events.jsonl") -> None:
        self.path = Path(path)

    @classmethod
    def conformance_factory(cls, directory: Path) -> JSONLinesHandler:
        return cls(path=str(directory / "events.jsonl"))

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type not in EVENT_TYPES:
            return
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps({"type": event_type, "data": event_data}) + "\n")


class BackgroundWriter(EventHandler):
    """Correct: reads the `timestamp` of every event first (every payload has one), queues the
    known ones, and writes them from a thread of its own; close() drains the queue, twice
    safely."""

    interface_version = "1.0"

    def __init__(self, path: str = "events.jsonl") -> None:
        import queue

        self.path = Path(path)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = threading.Thread(target=self._drain, daemon=True)
        self._worker.start()

    @classmethod
    def conformance_factory(cls, directory: Path) -> BackgroundWriter:
        return cls(path=str(directory / "events.jsonl"))

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        from datetime import datetime

        when = datetime.fromisoformat(event_data["timestamp"])
        if event_type in EVENT_TYPES:
            self._queue.put(
                json.dumps(
                    {"type": event_type, "at": when.timestamp(), "data": event_data},
                    ensure_ascii=False,
                )
            )

    def _drain(self) -> None:
        with self.path.open("a", encoding="utf-8") as stream:
            for line in iter(self._queue.get, None):
                stream.write(line + "\n")
                stream.flush()

    def close(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None


class ReadsSessionIdAsText(JSONLinesHandler):
    """Upper-cases every payload's session_id: None, outside a session, breaks it."""

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if "session_id" in event_data:
            event_data = {**event_data, "session": event_data["session_id"].upper()}
        super().handle(event_type, event_data)


class WritesAscii(JSONLinesHandler):
    """Writes its log as ASCII text: the first non-ASCII payload raises."""

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type in EVENT_TYPES:
            with self.path.open("a", encoding="ascii") as stream:
                stream.write(json.dumps(event_data, ensure_ascii=False) + "\n")


class ClosesItsFileTwice(JSONLinesHandler):
    """Keeps its log open; close() closes it and forgets it, so a second close() fails."""

    def __init__(self, path: str = "events.jsonl") -> None:
        super().__init__(path)
        self._stream: Any = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        self._stream.close()
        self._stream = None


class OneThreadDatabase(JSONLinesHandler):
    """Logs to SQLite through a connection only the thread that built it may use."""

    def __init__(self, path: str = "events.jsonl") -> None:
        import sqlite3

        super().__init__(path)
        self._db = sqlite3.connect(str(self.path) + ".db")
        self._db.execute("CREATE TABLE IF NOT EXISTS events (type TEXT, data TEXT)")

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type in EVENT_TYPES:
            self._db.execute(
                "INSERT INTO events VALUES (?, ?)", (event_type, json.dumps(event_data))
            )

    def close(self) -> None:
        self._db.close()


class SlowAfterTheFirstCall(JSONLinesHandler):
    """Quick on its first call, then 0.3 s a call (a connection pool that ran dry)."""

    calls = 0

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        self.calls += 1
        if self.calls > 1:
            time.sleep(0.3)
        super().handle(event_type, event_data)


class MutatesEventData(JSONLinesHandler):
    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        event_data["handled_at"] = 1.0
        super().handle(event_type, event_data)


class RaisesOnUnknownEvent(JSONLinesHandler):
    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type not in EVENT_TYPES:
            raise KeyError(event_type)
        super().handle(event_type, event_data)


class RejectsBeliefUpdates(JSONLinesHandler):
    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type == "belief.updated":
            raise ValueError("beliefs are not supported")
        super().handle(event_type, event_data)


class Chatty(JSONLinesHandler):
    """Correct, and prints: its output must not disturb the runner."""

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        print(f"handling {event_type}")
        print("{not json", file=sys.stderr)
        super().handle(event_type, event_data)


class ReturnsSomething(JSONLinesHandler):
    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        super().handle(event_type, event_data)
        return True  # type: ignore[return-value]


class SaysWhetherHandled(JSONLinesHandler):
    """Returns False for the event types it ignores ("not handled"), None for the others."""

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type not in EVENT_TYPES:
            return False  # type: ignore[return-value]
        super().handle(event_type, event_data)


class Hangs(JSONLinesHandler):
    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type == "session.started":
            time.sleep(60)


class HangsWithAHelper(JSONLinesHandler):
    """Starts a helper process, writes both pids to $OMI_TEST_PIDS, then hangs: stopping the
    check must take down the helper too."""

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type == "session.started":
            import subprocess

            helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            pids = Path(os.environ["OMI_TEST_PIDS"])
            pids.with_suffix(".part").write_text(f"{os.getpid()} {helper.pid}")
            pids.with_suffix(".part").replace(pids)
            time.sleep(120)


class KillsTheInterpreter(JSONLinesHandler):
    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type == "belief.updated":
            os._exit(7)


class HandlerNeedsUrl(JSONLinesHandler):
    """Correct, but its constructor needs an option (and no conformance_factory)."""

    conformance_factory = None

    def __init__(self, url: str) -> None:
        self.path = Path("events.jsonl")
        self.url = url


class SlowToStart(JSONLinesHandler):
    """Returns, but takes 0.3 s on session.started: too slow for a 0.1 s call timeout."""

    def handle(self, event_type: str, event_data: dict[str, Any]) -> None:
        if event_type == "session.started":
            time.sleep(0.3)
        super().handle(event_type, event_data)


class FactoryTakesOnlyOptions(JSONLinesHandler):
    """Its conformance_factory takes keyword options only, no directory."""

    @classmethod
    def conformance_factory(cls, **options: Any) -> FactoryTakesOnlyOptions:
        return cls(path=options.get("path", "events.jsonl"))


class IgnoresUnknownOptions(HashEmbedder):
    """Takes **options and ignores the ones it does not know: a misspelt key goes unnoticed."""

    def __init__(self, **options: Any) -> None:
        self.dimension = int(options.get("dimension", 64))


class StoreIgnoresUnknownOptions(DocumentStore):
    """Takes **options and ignores the ones it does not know: a misspelt key goes unnoticed."""

    def __init__(self, path: str = "memories.json", **options: Any) -> None:
        super().__init__(path)


class HandlerIgnoresUnknownOptions(JSONLinesHandler):
    """Takes **options and ignores the ones it does not know: a misspelt key goes unnoticed."""

    def __init__(self, path: str = "events.jsonl", **options: Any) -> None:
        super().__init__(path)


# --- plugins behind a service (run with a server of tests/fake_servers.py as base_url) ------


class ServiceError(RuntimeError):
    """A plugin's own error for a service that failed: names the service and the cause."""


def _post_json(url: str, body: dict[str, Any]) -> Any:
    """POST `body` as JSON to `url`; the decoded answer (urllib raises for an error status)."""
    data = json.dumps(body, allow_nan=False).encode("utf-8")
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class ServiceEmbedder(HashEmbedder):
    """Correct: embeds through an Ollama-style server (POST /api/embed, fake_servers.FakeOllama)
    and raises its own ServiceError when the server fails; declares the server, so the suite
    can point it at one that fails."""

    conformance_capabilities: set[str] = set()  # a server promises no determinism
    dimension = 16
    retries, backoff = 0, 0.0

    def __init__(self, base_url: str = "http://127.0.0.1:11434") -> None:
        self.base_url = base_url.rstrip("/")

    def conformance_service(self) -> dict[str, str]:
        return {"name": "the embedding server", "url": self.base_url, "option": "base_url"}

    def _embed(self, texts: list[str]) -> list[list[float]]:
        body = {"model": "nomic-embed-text", "input": texts}
        for attempt in range(self.retries + 1):
            try:
                answer = _post_json(f"{self.base_url}/api/embed", body)
                return [list(map(float, vector)) for vector in answer["embeddings"]]
            except (OSError, ValueError, KeyError) as error:  # urllib's errors are OSErrors
                if attempt == self.retries:
                    raise ServiceError(
                        f"the embedding server at {self.base_url} failed: {error}"
                    ) from error
                time.sleep(self.backoff * 2**attempt)
        raise AssertionError("the loop returns or raises")

    def embed(self, text: str) -> list[float]:
        _check_text(text)
        return self._embed([text])[0]

    def embed_batch(self, texts: list[str], batch_size: int = 8) -> list[list[float]]:
        _check_batch(texts, batch_size)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            vectors += self._embed(list(texts[start : start + batch_size]))
        return vectors

    def get_model_name(self) -> str:
        return "nomic-embed-text"


class RetriesThenRaises(ServiceEmbedder):
    """Correct: retries a failed request three times with a growing pause, then raises."""

    retries, backoff = 3, 0.02


class RetriesForLong(ServiceEmbedder):
    """Correct: retries for a minute before raising: still retrying at a short call timeout."""

    retries, backoff = 600, 0.1


class ZeroVectorOnServerError(ServiceEmbedder):
    """Returns a zero vector when the server fails: the memory is stored with a made-up
    vector that matches nothing."""

    def _embed(self, texts: list[str]) -> list[list[float]]:
        try:
            return super()._embed(texts)
        except ServiceError:
            return [[0.0] * self.dimension for _ in texts]


class LocalEmbedderWithAService(HashEmbedder):
    """Correct: declares a service (its usage reports, say) but embeds without it: a vector
    it returns while that service fails is its own, not made up."""

    def __init__(self, base_url: str = "http://127.0.0.1:9000") -> None:
        self.base_url = base_url

    def conformance_service(self) -> dict[str, str]:
        return {"name": "the usage service", "url": self.base_url, "option": "base_url"}


class MemoryServiceStore(StorageBackend):
    """Correct: keeps memories in a memory service over HTTP (fake_servers.FakeMemoryService),
    one namespace per location (the directory it is built in, so a new instance there finds
    them again); TypeError and ValueError as the service names them, its own ServiceError
    when the service fails."""

    interface_version = "1.0"
    conformance_capabilities = {"persistent"}

    def __init__(self, base_url: str = "http://127.0.0.1:8700") -> None:
        self.base_url = base_url.rstrip("/")
        self.namespace = os.getcwd()
        self._closed = False

    def conformance_service(self) -> dict[str, str]:
        return {"name": "the memory service", "url": self.base_url, "option": "base_url"}

    def _call(self, operation: str, **arguments: Any) -> Any:
        if self._closed:
            raise RuntimeError("the store is closed")
        try:
            json.dumps(arguments, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"a value JSON cannot hold: {error}") from None
        url = f"{self.base_url}/v1/{operation}"
        try:
            return _post_json(url, {"namespace": self.namespace, **arguments})["result"]
        except urllib.error.HTTPError as error:
            if error.code != 400:
                raise ServiceError(f"the memory service at {url} failed: {error}") from error
            refused = json.loads(error.read())["error"]
            raise (TypeError if refused["type"] == "TypeError" else ValueError)(
                refused["message"]
            ) from None
        except (OSError, ValueError, KeyError) as error:
            raise ServiceError(f"the memory service at {url} failed: {error}") from error

    def store_memory(self, memory: dict[str, Any]) -> str:
        if not isinstance(memory, dict):
            raise TypeError(f"memory must be a dict, got {type(memory).__name__}")
        result: str = self._call("store", memory=memory)
        return result

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        results: list[dict[str, Any]] = self._call("recall", query=query, limit=limit)
        return results

    def add_edge(self, from_id: str, to_id: str, edge_type: str) -> None:
        self._call("edge", from_id=from_id, to_id=to_id, edge_type=edge_type)

    def close(self) -> None:
        self._closed = True


class EmptyRecallOnServerError(MemoryServiceStore):
    """Returns [] from recall when the service fails: the agent is told it remembers nothing."""

    def recall(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        try:
            return super().recall(query, limit)
        except ServiceError:
            return []


class ServiceWithoutAnOption(LocalEmbedderWithAService):
    """Declares its service with no option or variable to point it at another."""

    def conformance_service(self) -> dict[str, str]:
        return {"name": "the usage service", "url": self.base_url}


class EnvConfiguredEmbedder(ServiceEmbedder):
    """Correct: takes its server's URL from OMI_TEST_EMBEDDING_URL when built, and says so."""

    def __init__(self) -> None:
        super().__init__(os.environ.get("OMI_TEST_EMBEDDING_URL", "http://127.0.0.1:11434"))

    def conformance_service(self) -> dict[str, str]:
        return {
            "name": "the embedding server",
            "url": self.base_url,
            "env": "OMI_TEST_EMBEDDING_URL",
        }


class EnvConfiguredZeroVector(ZeroVectorOnServerError, EnvConfiguredEmbedder):
    """EnvConfiguredEmbedder returning a zero vector when the server fails."""


class LineServiceEmbedder(HashEmbedder):
    """Correct: gets each vector from a line server (tcp://HOST:PORT: the text as a JSON line
    out, the vector as a JSON line back) and raises ServiceError when it hangs up."""

    def __init__(self, url: str = "tcp://127.0.0.1:7000") -> None:
        self.url = url

    def conformance_service(self) -> dict[str, str]:
        return {"name": "the vector server", "url": self.url, "option": "url"}

    def embed(self, text: str) -> list[float]:
        _check_text(text)
        parts = urllib.parse.urlsplit(self.url)
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=5) as connection:
                connection.sendall(json.dumps(text).encode() + b"\n")
                line = connection.makefile("rb").readline()
            return [float(x) for x in json.loads(line)]
        except (OSError, ValueError) as error:
            raise ServiceError(f"the vector server at {self.url} failed: {error}") from error


class ZeroVectorOnHangUp(LineServiceEmbedder):
    """LineServiceEmbedder returning a zero vector when the server hangs up."""

    def embed(self, text: str) -> list[float]:
        try:
            return super().embed(text)
        except ServiceError:
            return [0.0] * self.dimension


class KeyedServiceEmbedder(ServiceEmbedder):
    """Correct: ServiceEmbedder that cannot be built without an API key."""

    def __init__(self, api_key: str, base_url: str = "http://127.0.0.1:11434") -> None:
        super().__init__(base_url)
        self.api_key = api_key


class SlowToConnect(ServiceEmbedder):
    """Correct: its constructor takes a second (it connects, say)."""

    def __init__(self, base_url: str = "http://127.0.0.1:11434") -> None:
        time.sleep(1.0)
        super().__init__(base_url)
