"""Checks for storage backends."""

from __future__ import annotations

import copy
import uuid
from typing import Any, Dict, List

from omi.conformance.registry import CheckFailure, Context, check, expect, expect_raises


def _memory(ctx: Context, tag: str = "") -> Dict[str, Any]:
    """A memory whose content contains a word no other memory has, so recall can find it."""
    word = f"zq{ctx.rng.getrandbits(48):012x}{tag}"
    return {"content": f"remember {word} for later", "metadata": {"tag": tag or "t", "n": 1}}


def _unique_word(memory: Dict[str, Any]) -> str:
    return memory["content"].split()[1]


def _ids(results: Any) -> List[Any]:
    return [item.get("id") for item in results if isinstance(item, dict)]


@check("storage", "store_memory() returns a unique, non-empty str id")
def store_returns_unique_ids(ctx: Context) -> None:
    ids = [ctx.plugin.store_memory(_memory(ctx)) for _ in range(20)]
    for memory_id in ids:
        expect(isinstance(memory_id, str) and memory_id != "", "a non-empty str id",
               memory_id, "return str(the new row's id)")
    expect(len(set(ids)) == len(ids), "20 distinct ids for 20 memories",
           f"{len(set(ids))} distinct", "generate ids with uuid4() or a database sequence")


@check("storage", "store_memory() leaves the memory it was given unchanged")
def store_does_not_mutate_input(ctx: Context) -> None:
    memory = _memory(ctx)
    before = copy.deepcopy(memory)
    ctx.plugin.store_memory(memory)
    expect(memory == before, "the caller's dict unchanged", memory,
           "copy the dict before adding ids or timestamps")


@check("storage", "recall() returns the stored content and metadata, with the id")
def recall_returns_content_and_metadata(ctx: Context) -> None:
    memory = _memory(ctx, "meta")
    memory_id = ctx.plugin.store_memory(copy.deepcopy(memory))
    results = ctx.plugin.recall(_unique_word(memory))
    found = [item for item in results if isinstance(item, dict) and item.get("id") == memory_id]
    expect(bool(found), f"a result with id {memory_id!r}", results,
           "include 'id' in every recalled dict")
    expect(found[0].get("content") == memory["content"], f"content {memory['content']!r}",
           found[0].get("content"), "return the stored content unchanged")
    expect(found[0].get("metadata") == memory["metadata"], f"metadata {memory['metadata']!r}",
           found[0].get("metadata"), "store metadata (e.g. as JSON) and return it")


@check("storage", "recall() with a stored memory's exact content finds that memory")
def recall_finds_exact_content(ctx: Context) -> None:
    memories = [_memory(ctx, str(index)) for index in range(5)]
    ids = [ctx.plugin.store_memory(memory) for memory in memories]
    for memory, memory_id in zip(memories, ids, strict=True):
        results = ctx.plugin.recall(memory["content"], limit=10)
        expect(memory_id in _ids(results), f"id {memory_id} among the results", _ids(results),
               "match on the content's words (full-text search), not only exact substrings")


@check("storage", "recall() honours limit (0, 1, and more than stored) and returns dicts")
def recall_honours_limit(ctx: Context) -> None:
    word = f"zqshared{ctx.rng.getrandbits(32):08x}"
    for index in range(4):
        ctx.plugin.store_memory({"content": f"{word} item {index}", "metadata": {}})
    for limit, most in ((0, 0), (1, 1), (3, 3), (50, 4)):
        results = ctx.plugin.recall(word, limit=limit)
        expect(isinstance(results, list) and all(isinstance(r, dict) for r in results),
               "a list of dicts", results, "return [dict(row) for row in rows]")
        expect(len(results) <= most, f"at most {most} results for limit={limit}",
               f"{len(results)} results", "apply LIMIT in the query, including LIMIT 0")
    expect(len(ctx.plugin.recall(word, limit=50)) == 4, "all 4 matching memories for limit=50",
           len(ctx.plugin.recall(word, limit=50)), "return every match up to the limit")


@check("storage", "a new instance starts empty", unless=("shared",))
def new_instance_starts_empty(ctx: Context) -> None:
    results = ctx.make("fresh").recall("remember", limit=10)
    expect(results == [], "no memories in a fresh instance", results,
           "start from an empty store for a new location")


@check("storage", "two instances do not see each other's data", unless=("shared",))
def instances_are_isolated(ctx: Context) -> None:
    first, second = ctx.make("first"), ctx.make("second")
    memory = _memory(ctx, "iso")
    first.store_memory(memory)
    leaked = second.recall(_unique_word(memory), limit=10)
    expect(leaked == [], "nothing from the other instance", leaked,
           "keep each instance's data at its own location, or declare 'shared'")


@check("storage", "add_edge() links two stored memories and returns None")
def add_edge_between_stored_memories(ctx: Context) -> None:
    a = ctx.plugin.store_memory(_memory(ctx, "a"))
    b = ctx.plugin.store_memory(_memory(ctx, "b"))
    result = ctx.plugin.add_edge(a, b, "related_to")
    expect(result is None, "None", result, "return nothing from add_edge()")
    ctx.plugin.add_edge(b, a, "supports")


@check("storage", "add_edge() with an unknown id raises an error naming it")
def add_edge_rejects_unknown_ids(ctx: Context) -> None:
    known = ctx.plugin.store_memory(_memory(ctx))
    unknown = f"missing-{uuid.uuid4().hex}"
    for args in ((known, unknown), (unknown, known)):
        error = expect_raises((Exception,), lambda args=args: ctx.plugin.add_edge(*args, "x"),
                              f"an error for the unknown id {unknown}",
                              "check both ids exist (or use foreign keys) and raise")
        expect(unknown in str(error), f"the message to name {unknown}", str(error),
               "say which id is unknown")


@check("storage", "close() can be called twice")
def close_is_idempotent(ctx: Context) -> None:
    backend = ctx.make("closing")
    backend.close()
    backend.close()


@check("storage", "using a closed backend raises")
def use_after_close_raises(ctx: Context) -> None:
    backend = ctx.make("closed")
    backend.close()
    expect_raises((Exception,), lambda: backend.store_memory(_memory(ctx)),
                  "an error from store_memory() after close()",
                  "set the connection to None in close() and check it in every method")


@check("storage", "data survives close() and reopening", requires=("persistent",))
def data_survives_reopen(ctx: Context) -> None:
    backend = ctx.make("durable")
    memory = _memory(ctx, "durable")
    memory_id = backend.store_memory(memory)
    backend.close()
    reopened = ctx.make("durable")
    results = reopened.recall(_unique_word(memory), limit=10)
    expect(memory_id in _ids(results), f"id {memory_id} after reopening", _ids(results),
           "commit every write and read from the same location, or drop 'persistent'")
    found = next(r for r in results if r.get("id") == memory_id)
    expect(found.get("content") == memory["content"] and found.get("metadata") ==
           memory["metadata"], "the same content and metadata after reopening", found,
           "store all of the memory durably")


@check("storage", "a seeded random sequence of operations agrees with a simple model")
def random_operations_match_a_model(ctx: Context) -> None:
    backend = ctx.make("model")
    model: Dict[str, Dict[str, Any]] = {}
    for step in range(60):
        action = ctx.rng.choice(["store", "store", "recall", "recall", "edge", "bad_edge",
                                 "reopen"])
        where = f"step {step} ({action}, seed {ctx.seed})"
        try:
            backend = _random_step(ctx, backend, model, action, where)
        except CheckFailure:
            raise
        except Exception as error:  # noqa: BLE001 - the plugin's exception is the finding
            raise CheckFailure(f"{action} to succeed at {where}",
                               f"{type(error).__name__}: {error}",
                               f"replay with --seed {ctx.seed} and fix that operation") from None


def _random_step(ctx: Context, backend: Any, model: Dict[str, Dict[str, Any]], action: str,
                 where: str) -> Any:
    """One operation of the random sequence; returns the backend to use next."""
    if action == "store" or not model:
        memory = _memory(ctx, str(len(model)))
        memory_id = backend.store_memory(copy.deepcopy(memory))
        expect(memory_id not in model, f"a new id at {where}", memory_id,
               "never reuse ids")
        model[memory_id] = memory
    elif action == "recall":
        memory_id = ctx.rng.choice(sorted(model))
        limit = ctx.rng.randint(1, 5)
        results = backend.recall(_unique_word(model[memory_id]), limit=limit)
        expect(memory_id in _ids(results) and len(results) <= limit,
               f"{memory_id} within {limit} results at {where}", _ids(results),
               "recall must find every stored memory by its words")
    elif action == "edge":
        a, b = ctx.rng.choice(sorted(model)), ctx.rng.choice(sorted(model))
        backend.add_edge(a, b, ctx.rng.choice(["related_to", "supports"]))
    elif action == "bad_edge":
        a = ctx.rng.choice(sorted(model))
        expect_raises((Exception,), lambda a=a, b=backend: b.add_edge(a, "no-such-id", "x"),
                      f"an error for an unknown id at {where}", "validate both ids")
    elif action == "reopen" and ctx.has("persistent"):
        backend.close()
        backend = ctx.make("model")
    return backend
