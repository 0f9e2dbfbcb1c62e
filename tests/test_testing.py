"""omi.testing: the pytest front end runs the same registry, one test per check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy  # noqa: F401 - see below
import pytest
from conformance_plugins import BUILD_FAILURE_IDS, BUILD_FAILURES, HashEmbedder

from omi.conformance import checks_for, embedding, events, storage  # noqa: F401 - see below

# In-process pytester runs drop the modules first imported during the run. numpy's C extension
# cannot be imported twice in one process, and the registry (imported above) must not keep the
# checks of a dropped check module, whose classes (InstanceFactory) would no longer be the ones
# in sys.modules: both are imported before any run.

TESTS = Path(__file__).parent
#: How many checks each suite has: the counts below follow the registry as checks are added.
EMBEDDING, STORAGE, EVENT = (len(checks_for(kind)) for kind in ("embedding", "storage", "event"))
#: The embedding checks that HashEmbedder and its subclasses skip: it is not 'semantic', and
#: it declares no service to make fail.
SKIPS = sum(
    not check.requires <= HashEmbedder.conformance_capabilities
    or check.name == "embed_raises_when_its_service_fails"
    for check in checks_for("embedding")
)


@pytest.fixture
def suite(pytester: pytest.Pytester):
    """Run a conformance suite with pytest. `stuck=True` runs it in a child pytest: its plugin
    leaves a thread blocked for good, which must not stay in this process (other tests need a
    single-threaded process to fork their checks)."""
    pytester.syspathinsert(TESTS)

    def run(source: str, *args: str, stuck: bool = False) -> pytest.RunResult:
        pytester.makepyfile(test_plugin=source)
        if stuck:
            pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n")
            return pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", *args)
        return pytester.runpytest_inprocess("-v", "-p", "no:cacheprovider", *args)

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
    result.assert_outcomes(passed=EMBEDDING - SKIPS, skipped=SKIPS)
    for check in checks_for("embedding"):
        result.stdout.fnmatch_lines([f"*TestConformance::test_{check.name} *"])


def test_a_broken_plugin_fails_the_named_test_with_the_message(suite):
    result = suite(EMBEDDER_SUITE.format(cls="BatchDisagrees", body="pass"))
    result.assert_outcomes(passed=EMBEDDING - SKIPS - 1, failed=1, skipped=SKIPS)
    result.stdout.fnmatch_lines(
        [
            "*test_batch_matches_single FAILED*",
            "*batch_matches_single: expected embed_batch(texts)*embed(texts*",
        ]
    )


def test_known_failures_are_xfail_and_passing_ones_xpass(suite):
    body = "known_failures = {'batch_matches_single': 'reordered by the API'}"
    suite(EMBEDDER_SUITE.format(cls="BatchDisagrees", body=body)).assert_outcomes(
        passed=EMBEDDING - SKIPS - 1, skipped=SKIPS, xfailed=1
    )


def test_plugin_declared_known_failures_count_too(suite):
    suite(EMBEDDER_SUITE.format(cls="KnownBatchFailure", body="pass")).assert_outcomes(
        passed=EMBEDDING - SKIPS - 1, skipped=SKIPS, xfailed=1
    )
    suite(EMBEDDER_SUITE.format(cls="WronglyKnownFailure", body="pass")).assert_outcomes(
        passed=EMBEDDING - SKIPS - 1, skipped=SKIPS, xpassed=1
    )


OPT_OUT = "*overrides or removes the standard conformance test test_batch_matches_single*"


@pytest.mark.parametrize(
    "body, message",
    [
        ("test_batch_matches_single = None", OPT_OUT),
        ("def test_batch_matches_single(self):\n        pass", OPT_OUT),
        (
            "known_failures = {'batch_matches_single': ''}\n    test_batch_matches_single = None",
            "*known_failures[[]'batch_matches_single'[]] needs a reason*",
        ),
        (
            "known_failures = {'batch_matches_singel': 'typo'}",
            "*known_failures names 'batch_matches_singel', which is not an embedding check (did you "
            "mean 'batch_matches_single'?); see omi plugins check --list-checks embedding*",
        ),
        (
            "known_failures = {'recall_honours_limit': 'wrong suite'}",
            "*known_failures names 'recall_honours_limit', which is a storage check, not an "
            "embedding one*",
        ),
    ],
)
def test_quietly_opting_out_of_a_check_fails_the_suite(suite, body, message):
    result = suite(EMBEDDER_SUITE.format(cls="HashEmbedder", body=body))
    assert result.ret != 0
    result.stdout.fnmatch_lines([message])


def test_a_typo_in_the_plugins_own_known_failures_fails_each_test_with_the_suggestion(suite):
    source = EMBEDDER_SUITE.format(cls="Typo", body="pass").replace(
        "from conformance_plugins import Typo",
        "from conformance_plugins import HashEmbedder\n\n"
        "class Typo(HashEmbedder):\n"
        "    conformance_known_failures = {'recall_honors_limit': 'typo'}\n",
    )
    result = suite(source)
    assert result.ret != 0 and result.parseoutcomes().get("passed", 0) == 0
    result.stdout.fnmatch_lines(
        [
            "*Typo.conformance_known_failures names 'recall_honors_limit', which is not an "
            "embedding check*"
        ]
    )


def test_opting_out_through_a_mixin_fails_the_suite_too(suite):
    result = suite("""
from omi.testing import EmbeddingProviderConformance
from conformance_plugins import HashEmbedder

class Lenient:
    def test_batch_matches_single(self):
        pass

class TestConformance(Lenient, EmbeddingProviderConformance):
    plugin_class = HashEmbedder
""")
    assert result.ret != 0
    result.stdout.fnmatch_lines([OPT_OUT])


def test_opting_out_with_a_reason_is_allowed(suite):
    body = (
        "known_failures = {'batch_matches_single': 'not applicable'}\n"
        "    test_batch_matches_single = None"
    )
    suite(EMBEDDER_SUITE.format(cls="HashEmbedder", body=body)).assert_outcomes(
        passed=EMBEDDING - SKIPS - 1, skipped=SKIPS
    )


@pytest.mark.slow
def test_a_suite_release_that_adds_checks_names_the_new_ones_the_plugin_fails(
    pytester, monkeypatch
):
    """A later release adds checks with `since`; the author's generated tests name theirs."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    pytester.makeconftest("""
import sys
from omi.conformance.authoring import check, expect
from omi.conformance.registry import REGISTRY, collect

@check("embedding", "a check a later release adds", since="99.0.0", why="short names",
       fix="shorten it", rules=("get_model_name.name",))
def model_name_is_short(ctx):
    name = ctx.plugin.get_model_name()
    expect(len(name) <= 3, "at most 3 characters", name, "shorten it")

@check("embedding", "another one it adds, which the plugin passes", since="99.0.0",
       why="small vectors", fix="use fewer dimensions", rules=("get_dimension.stable",))
def dimension_is_small(ctx):
    expect(ctx.plugin.get_dimension() < 10_000, "< 10000", ctx.plugin.get_dimension(), "-")

REGISTRY.update(collect([__name__]))
""")
    pytester.makepyfile(
        test_plugin=EMBEDDER_SUITE.format(cls="HashEmbedder", body="suite_version = '0.4.0'")
    )
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=EMBEDDING - SKIPS + 1, failed=1, skipped=SKIPS)  # 2 added
    result.stdout.fnmatch_lines(
        [
            "*TestConformance::test_model_name_is_short FAILED*",
            "*[[]new in conformance suite 99.0.0; these tests were written for 0.4.0: fix the "
            "plugin, or declare it in known_failures with the reason[]] model_name_is_short: "
            "expected at most 3 characters; got hash-64*",
        ]
    )
    news = [line for line in result.stdout.lines if "new in conformance suite" in line]
    assert news and all("model_name_is_short" in line for line in news)


def test_checks_of_the_authors_suite_version_are_not_called_new(suite):
    result = suite(EMBEDDER_SUITE.format(cls="BatchDisagrees", body="suite_version = '0.4.0'"))
    result.stdout.fnmatch_lines(["batch_matches_single: expected embed_batch*"])
    assert "new in conformance suite" not in result.stdout.str()


RESIZED_SUITE = """
import pytest
from omi.testing import EmbeddingProviderConformance
from conformance_plugins import ResizableEmbedder

class TestConformance(EmbeddingProviderConformance):
    {body}

    @pytest.fixture
    def plugin(self):
        return ResizableEmbedder(dimension=32)
"""


def test_deterministic_builds_the_plugin_in_a_fresh_interpreter_from_plugin_options(suite):
    """The fixture's arguments cannot reach another process; plugin_options can."""
    result = suite(RESIZED_SUITE.format(body="pass"))
    result.assert_outcomes(passed=EMBEDDING - SKIPS - 1, failed=1, skipped=SKIPS)
    result.stdout.fnmatch_lines(
        [
            "*embed_is_deterministic: expected a fresh interpreter to build the same plugin (model, "
            "vector length); got ('hash-64', 64) there, ('hash-64', 32) here; fix: * set "
            "plugin_class and plugin_options*"
        ]
    )
    body = "plugin_class = ResizableEmbedder\n    plugin_options = {'dimension': 32}"
    suite(RESIZED_SUITE.format(body=body)).assert_outcomes(passed=EMBEDDING - SKIPS, skipped=SKIPS)


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
    # the random sequence reopens too
    result.assert_outcomes(passed=STORAGE + STORAGE - 4, failed=2, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*TestForgetful::test_data_survives_reopen FAILED*",
            "*TestForgetful::test_random_operations_match_a_model FAILED*",
        ]
    )


EVENT_SUITES = """
import pytest
from omi.testing import EventHandlerConformance
from conformance_plugins import JSONLinesHandler, MutatesEventData

class TestGood(EventHandlerConformance):
    plugin_class = JSONLinesHandler

class TestAdvised(EventHandlerConformance):
    plugin_class = MutatesEventData

class TestStrict(EventHandlerConformance):
    plugin_class = MutatesEventData
    strict = True
"""


def test_an_advisory_passes_with_a_warning_and_fails_under_strict(suite):
    """MutatesEventData breaks a "should" rule (treat event_data as read-only): advice."""
    result = suite(EVENT_SUITES, "-W", "default::omi.testing.ConformanceAdvisory")
    result.assert_outcomes(passed=3 * EVENT - 1, failed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*TestStrict::test_event_data_is_not_mutated FAILED*",
            "*advisory (strict): event_data_is_not_mutated: expected the memory.stored payload*",
            "*ConformanceAdvisory: event_data_is_not_mutated: expected the memory.stored payload "
            "unchanged*",
        ]
    )
    result = suite(EVENT_SUITES, "-p", "omi.testing", "--omi-strict")
    result.assert_outcomes(passed=3 * EVENT - 2, failed=2)
    result.stdout.fnmatch_lines(["*TestAdvised::test_event_data_is_not_mutated FAILED*"])


@pytest.mark.slow
def test_a_handler_slower_than_the_suites_call_timeout_fails_with_its_time(suite):
    """`call_timeout` is the suite's limit on one call (10 s unless the class sets it)."""
    source = """
from omi.testing import EventHandlerConformance
from conformance_plugins import SlowToStart

class TestStrict(EventHandlerConformance):
    plugin_class = SlowToStart
    call_timeout = 0.1

class TestDefault(EventHandlerConformance):
    plugin_class = SlowToStart
"""
    result = suite(source, "-k", "handle_returns_promptly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*TestStrict::test_handle_returns_promptly FAILED*",
            "*handle_returns_promptly: expected at most 0.1 s for each call; got 0.3*",
        ]
    )


@pytest.mark.slow
def test_missing_fixture_says_what_to_provide(suite):
    result = suite("""
from omi.testing import EmbeddingProviderConformance

class TestNothing(EmbeddingProviderConformance):
    pass
""")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*needs a `plugin` fixture returning an instance*"])


def test_a_shared_plugin_fixture_is_not_closed_by_the_checks(suite, tmp_path, monkeypatch):
    """A class-scoped fixture (a model loaded once) serves every check; the fixture owns it."""
    monkeypatch.setenv("OMI_TEST_CLOSED_DIR", str(tmp_path))
    result = suite("""
import os, uuid
from pathlib import Path
import pytest
from omi.testing import EventHandlerConformance
from conformance_plugins import JSONLinesHandler

class Closing(JSONLinesHandler):
    closed = False

    def handle(self, event_type, event_data):
        assert not self.closed, "handle() after close()"
        super().handle(event_type, event_data)

    def close(self):
        self.closed = True
        (Path(os.environ["OMI_TEST_CLOSED_DIR"]) / uuid.uuid4().hex).touch()

class TestShared(EventHandlerConformance):
    @pytest.fixture(scope="class")
    def plugin(self, tmp_path_factory):
        handler = Closing(str(tmp_path_factory.mktemp("h") / "events.jsonl"))
        yield handler
        handler.close()

class TestBuilt(EventHandlerConformance):
    plugin_class = Closing
""")
    result.assert_outcomes(passed=2 * EVENT)
    # the shared one once, by its fixture; each of TestBuilt's by the plugin_class fixture
    assert len(list(tmp_path.glob("[0-9a-f]" * 32))) == 1 + EVENT


@pytest.mark.slow
def test_a_deadlocked_check_fails_with_where_it_was_stuck_and_the_run_goes_on(suite):
    """A lock taken twice in add_edge is one failed test, not a hung CI job."""
    start = time.monotonic()
    result = suite(
        """
from omi.testing import StorageBackendConformance
from conformance_plugins import DeadlocksInAddEdge

class TestDeadlock(StorageBackendConformance):
    plugin_class = DeadlocksInAddEdge
    check_timeout = 2
""",
        "-k",
        "add_edge_between or add_edge_rejects_unknown",
        stuck=True,
    )  # hangs, then passes
    assert time.monotonic() - start < 30
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_add_edge_between_stored_memories FAILED*",
            "*add_edge_between_stored_memories: did not finish within 2 s*where it was stuck:*",
            "*conformance_plugins.py*, in add_edge",
            "*with self._edges_lock:",
        ]
    )


DEADLOCK_SUITE = """
from omi.testing import StorageBackendConformance
from conformance_plugins import DeadlocksInAddEdge

class TestDeadlock(StorageBackendConformance):
    plugin_class = DeadlocksInAddEdge
"""


@pytest.mark.slow
def test_omi_check_timeout_is_the_default_of_check_timeout(suite, monkeypatch):
    monkeypatch.setenv("OMI_CHECK_TIMEOUT", "0.3")
    result = suite(DEADLOCK_SUITE, "-k", "add_edge_between", stuck=True)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["add_edge_between_stored_memories: did not finish within 0.3 s*"])


def test_a_bad_omi_check_timeout_fails_each_test_in_one_line(suite, monkeypatch):
    monkeypatch.setenv("OMI_CHECK_TIMEOUT", "soon")
    result = suite(DEADLOCK_SUITE, "-k", "add_edge_between or add_edge_rejects_unknown")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "OMI_CHECK_TIMEOUT must be a number of seconds above 0 and at "
            "most 86400, e.g. 120; got 'soon'"
        ]
    )


@pytest.mark.slow
def test_a_shared_instance_a_stuck_check_holds_fails_the_later_checks_at_once(suite):
    start = time.monotonic()
    result = suite(
        """
import pytest
from omi.testing import EmbeddingProviderConformance
from conformance_plugins import HashEmbedder

class Stuck(HashEmbedder):
    def get_dimension(self):
        import threading
        threading.Event().wait()

class TestShared(EmbeddingProviderConformance):
    check_timeout = 0.3

    @pytest.fixture(scope="class")
    def plugin(self):
        return Stuck()
""",
        "-k",
        "dimension_positive or batch_of_nothing",
        stuck=True,
    )
    assert time.monotonic() - start < 20
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_dimension_positive_and_stable FAILED*",
            "*test_batch_of_nothing_is_empty FAILED*",
            "dimension_positive_and_stable: did not finish within 0.3 s*",
            "*the `plugin` fixture gave the instance a check that did not finish is still using*",
        ]
    )


def test_plugin_options_a_conformance_factory_does_not_take_fail_saying_to_accept_them(suite):
    result = suite("""
from omi.testing import EventHandlerConformance
from conformance_plugins import JSONLinesHandler

class TestOptions(EventHandlerConformance):
    plugin_class = JSONLinesHandler
    plugin_options = {"path": "events.jsonl"}
""")
    result.assert_outcomes(failed=EVENT)  # each check, told how to fix the plugin
    result.stdout.fnmatch_lines(
        [
            "*plugin_options: JSONLinesHandler.conformance_factory() does "
            "not accept option path; let it take the options and pass "
            "them on: def conformance_factory(cls, directory, **options)*"
        ]
    )
    result.stdout.no_fnmatch_line("*define a conformance_factory*")


@pytest.mark.parametrize("name, options, got, fix", BUILD_FAILURES, ids=BUILD_FAILURE_IDS)
def test_plugin_class_that_cannot_be_built_fails_with_the_fix_omi_plugins_check_gives(
    suite, name, options, got, fix
):
    result = suite(
        f"""
from omi.testing import EmbeddingProviderConformance
from conformance_plugins import {name}

class TestBuild(EmbeddingProviderConformance):
    plugin_class = {name}
    plugin_options = {options!r}
""",
        "-k",
        "model_name",
    )
    result.assert_outcomes(failed=1)
    assert f"expected a test instance of the plugin; got {got}; fix: {fix}\n" in (
        result.stdout.str()
    )
    assert "s3cret" not in result.stdout.str()


def test_a_storage_plugin_class_that_cannot_be_built_says_which_option_each_check_lacks(suite):
    result = suite(
        """
from omi.testing import StorageBackendConformance
from conformance_plugins import StoreNeedsBucket

class TestBuild(StorageBackendConformance):
    plugin_class = StoreNeedsBucket
""",
        "-k",
        "store_returns or recall_honours",
    )
    result.assert_outcomes(failed=2)
    for check in ("store_returns_unique_ids", "recall_honours_limit"):
        result.stdout.fnmatch_lines(
            [
                f"{check}: expected a test instance of the plugin; got TypeError: *missing 1 "
                f"required positional argument: 'bucket'; fix: StoreNeedsBucket needs the option "
                f"bucket, which was not given: pass it with omi plugins check --option "
                f"bucket=VALUE (under pytest: plugin_options = {{'bucket': ...}}), or define a "
                f"conformance_factory() classmethod that builds a test instance"
            ]
        )


# --- bounds (issue 23) ------------------------------------------------------------------------

EXITING_PLUGINS = """\
from conformance_plugins import HashEmbedder

class Interrupts(HashEmbedder):
    def embed_batch(self, texts, batch_size=8):
        raise KeyboardInterrupt

class Exits(HashEmbedder):
    def embed_batch(self, texts, batch_size=8):
        raise SystemExit(3)
"""

#: What both front ends say of a check in which the plugin raised one of them.
EXIT_MESSAGE = (
    "batch_matches_single: expected the plugin's calls to return, or to raise an "
    "Exception; got {exit} (raised at exiting_plugins.py:{line} in embed_batch); "
    "fix: never raise KeyboardInterrupt or SystemExit from a plugin: they end the "
    "program that hosts it; raise an Exception"
)


def test_keyboardinterrupt_or_systemexit_from_a_plugin_fails_its_check_and_the_session_goes_on(
    suite, pytester
):
    pytester.makepyfile(exiting_plugins=EXITING_PLUGINS)
    result = suite(
        """
import pytest
from omi.testing import EmbeddingProviderConformance
from exiting_plugins import Exits, Interrupts

class TestInterrupts(EmbeddingProviderConformance):
    plugin_class = Interrupts

class TestExits(EmbeddingProviderConformance):
    plugin_class = Exits

def test_after():
    pass
""",
        "-k",
        "batch_matches_single or after",
    )
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            EXIT_MESSAGE.format(exit="KeyboardInterrupt", line=5),
            EXIT_MESSAGE.format(exit="SystemExit(3)", line=9),
        ],
        consecutive=False,
    )


@pytest.mark.slow
def test_omi_plugins_check_gives_the_same_verdict_on_keyboardinterrupt(make_dist):
    make_dist("omi-exiting", files={"exiting_plugins.py": EXITING_PLUGINS})
    omi = str(Path(sys.executable).with_name("omi"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.environ["PYTHONPATH"], str(TESTS)])}
    for name, exit, line in (("Interrupts", "KeyboardInterrupt", 5), ("Exits", "SystemExit(3)", 9)):
        result = subprocess.run(
            [
                omi,
                "plugins",
                "check",
                f"exiting_plugins:{name}",
                "-k",
                "batch_matches_single",
                "--format",
                "json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        (outcome,) = json.loads(result.stdout)["plugins"][0]["results"]
        assert f"{outcome['name']}: {outcome['message']}" == EXIT_MESSAGE.format(
            exit=exit, line=line
        )


@pytest.mark.parametrize("value", ["float('inf')", "float('nan')", "-1", "0", "'60'", "True"])
def test_a_bad_check_timeout_fails_each_test_in_one_line(suite, value):
    result = suite(
        DEADLOCK_SUITE + f"    check_timeout = {value}\n",
        "-k",
        "add_edge_between or add_edge_rejects_unknown",
    )
    result.assert_outcomes(failed=2)
    shown = {"float('inf')": "inf", "float('nan')": "nan"}.get(value, value)
    result.stdout.fnmatch_lines(
        [
            f"TestDeadlock.check_timeout must be a number of seconds above "
            f"0 and at most 86400, e.g. 120; got {shown}"
        ]
    )


@pytest.mark.slow
def test_a_timed_out_check_leaves_no_scratch_directory(suite, monkeypatch, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    result = suite(
        DEADLOCK_SUITE + "    check_timeout = 0.3\n", "-k", "add_edge_between", stuck=True
    )
    result.assert_outcomes(failed=1)
    assert [path.name for path in scratch.iterdir() if path.name.startswith("omi-")] == []


def test_a_constructor_raising_systemexit_fails_its_tests_and_the_session_goes_on(suite):
    result = suite(
        """
from omi.testing import EventHandlerConformance
from conformance_plugins import JSONLinesHandler

class Quits(JSONLinesHandler):
    def __init__(self, **options):
        raise SystemExit("no")

class TestQuits(EventHandlerConformance):
    plugin_class = Quits

def test_after():
    pass
""",
        "-k",
        "handle_returns_none or after",
    )
    result.assert_outcomes(failed=1, passed=1)
    assert "During handling" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*expected the plugin's calls to return, or to raise an "
            "Exception; got SystemExit(no) (raised at test_plugin.py:6 in "
            "__init__)*"
        ]
    )


def test_a_fixtures_plugin_is_rebuilt_pointed_at_a_failing_service(suite):
    """The service check builds new instances of the fixture's class, given the declared
    option: one that swallows the server's error fails under pytest too."""
    result = suite(
        """
import pytest
from fake_servers import FakeOllama
from omi.testing import EmbeddingProviderConformance
from conformance_plugins import ServiceEmbedder, ZeroVectorOnServerError

@pytest.fixture(scope="module")
def server():
    with FakeOllama() as running:
        yield running

class TestRaises(EmbeddingProviderConformance):
    @pytest.fixture
    def plugin(self, server):
        return ServiceEmbedder(base_url=server.url)

class TestSwallows(EmbeddingProviderConformance):
    @pytest.fixture
    def plugin(self, server):
        return ZeroVectorOnServerError(base_url=server.url)
""",
        "-k",
        "service_fails",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*TestSwallows::test_embed_raises_when_its_service_fails FAILED*",
            "*embed_raises_when_its_service_fails: expected embed('The cat sat on the mat.') to "
            "raise when the embedding server fails (HTTP 500 to every request; asked once); "
            "got [0.0, 0.0, *",
        ]
    )
