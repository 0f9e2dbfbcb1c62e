"""The conformance suite discriminates: correct plugins pass, each broken one fails its check."""

from __future__ import annotations

import importlib
import os
import re
import sys
import threading
import time

import pytest
from fake_servers import FakeMemoryService, FakeOllama
from packaging.version import Version
from run_omi import CHECK_PROCESSES

from omi.builtin.sqlite import SQLiteBackend
from omi.conformance import Target, all_checks, checks_for, run_suite
from omi.conformance.authoring import FIRST_SUITE_VERSION, CheckFailure
from omi.conformance.registry import REGISTRY, SUITE_VERSION
from omi.conformance.tail import new_log, read_tail

plugins = importlib.import_module("conformance_plugins")


def run(name: str, timeout: float = 20.0, **kwargs):
    cls = getattr(plugins, name)
    return run_suite(Target(cls, f"conformance_plugins:{name}", name), timeout=timeout, **kwargs)


def statuses(report) -> dict:
    return {outcome.name: outcome.status for outcome in report.outcomes}


@pytest.mark.parametrize(
    "name",
    [
        "HashEmbedder",
        "JSONLinesHandler",
        "OneDimensional",
        "AngularSimilarity",
        "DocumentStore",
        "SequenceIds",
        "TypeErrorsForTypes",
        "ValueErrorForNonStr",
        "BackgroundWriter",
        "CaseSensitive",
    ],
)
def test_correct_plugins_pass_every_applicable_check(name, child_process):
    report = run(name)
    assert report.exit_code(strict=True) == 0, [(o.name, o.message) for o in report.outcomes]
    assert set(statuses(report).values()) <= {"passed", "skipped"}
    assert len(report.outcomes) == len(checks_for(report.interface))


#: Correct backends that rank their own way: by FTS5's bm25() alone, by a plain BM25, by
#: trigram similarity (as pg_trgm does) and by cosine similarity of vectors of their own.
#: None may fail; where they rank a short partial match above a long memory holding every
#: word, that is advice (an advisory), not a failure.
OTHER_RANKINGS = ["FTS5Ranked", "PlainBM25", "TrigramSimilarity", "OwnVectors"]


@pytest.mark.parametrize(
    "name",  # the two slowest (most of a second each) in the whole suite only
    [
        name if name in ("FTS5Ranked", "PlainBM25") else pytest.param(name, marks=pytest.mark.slow)
        for name in OTHER_RANKINGS
    ],
)
def test_backends_with_other_sound_rankings_pass(name):
    report = run(name)
    assert report.exit_code() == 0, [
        (o.name, o.message) for o in report.outcomes if o.status == "failed"
    ]
    assert {o.name for o in report.outcomes if o.status == "advisory"} <= {
        "recall_ranks_all_words_above_some"
    }
    assert report.exit_code(strict=True) == (1 if "advisory" in statuses(report).values() else 0)


def test_the_builtin_sqlite_backend_passes_everything_including_persistent():
    """Everything but the service check, which a backend with no service skips."""
    from omi.conformance.service_failure import NO_SERVICE

    report = run_suite(Target(SQLiteBackend, "omi.builtin.sqlite:SQLiteBackend", "sqlite"))
    service = "recall_raises_when_its_service_fails"
    assert statuses(report) == {
        c.name: "skipped" if c.name == service else "passed" for c in checks_for("storage")
    }
    assert {o.message for o in report.outcomes if o.status == "skipped"} == {NO_SERVICE}


BROKEN = [
    ("WrongDimension", "embed_returns_finite_floats"),
    ("UnstableDimension", "dimension_positive_and_stable"),
    ("NonFinite", "embed_returns_finite_floats"),
    ("BatchDisagrees", "batch_matches_single"),
    ("IgnoresBatchSize", "batch_size_is_honoured"),
    ("SimilarityOutOfRange", "similarity_is_symmetric_and_bounded"),
    ("SimilarityOutOfRange", "self_similarity_is_one"),
    ("AcceptsEmptyText", "empty_text_raises_value_error"),
    ("Nondeterministic", "embed_is_deterministic"),
    ("MutatesTexts", "inputs_are_not_mutated"),
    ("LaxSimilarity", "similarity_rejects_mismatched_lengths"),
    ("ClaimsSemantic", "similarity_tracks_meaning"),
    ("EmptyBatchIsNone", "batch_of_nothing_is_empty"),
    ("AsciiOnly", "unicode_and_long_text"),
    ("NoModelName", "model_name_is_a_non_empty_string"),
    ("IntIds", "store_returns_unique_ids"),
    ("MutatesMemory", "store_does_not_mutate_input"),
    ("DropsMetadata", "recall_returns_content_and_metadata"),
    ("HandsOutItsRows", "recall_results_are_the_callers"),
    ("MatchesOneWordOnly", "recall_finds_exact_content"),
    ("RecallsTuples", "recall_honours_limit"),
    ("SharesOneFile", "instances_are_isolated"),
    ("StartsWithAWelcomeMemory", "new_instance_starts_empty"),
    ("EdgesNeedTheirOwnTypes", "add_edge_between_stored_memories"),
    ("AcceptsUnknownEdges", "add_edge_rejects_unknown_ids"),
    ("ClosingTwiceFails", "close_is_idempotent"),
    ("UsableAfterClose", "use_after_close_raises"),
    ("DropsSomeMemories", "random_operations_match_a_model"),
    ("RejectsBeliefUpdates", "handles_every_event_type"),
    ("Hangs", "handle_returns_promptly"),
    ("DuplicateIds", "store_returns_unique_ids"),
    ("IgnoresLimit", "recall_honours_limit"),
    ("ForgetfulButClaimsPersistent", "data_survives_reopen"),
    ("MutatesEventData", "event_data_is_not_mutated"),
    ("RaisesOnUnknownEvent", "unknown_event_types_are_ignored"),
    ("ReturnsSomething", "handle_returns_none"),
    ("SaltedHash", "embed_is_deterministic"),
    ("DedupesBatch", "batch_matches_single"),
    ("DotProductSimilarity", "similarity_handles_any_vectors"),
    ("ReversedRanking", "recall_ranks_better_matches_first"),
    ("ShuffledResults", "recall_ranks_better_matches_first"),
    ("ScoresAreDistances", "recall_ranks_better_matches_first"),
    ("NewestFirst", "recall_ranks_better_matches_first"),
    ("DecimalScores", "recall_ranks_better_matches_first"),
    ("KeepsOnlyContentAndMetadata", "content_and_metadata_come_back_exactly"),
    ("FTS5Ranked", "recall_ranks_all_words_above_some"),
    ("CachesLists", "embed_returns_a_new_list"),
    ("RingCache", "many_texts_stay_consistent"),
    ("CoercesText", "embed_rejects_non_str_text"),
    ("SkipsBlankTexts", "batch_rejects_bad_input"),
    ("NormalisingBatchCache", "batch_matches_single"),
    ("NormalisesInPlace", "similarity_handles_any_vectors"),
    ("ClosesItsClientTwice", "provider_close_is_idempotent"),
    ("SharesScratchBetweenThreads", "embed_is_thread_safe"),
    ("StringifiesValues", "store_memory_rejects_bad_input"),
    ("CoercesRecallArguments", "recall_rejects_bad_input"),
    ("AnyEdgeType", "add_edge_rejects_blank_type"),
    ("RawFullTextQuery", "query_text_is_data"),
    ("OneThreadConnection", "storage_is_thread_safe"),
    ("HonoursCallerIds", "memory_id_key_is_not_the_id"),
    ("EdgesToAnyId", "add_edge_rejects_ids_of_another_instance"),
    ("CachesQueries", "recall_sees_memories_stored_since"),
    ("LimitsBeforeRanking", "recall_ranks_before_applying_limit"),
    ("CaseSensitiveSearch", "recall_ignores_case"),
    ("LowersCase", "recall_ignores_case"),
    ("RefusesQueriesWithoutWords", "recall_without_words"),
    ("IgnoresUnknownOptions", "provider_refuses_unknown_options"),
    ("StoreIgnoresUnknownOptions", "backend_refuses_unknown_options"),
    ("HandlerIgnoresUnknownOptions", "handler_refuses_unknown_options"),
    ("IndexesFirst64K", "content_and_metadata_come_back_exactly"),
    ("StripsContent", "content_and_metadata_come_back_exactly"),
    ("NestsDottedKeys", "content_and_metadata_come_back_exactly"),
    ("ReadsSessionIdAsText", "handles_every_event_type"),
    ("WritesAscii", "handles_every_event_type"),
    ("ClosesItsFileTwice", "handler_close_is_idempotent"),
    ("OneThreadDatabase", "handle_is_thread_safe"),
    ("NormalisesUnicode", "content_and_metadata_come_back_exactly"),
    ("CutsContentAt64K", "content_and_metadata_come_back_exactly"),
    ("DeduplicatesContent", "same_memory_twice_is_two_memories"),
    ("ClosesOnlyForWrites", "use_after_close_raises"),
    ("MigratesOnEveryOpen", "data_survives_reopen"),
    ("TruncatesOnOpen", "data_survives_reopen"),
    ("SavesOnlyItsOwnWrites", "data_survives_reopen"),
    ("SaysWhetherHandled", "handle_returns_none"),
]

#: Broken plugins whose one fault no other check may report: a failure elsewhere would be a
#: check that fails for a reason not its own.
FAIL_NOTHING_ELSE = {
    "BatchDisagrees",
    "AcceptsEmptyText",
    "MutatesTexts",
    "LaxSimilarity",
    "ClaimsSemantic",
    "EmptyBatchIsNone",
    "AsciiOnly",
    "NoModelName",
    "MutatesMemory",
    "StartsWithAWelcomeMemory",
    "ClosingTwiceFails",
    "UsableAfterClose",
    "MutatesEventData",
    "ReturnsSomething",
    "SaltedHash",
    "DedupesBatch",
    "DotProductSimilarity",
    "ShuffledResults",
    "ScoresAreDistances",
    "NormalisesUnicode",
    "CutsContentAt64K",
    "DeduplicatesContent",
    "ClosesOnlyForWrites",
    "MigratesOnEveryOpen",
    "SaysWhetherHandled",
    "FTS5Ranked",
    "CachesLists",
    "CoercesText",
    "NormalisingBatchCache",
    "ClosesItsClientTwice",
    "RingCache",
    "SharesScratchBetweenThreads",
    "StringifiesValues",
    "AnyEdgeType",
    "OneThreadConnection",
    "HonoursCallerIds",
    "CaseSensitiveSearch",
    "LowersCase",
    "RefusesQueriesWithoutWords",
    "IgnoresUnknownOptions",
    "StoreIgnoresUnknownOptions",
    "HandlerIgnoresUnknownOptions",
    "IndexesFirst64K",
    "StripsContent",
    "NestsDottedKeys",
    "ReadsSessionIdAsText",
    "WritesAscii",
    "ClosesItsFileTwice",
    "OneThreadDatabase",
    "KeepsOnlyContentAndMetadata",
    "HandsOutItsRows",
}


def _fails(report, check: str) -> None:
    """`check` failed (an advisory for a check of a "should" rule: a failure only under
    strict), saying what it expected or that it did not finish."""
    outcome = next(o for o in report.outcomes if o.name == check)
    advice = REGISTRY[check].level == "should"
    assert outcome.status == ("advisory" if advice else "failed")
    assert outcome.message.startswith(("expected ", "did not finish"))
    assert report.exit_code(strict=True) == 1


@pytest.mark.parametrize("name, check", BROKEN)
def test_each_broken_plugin_fails_the_named_check(name, check):
    """The check alone, within 1 s: a plugin that hangs (Hangs, OneThreadDatabase) fails it at
    the timeout."""
    _fails(run(name, timeout=1.0, pattern=check), check)


@pytest.mark.slow  # the whole suite for each (0.3 s): the inner loop runs the named check only
@pytest.mark.parametrize("name, check", [(n, c) for n, c in BROKEN if n in FAIL_NOTHING_ELSE])
def test_a_broken_plugin_fails_its_check_and_nothing_else(name, check):
    report = run(name, timeout=3.0)
    _fails(report, check)
    failed = {o.name for o in report.outcomes if o.status == "failed"}
    assert failed == (set() if REGISTRY[check].level == "should" else {check})


def test_every_check_has_a_broken_plugin_that_fails_it():
    """The parametrizations above and of SWALLOWS_ERRORS leave no check unproven."""
    proven = {check for _, check in BROKEN + SWALLOWS_ERRORS}
    assert proven == {c.name for c in all_checks()}


@pytest.mark.parametrize("name", ["SharesOneFileAndSaysSo", "Chatty"])
def test_declared_sharing_and_printing_plugins_pass(name, child_process):
    from omi.conformance.service_failure import NO_SERVICE

    report = run(name)
    assert report.exit_code() == 0, [(o.name, o.message) for o in report.outcomes]
    if name == "SharesOneFileAndSaysSo":
        assert {o.name: o.message for o in report.outcomes if o.status == "skipped"} == {
            "new_instance_starts_empty": "does not apply: the plugin declares 'shared'",
            "instances_are_isolated": "does not apply: the plugin declares 'shared'",
            "add_edge_rejects_ids_of_another_instance": "does not apply: the plugin declares "
            "'shared'",
            "recall_raises_when_its_service_fails": NO_SERVICE,
        }


@pytest.mark.parametrize(
    "name, options, got, fix", plugins.BUILD_FAILURES, ids=plugins.BUILD_FAILURE_IDS
)
def test_a_plugin_that_cannot_be_built_gets_the_fix_that_applies(name, options, got, fix):
    """A conformance_factory that raised, constructor arguments not given (named), or else
    the generic fix; never an option's value, which may be a secret."""
    target = Target(getattr(plugins, name), f"conformance_plugins:{name}", name, options)
    message = run_suite(target, "model_name*", timeout=20.0).outcomes[0].message
    assert message == f"expected a test instance of the plugin; got {got}; fix: {fix}"
    assert "s3cret" not in message


def test_a_plugin_given_the_options_it_needs_passes():
    target = Target(plugins.NeedsApiKey, "conformance_plugins:NeedsApiKey", "k", {"api_key": "x"})
    assert run_suite(target, timeout=20.0).exit_code() == 0


@pytest.mark.parametrize("name", ["NeedsApiKey", "HandlerNeedsUrl"])
def test_every_check_of_a_plugin_that_cannot_be_built_says_so_directly(name):
    """Not wrapped in another check's wording (e.g. 'expected ValueError; got CheckFailure')."""
    report = run(name)
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert failed and len(failed) == len([o for o in report.outcomes if o.status != "skipped"])
    for outcome in failed:
        assert outcome.message.startswith(
            "expected a test instance of the plugin; got TypeError: "
        ), (outcome.name, outcome.message)
        assert "CheckFailure" not in outcome.message


def test_every_check_dates_from_a_release_that_shipped_the_suite():
    """0.4.0 is the first release with a conformance suite (CHANGELOG.md): no check can be
    older, and none newer than the installed suite."""
    assert FIRST_SUITE_VERSION == "0.4.0"
    for item in all_checks():
        assert Version(FIRST_SUITE_VERSION) <= Version(item.since) <= Version(SUITE_VERSION)


@pytest.mark.parametrize(
    "attribute, value, message",
    [
        ("conformance_capabilities", {"persistant"}, "unknown 'persistant'; known: deterministic"),
        (
            "conformance_known_failures",
            {"recall_honours_limit": "x"},
            "names 'recall_honours_limit', which is a storage check, not an embedding one; see omi "
            "plugins check --list-checks embedding",
        ),
        (
            "conformance_known_failures",
            {"batch_matches_singel": "x"},
            r"names 'batch_matches_singel', which is not an embedding check \(did you mean "
            r"'batch_matches_single'\?\)",
        ),
        (
            "conformance_known_failures",
            {"zzz": "x"},
            "names 'zzz', which is not an embedding check; see omi plugins check --list-checks",
        ),
        ("conformance_known_failures", {"batch_matches_single": " "}, "needs a reason"),
    ],
)
def test_malformed_declarations_are_refused(attribute, value, message):
    bad = type("Bad", (plugins.HashEmbedder,), {attribute: value})
    with pytest.raises(ValueError, match=message):
        Target(bad, "x:Bad", "bad").check_declarations()


def test_an_exception_from_the_plugin_says_where_it_was_raised():
    outcome = next(
        o for o in run("RejectsBeliefUpdates").outcomes if o.name == "handles_every_event_type"
    )
    assert outcome.message.startswith(
        "expected handle('belief.updated', ...) to accept the payload (in a session); got "
        "ValueError: beliefs are not supported (raised at conformance_plugins.py:"
    )
    assert "in handle); the payload was {'belief': 'user likes tea'" in outcome.message
    assert outcome.message.endswith(
        "; fix: accept every documented payload: keys may hold None, "
        "non-ASCII text and nested lists and dicts"
    )


def test_failure_messages_say_expected_got_and_fix():
    outcome = next(o for o in run("BatchDisagrees").outcomes if o.name == "batch_matches_single")
    assert "expected embed_batch(texts)[0] == embed(texts[0])" in outcome.message
    assert "; got " in outcome.message
    assert "; fix: return the vectors in input order" in outcome.message


@pytest.fixture(params=CHECK_PROCESSES)
def child_process(request, monkeypatch):
    """Run the test with forked children, then with new interpreters."""
    from omi.conformance import runner

    monkeypatch.setenv("OMI_CHECK_PROCESS", request.param)
    # threads an earlier test left ending (a fake server's, the reader of a spawned check
    # process's output) would make this process spawn: forks() needs it single-threaded
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(timeout=5.0)
    assert runner.forks() is (request.param == "fork")  # the test does exercise its kind
    return request.param


def test_a_hanging_plugin_fails_that_check_and_the_run_goes_on(child_process):
    """Two checks: the first hangs (it sends session.started), the second runs after it, in a
    new check process, and passes."""
    report = run("Hangs", timeout=1.0, pattern="*event_type*")
    assert statuses(report) == {
        "handles_every_event_type": "failed",
        "unknown_event_types_are_ignored": "passed",
    }
    assert "did not finish within 1 s" in report.outcomes[0].message


def test_a_plugin_that_kills_the_interpreter_fails_only_the_checks_it_dies_in(child_process):
    """It dies on belief.updated, which every check sends but three."""
    report = run("KillsTheInterpreter")
    for outcome in report.outcomes:
        if outcome.name in (
            "unknown_event_types_are_ignored",
            "handler_close_is_idempotent",
            "handler_refuses_unknown_options",
        ):
            assert outcome.status == "passed"
        else:
            assert outcome.status == "failed"
            assert "the interpreter died (exit code 7)" in outcome.message


def test_a_check_process_that_dies_of_memory_names_the_memory_limit(child_process):
    limited = run("DiesOfMemory", pattern="batch_matches_single", memory_limit=300 * 2**20)
    assert limited.outcomes[0].message == (
        "the plugin exceeded the memory limit of 300 MiB (--memory-limit)"
    )
    unlimited = run("DiesOfMemory", pattern="batch_matches_single", memory_limit=None)
    assert unlimited.outcomes[0].message.startswith("the interpreter died (exit code 1)")


def test_a_memory_error_a_check_wrapped_still_names_the_memory_limit():
    """A check may turn what the plugin raised into its own failure (a constructor that
    runs out of memory, for instance); the limit is still what the report names."""
    from omi.conformance.authoring import Check
    from omi.conformance.outcome import execute

    def builds(ctx):
        try:
            raise MemoryError
        except MemoryError:
            raise CheckFailure("a test instance", "MemoryError", "give it memory") from None

    check = Check("builds", "embedding", "builds an instance", builds)
    limited = execute(check, lambda directory: None, (), 0, 1.0, memory_limit=2 * 2**30)
    assert limited.message == "the plugin exceeded the memory limit of 2 GiB (--memory-limit)"
    plain = execute(check, lambda directory: None, (), 0, 1.0)
    assert plain.message == "expected a test instance; got MemoryError; fix: give it memory"


def test_known_failures_are_xfail_and_a_passing_one_is_xpass():
    report = run("KnownBatchFailure")
    assert statuses(report)["batch_matches_single"] == "xfail"
    assert report.exit_code() == 0
    report = run("WronglyKnownFailure")
    assert statuses(report)["batch_matches_single"] == "xpass"
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1


def test_capability_checks_are_skipped_with_the_reason_when_not_declared():
    report = run("HashEmbedder")
    skipped = next(o for o in report.outcomes if o.name == "similarity_tracks_meaning")
    assert skipped.status == "skipped" and "needs capability 'semantic'" in skipped.message


def test_pattern_selects_checks_by_substring_or_glob():
    assert [o.name for o in run("HashEmbedder", pattern="batch_of").outcomes] == [
        "batch_of_nothing_is_empty"
    ]
    assert {o.name for o in run("HashEmbedder", pattern="similarity_*").outcomes} == {
        "similarity_is_symmetric_and_bounded",
        "similarity_handles_any_vectors",
        "similarity_rejects_mismatched_lengths",
        "similarity_tracks_meaning",
    }


def test_the_random_sequence_is_reproducible_by_seed():
    first = run("DropsSomeMemories", pattern="random_operations*", seed=5).outcomes[0]
    second = run("DropsSomeMemories", pattern="random_operations*", seed=5).outcomes[0]
    assert first.status == second.status == "failed"
    assert first.message == second.message and "seed 5" in first.message


def test_every_check_is_named_described_and_typed():
    names = [c.name for c in all_checks()]
    assert len(names) == len(set(names))
    for item in all_checks():
        assert item.description and item.interface in ("embedding", "storage", "event")
        assert item.name.isidentifier()


def test_every_check_says_why_it_exists_and_the_usual_fix():
    """What `omi plugins check --explain` prints and the checks page shows."""
    from omi.conformance.authoring import check

    for item in all_checks():
        assert item.why.strip() and item.fix.strip(), item.name
        assert len({item.description, item.why, item.fix}) == 3, item.name
    with pytest.raises(ValueError, match="a check needs why= and fix="):
        check("event", "no reasons given")(lambda ctx: None)


def test_check_failure_carries_its_parts():
    failure = CheckFailure("1", "2", "3")
    assert (failure.expected, failure.got, failure.fix) == ("1", "2", "3")
    assert str(failure) == "expected 1; got 2; fix: 3"


def test_a_prestarted_child_is_used_or_ended(monkeypatch):
    from omi.conformance import runner

    monkeypatch.setenv("OMI_CHECK_PROCESS", "spawn")  # a fork needs no head start

    runner.prestart()
    spare = runner._spare[0]
    report = run("HashEmbedder", pattern="batch_of*")
    assert not runner._spare and spare.process.returncode == 0  # it ran the checks
    assert [o.status for o in report.outcomes] == ["passed"]
    runner.prestart()
    unused = runner._spare[0]
    runner.discard_spare()
    assert not runner._spare and unused.process.returncode == 0  # told to exit, not killed


def test_forked_children_are_the_default_on_linux_and_spawn_can_be_chosen(monkeypatch):
    from omi.conformance import runner

    monkeypatch.delenv("OMI_CHECK_PROCESS", raising=False)
    assert runner.forks() is (sys.platform.startswith("linux") and threading.active_count() == 1)
    monkeypatch.setenv("OMI_CHECK_PROCESS", "spawn")
    assert runner.forks() is False
    monkeypatch.setenv("OMI_CHECK_PROCESS", "vfork")
    with pytest.raises(ValueError, match="OMI_CHECK_PROCESS must be fork or spawn, got 'vfork'"):
        runner.forks()


def test_the_sample_events_have_the_shape_the_host_emits(tmp_path):
    """A handler written against the host's payloads (README, "Event payloads") must not fail
    the suite for reading a documented key such as `timestamp` or `duration_seconds`."""
    from omi.conformance.events import SAMPLE_PAYLOADS
    from omi.events import EVENT_TYPES, EventHandler
    from omi.host import Memory

    class Keys(EventHandler):
        interface_version = "1.0"
        seen: dict = {}

        def handle(self, event_type, event_data):
            shape = {
                key: sorted(value[0]) if key == "results" else type(value).__name__
                for key, value in event_data.items()
            }
            self.seen.setdefault(event_type, shape)

    keys = Keys()
    with Memory(SQLiteBackend(tmp_path / "m.db"), handlers=[keys]) as memory:
        with memory.session(metadata={"agent": "a"}):
            memory.store("the user prefers tea", {"k": "v"})
            memory.recall("tea")
        memory.emit("checkpoint.created", {"checkpoint_id": "c1"})
        memory.emit("belief.updated", {"belief": "b"})
    assert set(keys.seen) == set(EVENT_TYPES) == set(SAMPLE_PAYLOADS)
    for event_type, shape in keys.seen.items():
        sample = SAMPLE_PAYLOADS[event_type]
        if event_type in ("checkpoint.created", "belief.updated"):  # free-form, plus timestamp
            assert "timestamp" in sample
            continue
        assert set(sample) == set(shape), event_type
        if "results" in shape:
            assert sorted(sample["results"][0]) == shape["results"]


def test_a_check_killed_for_hanging_leaves_no_scratch_files(child_process, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    report = run("Hangs", timeout=0.3, pattern="handle_returns_promptly")
    assert [o.status for o in report.outcomes] == ["failed"]
    assert list(tmp_path.iterdir()) == []


def test_a_conformance_factory_taking_only_keyword_options_gets_no_directory():
    target = Target(
        plugins.FactoryTakesOnlyOptions,
        "conformance_plugins:FactoryTakesOnlyOptions",
        "f",
        {"path": "{workdir}/events.jsonl"},
    )
    report = run_suite(target, timeout=20.0)
    assert report.exit_code() == 0, [(o.name, o.message) for o in report.outcomes]


def test_the_decorator_only_marks_and_the_registry_refuses_two_checks_of_one_name(monkeypatch):
    """pluggy's way: `check` marks a function; `collect` finds the marked functions of the
    modules it is given and refuses a name taken twice."""
    import types

    import omi.conformance.events as events
    from omi.conformance.authoring import MARK, check
    from omi.conformance.registry import collect

    before = [c.name for c in all_checks()]

    def handle_returns_none(ctx):  # a different function under a taken name
        return None

    handle_returns_none.__module__ = "twin_checks"
    marked = check("event", "a twin", why="-", fix="-", rules=("handle.returns_none",))(
        handle_returns_none
    )
    assert marked is handle_returns_none and getattr(marked, MARK).name == "handle_returns_none"
    assert [c.name for c in all_checks()] == before  # marking registered nothing
    twin = types.ModuleType("twin_checks")
    twin.handle_returns_none = marked
    monkeypatch.setitem(sys.modules, "twin_checks", twin)
    with pytest.raises(ValueError, match="two checks are named 'handle_returns_none'"):
        collect(["omi.conformance.events", "twin_checks"])
    assert list(collect(["twin_checks"])) == ["handle_returns_none"]
    assert REGISTRY["handle_returns_none"].function is events.handle_returns_none


@pytest.mark.parametrize(
    "name, check, parts",
    [
        (
            "TruncatesOnOpen",
            "data_survives_reopen",
            [
                "got everything stored before is gone: opening truncated the stored data (the files at "
                "the location shrank from",
                "fix: open existing data as it is",
            ],
        ),
        (
            "TruncatesOnOpen",
            "random_operations_match_a_model",
            [
                "; since the reopen at step",
                "opening truncated the stored data",
                "fix: open existing",
                "; the smallest failing sequence found (3 of 60 steps, seed 0): store, reopen, edge;",
            ],
        ),
        (
            "ForgetfulButClaimsPersistent",
            "random_operations_match_a_model",
            ["everything stored before close() is gone after reopening", "or drop 'persistent'"],
        ),
        (
            "SavesOnlyItsOwnWrites",
            "data_survives_reopen",
            [
                "expected every memory stored before reopen 2 still there; got the memories of earlier "
                "sessions are gone, the last session's are there (session 1: ",
                "fix: keep the data loaded when opening",
            ],
        ),
        (
            "MigratesOnEveryOpen",
            "data_survives_reopen",
            [
                "expected the memories of session 1 as they were before reopen 1; got ",
                ": metadata['note'] is missing; fix: leave stored data as written when opening",
            ],
        ),
        (
            "CutsContentAt64K",
            "content_and_metadata_come_back_exactly",
            [
                "got content is cut off: 65,535 of 1,076,5",
                "characters came back, ending ...",
                "; the rest, from character 65,535, begins ...",
                "fix: store content without a length limit",
            ],
        ),
        (
            "NormalisesUnicode",
            "content_and_metadata_come_back_exactly",
            [
                "got content differs from character ",
                "cafe\\u0301",
                "caf\\xe9",
                "fix: store content exactly as given",
            ],
        ),
        (
            "DedupesBatch",
            "batch_matches_single",
            [
                "expected 7 vectors for 7 texts with duplicates, batch_size=3; got 5 (one per distinct "
                "text: the duplicates were merged); fix: return one vector per input text, duplicates "
                "included"
            ],
        ),
        (
            "DotProductSimilarity",
            "similarity_handles_any_vectors",
            [
                "expected a float in [-1, 1] for a long vector with itself; got ",
                ", their dot product; fix: divide the dot product by both norms",
            ],
        ),
        (
            "SaltedHash",
            "embed_is_deterministic",
            [
                "in a fresh interpreter (PYTHONHASHSEED=",
                "to equal the vector here; got element ",
                "not hash(), which Python salts per process",
            ],
        ),
        (
            "ReversedRanking",
            "recall_ranks_better_matches_first",
            [
                "the memory whose content is the query itself came after a weaker match of similar "
                "length",
                "got results holding 1, 1, 2, 3, 3 of the query's 3 words, in that order; fix: "
                "sort best first",
            ],
        ),
        (
            "ShuffledResults",
            "recall_ranks_better_matches_first",
            ["fix: rank by relevance: memories holding more of the query's words first"],
        ),
        (
            "NewestFirst",
            "recall_ranks_better_matches_first",
            [
                "got results holding 1, 3, 2, 3, 1 of the query's 3 words",
                "not by the time of storing",
            ],
        ),
        (
            "ScoresAreDistances",
            "recall_ranks_better_matches_first",
            ["expected scores that never increase down the list", "negate a distance or bm25()"],
        ),
        (
            "KeepsOnlyContentAndMetadata",
            "content_and_metadata_come_back_exactly",
            [
                "expected the key 'session_id' of the stored memory in the recalled dict; got only the "
                "keys ['content', 'id', 'metadata', 'score']",
                "fix: store every key of the memory",
            ],
        ),
        (
            "DecimalScores",
            "recall_ranks_better_matches_first",
            [
                "expected score, when present, a Python float (recall(",
                "(decimal.Decimal) at position 0",
                "fix: return float(score): not a Decimal, a numpy scalar or a str",
            ],
        ),
        (
            "DeduplicatesContent",
            "same_memory_twice_is_two_memories",
            [
                "expected two ids for the same memory stored twice; got '",
                "' both times",
                "never one derived from the content",
            ],
        ),
        (
            "ClosesOnlyForWrites",
            "use_after_close_raises",
            ["expected an error from recall() after close(); got no exception (returned ["],
        ),
        (
            "SaysWhetherHandled",
            "handle_returns_none",
            ["expected None from handle('omi.future.event', ...); got False"],
        ),
    ],
)
def test_a_failure_names_its_cause_and_the_fix_for_it(name, check, parts):
    """A backend that truncates its file on open is told so, not that recall misses words."""
    outcome = next(o for o in run(name, pattern=check).outcomes if o.name == check)
    assert outcome.status == "failed"
    for part in parts:
        assert part in outcome.message, (part, outcome.message)
    assert "recall must find every stored memory by its words" not in outcome.message


def test_a_difference_is_shown_where_it_is_even_in_a_long_value():
    from omi.conformance.authoring import difference

    long = "a" * 1_000_000 + "XYZ" + "b" * 20
    changed = difference(long, long.replace("XYZ", "XQZ"), "content")
    assert (changed.kind, changed.text) == (
        "text",
        (
            "content differs from character 1,000,001 of 1,000,023: given "
            "...'aaaaaaaaaaaaaaaXYZbbbbbbbbbbbbbb'..., came back "
            "...'aaaaaaaaaaaaaaaXQZbbbbbbbbbbbbbb'... (1,000,023 characters)"
        ),
    )
    cut = difference(long, long[:70_000], "content")
    assert cut.kind == "cut" and cut.text.startswith(
        "content is cut off: 70,000 of 1,000,023 characters came back"
    )
    assert difference(long, long + "!", "content").text == (
        "content has 1 characters more than the 1,000,023 given: ...'!'"
    )


@pytest.mark.parametrize(
    "given, got, kind, text",
    [
        (
            {"a": [1, True]},
            {"a": [1, 1]},
            "type",
            "metadata['a'][1] is 1 (int) instead of True (bool)",
        ),
        (
            {"x": 6.02e23},
            {"x": 602000000000000000000000},
            "number",
            "metadata['x'] is 602000000000000000000000 (int) instead of 6.02e+23 (float)",
        ),
        (
            {"x": [1, 2]},
            {"x": (1, 2)},
            "type",
            "metadata['x'] is (1, 2) (tuple) instead of [1, 2] (list)",
        ),
        ({"note": None, "k": 1}, {"k": 1}, "missing", "metadata['note'] is missing"),
        ({"k": 1}, {"k": 1, "id": "x"}, "extra", "metadata has the key 'id', which was not given"),
        ({"k": [1, 2]}, {"k": [1]}, "length", "metadata['k'] has 1 items instead of 2"),
        (
            {"k": 0.1},
            {"k": 0.10000001},
            "value",
            "metadata['k'] is 0.10000001 (float) instead of 0.1 (float)",
        ),
        (
            {"é": "cafe\u0301"},
            {"é": "café"},
            "unicode",
            "metadata['é'] differs from character 3 of 5: given 'cafe\\u0301', came back "
            "'caf\\xe9' (4 characters)",
        ),
        (
            {"k": "café"},
            {"k": "caf?"},
            "encoding",
            "metadata['k'] differs from character 3 of 4: given 'caf\\xe9', came back 'caf?' "
            "(4 characters)",
        ),
    ],
)
def test_a_difference_says_what_kind_it_is(given, got, kind, text):
    from omi.conformance.authoring import difference

    changed = difference(given, got, "metadata")
    assert (changed.kind, changed.text) == (kind, text)
    assert difference(given, given, "metadata") is None


def test_the_fresh_interpreter_is_bounded_in_time_and_ended(tmp_path):
    from omi.conformance.building import InstanceFactory
    from omi.conformance.fresh import FreshInterpreter

    with FreshInterpreter(InstanceFactory(plugins.SlowToLoad), ["x"], tmp_path, 1) as child:
        with pytest.raises(
            CheckFailure,
            match=r"^expected vectors from a fresh interpreter "
            r"within 0.5 s; got none after 0.5 s",
        ):
            child.answer(0.5)
    assert child.process.returncode is not None  # killed, not left running


def test_a_plugin_class_a_new_interpreter_cannot_import_is_named(tmp_path):
    from omi.conformance.building import InstanceFactory
    from omi.conformance.fresh import FreshInterpreter

    class Local(plugins.HashEmbedder):
        pass

    with pytest.raises(
        CheckFailure,
        match="^expected a recipe for building test_a_plugin_class_"
        ".*Local in another interpreter; got ",
    ):
        FreshInterpreter(InstanceFactory(Local), ["x"], tmp_path, 1)


# --- the contract as rules (issue 22) ---------------------------------------------------------


def test_every_rule_has_a_check_and_every_check_proves_known_rules():
    from omi.conformance.rules import LEVELS, RULES

    proven = {name for item in all_checks() for name in item.rules}
    assert sorted(set(RULES) - proven) == []  # a rule no check tests
    for item in all_checks():
        assert item.rules and set(item.rules) <= set(RULES), item.name
        assert {RULES[name].interface for name in item.rules} == {item.interface}, item.name
        should = all(RULES[name].level == "should" for name in item.rules)
        assert item.level == ("should" if should else "must"), item.name
    assert {rule.level for rule in RULES.values()} == set(LEVELS)


def test_a_check_must_name_the_rules_it_proves():
    from omi.conformance.authoring import check

    with pytest.raises(ValueError, match="a check needs rules= naming the rules it proves"):
        check("event", "no rule", why="w", fix="f")(lambda ctx: None)
    with pytest.raises(ValueError, match=r"unknown: \['handle.nothing'\]"):
        check("event", "a typo", why="w", fix="f", rules=("handle.nothing",))(lambda ctx: None)


def _docstring_words(text):
    return " ".join((text or "").split())


@pytest.mark.parametrize("interface", ["embedding", "storage", "event"])
def test_the_interfaces_docstrings_state_each_rule_in_the_registrys_words(interface):
    """What an author reads in the editor is the rule the suite checks, word for word."""
    from omi.conformance.rules import RULES
    from omi.embeddings import EmbeddingProvider
    from omi.events import EventHandler
    from omi.storage import StorageBackend

    base = {"embedding": EmbeddingProvider, "storage": StorageBackend, "event": EventHandler}[
        interface
    ]
    for rule in RULES.values():
        if rule.interface != interface:
            continue
        method = getattr(base, rule.method, None) if rule.method != "instance" else None
        where = method if callable(method) else base
        assert f"- {rule.level}: {rule.text}" in _docstring_words(where.__doc__), rule.name
    documented = _docstring_words(
        " ".join(
            [base.__doc__ or ""]
            + [
                getattr(value, "__doc__", "") or ""
                for value in vars(base).values()
                if callable(value)
            ]
        )
    )
    stated = documented.count("- must: ") + documented.count("- should: ")
    assert stated == len([r for r in RULES.values() if r.interface == interface])


def test_the_guide_has_a_generated_table_for_every_rule():
    import importlib.util
    import re
    from pathlib import Path

    from omi.conformance.rules import RULES

    docs = Path(__file__).resolve().parents[1] / "docs"
    spec = importlib.util.spec_from_file_location("docs_hooks", docs / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    guide = (docs / "pages" / "guide" / "interfaces.md").read_text(encoding="utf-8")
    placed = set(hooks.RULES_PLACEHOLDER.findall(guide))
    assert placed == {(rule.interface, rule.method) for rule in RULES.values()}
    rendered = hooks.on_page_markdown(guide, None)
    assert "<!-- rules:" not in rendered
    for rule in RULES.values():
        assert f"| {hooks._cell(rule.text)} | **{rule.level}** | " in rendered, rule.name
    assert not re.search(r"^\| \| \|$", rendered, re.M)  # no hand-written contract table left
    with pytest.raises(ValueError, match="no rules for storage nothing"):
        hooks.rules_markdown("storage", "nothing")


def test_an_advisory_is_shown_and_counted_and_fails_only_under_strict():
    import json
    from xml.etree import ElementTree

    from omi.conformance.report import render_json, render_junit, render_text, summary_line

    report = run("FTS5Ranked", pattern="recall_ranks_*")
    assert statuses(report) == {
        "recall_ranks_better_matches_first": "passed",
        "recall_ranks_all_words_above_some": "advisory",
        "recall_ranks_before_applying_limit": "passed",
    }
    assert (report.exit_code(), report.exit_code(strict=True)) == (0, 1)
    assert summary_line([report]) == "2 passed, 0 failed, 1 advisory, 0 skipped"
    text = render_text([report])
    assert (
        "  advisory recall_ranks_all_words_above_some (" in text
        and "s) (a failure under --strict): expected every memory holding all" in text
    )
    document = json.loads(render_json([report], strict=True))
    assert document["plugins"][0]["counts"]["advisory"] == 1
    assert document["plugins"][0]["exit_code"] == 1
    for strict, failures in ((False, "0"), (True, "1")):
        suite = ElementTree.fromstring(render_junit([report], strict)).find("testsuite")
        assert suite.get("failures") == failures
        case = next(c for c in suite if c.get("name") == "recall_ranks_all_words_above_some")
        assert (case.find("failure") is not None) is strict
        if not strict:
            assert case.find("system-out").text.startswith("advisory: expected every memory")


def test_a_handler_slow_only_after_its_first_call_fails_naming_the_call():
    from omi.conformance.building import InstanceFactory
    from omi.conformance.outcome import execute

    outcome = execute(
        REGISTRY["handle_returns_promptly"],
        InstanceFactory(plugins.SlowAfterTheFirstCall),
        (),
        0,
        call_timeout=0.1,
    )
    assert outcome.status == "failed"
    assert "expected at most 0.1 s for each call; got 0.3" in outcome.message
    assert "s for handle('memory.stored', ...), call 2 of 13" in outcome.message


def test_shrinking_keeps_only_the_items_a_failure_needs():
    from omi.conformance.shrink import shrink

    calls = []

    def fails(items):
        calls.append(items)
        return 3 in items and 17 in items

    assert shrink(list(range(60)), fails, 200) == [3, 17]
    assert len(calls) <= 200
    assert shrink(list(range(60)), fails, 5) != [3, 17]  # the budget bounds the work
    assert shrink([1], lambda items: True, 10) == [1]  # never shrinks to nothing


def test_the_messages_between_the_processes_are_typed_records():
    """What the runner and its children exchange: frozen records, one JSON line each."""
    import dataclasses

    from omi.conformance.messages import (
        Done,
        Finished,
        Resolve,
        Resolved,
        RunChecks,
        RunSettings,
        Started,
        Stop,
        decode,
        encode,
    )
    from omi.conformance.outcome import Outcome

    settings = RunSettings(seed=5, timeout=2.5, call_timeout=0.5, memory_limit=None)
    messages = [
        Resolve("sqlite", None, {"path": "x"}, 2**30),
        RunChecks("m:C", {"k": [1]}, ("a", "b"), ("persistent",), settings, "/tmp/s"),
        Stop(),
        Resolved({"label": "x", "error": None}),
        Started("a"),
        Finished(Outcome("a", "advisory", 0.25, "expected ...")),
        Done(),
    ]
    for message in messages:
        line = encode(message)
        assert "\n" not in line and decode(line) == message and decode(line.encode()) == message
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seed = 6
    for line in ('{"kind": "Exec", "code": "x"}', "[1]", '{"check": "a"}'):
        with pytest.raises(ValueError, match="not a message of the check processes"):
            decode(line)


def test_a_check_process_log_keeps_what_the_child_writes_while_the_parent_reads_it():
    # The child writes through a descriptor sharing the log's file offset; the parent seeks to
    # read the tail. A hung check's stack dump arriving just then once landed over the start
    # of the log, and the report lost where the plugin was stuck.
    with new_log() as log:
        child = os.dup(log.fileno())
        try:
            os.write(child, b"imported\n")
            assert read_tail(log) == ("imported\n", 0)
            log.seek(0)  # where a reader leaves the shared offset
            os.write(child, b"Timeout (0:00:02)!\n")
        finally:
            os.close(child)
        assert read_tail(log) == ("imported\nTimeout (0:00:02)!\n", 0)


# --- errors are raised, never swallowed into a made-up value ----------------------------------


def registered(name: str):
    """The check of that name, the registry loaded (a test may run alone)."""
    return {check.name: check for check in all_checks()}[name]


#: Broken plugins behind a service (their server given as base_url) that swallow its errors.
SWALLOWS_ERRORS = [
    ("ZeroVectorOnServerError", "embed_raises_when_its_service_fails"),
    ("EmptyRecallOnServerError", "recall_raises_when_its_service_fails"),
]


def _behind(name: str, server, **kwargs):
    """The report of `name` checked against `server` (its base_url)."""
    target = Target(
        getattr(plugins, name), f"conformance_plugins:{name}", name, {"base_url": server.url}
    )
    return run_suite(target, **kwargs)


@pytest.mark.parametrize(
    "name, server_class",
    [
        ("ServiceEmbedder", FakeOllama),
        # each is a whole suite against a server (about a second): in the whole suite only
        *(
            pytest.param(*case, marks=pytest.mark.slow)
            for case in [
                ("RetriesThenRaises", FakeOllama),
                ("LocalEmbedderWithAService", FakeOllama),
                ("MemoryServiceStore", FakeMemoryService),
            ]
        ),
    ],
)
def test_plugins_behind_a_service_that_raise_when_it_fails_pass_everything(name, server_class):
    """Their own error type, retries with backoff before it, or a vector that needs no
    service at all: each passes, the service check included."""
    with server_class() as server:
        report = _behind(name, server)
    assert report.exit_code(strict=True) == 0, [
        (o.name, o.message) for o in report.outcomes if o.status != "passed"
    ]
    assert set(statuses(report).values()) <= {"passed", "skipped"}
    service = (
        f"{'recall' if report.interface == 'storage' else 'embed'}_raises_when_its_service_fails"
    )
    assert statuses(report)[service] == "passed"


@pytest.mark.parametrize(
    "name, check",  # the storage one in the whole suite only (the slower: a second or more)
    [SWALLOWS_ERRORS[0], pytest.param(*SWALLOWS_ERRORS[1], marks=pytest.mark.slow)],
)
def test_a_plugin_that_swallows_its_services_error_fails_that_rule_alone(name, check):
    server_class = FakeMemoryService if "Recall" in name else FakeOllama
    with server_class() as server:
        report = _behind(name, server)
    assert {o.name for o in report.outcomes if o.status == "failed"} == {check}
    message = next(o.message for o in report.outcomes if o.name == check)
    if name == "ZeroVectorOnServerError":
        assert message.startswith(
            "expected embed('The cat sat on the mat.') to raise when the embedding server fails "
            "(HTTP 500 to every request; asked once); got [0.0, 0.0, "
        )
        assert "0.0], returned instead; fix: let the service's error reach the caller" in message
    else:
        assert message == (
            "expected recall('where did I leave the keys', limit=5) to raise when the memory "
            "service fails (HTTP 500 to every request; asked once); got [], returned instead; "
            "fix: let the service's error reach the caller, or raise your own naming the "
            "service and the cause (raise RuntimeError(...) from error); never return [] in "
            "place of the results the service did not give"
        )


def _service_check(name: str, call_timeout: float = 10.0, **options):
    """The outcome of the embedder service check alone, in this process."""
    from omi.conformance.building import InstanceFactory
    from omi.conformance.outcome import execute

    check = registered("embed_raises_when_its_service_fails")
    factory = InstanceFactory(getattr(plugins, name), options)
    return execute(check, factory, (), 0, call_timeout=call_timeout)


@pytest.mark.parametrize(
    "name, status",
    [("LineServiceEmbedder", "passed"), ("ZeroVectorOnHangUp", "failed")],
)
def test_a_service_that_is_not_http_fails_by_closing_every_connection(name, status):
    outcome = _service_check(name)
    assert outcome.status == status, outcome.message
    if status == "failed":
        assert outcome.message.startswith(
            "expected embed('The cat sat on the mat.') to raise when the vector server fails "
            "(every connection closed at once; asked once); got [0.0, "
        )


@pytest.mark.parametrize(
    "name, status",
    [("EnvConfiguredEmbedder", "passed"), ("EnvConfiguredZeroVector", "failed")],
)
def test_a_service_moved_by_its_environment_variable_is_made_to_fail(name, status, monkeypatch):
    """The variable is set while the plugin is built and called, and restored after."""
    monkeypatch.setenv("OMI_TEST_EMBEDDING_URL", "http://127.0.0.1:11434")
    outcome = _service_check(name)
    assert outcome.status == status, outcome.message
    assert os.environ["OMI_TEST_EMBEDDING_URL"] == "http://127.0.0.1:11434"


def test_a_plugin_still_retrying_at_the_call_timeout_is_skipped_not_judged():
    started = time.perf_counter()
    outcome = _service_check("RetriesForLong", call_timeout=0.5)
    assert time.perf_counter() - started < 2.5  # two calls, each given the call timeout
    assert outcome.status == "skipped"
    assert outcome.message.startswith(
        "embed('The cat sat on the mat.') was still running 0.5 s (the call timeout) after the "
        "embedding server began to fail it (asked "
    )
    assert "it returned nothing made up in that time" in outcome.message


def test_a_plugin_with_no_service_to_make_fail_is_skipped_saying_why():
    from omi.conformance.service_failure import NO_SERVICE

    assert (_service_check("HashEmbedder").status, _service_check("HashEmbedder").message) == (
        "skipped",
        NO_SERVICE,
    )
    outcome = _service_check("ServiceWithoutAnOption")
    assert (outcome.status, outcome.message) == (
        "skipped",
        "conformance_service() names no option and no environment variable (env) that points "
        "the plugin at another server, so it cannot be made to fail",
    )


@pytest.mark.parametrize(
    "url, pointed",
    [
        ("https://api.example.com", "http://127.0.0.1:7"),
        ("http://user:s3cret@db.example.com:8080/v1?x=1", "http://user:s3cret@127.0.0.1:7/v1?x=1"),
        ("postgresql://omi@db:5432/memories", "postgresql://omi@127.0.0.1:7/memories"),
        ("localhost:6379", "127.0.0.1:7"),
    ],
)
def test_a_declared_url_is_pointed_at_the_failing_server_keeping_the_rest(url, pointed):
    from omi.conformance.service_failure import pointed_at, speaks_http

    assert pointed_at(url, 7) == pointed
    assert speaks_http(url) is not url.startswith("postgresql")


def test_a_backend_from_a_fixture_that_cannot_be_given_the_option_is_skipped_saying_how():
    from omi.conformance.outcome import execute

    check = registered("recall_raises_when_its_service_fails")
    outcome = execute(check, lambda directory: plugins.MemoryServiceStore(), (), 0, 10.0)
    assert (outcome.status, outcome.message) == (
        "skipped",
        "the suite builds the plugin through a fixture, which cannot be given base_url=URL: set "
        "plugin_class (and plugin_options) so that it builds the plugin, or name an environment "
        "variable (env) in conformance_service()",
    )


def test_a_fixtures_plugin_the_suite_cannot_rebuild_is_skipped_saying_how():
    """Under pytest the suite rebuilds the fixture's class with plugin_options only."""
    from omi.conformance.outcome import execute
    from omi.testing import _FixtureInstance

    instance = plugins.KeyedServiceEmbedder(api_key="k")
    factory = _FixtureInstance(plugins.KeyedServiceEmbedder, {}, instance)
    outcome = execute(registered("embed_raises_when_its_service_fails"), factory, (), 0, 10.0)
    assert outcome.status == "skipped"
    assert outcome.message.startswith(
        "the plugin could not be built pointed at a failing server, to try embed('The cat sat "
        "on the mat.'): TypeError: "
    )
    assert "'api_key'" in outcome.message
    assert outcome.message.endswith(
        "; give the suite the options it needs (--option; under pytest plugin_class and "
        "plugin_options: the arguments a plugin fixture passes cannot be reused)"
    )


# --- many_texts_stay_consistent: a floor for cheap plugins -----------------------------------


@pytest.mark.parametrize(
    "spent, count",
    [
        (0.0, 300),  # a remote API: little CPU, every text
        (0.0001, 300),
        (0.0005, 160),  # the budget alone would give 101: fewer than a cache of 128 holds
        (0.002, 160),  # cheap, at the edge
        (0.0021, 24),  # a local model: what fits in 0.1 s of CPU time
        (0.015, 4),  # the bench's 1,000-dimension embedder
        (5.0, 1),
    ],
)
def test_many_texts_gives_a_cheap_plugin_at_least_the_floor(spent, count):
    from omi.conformance.embedding import many_texts_count

    assert many_texts_count(spent) == count


@pytest.mark.parametrize("looks", [0.0, 0.0015])
def test_a_cache_of_128_fails_many_texts_however_busy_the_machine(monkeypatch, looks):
    """Each text looking up to 1.5 ms of CPU (a loaded machine) still sends 160 texts."""
    import itertools

    from omi.conformance.building import InstanceFactory
    from omi.conformance.outcome import execute

    if looks:
        clock = itertools.count(step=looks)
        monkeypatch.setattr(time, "process_time", lambda: next(clock))
    check = registered("many_texts_stay_consistent")
    outcome = execute(check, InstanceFactory(plugins.RingCache), (), 0, 10.0)
    assert outcome.status == "failed"
    sent = int(re.search(r"^expected \S+ again of text \d+ of (\d+) ", outcome.message)[1])
    assert sent == 160 if looks else sent >= 160


@pytest.mark.parametrize(
    "name, check",
    [("HashEmbedder", "embed_is_thread_safe"), ("JSONLinesHandler", "handle_is_thread_safe")],
)
def test_the_thread_checks_build_one_instance_before_the_threads(name, check):
    """Built lazily inside the threads, several instances were made at once (each thread
    could call its own, proving nothing), and their constructors, each run in its directory,
    left the process in the check's directory, which the check then removed: the next check
    could not build the plugin (FileNotFoundError)."""
    from omi.conformance.building import InstanceFactory
    from omi.conformance.outcome import execute

    built = []

    def factory(directory):
        built.append(threading.current_thread().name)
        return InstanceFactory(getattr(plugins, name))(directory)

    here = os.getcwd()
    assert execute(registered(check), factory, (), 0, 10.0).status == "passed"
    assert built == ["MainThread"]
    assert os.getcwd() == here


@pytest.mark.slow
def test_a_constructor_still_running_at_the_call_timeout_leaves_the_working_directory():
    """It runs in its own directory, which the check removes as it ends."""
    here = os.getcwd()
    outcome = _service_check("SlowToConnect", call_timeout=0.3)
    assert outcome.status == "skipped", outcome.message
    assert "was still running 0.3 s (the call timeout)" in outcome.message
    assert os.getcwd() == here
