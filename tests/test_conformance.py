"""The conformance suite discriminates: correct plugins pass, each broken one fails its check."""

from __future__ import annotations

import importlib
import sys
import threading

import pytest
from packaging.version import Version

from omi.builtin.sqlite import SQLiteBackend
from omi.conformance import Target, all_checks, checks_for, run_suite
from omi.conformance.registry import FIRST_SUITE_VERSION, SUITE_VERSION, CheckFailure

plugins = importlib.import_module("conformance_plugins")


def run(name: str, timeout: float = 20.0, **kwargs):
    cls = getattr(plugins, name)
    return run_suite(Target(cls, f"conformance_plugins:{name}", name), timeout=timeout, **kwargs)


def statuses(report) -> dict:
    return {outcome.name: outcome.status for outcome in report.outcomes}


@pytest.mark.parametrize("name", ["HashEmbedder", "JSONLinesHandler", "OneDimensional",
                                  "AngularSimilarity", "DocumentStore"])
def test_correct_plugins_pass_every_applicable_check(name, child_process):
    report = run(name)
    assert report.exit_code() == 0, [(o.name, o.message) for o in report.outcomes]
    assert set(statuses(report).values()) <= {"passed", "skipped"}
    assert len(report.outcomes) == len(checks_for(report.interface))


def test_the_builtin_sqlite_backend_passes_everything_including_persistent():
    report = run_suite(Target(SQLiteBackend, "omi.builtin.sqlite:SQLiteBackend", "sqlite"))
    assert statuses(report) == {c.name: "passed" for c in checks_for("storage")}


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
    "BatchDisagrees", "AcceptsEmptyText", "MutatesTexts", "LaxSimilarity", "ClaimsSemantic",
    "EmptyBatchIsNone", "AsciiOnly", "NoModelName", "MutatesMemory", "SharesOneFile",
    "StartsWithAWelcomeMemory", "ClosingTwiceFails", "UsableAfterClose", "IgnoresLimit",
    "MutatesEventData", "ReturnsSomething", "SaltedHash", "DedupesBatch",
    "DotProductSimilarity", "ReversedRanking", "ShuffledResults", "ScoresAreDistances",
    "NormalisesUnicode", "CutsContentAt64K", "DeduplicatesContent", "ClosesOnlyForWrites",
    "MigratesOnEveryOpen", "SaysWhetherHandled",
}


@pytest.mark.parametrize("name, check", BROKEN)
def test_each_broken_plugin_fails_the_named_check(name, check):
    report = run(name, timeout=1.0 if name == "Hangs" else 3.0)  # a hang needs no more
    outcome = next(o for o in report.outcomes if o.name == check)
    assert outcome.status == "failed"
    assert outcome.message.startswith(("expected ", "did not finish"))
    assert report.exit_code() == 1
    if name in FAIL_NOTHING_ELSE:
        assert {o.name for o in report.outcomes if o.status == "failed"} == {check}


def test_every_check_has_a_broken_plugin_that_fails_it():
    """The parametrization above leaves no check unproven."""
    proven = {check for _, check in BROKEN}
    assert proven == {c.name for c in all_checks()}


@pytest.mark.parametrize("name", ["SharesOneFileAndSaysSo", "Chatty"])
def test_declared_sharing_and_printing_plugins_pass(name, child_process):
    report = run(name)
    assert report.exit_code() == 0, [(o.name, o.message) for o in report.outcomes]
    if name == "SharesOneFileAndSaysSo":
        assert {o.name: o.message for o in report.outcomes if o.status == "skipped"} == {
            "new_instance_starts_empty": "does not apply: the plugin declares 'shared'",
            "instances_are_isolated": "does not apply: the plugin declares 'shared'"}


@pytest.mark.parametrize("name, options, got, fix", plugins.BUILD_FAILURES,
                         ids=plugins.BUILD_FAILURE_IDS)
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
        assert outcome.message.startswith("expected a test instance of the plugin; got "
                                          "TypeError: "), (outcome.name, outcome.message)
        assert "CheckFailure" not in outcome.message


def test_every_check_dates_from_a_release_that_shipped_the_suite():
    """0.4.0 is the first release with a conformance suite (CHANGELOG.md): no check can be
    older, and none newer than the installed suite."""
    assert FIRST_SUITE_VERSION == "0.4.0"
    for item in all_checks():
        assert Version(FIRST_SUITE_VERSION) <= Version(item.since) <= Version(SUITE_VERSION)


@pytest.mark.parametrize("attribute, value, message", [
    ("conformance_capabilities", {"persistant"}, "unknown 'persistant'; known: deterministic"),
    ("conformance_known_failures", {"recall_honours_limit": "x"},
     "names 'recall_honours_limit', which is a storage check, not an embedding one; see omi "
     "plugins check --list-checks embedding"),
    ("conformance_known_failures", {"batch_matches_singel": "x"},
     r"names 'batch_matches_singel', which is not an embedding check \(did you mean "
     r"'batch_matches_single'\?\)"),
    ("conformance_known_failures", {"zzz": "x"},
     "names 'zzz', which is not an embedding check; see omi plugins check --list-checks"),
    ("conformance_known_failures", {"batch_matches_single": " "}, "needs a reason"),
])
def test_malformed_declarations_are_refused(attribute, value, message):
    bad = type("Bad", (plugins.HashEmbedder,), {attribute: value})
    with pytest.raises(ValueError, match=message):
        Target(bad, "x:Bad", "bad").check_declarations()


def test_an_exception_from_the_plugin_says_where_it_was_raised():
    outcome = next(o for o in run("RejectsBeliefUpdates").outcomes
                   if o.name == "handles_every_event_type")
    assert outcome.message.startswith(
        "expected the check's calls to succeed; got ValueError: beliefs are not supported "
        "(raised at conformance_plugins.py:")
    assert "in handle); fix: make that call handle the check's input" in outcome.message


def test_failure_messages_say_expected_got_and_fix():
    outcome = next(o for o in run("BatchDisagrees").outcomes if o.name == "batch_matches_single")
    assert "expected embed_batch(texts)[0] == embed(texts[0])" in outcome.message
    assert "; got " in outcome.message
    assert "; fix: return the vectors in input order" in outcome.message


@pytest.fixture(params=["fork", "spawn"])
def child_process(request, monkeypatch):
    """Run the test with forked children, then with new interpreters."""
    from omi.conformance import runner

    monkeypatch.setenv("OMI_CHECK_PROCESS", request.param)
    assert runner.forks() is (request.param == "fork")  # the test does exercise its kind
    return request.param


def test_a_hanging_plugin_fails_that_check_and_the_run_goes_on(child_process):
    report = run("Hangs", timeout=1.0)
    result = statuses(report)
    assert result["handle_returns_promptly"] == "failed"
    hung = next(o for o in report.outcomes if o.name == "handle_returns_promptly")
    assert "did not finish within 1 s" in hung.message
    assert result["handles_every_event_type"] == "failed"  # it also calls session.started
    assert result["unknown_event_types_are_ignored"] == "passed"


def test_a_plugin_that_kills_the_interpreter_fails_only_the_checks_it_dies_in(child_process):
    """It dies on belief.updated, which three checks send; the two others pass."""
    report = run("KillsTheInterpreter")
    for outcome in report.outcomes:
        if outcome.name in ("unknown_event_types_are_ignored", "handle_returns_promptly"):
            assert outcome.status == "passed"
        else:
            assert outcome.status == "failed"
            assert "the interpreter died (exit code 7)" in outcome.message


def test_a_check_process_that_dies_of_memory_names_the_memory_limit(child_process):
    limited = run("DiesOfMemory", pattern="batch_matches_single", memory_limit=300 * 2**20)
    assert limited.outcomes[0].message == ("the plugin exceeded the memory limit of 300 MiB "
                                           "(--memory-limit)")
    unlimited = run("DiesOfMemory", pattern="batch_matches_single", memory_limit=None)
    assert unlimited.outcomes[0].message.startswith("the interpreter died (exit code 1)")


def test_a_memory_error_a_check_wrapped_still_names_the_memory_limit():
    """A check may turn what the plugin raised into its own failure (a constructor that
    runs out of memory, for instance); the limit is still what the report names."""
    from omi.conformance.registry import Check
    from omi.conformance.runner import execute

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
        "batch_of_nothing_is_empty"]
    assert {o.name for o in run("HashEmbedder", pattern="similarity_*").outcomes} == {
        "similarity_is_symmetric_and_bounded", "similarity_handles_any_vectors",
        "similarity_rejects_mismatched_lengths", "similarity_tracks_meaning"}


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
    from omi.conformance.registry import check

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
    assert runner.forks() is (sys.platform.startswith("linux")
                               and threading.active_count() == 1)
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
            shape = {key: sorted(value[0]) if key == "results" else type(value).__name__
                     for key, value in event_data.items()}
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


def test_a_check_killed_for_hanging_leaves_no_scratch_files(child_process, tmp_path,
                                                             monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    report = run("Hangs", timeout=1.0, pattern="handle_returns_promptly")
    assert [o.status for o in report.outcomes] == ["failed"]
    assert list(tmp_path.iterdir()) == []


def test_a_conformance_factory_taking_only_keyword_options_gets_no_directory():
    target = Target(plugins.FactoryTakesOnlyOptions, "conformance_plugins:FactoryTakesOnlyOptions",
                    "f", {"path": "{workdir}/events.jsonl"})
    report = run_suite(target, timeout=20.0)
    assert report.exit_code() == 0, [(o.name, o.message) for o in report.outcomes]


def test_a_check_module_imported_anew_replaces_its_checks_and_names_stay_unique():
    import omi.conformance.events as events
    from omi.conformance.registry import check

    before = [c.name for c in all_checks()]
    importlib.reload(events)
    assert [c.name for c in all_checks()] == before

    def handle_returns_none(ctx):  # a different function under a taken name
        return None

    with pytest.raises(ValueError, match="two checks are named 'handle_returns_none'"):
        check("event", "a twin", why="-", fix="-")(handle_returns_none)


@pytest.mark.parametrize("name, check, parts", [
    ("TruncatesOnOpen", "data_survives_reopen",
     ["got everything stored before is gone: opening truncated the stored data (the files at "
      "the location shrank from", "fix: open existing data as it is"]),
    ("TruncatesOnOpen", "random_operations_match_a_model",
     ["; since the reopen at step", "opening truncated the stored data", "fix: open existing"]),
    ("ForgetfulButClaimsPersistent", "random_operations_match_a_model",
     ["everything stored before close() is gone after reopening", "or drop 'persistent'"]),
    ("SavesOnlyItsOwnWrites", "data_survives_reopen",
     ["expected every memory stored before reopen 2 still there; got the memories of earlier "
      "sessions are gone, the last session's are there (session 1: ",
      "fix: keep the data loaded when opening"]),
    ("MigratesOnEveryOpen", "data_survives_reopen",
     ["expected the memories of session 1 as they were before reopen 1; got ",
      ": metadata['note'] is missing; fix: leave stored data as written when opening"]),
    ("CutsContentAt64K", "content_and_metadata_come_back_exactly",
     ["got content is cut off: 65,535 of 1,076,5", "characters came back, ending ...",
      "; the rest, from character 65,535, begins ...",
      "fix: store content without a length limit"]),
    ("NormalisesUnicode", "content_and_metadata_come_back_exactly",
     ["got content differs from character ", "cafe\\u0301", "caf\\xe9",
      "fix: store content exactly as given"]),
    ("DedupesBatch", "batch_matches_single",
     ["expected 7 vectors for 7 texts with duplicates, batch_size=3; got 5 (one per distinct "
      "text: the duplicates were merged); fix: return one vector per input text, duplicates "
      "included"]),
    ("DotProductSimilarity", "similarity_handles_any_vectors",
     ["expected a float in [-1, 1] for a long vector with itself; got ",
      ", their dot product; fix: divide the dot product by both norms"]),
    ("SaltedHash", "embed_is_deterministic",
     ["in a fresh interpreter (PYTHONHASHSEED=", "to equal the vector here; got element ",
      "not hash(), which Python salts per process"]),
    ("ReversedRanking", "recall_ranks_better_matches_first",
     ["got results holding 1, 1, 2, 3, 3 of the query's words, in that order; fix: sort best "
      "first"]),
    ("ShuffledResults", "recall_ranks_better_matches_first",
     ["fix: rank by relevance: memories holding more of the query's words first"]),
    ("ScoresAreDistances", "recall_ranks_better_matches_first",
     ["expected scores that never increase down the list", "negate a distance or bm25()"]),
    ("DeduplicatesContent", "same_memory_twice_is_two_memories",
     ["expected two ids for the same memory stored twice; got '", "' both times",
      "never one derived from the content"]),
    ("ClosesOnlyForWrites", "use_after_close_raises",
     ["expected an error from recall() after close(); got no exception (returned ["]),
    ("SaysWhetherHandled", "handle_returns_none",
     ["expected None from handle('omi.future.event', ...); got False"]),
])
def test_a_failure_names_its_cause_and_the_fix_for_it(name, check, parts):
    """A backend that truncates its file on open is told so, not that recall misses words."""
    outcome = next(o for o in run(name, pattern=check).outcomes if o.name == check)
    assert outcome.status == "failed"
    for part in parts:
        assert part in outcome.message, (part, outcome.message)
    assert "recall must find every stored memory by its words" not in outcome.message


def test_a_difference_is_shown_where_it_is_even_in_a_long_value():
    from omi.conformance.registry import difference

    long = "a" * 1_000_000 + "XYZ" + "b" * 20
    changed = difference(long, long.replace("XYZ", "XQZ"), "content")
    assert (changed.kind, changed.text) == ("text", (
        "content differs from character 1,000,001 of 1,000,023: given "
        "...'aaaaaaaaaaaaaaaXYZbbbbbbbbbbbbbb'..., came back "
        "...'aaaaaaaaaaaaaaaXQZbbbbbbbbbbbbbb'... (1,000,023 characters)"))
    cut = difference(long, long[:70_000], "content")
    assert cut.kind == "cut" and cut.text.startswith(
        "content is cut off: 70,000 of 1,000,023 characters came back")
    assert difference(long, long + "!", "content").text == (
        "content has 1 characters more than the 1,000,023 given: ...'!'")


@pytest.mark.parametrize("given, got, kind, text", [
    ({"a": [1, True]}, {"a": [1, 1]}, "type", "metadata['a'][1] is 1 (int) instead of True (bool)"),
    ({"x": 6.02e23}, {"x": 602000000000000000000000}, "number",
     "metadata['x'] is 602000000000000000000000 (int) instead of 6.02e+23 (float)"),
    ({"x": [1, 2]}, {"x": (1, 2)}, "type",
     "metadata['x'] is (1, 2) (tuple) instead of [1, 2] (list)"),
    ({"note": None, "k": 1}, {"k": 1}, "missing", "metadata['note'] is missing"),
    ({"k": 1}, {"k": 1, "id": "x"}, "extra",
     "metadata has the key 'id', which was not given"),
    ({"k": [1, 2]}, {"k": [1]}, "length", "metadata['k'] has 1 items instead of 2"),
    ({"k": 0.1}, {"k": 0.10000001}, "value",
     "metadata['k'] is 0.10000001 (float) instead of 0.1 (float)"),
    ({"é": "cafe\u0301"}, {"é": "café"}, "unicode",
     "metadata['é'] differs from character 3 of 5: given 'cafe\\u0301', came back "
     "'caf\\xe9' (4 characters)"),
    ({"k": "café"}, {"k": "caf?"}, "encoding",
     "metadata['k'] differs from character 3 of 4: given 'caf\\xe9', came back 'caf?' "
     "(4 characters)"),
])
def test_a_difference_says_what_kind_it_is(given, got, kind, text):
    from omi.conformance.registry import difference

    changed = difference(given, got, "metadata")
    assert (changed.kind, changed.text) == (kind, text)
    assert difference(given, given, "metadata") is None


def test_the_fresh_interpreter_is_bounded_in_time_and_ended(tmp_path):
    from omi.conformance.fresh import FreshInterpreter
    from omi.conformance.target import InstanceFactory

    with FreshInterpreter(InstanceFactory(plugins.SlowToLoad), ["x"], tmp_path, 1) as child:
        with pytest.raises(CheckFailure, match=r"^expected vectors from a fresh interpreter "
                                               r"within 0.5 s; got none after 0.5 s"):
            child.answer(0.5)
    assert child.process.returncode is not None  # killed, not left running


def test_a_plugin_class_a_new_interpreter_cannot_import_is_named(tmp_path):
    from omi.conformance.fresh import FreshInterpreter
    from omi.conformance.target import InstanceFactory

    class Local(plugins.HashEmbedder):
        pass

    with pytest.raises(CheckFailure, match="^expected a recipe for building test_a_plugin_class_"
                                           ".*Local in another interpreter; got "):
        FreshInterpreter(InstanceFactory(Local), ["x"], tmp_path, 1)
