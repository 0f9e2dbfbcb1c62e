"""Checks for storage backends."""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from omi.conformance.authoring import (
    CheckFailure,
    Context,
    check,
    difference,
    expect,
    expect_raises,
    shorten,
)
from omi.conformance.building import UNKNOWN_OPTION_FIX, expect_unknown_option_refused
from omi.conformance.shrink import shrink

#: Text a backend can mangle: CJK, emoji (a joined family, a skin tone), accents written as a
#: letter and a combining mark (Unicode normalisation changes them), right-to-left Hebrew and
#: Arabic with a right-to-left mark, Greek, a line break and a tab.
UNUSUAL_TEXT = (
    "日本語のテキスト 🙂🚀 👩\u200d👩\u200d👧 👍🏽 cafe\u0301 nai\u0308ve שלום עולם "
    "\u200fمرحبا بالعالم Ελληνικά\nsecond line\tand a tab"
)

#: Metadata of every JSON type, nested, with non-ASCII keys.
RICH_METADATA: dict[str, Any] = {
    "nested": {
        "list": [1, 2.5, "three", None, True, False, {"deep": ["x", {"deeper": []}]}],
        "empty": {},
    },
    "int": 42,
    "negative": -7,
    "beyond_double": 2**53 + 1,
    "float": 0.1,
    "whole_float": 1.0,
    "tiny_float": -2.5e-07,
    "long_float": 0.30000000000000004,
    "huge_float": 6.02e23,
    "true": True,
    "false": False,
    "none": None,
    "empty_string": "",
    "empty_list": [],
    "ключ": "значение",
    "键": ["值", "🙂"],
    "clé composée": {"e\u0301": "NFD"},
    "dotted.key": "a flat key, not a path",
    "a.b": {"c.d": [1, {"e.f": None}]},
    "  padded key ": " padded value\n",
}

#: The fix for content that came back changed, by the kind of difference (registry.Difference).
CONTENT_FIXES = {
    "cut": "store content without a length limit (TEXT, not VARCHAR(n)) and never slice it",
    "unicode": "store content exactly as given; if search needs normalised text, normalise a "
    "copy for the index, not the stored content",
    "encoding": "keep text Unicode end to end (a UTF-8 database and connection, no "
    "encode(..., 'replace'))",
}
METADATA_FIX = (
    "store metadata as JSON (json.dumps) and return json.loads of it, so nested dicts "
    "and lists, ints, floats, booleans, None and any str keys come back as they were"
)
NUMBER_FIX = (
    "keep numbers as written: a store that normalises JSON numbers (PostgreSQL jsonb) "
    "returns 6.02e+23 as an integer; keep the JSON text (a json or TEXT column)"
)
NOT_A_SET_FIX = (
    "store every copy under the id store_memory() returns: a memory store is not a "
    "set, so do not deduplicate on content"
)
ID_RESTART_FIX = (
    "continue ids where they left off (uuid4 or a database sequence); do not "
    "restart a counter when opening"
)
KEEP_KEYS_FIX = (
    "store every key of the memory (the host adds embedding, embedding_model and "
    "session_id and reads them back) and return each with every result"
)
TRUNCATION_FIX = (
    "open existing data as it is: no open(path, 'w'), no DROP or DELETE when "
    "opening; create tables only IF NOT EXISTS"
)


def _word(ctx: Context, tag: str = "") -> str:
    """A word no other memory has."""
    return f"zq{ctx.rng.getrandbits(48):012x}{tag}"


def _memory(ctx: Context, tag: str = "") -> dict[str, Any]:
    """A memory whose content contains a word no other memory has, so recall can find it."""
    return {
        "content": f"remember {_word(ctx, tag)} for later",
        "metadata": {"tag": tag or "t", "n": 1},
    }


def _unique_word(memory: dict[str, Any]) -> str:
    content: str = memory["content"]  # the suite's own memories: content is always a str
    return content.split(maxsplit=2)[1]  # the word after "remember"


def _recall(backend: Any, query: str, limit: int) -> list[dict[str, Any]]:
    """backend.recall(), failing unless it returns a list of dicts (a generator, a tuple or
    rows of another type would otherwise fail the check with a fix about something else)."""
    results = backend.recall(query, limit=limit)
    expect(
        isinstance(results, list) and all(isinstance(r, dict) for r in results),
        "a list of dicts from recall()",
        results,
        "return a list, e.g. [dict(row) for row in rows], not a generator or other iterable",
    )
    return list(results)


def _ids(results: Any) -> list[Any]:
    return [item.get("id") for item in results if isinstance(item, dict)]


@functools.lru_cache(maxsize=1)
def _transcript() -> str:
    """More than 1 MiB of meeting notes, in characters and in UTF-8 bytes, with non-ASCII text
    in every line, so a size limit, or chunks that split a character, show. Built once."""
    return (
        "".join(
            f"Note {n} — the team met in the café, agreed on priorities (優先) and moved "
            f"the launch. "
            for n in range(12_500)
        )
        + UNUSUAL_TEXT
    )


def _close_vectors(given: list[float], got: Any) -> bool:
    """Whether `got` is `given` as a list of floats, within float32 precision (a vector column
    may keep 32-bit floats)."""
    return (
        isinstance(got, list)
        and len(got) == len(given)
        and all(
            isinstance(y, float) and math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-12)
            for x, y in zip(given, got, strict=True)
        )
    )


def _find(backend: Any, memory: dict[str, Any], memory_id: str, when: str = "") -> dict[str, Any]:
    """The result for `memory_id` when recalling by the memory's unique word; fails saying why
    it is not there (another id, or not found at all)."""
    word = _unique_word(memory)
    results = backend.recall(word, limit=10)
    expect(
        isinstance(results, list) and all(isinstance(r, dict) for r in results),
        f"a list of dicts from recall(){when}",
        results,
        "return [dict(row) for row in rows]",
    )
    _expect_scores(results, f"recall({word!r}){when}")
    for result in results:
        if result.get("id") == memory_id:
            found: dict[str, Any] = result  # a dict: checked just above
            return found
    twins = [r.get("id") for r in results if r.get("content") == memory["content"]]
    if twins:
        raise CheckFailure(
            f"the memory back under the id store_memory() returned, {memory_id!r}{when}",
            f"it under the id {twins[0]!r}",
            "put the id store_memory() returned in every recalled dict, as 'id'",
        )
    raise CheckFailure(
        f"the memory stored as {memory_id!r} among the results of recall({word!r}){when}",
        f"ids {_ids(results)}",
        "store every memory, and match any word of the query against the content",
    )


def _expect_unchanged(memory: dict[str, Any], found: dict[str, Any]) -> None:
    """Fail unless `found` has `memory`'s content, metadata and every other key exactly (an
    embedding's floats within float32 precision), naming the first difference and the fix for
    its kind."""
    for key in memory:
        if key in ("content", "metadata"):
            continue
        expect(
            key in found,
            f"the key {key!r} of the stored memory in the recalled dict",
            f"only the keys {sorted(found)}",
            KEEP_KEYS_FIX,
        )
        same = (
            _close_vectors(memory[key], found[key])
            if key == "embedding"
            else difference(memory[key], found[key], key) is None
        )
        expect(
            same,
            f"{key!r} back as stored",
            f"{shorten(found[key])} instead of {shorten(memory[key])}",
            KEEP_KEYS_FIX,
        )
    for key in ("content", "metadata"):
        expect(
            key in found,
            f"'{key}' in the recalled dict",
            f"only the keys {sorted(found)}",
            f"return the stored {key} with every result",
        )
        changed = difference(memory[key], found[key], key)
        if changed is not None:
            fix = (
                CONTENT_FIXES.get(changed.kind, "return the stored content unchanged")
                if key == "content"
                else NUMBER_FIX
                if changed.kind == "number"
                else METADATA_FIX
            )
            raise CheckFailure(f"the {key} back exactly as stored", str(changed), fix)


@check(
    "storage",
    "store_memory() returns a unique, non-empty str id",
    rules=("store_memory.id",),
    why="the id is the only handle OMI has on a stored memory; a reused or empty id loses or "
    "overwrites memories",
    fix="return str(uuid.uuid4()) or the database's generated key, as a non-empty str",
)
def store_returns_unique_ids(ctx: Context) -> None:
    ids = [ctx.plugin.store_memory(_memory(ctx)) for _ in range(20)]
    for memory_id in ids:
        expect(
            isinstance(memory_id, str) and memory_id != "",
            "a non-empty str id",
            memory_id,
            "return str(the new row's id)",
        )
    expect(
        len(set(ids)) == len(ids),
        "20 distinct ids for 20 memories",
        f"{len(set(ids))} distinct",
        "generate ids with uuid4() or a database sequence",
    )


@check(
    "storage",
    "store_memory() leaves the memory it was given unchanged",
    rules=("store_memory.unchanged",),
    why="the caller keeps using the memory dict it passed; adding an id or changing metadata "
    "in it surprises them",
    fix="build the row from a copy of the memory (dict(memory), copy.deepcopy for metadata)",
)
def store_does_not_mutate_input(ctx: Context) -> None:
    memory = _memory(ctx)
    before = copy.deepcopy(memory)
    ctx.plugin.store_memory(memory)
    changed = difference(before, memory, "memory")
    expect(
        changed is None,
        "the caller's dict unchanged",
        str(changed),
        "copy the dict before adding ids or timestamps",
    )


@check(
    "storage",
    "recall() returns the stored content and metadata, with the id",
    rules=("recall.everything",),
    why="recall() results are what agents read; without the content, metadata or id they "
    "cannot use or link a memory",
    fix="return dicts with 'id', 'content' and 'metadata' as stored",
)
def recall_returns_content_and_metadata(ctx: Context) -> None:
    memory = _memory(ctx, "meta")
    memory_id = ctx.plugin.store_memory(copy.deepcopy(memory))
    _expect_unchanged(memory, _find(ctx.plugin, memory, memory_id))


@check(
    "storage",
    "changing the dicts recall() returned, nested metadata included, never changes what is stored",
    rules=("recall.everything",),
    why="the host adds 'similarity' to every result it re-ranks, and agents edit what they "
    "read: a backend handing out its own dicts lets that rewrite the stored memory",
    fix="build new dicts for every recall() (from the database row, or copy.deepcopy of what "
    "the backend keeps)",
)
def recall_results_are_the_callers(ctx: Context) -> None:
    memory = _memory(ctx, "copy")
    memory["metadata"] = {"tags": ["kept"], "nested": {"n": 1}}
    memory_id = ctx.plugin.store_memory(copy.deepcopy(memory))
    first = _find(ctx.plugin, memory, memory_id)
    first["similarity"] = 0.5  # what the host adds when it re-ranks
    metadata = first.get("metadata")
    if isinstance(metadata, dict):
        for value in metadata.values():
            if isinstance(value, list):
                value.append("added by the caller")
            elif isinstance(value, dict):
                value["added"] = "by the caller"
        metadata["added"] = "by the caller"
    again = _find(ctx.plugin, memory, memory_id)
    expect(
        "similarity" not in again and again.get("metadata") == memory["metadata"],
        "the memory recalled again as stored, after the caller changed the first results",
        f"{shorten(again)}",
        "return new dicts from recall(), never the ones the backend keeps",
    )


@check(
    "storage",
    "non-ASCII and 1 MB content, nested metadata of every JSON type, and the "
    "host's other keys (embedding, embedding_model, session_id) come back exactly",
    rules=("recall.everything", "recall.finds"),
    why="memories are data that must survive storage unchanged: any language, large texts and "
    "nested JSON metadata",
    fix="store content as UTF-8 text without a length limit and metadata as JSON (json.dumps "
    "/ json.loads), keeping types",
)
def content_and_metadata_come_back_exactly(ctx: Context) -> None:
    last = _word(ctx, "end")
    memories: list[dict[str, Any]] = [
        {"content": f"remember {_word(ctx)} {UNUSUAL_TEXT}", "metadata": {"text": "unusual"}},
        {"content": f"remember {_word(ctx)} {_transcript()} {last}", "metadata": {"size": "1 MB"}},
        {
            "content": f"remember {_word(ctx)} with metadata of every kind",
            "metadata": copy.deepcopy(RICH_METADATA),
        },
        {"content": f"remember {_word(ctx)} with spaces around it \r\n\t ", "metadata": {}},
        {
            "content": f"remember {_word(ctx)} as the host stores it",
            "metadata": {"k": "v"},
            "session_id": None,
            "embedding": [0.5, -0.25, 0.0, 1.0, 0.125],
            "embedding_model": "model-v2",
            "source": {"agent": "a", "turns": [1, 2]},
        },
    ]
    for memory in memories:
        memory_id = ctx.plugin.store_memory(copy.deepcopy(memory))
        _expect_unchanged(memory, _find(ctx.plugin, memory, memory_id))
        if memory["metadata"].get("size"):  # found by its last word too, 1 MB further on
            found = _ids(ctx.plugin.recall(last, limit=10))
            expect(
                memory_id in found,
                f"the 1 MB memory found by its last word, {last!r}",
                f"ids {found}",
                "index the whole content for search, not its first part "
                "(no prefix index, no tsvector size limit hit silently)",
            )


@check(
    "storage",
    "recall() with a stored memory's exact content finds that memory",
    rules=("recall.finds",),
    why="asking for a memory by its own words is the simplest recall; if it fails, no recall "
    "can be trusted",
    fix="match the query against stored content (full-text search or embeddings) and return "
    "the best matches",
)
def recall_finds_exact_content(ctx: Context) -> None:
    memories = [_memory(ctx, str(index)) for index in range(5)]
    ids = [ctx.plugin.store_memory(memory) for memory in memories]
    for memory, memory_id in zip(memories, ids, strict=True):
        results = ctx.plugin.recall(memory["content"], limit=10)
        if memory_id in _ids(results):
            continue
        by_word = memory_id in _ids(ctx.plugin.recall(_unique_word(memory), limit=10))
        raise CheckFailure(
            f"id {memory_id} among the results of recall({memory['content']!r})",
            f"ids {_ids(results)}"
            + (
                ", though recall of one of its words finds it"
                if by_word
                else "; recall of its unique word does not find it either"
            ),
            "match any of the query's words (full-text search with OR), not the whole query as "
            "one phrase"
            if by_word
            else "store every memory under the id store_memory() returns",
        )


#: The memories of the ranking check: a name, how many of the three query words each holds,
#: and its text ({0}, {1}, {2} are the words). Lengths vary as they do in real use, so that
#: every sound ranking (BM25, FTS5's bm25(), trigram or vector similarity, how many words
#: match) orders them its own way; only what no ranking of matches would do fails.
RANKED = [
    ("one word", 1, "{0} again"),
    ("exact", 3, "{0} {1} {2}"),
    ("two words", 2, "{1} {2} notes about the plan"),
    (
        "long",
        3,
        "Yesterday the team discussed {0} at length, then moved on to {1}, and after "
        "lunch and a long walk around the building someone mentioned {2} in passing",
    ),
    ("repeated word", 1, "{2} {2} {2}, and more {2}"),
    *[
        ("no word", 0, f"unrelated notes about the {topic} plan")
        for topic in ("budget", "travel", "hiring", "kitchen", "website", "holiday")
    ],
]
#: A memory within this factor of the exact match's length is "of similar length" to it.
SIMILAR_LENGTH = 3.0
SCORE_FIX = (
    "report score as a float where higher means better (negate a distance or "
    "bm25()), and sort by it, best first"
)


def _store_ranked(ctx: Context) -> tuple[str, dict[str, tuple[str, int, str]]]:
    """The ranking check's query, and its memories stored: id -> (name, words held, text)."""
    words = [_word(ctx, tag) for tag in "abc"]
    stored = {}
    for name, count, text in RANKED:
        content = text.format(*words)
        memory_id = ctx.plugin.store_memory(
            {"content": content, "metadata": {"query_words": count}}
        )
        stored[memory_id] = (name, count, content)
    return " ".join(words), stored


def _expect_scores(results: list[dict[str, Any]], where: str) -> None:
    """Every `score` present is a float (or int), and none rises down the list."""
    previous: float | None = None
    for index, result in enumerate(results):
        score = result.get("score")
        if score is None:
            continue
        expect(
            isinstance(score, (float, int)) and not isinstance(score, bool),
            f"score, when present, a Python float ({where})",
            f"{shorten(score)} ({type(score).__module__}.{type(score).__name__}) at "
            f"position {index}",
            "return float(score): not a Decimal, a numpy scalar or a str",
        )
        expect(
            math.isfinite(score),
            f"a finite score ({where})",
            f"{score!r} at position {index}",
            "return a finite float, higher is better",
        )
        if previous is not None:
            expect(
                score <= previous,
                f"scores that never increase down the list ({where}; best first, higher is better)",
                f"{score!r} at position {index} after {previous!r}",
                SCORE_FIX,
            )
        previous = score


@check(
    "storage",
    "recall() puts better matches first: no memory without a query word above "
    "one with every word, the exact content above weaker matches of similar "
    "length, scores never rising",
    rules=("recall.best_first", "recall.score"),
    why="agents read recall results top down and often only the first few; a list in "
    "storage order, or worst first, hides the memory they asked for",
    fix="rank by relevance (BM25, ts_rank, similarity, how many query words match) and sort "
    "by score, highest first",
)
def recall_ranks_better_matches_first(ctx: Context) -> None:
    query, stored = _store_ranked(ctx)
    results = ctx.plugin.recall(query, limit=len(RANKED))
    expect(
        isinstance(results, list) and all(isinstance(r, dict) for r in results),
        "a list of dicts from recall()",
        results,
        "return [dict(row) for row in rows]",
    )
    returned = [memory_id for memory_id in _ids(results) if memory_id in stored]
    held = [stored[memory_id][1] for memory_id in returned]
    missing = [stored[i][0] for i in stored if stored[i][1] == 3 and i not in returned]
    expect(
        not missing,
        f"both memories holding every word of {query!r} among the results",
        f"without the {' and the '.join(missing)} one",
        "match the query's words against the content (any of them, or all), wherever "
        "they are in it",
    )
    problem = _disorder(returned, stored)
    if problem is not None:
        order = list(stored)
        in_store_order = returned in (
            [i for i in order if i in returned],
            [i for i in reversed(order) if i in returned],
        )
        raise CheckFailure(
            f"better matches first: {problem}",
            "results holding " + ", ".join(map(str, held)) + " of the query's 3 words, in that "
            "order",
            "rank by relevance (BM25, ts_rank, similarity, or how many query words match), not "
            "by the time of storing"
            if in_store_order
            else _order_fix(held),
        )
    _expect_scores(results, f"recall({query!r})")


def _disorder(returned: list[str], stored: dict[str, tuple[str, int, str]]) -> str | None:
    """What is clearly out of order among `returned` (ids of the ranking check's memories):
    a memory holding no query word above one holding all, or the exact content below a
    weaker match of similar length; None when nothing is."""
    held = [stored[memory_id][1] for memory_id in returned]
    last_all = max(index for index, count in enumerate(held) if count == 3)
    if 0 in held[:last_all]:
        return "a memory holding none of the query's words came before one holding all"
    exact = next(i for i, memory_id in enumerate(returned) if stored[memory_id][0] == "exact")
    size = len(stored[returned[exact]][2])
    for memory_id in returned[:exact]:
        name, count, text = stored[memory_id]
        if count < 3 and 1 / SIMILAR_LENGTH <= len(text) / size <= SIMILAR_LENGTH:
            return (
                f"the memory whose content is the query itself came after a weaker match "
                f"of similar length (the {name} one)"
            )
    return None


def _order_fix(held: list[int]) -> str:
    if held == sorted(held):
        return "sort best first (by score descending): the worst matches came first"
    return "rank by relevance: memories holding more of the query's words first"


@check(
    "storage",
    "recall() ranks memories holding every query word above those holding some",
    rules=("recall.all_words_first",),
    why="a memory holding every word of the query is usually what the agent meant, even "
    "when it is long; BM25 alone can rank a short partial match first",
    fix="rank memories holding every word first (AND), then the others (OR), each group "
    "by its own score",
)
def recall_ranks_all_words_above_some(ctx: Context) -> None:
    query, stored = _store_ranked(ctx)
    returned = [i for i in _ids(ctx.plugin.recall(query, limit=len(RANKED))) if i in stored]
    held = [stored[memory_id][1] for memory_id in returned]
    if 3 not in held:
        return  # recall_ranks_better_matches_first says so
    last_all = max(index for index, count in enumerate(held) if count == 3)
    expect(
        all(count == 3 for count in held[:last_all]),
        "every memory holding all of the query's words before those holding some",
        "results holding " + ", ".join(map(str, held)) + " of the query's 3 words, in that order",
        "rank memories holding every word first, then the others",
    )


@check(
    "storage",
    "an 'id' key in the memory given is not the stored memory's id: two memories "
    "carrying one get two ids, and each comes back under its own",
    rules=("store_memory.id_key",),
    why="ids are the backend's to give; a caller's stray 'id' key must neither overwrite "
    "another memory nor replace the id store_memory() returned",
    fix="generate the id in the backend and leave any 'id' key of the memory out of the "
    "stored row (or store it under another name)",
)
def memory_id_key_is_not_the_id(ctx: Context) -> None:
    memories = [_memory(ctx, "idkey") for _ in range(2)]
    ids = []
    for memory in memories:
        ids.append(ctx.plugin.store_memory({**memory, "id": "caller-chosen-id"}))
    expect(
        ids[0] != ids[1],
        "two ids for two memories that both carry id='caller-chosen-id'",
        f"{ids[0]!r} both times",
        "generate ids in the backend; ignore the memory's 'id' key",
    )
    for memory, memory_id in zip(memories, ids, strict=True):
        _find(ctx.plugin, memory, memory_id, " (stored with id='caller-chosen-id' in it)")


@check(
    "storage",
    "add_edge() refuses ids another instance returned",
    unless=("shared",),
    rules=("add_edge.unknown_id",),
    why="an id from another store names no memory in this one; linking it is a dangling edge",
    fix="look both ids up in this instance's own data before inserting the edge",
)
def add_edge_rejects_ids_of_another_instance(ctx: Context) -> None:
    here, there = ctx.make("edges-here"), ctx.make("edges-there")
    known = here.store_memory(_memory(ctx, "here"))
    # Ids from a sequence per instance repeat across instances ("1" in both), and there such
    # an id does name a memory here: only another instance's ids this one never gave count.
    theirs = [there.store_memory(_memory(ctx, f"there-{n}")) for n in range(3)]
    foreign = next((memory_id for memory_id in theirs if memory_id != known), theirs[-1])
    for ends in ((known, foreign), (foreign, known)):
        expect_raises(
            (Exception,),
            partial(here.add_edge, *ends, "related_to"),
            f"an error for add_edge{ends + ('related_to',)}, {foreign!r} being an id "
            f"another instance returned",
            "check that both ids exist in this instance",
        )


@check(
    "storage",
    "recall() sees a memory stored since the same query was last asked",
    rules=("recall.finds",),
    why="agents recall, store what they learn, and recall again; a cached answer hides the "
    "new memory",
    fix="invalidate any query cache on every write, or do not cache recall results",
)
def recall_sees_memories_stored_since(ctx: Context) -> None:
    first = _memory(ctx, "fresh")
    query = _unique_word(first)
    before = _ids(ctx.plugin.recall(query, limit=10))
    first_id = ctx.plugin.store_memory(first)
    again = _ids(ctx.plugin.recall(query, limit=10))
    expect(
        first_id in again,
        f"{first_id}, stored after recall({query!r}) was asked, among the "
        f"results when it is asked again",
        f"ids {again} (before: {before})",
        "clear the query cache when a memory is stored",
    )
    second_id = ctx.plugin.store_memory({"content": f"{query} again", "metadata": {}})
    third = _ids(ctx.plugin.recall(query, limit=10))
    expect(
        second_id in third,
        f"{second_id}, the second memory holding {query!r}, among the "
        f"results of the query asked a third time",
        f"ids {third}",
        "clear the query cache when a memory is stored",
    )


#: How many memories hold one word of the query in the limit check: more than any page size a
#: backend might read before ranking would be too many for a quick check.
ONE_WORD_MATCHES = 30


@check(
    "storage",
    "recall(query, limit=1) returns the best match among many: the limit is applied after ranking",
    rules=("recall.best_first",),
    why="agents often ask for the one best memory; a limit applied before ranking returns an "
    "arbitrary match",
    fix="ORDER BY the score before LIMIT (in SQL, LIMIT after ORDER BY in the same query), or "
    "rank every match and then slice",
)
def recall_ranks_before_applying_limit(ctx: Context) -> None:
    common, rare = _word(ctx, "common"), _word(ctx, "rare")
    for index in range(ONE_WORD_MATCHES):
        ctx.plugin.store_memory({"content": f"{common} note number {index}", "metadata": {}})
    best = ctx.plugin.store_memory({"content": f"{common} {rare}", "metadata": {}})
    query = f"{common} {rare}"
    top = _ids(ctx.plugin.recall(query, limit=1))
    expect(
        top == [best],
        f"the memory holding both words of {query!r} (its whole content) as "
        f"the one result for limit=1, among {ONE_WORD_MATCHES} holding one",
        f"ids {top}",
        "rank every match first, then apply the limit",
    )


#: Words written in one case and searched in another: (stored, searched). ß's upper case is
#: SS, so only case folding (str.casefold()) finds these two, not lower(): the rule is advice.
CASES = [
    ("Café", "CAFÉ"),
    ("ÄRGER", "ärger"),
    ("Москва", "МОСКВА"),
    ("Tea", "tea"),
    ("Straße", "STRASSE"),
    ("STRASSE", "Straße"),
]


@check(
    "storage",
    "recall() finds words whatever their case (Café, CAFÉ, Straße, STRASSE)",
    rules=("recall.case",),
    why="people and agents write the same word in different cases; search that tells them "
    "apart misses memories",
    fix="index and search case-folded text (str.casefold() of both; lower() and FTS5's "
    "unicode61 tokenizer leave ß unfolded) while storing the content unchanged",
)
def recall_ignores_case(ctx: Context) -> None:
    for stored, searched in CASES:
        tag = f"zq{ctx.rng.getrandbits(32):08x}"
        memory_id = ctx.plugin.store_memory({"content": f"{stored} {tag}", "metadata": {}})
        found = _ids(ctx.plugin.recall(searched, limit=50))
        expect(
            memory_id in found,
            f"recall({searched!r}) to find the memory holding {stored!r}",
            f"ids {found}",
            "compare case-folded words (str.casefold()), keep the content as given",
        )


@check(
    "storage",
    "recall() honours limit (0, 1, and more than stored) and returns dicts",
    rules=("recall.limit",),
    why="limit bounds how much memory an agent has to read; more results overflow its "
    "context, 0 asks for none",
    fix="apply limit in the query (LIMIT ?) or slice results[:limit], and return a list of dicts",
)
def recall_honours_limit(ctx: Context) -> None:
    word = f"zqshared{ctx.rng.getrandbits(32):08x}"
    ids = [
        ctx.plugin.store_memory({"content": f"{word} item {index}", "metadata": {}})
        for index in range(4)
    ]
    for limit, most in ((0, 0), (1, 1), (3, 3), (50, 4)):
        results = ctx.plugin.recall(word, limit=limit)
        expect(
            isinstance(results, list) and all(isinstance(r, dict) for r in results),
            "a list of dicts",
            results,
            "return [dict(row) for row in rows]",
        )
        expect(
            len(results) <= most,
            f"at most {most} results for limit={limit}",
            f"{len(results)} results",
            "apply LIMIT in the query, including LIMIT 0",
        )
    found = _ids(ctx.plugin.recall(word, limit=50))
    missing = [memory_id for memory_id in ids if memory_id not in found]
    expect(
        not missing,
        "all 4 matching memories for limit=50",
        f"{len(found)}, without {', '.join(map(repr, missing))}",
        "return every match up to the limit",
    )


#: Queries without a word: recall returns recent memories or nothing, never an error.
NO_WORDS = ["", "   ", " \n\t "]


@check(
    "storage",
    "recall() of a query with no words ('', spaces, line breaks) returns stored "
    "memories or nothing, within limit",
    rules=("recall.no_words",),
    why="a host recalls with whatever an agent typed, an empty string included; an error "
    "there fails the agent's turn",
    fix="when the query has no words, return the most recent memories (ORDER BY created_at "
    "DESC LIMIT ?) or []; do not pass an empty query to the search engine",
)
def recall_without_words(ctx: Context) -> None:
    stored = {ctx.plugin.store_memory(_memory(ctx)) for _ in range(3)}
    for query in NO_WORDS:
        try:
            results = ctx.plugin.recall(query, limit=2)
        except Exception as error:  # noqa: BLE001 - any error is the finding
            raise CheckFailure(
                f"recall({query!r}, limit=2) to return recent memories or []",
                f"{type(error).__name__}: {shorten(str(error))}",
                "a query with no words is no error: return the most recent "
                "memories or [] before searching",
            ) from None
        expect(
            isinstance(results, list) and len(results) <= 2,
            f"a list of at most 2 memories for recall({query!r}, limit=2)",
            shorten(results),
            "return the most recent memories or [], at most limit of them",
        )
        strangers = [memory_id for memory_id in _ids(results) if memory_id not in stored]
        expect(
            len(_ids(results)) == len(results) and not strangers,
            f"only stored memories for recall({query!r})",
            shorten(results),
            "return stored memories (with their ids) or nothing, never made-up results",
        )


@check(
    "storage",
    "a new instance starts empty",
    unless=("shared",),
    rules=("storage.separate",),
    why="each OMI host owns its data; a fresh instance that shows old data mixes up users or tests",
    fix="keep data where the constructor's location option says, or declare 'shared' if every "
    "instance sees one server",
)
def new_instance_starts_empty(ctx: Context) -> None:
    results = _recall(ctx.make("fresh"), "remember", limit=10)
    expect(
        results == [],
        "no memories in a fresh instance",
        results,
        "start from an empty store for a new location",
    )


@check(
    "storage",
    "two instances do not see each other's data",
    unless=("shared",),
    rules=("storage.separate",),
    why="two hosts configured with different locations must not see each other's memories",
    fix="keep all state per instance (no module-level or class-level stores), or declare 'shared'",
)
def instances_are_isolated(ctx: Context) -> None:
    first, second = ctx.make("first"), ctx.make("second")
    memory = _memory(ctx, "iso")
    first.store_memory(memory)
    leaked = _recall(second, _unique_word(memory), limit=10)
    expect(
        leaked == [],
        "nothing from the other instance",
        leaked,
        "keep each instance's data at its own location, or declare 'shared'",
    )


@check(
    "storage",
    "the same memory stored twice is two memories (two ids, both recalled), also after a reopen",
    rules=("store_memory.id",),
    why="the same words may be said twice and both times matter; deduplicating silently loses "
    "a memory and its metadata",
    fix="give every store_memory() call a new id and a new row; do not key rows by content",
)
def same_memory_twice_is_two_memories(ctx: Context) -> None:
    memory = _memory(ctx, "twice")
    backend = ctx.make("twice")
    first, second = (backend.store_memory(copy.deepcopy(memory)) for _ in range(2))
    expect(
        first != second,
        "two ids for the same memory stored twice",
        f"{first!r} both times",
        "give every store_memory() call a new id (uuid4 or a sequence), never one derived "
        "from the content",
    )
    found = _ids(backend.recall(_unique_word(memory), limit=10))
    expect(
        first in found and second in found,
        f"both {first} and {second} among the results",
        f"ids {found}",
        NOT_A_SET_FIX,
    )
    if ctx.has("persistent"):
        backend.close()
        backend = ctx.make("twice")
        third = backend.store_memory(copy.deepcopy(memory))
        expect(
            third not in (first, second),
            "a new id for a memory stored after reopening",
            f"{third!r}, an id given before the reopen",
            ID_RESTART_FIX,
        )
        found = _ids(backend.recall(_unique_word(memory), limit=10))
        expect(
            third in found,
            f"{third} among the results after reopening",
            f"ids {found}",
            NOT_A_SET_FIX,
        )


@check(
    "storage",
    "add_edge() links two stored memories and returns None",
    rules=("add_edge.links",),
    why="edges link memories into a graph (related_to, supports, ...); OMI ignores the return "
    "value",
    fix="insert the edge (source, target, type) and return None",
)
def add_edge_between_stored_memories(ctx: Context) -> None:
    a = ctx.plugin.store_memory(_memory(ctx, "a"))
    b = ctx.plugin.store_memory(_memory(ctx, "b"))
    result = ctx.plugin.add_edge(a, b, "related_to")
    expect(result is None, "None", result, "return nothing from add_edge()")
    ctx.plugin.add_edge(b, a, "supports")


@check(
    "storage",
    "add_edge() with an unknown id raises an error naming it",
    rules=("add_edge.unknown_id",),
    why="an edge to a memory that does not exist is a dangling link; the error must say which "
    "id is wrong",
    fix="check that both ids exist (or use foreign keys) and raise an error naming the unknown id",
)
def add_edge_rejects_unknown_ids(ctx: Context) -> None:
    known = ctx.plugin.store_memory(_memory(ctx))
    unknown = f"missing-{uuid.uuid4().hex}"
    adding = (
        lambda: ctx.plugin.add_edge(known, unknown, "related_to"),
        lambda: ctx.plugin.add_edge(unknown, known, "related_to"),
    )
    for add_edge in adding:
        error = expect_raises(
            (Exception,),
            add_edge,
            f"an error for the unknown id {unknown}",
            "check both ids exist (or use foreign keys) and raise",
        )
        message = str(error)
        if unknown in message:
            continue
        if str(known) in message:
            raise CheckFailure(
                f"the message to name {unknown}",
                f"{error} (it names {known}, which store_memory() had just "
                f"returned: that memory is not there)",
                "store every memory under the id store_memory() returns",
            )
        if "related_to" in message:
            raise CheckFailure(
                f"the message to name {unknown}",
                f"{error} (about the edge type, not the id)",
                "accept the edge types OMI uses (related_to, supports, ...) and "
                "name the id that is unknown",
            )
        raise CheckFailure(f"the message to name {unknown}", message, "say which id is unknown")


@check(
    "storage",
    "close() can be called twice, also after use",
    rules=("close.twice",),
    why="hosts close backends on shutdown and in error paths, so close() may run twice",
    fix="set a closed flag in close() and return at once when it is already set",
)
def close_is_idempotent(ctx: Context) -> None:
    backend = ctx.make("closing")
    backend.store_memory(_memory(ctx))
    backend.close()
    backend.close()


@check(
    "storage",
    "every method of a closed backend raises: store_memory, recall, add_edge",
    rules=("close.closed",),
    why="a closed backend has released its connection; silently working or returning nothing "
    "hides a bug in the host",
    fix="set the connection to None in close() and check it at the start of every method, "
    'raising RuntimeError("backend is closed")',
)
def use_after_close_raises(ctx: Context) -> None:
    backend = ctx.make("closed")
    memory = _memory(ctx)
    a, b = backend.store_memory(memory), backend.store_memory(_memory(ctx))
    backend.recall(_unique_word(memory))  # answered once while open: a cache must not answer
    backend.close()
    calls = {
        "store_memory": lambda: backend.store_memory(_memory(ctx)),
        "recall": lambda: backend.recall(_unique_word(memory)),
        "add_edge": lambda: backend.add_edge(a, b, "related_to"),
    }
    for name, call in calls.items():
        expect_raises(
            (Exception,),
            call,
            f"an error from {name}() after close()",
            "set the connection to None in close() and check it in every method",
        )


#: How often the persistence check closes and reopens the backend, storing before each time.
REOPENS = 3
#: Per session, the memories stored in it: id -> (the memory, what recall returned for it).
Sessions = list[dict[str, tuple[dict[str, Any], dict[str, Any]]]]


@check(
    "storage",
    "data survives several close()/reopen cycles unchanged, and ids never repeat",
    requires=("persistent",),
    rules=("close.persistent", "store_memory.id"),
    why="a plugin declaring 'persistent' promises memories outlive the process",
    fix="commit every write before returning and reopen the same location, or do not declare "
    "'persistent'",
)
def data_survives_reopen(ctx: Context) -> None:
    backend = ctx.make("durable")
    sessions: Sessions = []
    for reopen in range(1, REOPENS + 1):
        stored: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for index in range(2):
            memory = {
                "content": f"remember {_word(ctx)} from session {reopen}",
                "metadata": {
                    "session": reopen,
                    "index": index,
                    "note": None,
                    "nested": {"weights": [0.5, 1.0], "ok": True},
                },
            }
            memory_id = backend.store_memory(copy.deepcopy(memory))
            earlier = next(
                (number for number, ids in enumerate(sessions, 1) if memory_id in ids), None
            )
            expect(
                earlier is None and memory_id not in stored,
                f"a new id in session {reopen}",
                f"{memory_id!r} again, first given in session {earlier or reopen}",
                ID_RESTART_FIX,
            )
            stored[memory_id] = (memory, _find(backend, memory, memory_id, f" in session {reopen}"))
        sessions.append(stored)
        backend.close()
        size = _footprint(ctx.workdir / "durable")
        backend = ctx.make("durable")
        _expect_sessions_survive(backend, sessions, (size, _footprint(ctx.workdir / "durable")))


def _footprint(directory: Path) -> int:
    """The bytes in the files under `directory` (0 for a backend that keeps none there)."""
    total = 0
    for path in directory.rglob("*"):
        with contextlib.suppress(OSError):  # a file the backend removed meanwhile
            total += path.stat().st_size if path.is_file() else 0
    return total


def _expect_sessions_survive(backend: Any, sessions: Sessions, sizes: tuple[int, int]) -> None:
    """Every memory of every session is found after the latest reopen, as it was recalled
    before; else fail naming what was lost, or what changed, and when."""
    reopen = len(sessions)
    lost: dict[int, list[str]] = {}
    for number, stored in enumerate(sessions, 1):
        for memory_id, (memory, before) in stored.items():
            results = backend.recall(_unique_word(memory), limit=10)
            found = next(
                (r for r in results if isinstance(r, dict) and r.get("id") == memory_id), None
            )
            if found is None:
                lost.setdefault(number, []).append(memory_id)
                continue
            for key in ("content", "metadata"):
                changed = difference(before.get(key), found.get(key), key)
                expect(
                    changed is None,
                    f"the memories of session {number} as they were before reopen {reopen}",
                    f"{memory_id}: {changed}",
                    "leave stored data as written when opening: no clean-up or migration "
                    "that rewrites it on every open",
                )
    if lost:
        raise CheckFailure(
            f"every memory stored before reopen {reopen} still there",
            *_why_lost(lost, [list(stored) for stored in sessions], sizes),
        )


def _why_lost(
    lost: dict[int, list[str]], sessions: list[list[str]], sizes: tuple[int, int]
) -> tuple[str, str]:
    """(what came back, the fix) for memories missing after the latest of `len(sessions)`
    reopens, naming the cause: `lost` maps a session's number (from 1) to its missing ids, and
    `sizes` are the bytes at the location before and after the latest reopen."""
    reopen, (before, after) = len(sessions), sizes
    whole = [number for number, ids in lost.items() if len(ids) == len(sessions[number - 1])]
    if len(whole) == reopen and after < before:
        return (
            f"everything stored before is gone: opening truncated the stored data (the "
            f"files at the location shrank from {before:,} to {after:,} bytes as the new "
            f"instance opened them)",
            TRUNCATION_FIX,
        )
    if len(whole) == reopen == 1:
        return (
            "everything stored before close() is gone after reopening",
            "write to the location the suite gives, commit every write before close() "
            "returns and read it back when opening; or drop 'persistent'",
        )
    if len(whole) == reopen:
        return (
            "everything stored before is gone, though it survived the earlier reopens",
            TRUNCATION_FIX,
        )
    gone = "; ".join(f"session {number}: {', '.join(ids)}" for number, ids in sorted(lost.items()))
    if whole == [reopen] == list(lost):
        return (
            f"what was stored after reopen {reopen - 1} is gone, the earlier memories are "
            f"there ({gone})",
            "commit writes made after reopening too, to the same location",
        )
    if whole == sorted(lost) and reopen not in lost:
        return (
            f"the memories of earlier sessions are gone, the last session's are there ({gone})",
            "keep the data loaded when opening: writes after a reopen must add "
            "to it, not replace the store with this session's memories",
        )
    return f"some memories are gone ({gone})", "commit every write before close() returns"


@dataclass
class _Model:
    """What the random sequence has stored, and when: the model the backend must agree with."""

    backend: Any
    location: str  # where its data lives, under the check's directory
    memories: dict[str, dict[str, Any]] = field(default_factory=dict)
    stored_at: dict[str, int] = field(default_factory=dict)  # id -> step
    session_of: dict[str, int] = field(default_factory=dict)  # id -> reopens before it
    reopens: list[int] = field(default_factory=list)  # the steps that reopened the backend
    sizes: tuple[int, int] = (0, 0)  # bytes at the location before and after the latest reopen

    def named_in(self, text: str) -> str | None:
        """The id of the model that `text` (an error message) names, if any."""
        return next((memory_id for memory_id in self.memories if str(memory_id) in text), None)


@check(
    "storage",
    "a seeded random sequence of operations agrees with a simple model",
    rules=("recall.finds", "store_memory.id"),
    why="mixed sequences of store, recall and edge operations find bugs single checks miss "
    "(stale caches, lost writes)",
    fix="run the failing sequence it prints (same --seed) and compare each result with what a "
    "plain dict would hold",
)
def random_operations_match_a_model(ctx: Context) -> None:
    steps = [
        _Step(ctx.rng.choice(ACTIONS), ctx.rng.random(), ctx.rng.random(), ctx.rng.randint(1, 5))
        for _ in range(STEPS)
    ]
    found = _replay(ctx, steps, "model")
    if found is None:
        return
    replays = iter(range(SHRINK_REPLAYS))

    def fails(candidate: list[_Step]) -> bool:
        again = _replay(ctx, candidate, f"shrink-{next(replays, SHRINK_REPLAYS)}")
        return again is not None and again[1] == found[1]

    smallest = shrink(steps, fails, SHRINK_REPLAYS)
    again = _replay(ctx, smallest, "smallest") if len(smallest) < STEPS else None
    failure, done = (again[0], again[2]) if again is not None else (found[0], found[2])
    sequence = (
        f"the smallest failing sequence found ({len(done)} of {STEPS} steps, seed {ctx.seed})"
        if again is not None
        else f"no shorter sequence fails the same way; the {len(done)} steps run (seed {ctx.seed})"
    )
    raise CheckFailure(
        failure.expected, f"{failure.got}; {sequence}: {', '.join(done)}", failure.fix
    )


#: The operations of the random sequence, as often as they are drawn.
ACTIONS = ["store", "store", "recall", "recall", "edge", "bad_edge", "reopen"]
#: How many operations the sequence has, and how many replays shrinking a failing one may
#: take (each on a new location).
STEPS, SHRINK_REPLAYS = 60, 40


@dataclass(frozen=True)
class _Step:
    """One operation of the random sequence: what it does, which stored memories it uses (as
    fractions of their number, so a shorter replay still picks one) and the limit of a
    recall."""

    action: str
    pick: float
    other: float
    limit: int


def _replay(
    ctx: Context, steps: list[_Step], location: str
) -> tuple[CheckFailure, str, list[str]] | None:
    """Run `steps` on a new instance at `location`: None when the backend agrees with the
    model throughout, else the failure, the action of the step that failed and the actions
    run up to it (a step with no memory to use yet stores one)."""
    model = _Model(ctx.make(location), location)
    done: list[str] = []
    try:
        for index, step in enumerate(steps):
            action = step.action if model.memories else "store"
            done.append(action)
            where = f"step {index} ({action}, seed {ctx.seed})"
            try:
                _random_step(ctx, model, step, index, where)
            except CheckFailure as failure:
                return failure, action, done
            except Exception as error:  # noqa: BLE001 - the plugin's exception is the finding
                return (
                    CheckFailure(
                        f"{action} to succeed at {where}", *_why_raised(model, error, ctx.seed)
                    ),
                    action,
                    done,
                )
        return None
    finally:
        with contextlib.suppress(Exception):  # closed already, or broken: either is reported
            model.backend.close()


def _why_raised(model: _Model, error: Exception, seed: int) -> tuple[str, str]:
    """(what came back, the fix) for an exception from an operation of the random sequence."""
    got = f"{type(error).__name__}: {error}"
    fix = f"replay with --seed {seed} and fix that operation"
    named = model.named_in(str(error))
    if named is None:
        return got, fix
    got += f" ({named} is the id store_memory() returned at step {model.stored_at[named]})"
    lost = _why_missing(model, named)
    if lost is None:
        return got, f"store every memory under the id store_memory() returns; {fix}"
    return f"{got}; {lost[0]}", f"{lost[1]}; {fix}"


def _random_step(ctx: Context, model: _Model, planned: _Step, step: int, where: str) -> None:
    """One operation of the random sequence."""
    backend, action = model.backend, planned.action
    stored = list(model.memories)
    if action == "store" or not model.memories:
        memory = _memory(ctx, str(len(model.memories)))
        memory_id = backend.store_memory(copy.deepcopy(memory))
        if memory_id in model.memories:
            before_reopen = model.session_of[memory_id] < len(model.reopens)
            raise CheckFailure(
                f"a new id at {where}",
                f"{memory_id!r}, the id given at step {model.stored_at[memory_id]}"
                + (f", before the reopen at step {model.reopens[-1]}" if before_reopen else ""),
                ID_RESTART_FIX if before_reopen else "never reuse ids",
            )
        model.memories[memory_id] = memory
        model.stored_at[memory_id] = step
        model.session_of[memory_id] = len(model.reopens)
    elif action == "recall":
        memory_id = stored[int(planned.pick * len(stored))]
        limit = planned.limit
        results = backend.recall(_unique_word(model.memories[memory_id]), limit=limit)
        expect(
            len(results) <= limit,
            f"at most {limit} results at {where}",
            f"{len(results)} results",
            "apply the limit in the query",
        )
        found = _ids(results)
        if memory_id not in found:
            lost = _why_missing(model, memory_id)
            raise CheckFailure(
                f"{memory_id} (stored at step {model.stored_at[memory_id]}) within {limit} "
                f"results at {where}",
                f"ids {found}" + (f"; {lost[0]}" if lost else ""),
                lost[1] if lost else "recall must find every stored memory by its words",
            )
    elif action == "edge":
        a, b = stored[int(planned.pick * len(stored))], stored[int(planned.other * len(stored))]
        backend.add_edge(a, b, "related_to" if planned.other < 0.5 else "supports")
    elif action == "bad_edge":
        a = stored[int(planned.pick * len(stored))]
        expect_raises(
            (Exception,),
            lambda: backend.add_edge(a, "no-such-id", "x"),
            f"an error for an unknown id at {where}",
            "validate both ids",
        )
    elif action == "reopen" and ctx.has("persistent"):
        backend.close()
        size = _footprint(ctx.workdir / model.location)
        model.backend = ctx.make(model.location)
        model.reopens.append(step)
        model.sizes = (size, _footprint(ctx.workdir / model.location))


def _why_missing(model: _Model, memory_id: str) -> tuple[str, str] | None:
    """(what happened, the fix) when a memory stored before the latest reopen is missing, from
    what else that reopen lost; None for a memory stored since."""
    reopens = len(model.reopens)
    if model.session_of[memory_id] == reopens:
        return None
    sessions: list[list[str]] = [[] for _ in range(reopens)]
    lost: dict[int, list[str]] = {}
    for other, session in model.session_of.items():
        if session < reopens:
            sessions[session].append(other)
            results = model.backend.recall(_unique_word(model.memories[other]), limit=10)
            if other not in _ids(results):
                lost.setdefault(session + 1, []).append(other)
    got, fix = _why_lost(lost, sessions, model.sizes)
    return f"since the reopen at step {model.reopens[-1]}: {got}", fix


@check(
    "storage",
    "the constructor refuses an option it does not know, naming it",
    rules=("storage.options",),
    why="OMI passes every key of the plugin's config.yaml section as a keyword option; a "
    "misspelt key that is ignored leaves the setting at its default without a word",
    fix=UNKNOWN_OPTION_FIX,
)
def backend_refuses_unknown_options(ctx: Context) -> None:
    expect_unknown_option_refused(ctx)
