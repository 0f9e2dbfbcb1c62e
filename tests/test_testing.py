"""omi.testing: the pytest front end runs the same registry, one test per check."""

from __future__ import annotations

from pathlib import Path

import numpy  # noqa: F401 - see below
import pytest

from omi.conformance import checks_for

# numpy's C extension cannot be imported twice in one process, and in-process pytester runs
# drop the modules first imported during the run: numpy must be imported before any run.

TESTS = Path(__file__).parent


@pytest.fixture
def suite(pytester: pytest.Pytester):
    pytester.syspathinsert(TESTS)

    def run(source: str) -> pytest.RunResult:
        pytester.makepyfile(test_plugin=source)
        return pytester.runpytest_inprocess("-v", "-p", "no:cacheprovider")

    return run


EMBEDDER_SUITE = """
import pytest
from omi.testing import EmbeddingProviderConformance
from conformance_plugins import {cls}

class TestConformance(EmbeddingProviderConformance):
    {body}

    @pytest.fixture
    def plugin(self):
        return {cls}()
"""


def test_every_check_is_a_test_with_the_same_name(suite):
    result = suite(EMBEDDER_SUITE.format(cls="HashEmbedder", body="pass"))
    result.assert_outcomes(passed=13, skipped=1)
    for check in checks_for("embedding"):
        result.stdout.fnmatch_lines([f"*TestConformance::test_{check.name} *"])


def test_a_broken_plugin_fails_the_named_test_with_the_message(suite):
    result = suite(EMBEDDER_SUITE.format(cls="BatchDisagrees", body="pass"))
    result.assert_outcomes(passed=12, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*test_batch_matches_single FAILED*",
                                 "*batch_matches_single: expected embed_batch(texts)*embed(texts*"])


def test_known_failures_are_xfail_and_passing_ones_xpass(suite):
    body = "known_failures = {'batch_matches_single': 'reordered by the API'}"
    suite(EMBEDDER_SUITE.format(cls="BatchDisagrees", body=body)).assert_outcomes(
        passed=12, skipped=1, xfailed=1)


def test_plugin_declared_known_failures_count_too(suite):
    suite(EMBEDDER_SUITE.format(cls="KnownBatchFailure", body="pass")).assert_outcomes(
        passed=12, skipped=1, xfailed=1)
    suite(EMBEDDER_SUITE.format(cls="WronglyKnownFailure", body="pass")).assert_outcomes(
        passed=12, skipped=1, xpassed=1)


@pytest.mark.parametrize("body", [
    "test_batch_matches_single = None",
    "def test_batch_matches_single(self):\n        pass",
    "known_failures = {'batch_matches_single': ''}\n    test_batch_matches_single = None",
])
def test_quietly_opting_out_of_a_check_fails_the_suite(suite, body):
    result = suite(EMBEDDER_SUITE.format(cls="HashEmbedder", body=body))
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*overrides or removes the standard conformance test "
                                 "test_batch_matches_single*"])


def test_opting_out_with_a_reason_is_allowed(suite):
    body = ("known_failures = {'batch_matches_single': 'not applicable'}\n"
            "    test_batch_matches_single = None")
    suite(EMBEDDER_SUITE.format(cls="HashEmbedder", body=body)).assert_outcomes(
        passed=12, skipped=1)


def test_checks_newer_than_the_authors_suite_say_so(suite):
    result = suite(EMBEDDER_SUITE.format(cls="BatchDisagrees", body="suite_version = '0.0.1'"))
    result.stdout.fnmatch_lines(["*[[]new in conformance suite 0.1.0; these tests were written "
                                 "for 0.0.1[]] batch_matches_single*"])


def test_storage_suite_uses_the_factory_and_proves_persistence(suite):
    result = suite("""
import pytest
from omi.testing import StorageBackendConformance
from omi.builtin.sqlite import SQLiteBackend
from conformance_plugins import ForgetfulButClaimsPersistent

class TestSQLite(StorageBackendConformance):
    @pytest.fixture
    def backend_factory(self):
        return lambda directory: SQLiteBackend(path=directory / "m.db")

class TestForgetful(StorageBackendConformance):
    plugin_class = ForgetfulButClaimsPersistent
""")
    result.assert_outcomes(passed=13 + 11, failed=2)  # the random sequence reopens too
    result.stdout.fnmatch_lines(["*TestForgetful::test_data_survives_reopen FAILED*",
                                 "*TestForgetful::test_random_operations_match_a_model FAILED*"])


def test_event_suite_with_plugin_class_only(suite):
    result = suite("""
from omi.testing import EventHandlerConformance
from conformance_plugins import JSONLinesHandler, MutatesEventData

class TestGood(EventHandlerConformance):
    plugin_class = JSONLinesHandler

class TestBad(EventHandlerConformance):
    plugin_class = MutatesEventData
""")
    result.assert_outcomes(passed=9, failed=1)
    result.stdout.fnmatch_lines(["*TestBad::test_event_data_is_not_mutated FAILED*"])


def test_missing_fixture_says_what_to_provide(suite):
    result = suite("""
from omi.testing import EmbeddingProviderConformance

class TestNothing(EmbeddingProviderConformance):
    pass
""")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*needs a `plugin` fixture returning an instance*"])
