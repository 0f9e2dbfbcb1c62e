"""Checks for embedding providers."""

from __future__ import annotations

import copy
import math
from typing import List

from omi.conformance.registry import (
    Context,
    check,
    expect,
    expect_raises,
    is_finite_float_list,
)

TEXTS = ["The cat sat on the mat.", "Quarterly revenue grew by 12 percent.",
         "Photosynthesis turns light into chemical energy.", "A short one", "Paris in spring"]
UNICODE_TEXT = "naïve café, Größe, 日本語のテキスト, Ελληνικά, emoji 🙂🚀"
LONG_TEXT = " ".join(f"word{index % 97}" for index in range(4000))


def _close(a: List[float], b: List[float], tolerance: float = 1e-5) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance) for x, y in zip(a, b, strict=True)
    )


def _vector(ctx: Context, text: str) -> List[float]:
    vector = ctx.plugin.embed(text)
    dimension = ctx.plugin.get_dimension()
    expect(is_finite_float_list(vector) and len(vector) == dimension,
           f"a list of {dimension} finite floats for {text[:30]!r}", vector,
           "return list(map(float, vector)) of get_dimension() elements")
    return vector


@check("embedding", "get_dimension() is a positive int and never changes")
def dimension_positive_and_stable(ctx: Context) -> None:
    first = ctx.plugin.get_dimension()
    expect(isinstance(first, int) and not isinstance(first, bool) and first > 0,
           "a positive int", first, "return the model's dimensionality as an int")
    ctx.plugin.embed(TEXTS[0])
    again = [ctx.plugin.get_dimension() for _ in range(3)]
    expect(again == [first] * 3, f"{first} on every call, also after embedding", again,
           "cache the dimension; do not change it between calls")


@check("embedding", "embed() returns a list of get_dimension() finite floats")
def embed_returns_finite_floats(ctx: Context) -> None:
    for text in TEXTS:
        _vector(ctx, text)


@check("embedding", "the same text gives the same vector", requires=("deterministic",))
def embed_is_deterministic(ctx: Context) -> None:
    first, second = ctx.plugin.embed(TEXTS[1]), ctx.plugin.embed(TEXTS[1])
    expect(_close(first, second), "identical vectors for identical text",
           "vectors that differ", "remove randomness, or do not declare 'deterministic'")


@check("embedding", "embed_batch() matches embed() item by item and keeps the order")
def batch_matches_single(ctx: Context) -> None:
    batch = ctx.plugin.embed_batch(list(TEXTS))
    expect(isinstance(batch, list) and len(batch) == len(TEXTS),
           f"a list of {len(TEXTS)} vectors", batch, "return one vector per input text")
    for index, text in enumerate(TEXTS):
        expect(_close(batch[index], ctx.plugin.embed(text), 1e-4),
               f"embed_batch(texts)[{index}] == embed(texts[{index}])",
               "a different vector (wrong order, or batching changes results)",
               "return the vectors in input order, each equal to embed(text)")


@check("embedding", "embed_batch() gives the same result for batch_size 1, 2 and > len(texts)")
def batch_size_is_honoured(ctx: Context) -> None:
    reference = ctx.plugin.embed_batch(list(TEXTS))
    for size in (1, 2, len(TEXTS) + 3):
        result = ctx.plugin.embed_batch(list(TEXTS), batch_size=size)
        expect(len(result) == len(TEXTS) and all(_close(a, b, 1e-4)
                                                 for a, b in zip(result, reference, strict=True)),
               f"the same {len(TEXTS)} vectors with batch_size={size}",
               f"{len(result)} vectors, or different ones",
               "loop over texts[i:i + batch_size] and concatenate the results")


@check("embedding", "embed_batch([]) returns []")
def batch_of_nothing_is_empty(ctx: Context) -> None:
    result = ctx.plugin.embed_batch([])
    expect(result == [], "[]", result, "return [] before calling the model")


@check("embedding", "empty or whitespace-only text raises ValueError")
def empty_text_raises_value_error(ctx: Context) -> None:
    for text in ("", "   ", "\n\t"):
        expect_raises((ValueError,), lambda text=text: ctx.plugin.embed(text),
                      f"ValueError for embed({text!r})",
                      'raise ValueError("Text cannot be empty") for blank text')


@check("embedding", "unicode and long texts embed like any other")
def unicode_and_long_text(ctx: Context) -> None:
    _vector(ctx, UNICODE_TEXT)
    _vector(ctx, LONG_TEXT)


@check("embedding", "embed_batch() and similarity() leave their arguments unchanged")
def inputs_are_not_mutated(ctx: Context) -> None:
    texts = list(TEXTS)
    ctx.plugin.embed_batch(texts, batch_size=2)
    expect(texts == TEXTS, "the texts list unchanged", texts, "work on a copy of the list")
    a, b = ctx.plugin.embed(TEXTS[0]), ctx.plugin.embed(TEXTS[2])
    a_copy, b_copy = copy.deepcopy(a), copy.deepcopy(b)
    ctx.plugin.similarity(a, b)
    expect(a == a_copy and b == b_copy, "both vectors unchanged by similarity()",
           "a modified vector", "normalise copies (e.g. numpy arrays), not the caller's lists")


@check("embedding", "similarity(v, v) is about 1.0")
def self_similarity_is_one(ctx: Context) -> None:
    for text in TEXTS[:3]:
        vector = ctx.plugin.embed(text)
        score = ctx.plugin.similarity(vector, vector)
        expect(isinstance(score, float) and math.isclose(score, 1.0, abs_tol=1e-4),
               "a float within 1e-4 of 1.0", score,
               "use cosine similarity: dot(a, b) / (|a| * |b|)")


@check("embedding", "similarity() is symmetric and stays within [-1, 1]")
def similarity_is_symmetric_and_bounded(ctx: Context) -> None:
    vectors = [ctx.plugin.embed(text) for text in TEXTS]
    vectors.append([-x for x in vectors[0]])
    for i, a in enumerate(vectors):
        for b in vectors[i:]:
            ab, ba = ctx.plugin.similarity(a, b), ctx.plugin.similarity(b, a)
            expect(isinstance(ab, float) and -1.0 - 1e-9 <= ab <= 1.0 + 1e-9,
                   "a float in [-1, 1]", ab, "normalise by both norms and clamp to [-1, 1]")
            expect(math.isclose(ab, ba, abs_tol=1e-9), "similarity(a, b) == similarity(b, a)",
                   f"{ab} and {ba}", "use a symmetric measure such as cosine")


@check("embedding", "similarity() of vectors of different lengths raises ValueError")
def similarity_rejects_mismatched_lengths(ctx: Context) -> None:
    vector = ctx.plugin.embed(TEXTS[0])
    expect_raises((ValueError,), lambda: ctx.plugin.similarity(vector, vector[:-1] or [0.0, 1.0]),
                  "ValueError for vectors of different lengths",
                  "check len(embedding1) == len(embedding2) and raise ValueError")


@check("embedding", "related texts score higher than unrelated ones", requires=("semantic",))
def similarity_tracks_meaning(ctx: Context) -> None:
    anchor = ctx.plugin.embed("The kitten is sleeping on the sofa.")
    related = ctx.plugin.embed("A small cat naps on the couch.")
    unrelated = ctx.plugin.embed("Interest rates rose at the central bank meeting.")
    near, far = ctx.plugin.similarity(anchor, related), ctx.plugin.similarity(anchor, unrelated)
    expect(near > far, "similarity(cat, kitten) > similarity(cat, interest rates)",
           f"{near:.4f} <= {far:.4f}", "use a semantic model, or do not declare 'semantic'")


@check("embedding", "get_model_name() is a non-empty str")
def model_name_is_a_non_empty_string(ctx: Context) -> None:
    name = ctx.plugin.get_model_name()
    expect(isinstance(name, str) and name.strip() != "", "a non-empty str", name,
           "return the model identifier, e.g. 'my-model-v2'")
