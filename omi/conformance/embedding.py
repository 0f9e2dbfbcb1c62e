"""Checks for embedding providers."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from omi.conformance.authoring import (
    WRONG_TYPE,
    CheckFailure,
    Context,
    check,
    expect,
    expect_close_twice,
    expect_raises,
    shorten,
)
from omi.conformance.building import (
    UNKNOWN_OPTION_FIX,
    InstanceFactory,
    expect_unknown_option_refused,
)
from omi.conformance.fresh import FreshInterpreter

TEXTS = [
    "The cat sat on the mat.",
    "Quarterly revenue grew by 12 percent.",
    "Photosynthesis turns light into chemical energy.",
    "A short one",
    "Paris in spring",
]
UNICODE_TEXT = "naïve café, Größe, 日本語のテキスト, Ελληνικά, emoji 🙂🚀"
#: Far longer than any model accepts (250,000 characters): the provider truncates or splits.
LONG_TEXT = " ".join(f"word{index % 97}" for index in range(36_000))
#: Texts that differ from each other only in case or in whitespace and line breaks.
NEAR_TWINS = ["Tea at noon", "TEA AT NOON", "Tea  at noon\n", " Tea\nat noon"]


#: Batches of every composition (what, texts, batch_size or None for the plugin's default):
#: each item of embed_batch(texts) must equal embed() of that text. (batch_size_is_honoured
#: proves the default batch_size gives what the others give.)
BATCHES = [
    (
        "7 texts with duplicates, batch_size=3",
        [TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[2], TEXTS[0], TEXTS[3], TEXTS[4]],
        3,
    ),
    ("a batch of one", [TEXTS[3]], None),
    ("texts differing only in case or whitespace", NEAR_TWINS, 3),
]


def _not_a_vector(value: Any) -> tuple[str, str] | None:
    """(what is wrong, the fix) when `value` is not a list of finite floats, else None; names
    the first bad element, wherever it is in a long vector."""
    if not isinstance(value, list):
        return (
            f"a {type(value).__name__}: {shorten(value)}",
            "return a list (e.g. array.tolist()), one float per dimension",
        )
    for index, x in enumerate(value):
        if not isinstance(x, float):
            return (
                f"element {index} is {shorten(x)} ({type(x).__name__})",
                "return list(map(float, vector))",
            )
        if not math.isfinite(x):
            return (
                f"element {index} is {x!r}",
                "return finite numbers only (a NaN often comes from normalising a zero vector)",
            )
    return None


def _mismatch(expected: list[float], got: Any, tolerance: float = 1e-5) -> str | None:
    """Where vector `got` first differs from `expected` beyond `tolerance`, or None."""
    wrong = _not_a_vector(got)
    if wrong is not None:
        return f"{wrong[0]}, not a list of finite floats"
    if len(got) != len(expected):
        return f"{len(got)} floats instead of {len(expected)}"
    for index, (x, y) in enumerate(zip(expected, got, strict=True)):
        if not math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance):
            return f"element {index} is {y!r}, not {x!r}"
    return None


def _vector(ctx: Context, text: str) -> list[float]:
    vector = ctx.plugin.embed(text)
    dimension = ctx.plugin.get_dimension()
    expected = f"a list of {dimension} finite floats for {text[:30]!r}"
    wrong = _not_a_vector(vector)
    if wrong is not None:
        raise CheckFailure(expected, *wrong)
    expect(
        len(vector) == dimension,
        expected,
        f"{len(vector)} floats",
        "return get_dimension() elements, as many as the model's vectors have",
    )
    floats: list[float] = vector  # a list of floats: checked above
    return floats


@check(
    "embedding",
    "get_dimension() is a positive int and never changes",
    rules=("get_dimension.stable",),
    why="OMI sizes its vector storage from get_dimension() once; a value that changes or is "
    "not a positive int corrupts the index",
    fix="return a constant positive int, fixed when the provider is built (from the model or "
    "an option), not recomputed per call",
)
def dimension_positive_and_stable(ctx: Context) -> None:
    first = ctx.plugin.get_dimension()
    expect(
        isinstance(first, int) and not isinstance(first, bool) and first > 0,
        "a positive int",
        first,
        "return the model's dimensionality as an int",
    )
    ctx.plugin.embed(TEXTS[0])
    again = [ctx.plugin.get_dimension() for _ in range(3)]
    expect(
        again == [first] * 3,
        f"{first} on every call, also after embedding",
        again,
        "cache the dimension; do not change it between calls",
    )


@check(
    "embedding",
    "embed() returns a list of get_dimension() finite floats",
    rules=("embed.vector",),
    why="vectors are stored and compared as get_dimension() floats; a NaN, an infinity, a "
    "numpy array or a wrong length breaks recall",
    fix="return [float(x) for x in vector], check its length against get_dimension(), and "
    "replace or reject non-finite values",
)
def embed_returns_finite_floats(ctx: Context) -> None:
    for text in TEXTS:
        _vector(ctx, text)


#: A fresh interpreter may load a model first: it gets the time of this many calls.
FRESH_INTERPRETER_CALLS = 3


@check(
    "embedding",
    "the same text gives the same vector, also in a new interpreter (another PYTHONHASHSEED)",
    requires=("deterministic",),
    rules=("embed.deterministic",),
    why="a plugin declaring 'deterministic' promises stored vectors stay comparable across "
    "restarts; hash() and unseeded randomness differ per process",
    fix="derive vectors from the text alone (hashlib, seeded generators), or do not declare "
    "'deterministic'",
)
def embed_is_deterministic(ctx: Context) -> None:
    texts = TEXTS[1:2]  # any text shows a salted hash; a second one costs a model call
    # Built as the runner builds it when the factory says how, else from the instance's class.
    recipe = (
        InstanceFactory(ctx.factory.plugin_class, ctx.factory.options)
        if isinstance(ctx.factory, InstanceFactory)
        else InstanceFactory(type(ctx.plugin))
    )
    seed = ctx.rng.randrange(1, 2**32)
    if os.environ.get("PYTHONHASHSEED") == str(seed):
        seed += 1
    with FreshInterpreter(recipe, texts, ctx.workdir / "fresh-interpreter", seed) as child:
        here = []
        for text in texts:
            vector = _vector(ctx, text)
            again = _mismatch(vector, ctx.plugin.embed(text))
            expect(
                again is None,
                f"the same vector for {text[:30]!r} on a second call",
                again,
                "remove randomness (or seed it), or do not declare 'deterministic'",
            )
            here.append(vector)
        there = child.answer(FRESH_INTERPRETER_CALLS * ctx.call_timeout)
    for text, mine, theirs in zip(texts, here, there["vectors"], strict=True):
        found = _mismatch(mine, theirs)
        if found is None:
            continue
        built, expected = (there["model"], len(theirs)), (ctx.plugin.get_model_name(), len(mine))
        expect(
            built == expected,
            "a fresh interpreter to build the same plugin (model, vector length)",
            f"{built} there, {expected} here",
            "let the suite build it as configured: under pytest set plugin_class and "
            "plugin_options (the plugin fixture's arguments do not reach another process)",
        )
        raise CheckFailure(
            f"embed({text[:30]!r}) in a fresh interpreter (PYTHONHASHSEED={seed}) "
            f"to equal the vector here",
            found,
            "derive vectors from the text alone: stable hashes (hashlib), not "
            "hash(), which Python salts per process, and seeded random "
            "generators; or do not declare 'deterministic'",
        )


@check(
    "embedding",
    "embed_batch(texts)[i] == embed(texts[i]), with duplicates, one text, "
    "more than batch_size, and texts differing only in case or whitespace",
    rules=("embed_batch.equals_embed",),
    why="OMI embeds stored memories in batches and queries one at a time; if the two differ, "
    "recall compares unlike vectors",
    fix="compute embed_batch() with the same code path as embed() and keep the results in "
    "input order, one per text, duplicates included",
)
def batch_matches_single(ctx: Context) -> None:
    single = {text: _vector(ctx, text) for text in [*TEXTS, *NEAR_TWINS]}
    for what, texts, size in BATCHES:
        batch = (
            ctx.plugin.embed_batch(list(texts))
            if size is None
            else ctx.plugin.embed_batch(list(texts), batch_size=size)
        )
        expect(
            isinstance(batch, list),
            f"a list of {len(texts)} vectors for {what}",
            batch,
            "return one vector per input text",
        )
        merged = len(batch) == len(set(texts)) < len(texts)
        expect(
            len(batch) == len(texts),
            f"{len(texts)} vectors for {what}",
            f"{len(batch)}"
            + (" (one per distinct text: the duplicates were merged)" if merged else ""),
            "return one vector per input text, duplicates included (map each distinct "
            "text's vector back to every position it holds)"
            if merged
            else "return one vector per input text",
        )
        for index, text in enumerate(texts):
            found = _mismatch(single[text], batch[index], 1e-4)
            if found is None:
                continue
            other = next(
                (
                    j
                    for j, t in enumerate(texts)
                    if t != text and _mismatch(single[t], batch[index], 1e-4) is None
                ),
                None,
            )
            raise CheckFailure(
                f"embed_batch(texts)[{index}] == embed(texts[{index}]) for {what}",
                f"the vector of texts[{other}] (wrong order)"
                if other is not None
                else f"a different vector: {found}",
                "return the vectors in input order, each equal to embed(text)"
                if other is not None
                else "embed each text of a batch exactly as embed() does (same preprocessing, "
                "nothing that depends on the other texts)",
            )


@check(
    "embedding",
    "embed_batch() gives the same result for batch_size 1, 2 and > len(texts)",
    rules=("embed_batch.batch_size",),
    why="batch_size only bounds each request to the model; results must not depend on how "
    "texts are split",
    fix="split texts into chunks of batch_size, embed each chunk, and concatenate the results "
    "in order",
)
def batch_size_is_honoured(ctx: Context) -> None:
    # Three texts are split 1+1+1, 2+1 and 3: several chunks, an uneven last one and a single
    # chunk larger than needed. More texts would add model calls, not cases.
    texts = TEXTS[:3]
    reference = ctx.plugin.embed_batch(list(texts))
    for index, vector in enumerate(reference):
        wrong = _not_a_vector(vector)
        if wrong is not None:
            raise CheckFailure(f"embed_batch(texts)[{index}] to be a list of finite floats", *wrong)
    for size in (1, 2, len(texts) + 3):
        result = ctx.plugin.embed_batch(list(texts), batch_size=size)
        expect(
            len(result) == len(texts),
            f"{len(texts)} vectors with batch_size={size}",
            f"{len(result)}",
            "loop over texts[i:i + batch_size] and concatenate the results",
        )
        for index, (vector, expected) in enumerate(zip(result, reference, strict=True)):
            found = _mismatch(expected, vector, 1e-4)
            expect(
                found is None,
                f"the same vectors with batch_size={size} as with the default",
                f"vector {index}: {found}",
                "batch_size only says how many texts go to the model at once: it must not "
                "change the vectors",
            )


#: Distinct texts embedded twice on one instance: more than a small cache holds (128, 256
#: entries). A plugin gets as many as fit in MANY_TEXTS_SECONDS of CPU time at the cost of a
#: text: a slow local model embeds a few; a remote API, which costs little CPU, gets them all,
#: in a few batched requests. A cheap plugin (at most MANY_TEXTS_CHEAP seconds a text) gets at
#: least MANY_TEXTS_FLOOR, more than a cache of 128 holds, however busy the machine: the cost
#: of a text is the cheaper of two measured, so one garbage collection or cold cache cannot
#: shrink the count, and the floor costs at most 2 * 160 * 2 ms = 0.64 s of CPU.
MANY_TEXTS, MANY_TEXTS_SECONDS = 300, 0.1
MANY_TEXTS_FLOOR, MANY_TEXTS_CHEAP = 160, 0.002


def many_texts_count(spent: float) -> int:
    """How many distinct texts a plugin spending `spent` seconds of CPU on a text gets."""
    budgeted = int(MANY_TEXTS_SECONDS / (2 * spent + 1e-9)) + 1
    floor = MANY_TEXTS_FLOOR if spent <= MANY_TEXTS_CHEAP else 1
    return min(MANY_TEXTS, max(budgeted, floor))


def _cpu_time(call: Callable[[], Any]) -> tuple[Any, float]:
    """What `call()` returns, and the CPU time this process spent in it."""
    start = time.process_time()  # CPU time: a busy machine does not shrink the count
    result = call()
    return result, time.process_time() - start


@check(
    "embedding",
    "many distinct texts on one instance: embed_batch() twice gives the same "
    "vectors, and the first text's vector is unchanged after them",
    rules=("embed_batch.equals_embed",),
    why="a host embeds thousands of memories with one provider; a cache that evicts wrongly "
    "hands out another text's vector once it is full, which a few texts never show",
    fix="key any cache by the whole text and evict whole entries (functools.lru_cache does), "
    "or cache nothing",
)
def many_texts_stay_consistent(ctx: Context) -> None:
    tag = f"{ctx.rng.getrandbits(32):08x}"
    texts = [f"note {index} of {tag}: {TEXTS[index % len(TEXTS)]}" for index in range(MANY_TEXTS)]
    # batches of one: no order to get wrong; the second text is embedded again with the rest
    oldest, spent = _cpu_time(lambda: ctx.plugin.embed_batch([texts[0]]))
    spent = min(spent, _cpu_time(lambda: ctx.plugin.embed_batch([texts[1]]))[1])
    count = many_texts_count(spent)
    rest = texts[1:count]
    first, again = ctx.plugin.embed_batch(list(rest)), ctx.plugin.embed_batch(list(rest))
    expect(
        isinstance(again, list) and len(first) == len(again) == len(rest),
        f"{len(rest)} vectors for {len(rest)} distinct texts, twice",
        f"{shorten(len(first))} and {shorten(len(again))}",
        "return one vector per text",
    )
    pairs = [
        (f"embed_batch() again of text {index + 1} of {count}", expected, vector)
        for index, (expected, vector) in enumerate(zip(first, again, strict=True))
    ]
    pairs.append(
        (
            f"embed() of the first of {count} distinct texts, after the others",
            oldest[0],
            _vector(ctx, texts[0]),
        )
    )
    for what, expected, vector in pairs:
        found = _mismatch(expected, vector, 1e-4)
        expect(
            found is None,
            f"{what} to equal its first vector",
            found,
            "return the vector of the text asked for: a cache must be keyed by the whole "
            "text and evict whole entries",
        )


@check(
    "embedding",
    "embed_batch([]) returns []",
    rules=("embed_batch.empty",),
    why="hosts call embed_batch([]) when there is nothing new; a model call or an error there "
    "fails a harmless operation",
    fix="return [] at the start of embed_batch() when texts is empty",
)
def batch_of_nothing_is_empty(ctx: Context) -> None:
    result = ctx.plugin.embed_batch([])
    expect(result == [], "[]", result, "return [] before calling the model")


@check(
    "embedding",
    "empty or whitespace-only text raises ValueError",
    rules=("embed.blank",),
    why="an empty text has no meaning to embed; a vector for it would match nothing or everything",
    fix='raise ValueError("Text cannot be empty") when text.strip() is empty',
)
def empty_text_raises_value_error(ctx: Context) -> None:
    for text in ("", "   ", "\n\t"):

        def embed(text: str = text) -> Any:
            return ctx.plugin.embed(text)

        expect_raises(
            (ValueError,),
            embed,
            f"ValueError for embed({text!r})",
            'raise ValueError("Text cannot be empty") for blank text',
        )


@check(
    "embedding",
    "unicode and long texts embed like any other",
    rules=("embed.any_text",),
    why="memories hold any language, emoji and long documents; an encoding error or a length "
    "limit loses them",
    fix="pass text to the model as str (UTF-8 on the wire) and truncate or chunk long texts "
    "instead of raising",
)
def unicode_and_long_text(ctx: Context) -> None:
    _vector(ctx, UNICODE_TEXT)
    _vector(ctx, LONG_TEXT)


@check(
    "embedding",
    "embed_batch() and similarity() leave their arguments unchanged",
    rules=("embed_batch.unchanged", "similarity.unchanged"),
    why="the host reuses the lists it passes in; changing them corrupts the caller's data",
    fix="work on copies (list(texts), list(vector)) instead of sorting, normalizing or "
    "appending in place",
)
def inputs_are_not_mutated(ctx: Context) -> None:
    texts = list(TEXTS)
    ctx.plugin.embed_batch(texts, batch_size=2)
    expect(texts == TEXTS, "the texts list unchanged", texts, "work on a copy of the list")
    a, b = _vector(ctx, TEXTS[0]), _vector(ctx, TEXTS[2])
    _expect_similarity_keeps(ctx, a, b, "vectors from embed()")


def _expect_similarity_keeps(ctx: Context, a: list[float], b: list[float], what: str) -> None:
    """similarity(a, b) leaves both lists as they were."""
    before = (list(a), list(b))
    ctx.plugin.similarity(a, b)
    for name, vector, copied in (("first", a, before[0]), ("second", b, before[1])):
        if vector != copied:
            raise CheckFailure(
                f"similarity() to leave {what} unchanged",
                f"the {name} one changed: {_mismatch(copied, vector, 0.0)}",
                "normalise copies (e.g. numpy arrays), not the caller's lists",
            )


@check(
    "embedding",
    "similarity(v, v) is about 1.0",
    rules=("similarity.self",),
    why="a vector is as similar to itself as anything can be; recall ranks by this score",
    fix="use cosine similarity: dot(a, b) / (norm(a) * norm(b))",
)
def self_similarity_is_one(ctx: Context) -> None:
    for text in TEXTS[:3]:
        vector = _vector(ctx, text)
        score = ctx.plugin.similarity(vector, vector)
        expect(
            isinstance(score, float) and math.isclose(score, 1.0, abs_tol=1e-4),
            "a float within 1e-4 of 1.0",
            score,
            "use cosine similarity: dot(a, b) / (|a| * |b|)",
        )


@check(
    "embedding",
    "similarity() is symmetric and stays within [-1, 1]",
    rules=("similarity.range",),
    why="recall ranks by similarity(); an order-dependent or unbounded score ranks memories "
    "inconsistently",
    fix="use cosine similarity and clamp the result to [-1, 1] against rounding",
)
def similarity_is_symmetric_and_bounded(ctx: Context) -> None:
    vectors = [_vector(ctx, text) for text in TEXTS]
    vectors.append([-x for x in vectors[0]])
    for i, a in enumerate(vectors):
        for j in range(i, len(vectors)):
            _expect_bounded_and_symmetric(ctx, a, vectors[j], f"embedded texts {i} and {j}")


def _expect_bounded_and_symmetric(ctx: Context, a: list[float], b: list[float], what: str) -> None:
    """similarity() of a and b is a float in [-1, 1], the same both ways round; a score out of
    range that equals the dot product is named as one (it needs dividing by the norms)."""
    ab, ba = ctx.plugin.similarity(a, b), ctx.plugin.similarity(b, a)
    expect(
        isinstance(ab, float),
        f"a float for {what}",
        f"{type(ab).__name__} {ab!r}",
        "return float(score)",
    )
    if not -1.0 - 1e-9 <= ab <= 1.0 + 1e-9:
        raw = math.isclose(ab, math.fsum(x * y for x, y in zip(a, b, strict=True)), rel_tol=1e-6)
        raise CheckFailure(
            f"a float in [-1, 1] for {what}",
            f"{ab!r}" + (", their dot product" if raw else ""),
            "divide the dot product by both norms (cosine): vectors compared need not have length 1"
            if raw
            else "normalise by both norms and clamp to [-1, 1]",
        )
    expect(
        math.isclose(ab, ba, abs_tol=1e-9),
        f"similarity(a, b) == similarity(b, a) for {what}",
        f"{ab} and {ba}",
        "use a symmetric measure such as cosine",
    )


def _arbitrary_vectors(ctx: Context, dimension: int) -> list[tuple[str, list[float]]]:
    """(name, vector) pairs no embedder returns: long, tiny, all negative, of mixed signs, and a
    negative multiple of another."""

    def spread(scale: float) -> list[float]:
        return [ctx.rng.uniform(-1.0, 1.0) * scale for _ in range(dimension)]

    long = spread(1000.0)
    return [
        ("a long vector", long),
        ("a tiny vector", spread(0.001)),
        ("an all-negative vector", [-abs(x) - 0.5 for x in spread(2.0)]),
        ("a mixed-sign vector", spread(3.0)),
        ("the long vector times -2.5", [-2.5 * x for x in long]),
    ]


@check(
    "embedding",
    "similarity() of arbitrary vectors (any norm or sign) is in [-1, 1], "
    "symmetric, and changes neither",
    rules=("similarity.range", "similarity.unchanged"),
    why="stored vectors may come from older models or other providers, with any norm or sign",
    fix="normalize inside similarity() on copies, return 0.0 for a zero vector, and clamp to "
    "[-1, 1]",
)
def similarity_handles_any_vectors(ctx: Context) -> None:
    vectors = _arbitrary_vectors(ctx, ctx.plugin.get_dimension())
    for i, (first, a) in enumerate(vectors):
        for second, b in vectors[i:]:
            what = f"{first} and {second}" if first != second else f"{first} with itself"
            _expect_similarity_keeps(ctx, a, b, what)  # first: it copies before calling
            _expect_bounded_and_symmetric(ctx, a, b, what)


@check(
    "embedding",
    "similarity() of vectors of different lengths raises ValueError",
    rules=("similarity.lengths",),
    why="vectors of different lengths come from different models; zip() silently compares a "
    "prefix and returns a meaningless score",
    fix='raise ValueError("vectors have different lengths") when len(a) != len(b)',
)
def similarity_rejects_mismatched_lengths(ctx: Context) -> None:
    vector = _vector(ctx, TEXTS[0])
    expect_raises(
        (ValueError,),
        lambda: ctx.plugin.similarity(vector, vector[:-1] or [0.0, 1.0]),
        "ValueError for vectors of different lengths",
        "check len(embedding1) == len(embedding2) and raise ValueError",
    )


@check(
    "embedding",
    "related texts score higher than unrelated ones",
    requires=("semantic",),
    rules=("similarity.semantic",),
    why="a plugin declaring 'semantic' promises that recall finds memories by meaning, not by "
    "spelling",
    fix="use a model trained for sentence similarity, or do not declare 'semantic'",
)
def similarity_tracks_meaning(ctx: Context) -> None:
    anchor = _vector(ctx, "The kitten is sleeping on the sofa.")
    related = _vector(ctx, "A small cat naps on the couch.")
    unrelated = _vector(ctx, "Interest rates rose at the central bank meeting.")
    near, far = ctx.plugin.similarity(anchor, related), ctx.plugin.similarity(anchor, unrelated)
    expect(
        near > far,
        "similarity(cat, kitten) > similarity(cat, interest rates)",
        f"{near:.4f} <= {far:.4f}",
        "use a semantic model, or do not declare 'semantic'",
    )


@check(
    "embedding",
    "embed() returns a new list each call: changing one never changes a later "
    "result, of embed() or embed_batch()",
    rules=("embed.new_list",),
    why="the host and the storage backend keep and change the vectors they get; a cache that "
    "hands out its own lists lets one caller corrupt another's vectors",
    fix="return a copy of a cached vector (list(vector)), never the cached list itself",
)
def embed_returns_a_new_list(ctx: Context) -> None:
    text = TEXTS[4]
    first = _vector(ctx, text)
    clean = list(first)
    first[:] = [7.0] * len(first)
    for how, later in (
        ("embed()", ctx.plugin.embed(text)),
        ("embed_batch()", ctx.plugin.embed_batch([text])[0]),
    ):
        expect(
            later is not first and later != first,
            f"a new list from {how} after the caller changed the one embed() returned",
            "the changed list itself" if later is first else "the caller's changes in it",
            "return list(cached), a copy, so no caller can change what later callers get",
        )
    batch = ctx.plugin.embed_batch([text])
    batch[0][:] = [7.0] * len(batch[0])
    later = ctx.plugin.embed(text)
    found = _mismatch(clean, later) if ctx.has("deterministic") else None
    expect(
        found is None and later != batch[0],
        "embed() unchanged after the caller changed a vector embed_batch() returned",
        found or "the caller's changes in it",
        "return copies of cached vectors",
    )


@check(
    "embedding",
    "embed() raises TypeError (or ValueError) for text that is not a str",
    rules=("embed.not_str",),
    why="bytes or None reaching the model give a meaningless vector, or an error that does "
    "not say what was wrong",
    fix='raise TypeError(f"text must be a str, got {type(text).__name__}") first thing in embed()',
)
def embed_rejects_non_str_text(ctx: Context) -> None:
    for text in (None, 42, b"The cat sat on the mat.", ["a list"]):
        expect_raises(
            WRONG_TYPE,
            partial(ctx.plugin.embed, text),
            f"TypeError (or ValueError) for embed({text!r})",
            "check isinstance(text, str) and raise TypeError",
        )


@check(
    "embedding",
    "embed_batch() raises ValueError for a blank text anywhere in texts and for batch_size below 1",
    rules=("embed_batch.bad_input",),
    why="a blank text has nothing to embed, and batch_size 0 would loop for ever or send "
    "nothing; the caller must learn of both",
    fix="check every text as embed() does and raise ValueError when batch_size < 1, before "
    "calling the model",
)
def batch_rejects_bad_input(ctx: Context) -> None:
    for what, texts, size in (
        ("a blank text last", [TEXTS[0], TEXTS[1], "  "], 8),
        ("an empty text first", ["", TEXTS[0]], 8),
        ("a blank text in a later chunk", [*TEXTS[:3], "\n\t"], 2),
        ("batch_size=0", [TEXTS[0]], 0),
        ("batch_size=-1", [TEXTS[0]], -1),
    ):
        expect_raises(
            (ValueError,),
            partial(ctx.plugin.embed_batch, texts, batch_size=size),
            f"ValueError from embed_batch() for {what}",
            "validate every text and batch_size before the first request to the model",
        )


@check(
    "embedding",
    "close(), when the provider has one, can be called twice",
    rules=("embedding.close",),
    why="the host closes providers on shutdown and in error paths, so close() may run twice",
    fix="set a closed flag in close() and return at once when it is already set",
)
def provider_close_is_idempotent(ctx: Context) -> None:
    expect_close_twice(ctx)


@check(
    "embedding",
    "get_model_name() is a non-empty str",
    rules=("get_model_name.name",),
    why="OMI records which model made each vector, so vectors of different models are never "
    "compared",
    fix="return the model's name as a non-empty str, including its version where it has one",
)
def model_name_is_a_non_empty_string(ctx: Context) -> None:
    name = ctx.plugin.get_model_name()
    expect(
        isinstance(name, str) and name.strip() != "",
        "a non-empty str",
        name,
        "return the model identifier, e.g. 'my-model-v2'",
    )


@check(
    "embedding",
    "the constructor refuses an option it does not know, naming it",
    rules=("embedding.options",),
    why="OMI passes every key of the plugin's config.yaml section as a keyword option; a "
    "misspelt key that is ignored leaves the setting at its default without a word",
    fix=UNKNOWN_OPTION_FIX,
)
def provider_refuses_unknown_options(ctx: Context) -> None:
    expect_unknown_option_refused(ctx)
