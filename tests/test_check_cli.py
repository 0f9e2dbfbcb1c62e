"""`omi plugins check` end to end, on plugins installed as real distributions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import plugin_sources as src
import pytest
from conformance_plugins import BUILD_FAILURE_IDS, BUILD_FAILURES
from fake_servers import FakeNIM
from run_omi import CHECK_PROCESSES, OMI, TESTS, omi, omi_process

from omi.conformance import checks_for

#: How many checks each interface has: the expected counts follow the registry.
EMBEDDING, STORAGE, EVENT = (len(checks_for(kind)) for kind in ("embedding", "storage", "event"))


@pytest.fixture
def installed(make_dist):
    """Install conformance_plugins classes as entry points of a real distribution."""

    def install(group: str, **names: str) -> None:
        make_dist(
            f"omi-test-{'-'.join(sorted(names))}".lower()[:60],
            entry_points={group: {n: f"conformance_plugins:{c}" for n, c in names.items()}},
        )

    return install


def test_a_correct_plugin_passes_with_exit_0(installed):
    installed("omi.embedding_providers", hashy="HashEmbedder")
    result = omi("plugins", "check", "hashy")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("hashy (HashEmbedder) from omi-test-hashy 0.1.0 [embedding]")
    assert lines[1] == "  ✓ validate_plugin"
    assert any(line.startswith("  ✓ batch_matches_single (") for line in lines)
    assert any(line.startswith("  skipped similarity_tracks_meaning (") for line in lines)
    assert lines[-1] == f"{EMBEDDING - 2} passed, 0 failed, 2 skipped"  # no semantic, no service


def test_a_failing_check_exits_1_with_the_message_under_it(installed):
    installed("omi.embedding_providers", broken="BatchDisagrees")
    result = omi("plugins", "check", "broken")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("  ✗ batch_matches_single"))
    assert lines[index + 1].startswith("      expected embed_batch(texts)[0] == embed(texts[0])")
    assert lines[-1] == f"{EMBEDDING - 3} passed, 1 failed, 2 skipped"


def test_validation_failure_stops_with_exit_2(make_dist):
    make_dist(
        "omi-old",
        entry_points={"omi.embedding_providers": {"old": "old_mod:Old"}},
        files={"old_mod.py": src.embedder("Old", version="2.0")},
    )
    result = omi("plugins", "check", "old")
    assert result.returncode == 2
    assert "  ✗ validate_plugin" in result.stdout
    assert "incompatible interface_version '2.0'" in result.stdout
    assert "batch_matches_single" not in result.stdout


def test_an_unknown_plugin_is_exit_2_one_line(installed):
    result = omi("plugins", "check", "does-not-exist")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Plugin 'does-not-exist' not found" in result.stderr


def test_a_name_in_two_groups_needs_group(make_dist):
    make_dist(
        "omi-twice",
        entry_points={
            "omi.embedding_providers": {"twin": "conformance_plugins:HashEmbedder"},
            "omi.event_handlers": {"twin": "conformance_plugins:JSONLinesHandler"},
        },
    )
    result = omi("plugins", "check", "twin")
    assert result.returncode == 2
    assert "omi.embedding_providers:twin, omi.event_handlers:twin" in result.stderr
    assert omi("plugins", "check", "event:twin").returncode == 0
    assert omi("plugins", "check", "twin", "--group", "embedding").returncode == 0


def test_import_paths_can_be_checked_without_installing():
    result = omi("plugins", "check", "omi.builtin.sqlite:SQLiteBackend")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == f"{STORAGE - 1} passed, 0 failed, 1 skipped"


def test_json_and_junit_reports_and_atomic_output_file(installed, tmp_path):
    installed("omi.event_handlers", jsonl="JSONLinesHandler")
    document = json.loads(omi("plugins", "check", "jsonl", "--format", "json").stdout)
    assert document["schema"] == "omi.plugins.check/1"
    plugin = document["plugins"][0]
    assert plugin["interface"] == "event" and plugin["counts"]["passed"] == EVENT
    assert {r["name"] for r in plugin["results"]} >= {"handles_every_event_type"}
    reports = tmp_path / "reports"
    reports.mkdir()
    report = reports / "report.xml"
    result = omi("plugins", "check", "jsonl", "--format", "junit", "-o", str(report))
    assert result.returncode == 0
    assert result.stdout.strip() == f"{EVENT} passed, 0 failed, 0 skipped"
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite.get("tests") == str(EVENT + 1) and suite.get("failures") == "0"
    assert [p.name for p in reports.iterdir()] == ["report.xml"]  # no temporary left behind
    umask = os.umask(0)
    os.umask(umask)
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any file, not 0600


@pytest.mark.parametrize(
    "args, message",
    [
        (["--option", "no-equals"], "--option takes KEY=VALUE"),
        (["-k", "zzz_nothing"], "no event check matches -k 'zzz_nothing'"),
        (["-o", "/nonexistent-dir/report.txt"], "is not a writable directory"),
        (["--timeout", "0"], "Invalid value for '--timeout'"),
    ],
)
def test_bad_inputs_are_one_line_exit_2(installed, args, message):
    installed("omi.event_handlers", jsonl="JSONLinesHandler")
    result = omi("plugins", "check", "jsonl", *args)
    assert result.returncode == 2 and message in result.stderr


def test_an_invalid_check_process_kind_is_exit_2(installed):
    installed("omi.event_handlers", jsonl="JSONLinesHandler")
    result = omi("plugins", "check", "jsonl", OMI_CHECK_PROCESS="thread")
    assert result.returncode == 2
    assert result.stderr == "Error: OMI_CHECK_PROCESS must be fork or spawn, got 'thread'\n"
    spawned = omi("plugins", "check", "jsonl", OMI_CHECK_PROCESS="spawn")
    assert spawned.returncode == 0
    assert spawned.stdout.endswith(f"{EVENT} passed, 0 failed, 0 skipped\n")


def test_name_and_all_are_exclusive():
    result = omi("plugins", "check")
    assert result.returncode == 2 and "give a plugin NAME or --all" in result.stderr


def test_strict_fails_on_xpass_and_k_selects(installed):
    installed("omi.embedding_providers", lucky="WronglyKnownFailure")
    relaxed = omi("plugins", "check", "lucky", "-k", "batch_matches_single")
    assert relaxed.returncode == 0 and "xpass batch_matches_single" in relaxed.stdout
    assert relaxed.stdout.splitlines()[-1] == "0 passed, 0 failed, 0 skipped, 0 xfailed, 1 xpassed"
    assert (
        omi("plugins", "check", "lucky", "-k", "batch_matches_single", "--strict").returncode == 1
    )
    for strict, failures in ((False, "0"), (True, "1")):
        xml = omi(
            "plugins",
            "check",
            "lucky",
            "-k",
            "batch_matches_single",
            "--format",
            "junit",
            *(["--strict"] if strict else []),
        ).stdout
        suite = ElementTree.fromstring(xml).find("testsuite")
        assert suite.get("failures") == failures
        case = suite.find("testcase[@name='batch_matches_single']")
        assert (case.find("failure") is not None) is strict
    document = json.loads(
        omi(
            "plugins",
            "check",
            "lucky",
            "-k",
            "batch_matches_single",
            "--format",
            "json",
            "--strict",
        ).stdout
    )
    assert document["strict"] is True and document["plugins"][0]["exit_code"] == 1


def test_all_checks_every_installed_plugin(installed):
    installed("omi.event_handlers", jsonl="JSONLinesHandler", bad="ReturnsSomething")
    result = omi(
        "plugins", "check", "--all", "-k", "handle_returns_none", OMI_LOAD_PLUGINS="jsonl,bad"
    )
    assert "jsonl (JSONLinesHandler)" in result.stdout and "bad (ReturnsSomething)" in result.stdout
    assert result.returncode == 1


def test_an_advisory_is_shown_and_counted_and_fails_only_under_strict(installed):
    """MutatesEventData changes event_data, which the guide says a handler should not do."""
    installed("omi.event_handlers", advised="MutatesEventData")
    result = omi("plugins", "check", "advised", "-k", "event_data*")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[2].startswith("  advisory event_data_is_not_mutated (")
    assert "(a failure under --strict): expected the memory.stored payload unchanged" in lines[2]
    assert lines[-1] == "0 passed, 0 failed, 1 advisory, 0 skipped"
    strict = omi("plugins", "check", "advised", "-k", "event_data*", "--strict", "--format", "json")
    assert strict.returncode == 1
    plugin = json.loads(strict.stdout)["plugins"][0]
    assert plugin["results"][0]["status"] == "advisory" and plugin["counts"]["advisory"] == 1


def test_list_checks_prints_each_check_with_its_description():
    result = omi("plugins", "check", "--list-checks", "storage")
    assert result.returncode == 0
    assert any(
        line.startswith("storage   data_survives_reopen") and "[needs persistent]" in line
        for line in result.stdout.splitlines()
    )
    assert {line.split()[0] for line in result.stdout.splitlines()} == {"storage"}
    assert omi("plugins", "check", "--list-checks", "graph").returncode == 2


# NIM's suite runs in the inner loop in test_remote_embedders.py, Ollama's here
@pytest.mark.parametrize("name", [pytest.param("nim", marks=pytest.mark.slow), "ollama"])
def test_builtin_embedders_pass_against_loopback_servers(name):
    from fake_servers import FakeOllama

    server_class = FakeNIM if name == "nim" else FakeOllama
    with server_class() as server:
        options = ["--option", f"base_url={server.url}", "--option", "backoff=0"]
        if name == "nim":
            options += ["--option", "api_key=nim-test-key"]
        result = omi("plugins", "check", name, *options)
    assert result.returncode == 0, result.stdout
    # not declared deterministic or semantic: real servers promise neither
    assert result.stdout.splitlines()[-1] == f"{EMBEDDING - 2} passed, 0 failed, 2 skipped"


@pytest.mark.slow
def test_a_plugin_returning_a_zero_vector_when_its_server_fails_exits_1(installed):
    """The service check points a new instance at a failing server; the plugin's own server
    serves every other check."""
    from fake_servers import FakeOllama

    installed("omi.embedding_providers", zeros="ZeroVectorOnServerError", raises="ServiceEmbedder")
    with FakeOllama() as server:
        broken = omi("plugins", "check", "zeros", "--option", f"base_url={server.url}")
        correct = omi("plugins", "check", "raises", "--option", f"base_url={server.url}")
    assert broken.returncode == 1, broken.stdout
    lines = broken.stdout.splitlines()
    failed = [index for index, line in enumerate(lines) if line.startswith("  ✗ ")]
    assert [lines[index].split()[1] for index in failed] == ["embed_raises_when_its_service_fails"]
    assert lines[failed[0] + 1].startswith(
        "      expected embed('The cat sat on the mat.') to raise when the embedding server "
        "fails (HTTP 500 to every request; asked once); got [0.0, 0.0, "
    )
    assert lines[-1] == f"{EMBEDDING - 3} passed, 1 failed, 2 skipped"
    assert correct.returncode == 0, correct.stdout
    assert any(
        line.startswith("  ✓ embed_raises_when_its_service_fails (")
        for line in correct.stdout.splitlines()
    )


def test_seed_reaches_the_random_sequence(installed):
    installed("omi.storage_backends", lossy="DropsSomeMemories")
    first = omi("plugins", "check", "lossy", "-k", "random_operations*", "--seed", "7")
    again = omi("plugins", "check", "lossy", "-k", "random_operations*", "--seed", "7")
    assert first.returncode == again.returncode == 1
    assert "seed 7" in first.stdout
    message = [line for line in first.stdout.splitlines() if "expected" in line]
    assert message == [line for line in again.stdout.splitlines() if "expected" in line]


@pytest.mark.slow
def test_timeout_fails_a_hanging_check_and_the_run_goes_on(installed):
    installed("omi.event_handlers", stuck="Hangs")
    # handle_returns_promptly, which hangs, then handler_refuses_unknown_options, which does not
    selected = "handle[_r]*[ys]"
    # 2 s: under load, 1 s was sometimes over before the check reached the hang to report it
    result = omi("plugins", "check", "stuck", "--timeout", "2", "-k", selected)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    index = next(
        i for i, line in enumerate(lines) if line.startswith("  ✗ handle_returns_promptly")
    )
    assert lines[index + 1].startswith(
        "      did not finish within 2 s (the plugin hangs, or "
        "needs a larger --timeout); stuck at conformance_plugins"
        ".py:"
    )
    assert lines[index + 1].endswith(" in handle")  # the plugin's frame, not the check's
    assert lines[index + 2].startswith("  ✓ handler_refuses_unknown_options")
    assert lines[-1] == "1 passed, 1 failed, 0 skipped"


@pytest.mark.slow
@pytest.mark.parametrize("process", CHECK_PROCESSES)
def test_a_deadlock_fails_that_check_saying_where_and_the_run_goes_on(process):
    start = time.monotonic()
    result = omi_process(
        "plugins",
        "check",
        "conformance_plugins:DeadlocksInAddEdge",
        "-k",
        "add_edge_[br]*[ns]",
        "--timeout",
        "2",
        OMI_CHECK_PROCESS=process,
    )
    assert time.monotonic() - start < 30
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    index = lines.index(
        next(line for line in lines if line.startswith("  ✗ add_edge_between_stored_memories"))
    )
    assert lines[index + 1].startswith("      did not finish within 2 s")
    assert "stuck at conformance_plugins.py:" in lines[index + 1]
    assert lines[index + 1].endswith(" in add_edge")
    assert any(line.startswith("  ✓ add_edge_rejects_unknown_ids") for line in lines)
    assert lines[-1] == "1 passed, 1 failed, 0 skipped"


def test_omi_check_timeout_is_the_default_and_timeout_wins(installed):
    installed("omi.event_handlers", stuck="Hangs")
    by_environment = omi(
        "plugins", "check", "stuck", "-k", "handle_returns_promptly", OMI_CHECK_TIMEOUT="0.2"
    )
    assert "did not finish within 0.2 s" in by_environment.stdout
    explicit = omi(
        "plugins",
        "check",
        "stuck",
        "-k",
        "handle_returns_promptly",
        "--timeout",
        "0.4",
        OMI_CHECK_TIMEOUT="0.2",
    )
    assert "did not finish within 0.4 s" in explicit.stdout


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "inf", "1e9"])
def test_a_bad_omi_check_timeout_is_one_line_exit_2(installed, value):
    installed("omi.event_handlers", jsonl="JSONLinesHandler")
    result = omi("plugins", "check", "jsonl", OMI_CHECK_TIMEOUT=value)
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: OMI_CHECK_TIMEOUT must be a number of seconds above 0 "
        f"and at most 86400, e.g. 120; got {value!r}\n"
    )
    assert (
        omi("plugins", "check", "jsonl", "--timeout", "5", OMI_CHECK_TIMEOUT=value).returncode == 0
    )  # not read when --timeout is given


PLUGIN_THAT_TAMPERS = """
import os
import sys

with open(os.environ["OMI_TEST_MARKER"], "a") as marker:
    marker.write(f"{os.getpid()}\\n")
print("noise on stdout at import")
import omi.conformance.suite
omi.conformance.suite.Report.exit_code = lambda self, strict=False: 0  # would fake a pass
from conformance_plugins import BatchDisagrees as Tampers
"""


@pytest.mark.parametrize("process", CHECK_PROCESSES)
def test_the_process_writing_the_report_never_imports_the_plugin(make_dist, tmp_path, process):
    """A plugin that, on import, patches the verdict and prints cannot change the report:
    only check processes import it."""
    make_dist(
        "omi-tampers",
        entry_points={"omi.embedding_providers": {"tampers": "tamper_mod:Tampers"}},
        files={"tamper_mod.py": PLUGIN_THAT_TAMPERS},
    )
    marker = tmp_path / "pids"
    path = os.pathsep.join([os.environ.get("PYTHONPATH", ""), str(TESTS)])
    command = subprocess.Popen(
        [OMI, "plugins", "check", "tampers", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": path,
            "OMI_CHECK_PROCESS": process,
            "OMI_TEST_MARKER": str(marker),
        },
    )
    stdout, stderr = command.communicate(timeout=120)
    assert command.returncode == 1, stdout + stderr
    assert json.loads(stdout)["plugins"][0]["counts"]["failed"] == 1
    importers = {int(pid) for pid in marker.read_text().split()}
    assert importers and command.pid not in importers


@pytest.mark.parametrize("name, options, got, fix", BUILD_FAILURES, ids=BUILD_FAILURE_IDS)
def test_a_plugin_that_cannot_be_built_gets_the_fix_that_applies(
    installed, name, options, got, fix
):
    installed("omi.embedding_providers", unbuilt=name)
    given = [
        f"--option={key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in options.items()
    ]
    result = omi("plugins", "check", "unbuilt", "-k", "model_name*", *given)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[2].startswith("  ✗ model_name_is_a_non_empty_string (")
    assert lines[3] == f"      expected a test instance of the plugin; got {got}; fix: {fix}"
    assert "s3cret" not in result.stdout + result.stderr


def test_option_builds_a_plugin_whose_constructor_needs_it(installed):
    installed("omi.embedding_providers", keyed="NeedsApiKey")
    assert omi("plugins", "check", "keyed", "--option", "api_key=k").returncode == 0


def test_known_failures_are_listed_as_xfail_with_the_reason(installed):
    installed("omi.embedding_providers", known="KnownBatchFailure")
    result = omi("plugins", "check", "known", "--strict")
    assert result.returncode == 0
    assert any(
        line.startswith("  xfail batch_matches_single (")
        and "the remote API reorders batches" in line
        for line in result.stdout.splitlines()
    )
    assert result.stdout.splitlines()[-1] == (
        f"{EMBEDDING - 3} passed, 0 failed, 2 skipped, 1 xfailed, 0 xpassed"
    )


def test_malformed_declarations_stop_at_phase_1(make_dist):
    make_dist(
        "omi-typo",
        entry_points={"omi.embedding_providers": {"typo": "typo_mod:Typo"}},
        files={
            "typo_mod.py": "from conformance_plugins import HashEmbedder\n"
            "class Typo(HashEmbedder):\n"
            "    conformance_capabilities = {'determinstic'}\n"
        },
    )
    result = omi("plugins", "check", "typo")
    assert result.returncode == 2
    assert "  ✗ validate_plugin" in result.stdout
    assert "Typo.conformance_capabilities has unknown 'determinstic'" in result.stdout


def test_an_unknown_group_lists_the_three():
    result = omi("plugins", "check", "nim", "--group", "embeddings")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: Unknown plugin group 'embeddings'; choose one of: "
        "omi.embedding_providers, omi.storage_backends, "
        "omi.event_handlers"
    )


def test_list_checks_without_a_type_lists_all_three():
    result = omi("plugins", "check", "--list-checks")
    kinds = {line.split()[0] for line in result.stdout.splitlines()}
    assert result.returncode == 0 and kinds == {"embedding", "storage", "event"}


def test_all_reports_a_plugin_that_fails_to_import_and_checks_the_rest(make_dist):
    make_dist(
        "omi-mixed",
        entry_points={
            "omi.event_handlers": {
                "good": "conformance_plugins:JSONLinesHandler",
                "gone": "no_such_module_xyz:Handler",
            }
        },
    )
    result = omi(
        "plugins", "check", "--all", "-k", "handle_returns_none", OMI_LOAD_PLUGINS="good,gone"
    )
    assert result.returncode == 2  # the import failure is a phase-1 failure
    lines = result.stdout.splitlines()
    gone = lines.index("omi.event_handlers:gone [event]")
    assert lines[gone + 1] == "  ✗ validate_plugin"
    assert "No module named 'no_such_module_xyz'" in lines[gone + 2]
    assert "  ✓ handle_returns_none" in "\n".join(lines)
    assert lines[-1] == "1 passed, 1 failed, 0 skipped"


def test_a_plugin_that_prints_cannot_break_the_json_report(make_dist):
    make_dist(
        "omi-chatty",
        entry_points={"omi.event_handlers": {"chatty": "chatty_mod:Chatty"}},
        files={"chatty_mod.py": "print('hello on import')\n" + src.handler("Chatty")},
    )
    result = omi_process("plugins", "check", "chatty", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["plugins"][0]["counts"]["passed"] == EVENT
    assert "hello on import" in result.stderr


def test_all_reports_a_name_two_distributions_register_once(make_dist):
    for dist in ("omi-twin-a", "omi-twin-b"):
        make_dist(
            dist,
            entry_points={"omi.event_handlers": {"twin": "conformance_plugins:JSONLinesHandler"}},
        )
    result = omi("plugins", "check", "--all", "-k", "handle_returns_none", OMI_LOAD_PLUGINS="twin")
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert lines.count("omi.event_handlers:twin [event]") == 1
    twin = lines.index("omi.event_handlers:twin [event]")
    assert "registered by 2 distributions" in lines[twin + 2]
    assert lines[-1] == "0 passed, 1 failed, 0 skipped"


GOOD = {"omi.event_handlers": {"good": "conformance_plugins:JSONLinesHandler"}}


def _lost(make_dist) -> str:
    """Install a handler under a near miss of its group; what plugins list says of it."""
    make_dist(
        "omi-lost",
        entry_points={"omi.event_handler": {"lost": "conformance_plugins:JSONLinesHandler"}},
    )
    listed = omi("plugins", "list", OMI_LOAD_PLUGINS="good,lost").stdout.splitlines()
    line = listed[listed.index("Not loaded:") + 1]
    assert line.startswith(
        "  lost (JSONLinesHandler) - v0.1.0 ✗ registered in group "
        "'omi.event_handler', which OMI does not read (did you mean "
        "'omi.event_handlers'?); fix the group in pyproject.toml"
    )
    return line.split(" ✗ ", 1)[1]


LOST = "omi.event_handler:lost (JSONLinesHandler) from omi-lost 0.1.0"


def test_all_fails_on_a_plugin_registered_under_a_near_miss_group_in_every_format(make_dist):
    """Else a plugin's CI passes `--all` while OMI cannot see the plugin at all."""
    make_dist("omi-good", entry_points=GOOD)
    alone = omi(
        "plugins", "check", "--all", "-k", "handle_returns_none", OMI_LOAD_PLUGINS="good,lost"
    )
    assert alone.returncode == 0 and alone.stdout.endswith("1 passed, 0 failed, 0 skipped\n")
    reason = _lost(make_dist)
    run = ["plugins", "check", "--all", "-k", "handle_returns_none"]
    text = omi(*run, OMI_LOAD_PLUGINS="good,lost")
    assert text.returncode == 2, text.stdout + text.stderr
    lines = text.stdout.splitlines()
    assert "  ✓ handle_returns_none" in "\n".join(lines)  # the rest is still checked
    assert lines[lines.index(f"{LOST} [event]") :] == [
        f"{LOST} [event]",
        "  ✗ validate_plugin",
        f"      {reason}",
        "1 passed, 1 failed, 0 skipped",
    ]
    document = json.loads(omi(*run, "--format", "json", OMI_LOAD_PLUGINS="good,lost").stdout)
    lost = document["plugins"][-1]
    assert (lost["plugin"], lost["validation_error"], lost["exit_code"]) == (LOST, reason, 2)
    junit = omi(*run, "--format", "junit", OMI_LOAD_PLUGINS="good,lost")
    assert junit.returncode == 2
    suite = ElementTree.fromstring(junit.stdout).find(f"testsuite[@name='{LOST}']")
    assert suite.get("failures") == "1"
    assert suite.find("testcase[@name='validate_plugin']/failure").get("message") == reason


def test_all_with_group_and_k_and_a_plugin_under_a_near_miss_group(make_dist):
    """--group keeps the plugins meant for that group, the misplaced one too; -k selects
    checks, so it never hides a plugin that no check can reach; OMI_LOAD_PLUGINS can."""
    make_dist("omi-good", entry_points=GOOD)
    reason = _lost(make_dist)
    make_dist(
        "omi-store",
        entry_points={"omi.storage_backends": {"store": "conformance_plugins:DocumentStore"}},
    )
    loads = {"OMI_LOAD_PLUGINS": "good,lost,store"}
    events = omi(
        "plugins", "check", "--all", "--group", "event", "-k", "handle_returns_none", **loads
    )
    assert events.returncode == 2 and reason in events.stdout
    assert "good (JSONLinesHandler)" in events.stdout and "store" not in events.stdout
    storage = omi(
        "plugins", "check", "--all", "--group", "storage", "-k", "recall_honours_limit", **loads
    )
    assert storage.returncode == 0, storage.stdout + storage.stderr
    assert "lost" not in storage.stdout and storage.stdout.endswith(
        "1 passed, 0 failed, 0 skipped\n"
    )
    every = omi("plugins", "check", "--all", "-k", "recall_honours_limit", **loads)
    assert every.returncode == 2 and f"{LOST} [event]" in every.stdout
    assert "good (JSONLinesHandler)" not in every.stdout  # no check of it matches
    kept_out = omi(
        "plugins", "check", "--all", "-k", "recall_honours_limit", OMI_LOAD_PLUGINS="good,store"
    )
    assert kept_out.returncode == 0 and "lost" not in kept_out.stdout


@pytest.mark.parametrize(
    "group, message",
    [
        (
            "storage",
            "Error: nothing to check: no plugin in group omi.storage_backends is installed "
            "and allowed to load; see omi plugins list\n",
        ),
        (
            "graph",
            "Error: Unknown plugin group 'graph'; choose one of: omi.embedding_providers, "
            "omi.storage_backends, omi.event_handlers\n",
        ),
    ],
)
def test_all_with_a_group_that_has_nothing_or_does_not_exist_is_exit_2(group, message):
    result = omi("plugins", "check", "--all", "--group", group)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)


@pytest.mark.parametrize(
    "body, error",
    [
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        ("raise ValueError('no config at import time')\n", "ValueError: no config at import time"),
    ],
)
def test_an_import_path_whose_module_fails_is_one_line_exit_2(plugin_site, body, error):
    (plugin_site / "fails_on_import.py").write_text(body)
    result = omi("plugins", "check", "fails_on_import:Plugin")
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: Cannot import fails_on_import:Plugin: {error}; give an "
        f"installed plugin name or an importable module:Class\n"
    )


def test_an_option_the_constructor_does_not_take_is_one_line_exit_2(installed):
    installed("omi.embedding_providers", keyed="NeedsApiKey")
    result = omi("plugins", "check", "keyed", "--option", "api_kye=k")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "Error: --option: NeedsApiKey does not accept option api_kye (did "
        "you mean 'api_key'?); it accepts: api_key\n"
    )


@pytest.mark.parametrize("process", CHECK_PROCESSES)
def test_a_plugin_that_allocates_without_bound_fails_fast_under_the_memory_limit(
    installed, process
):
    installed("omi.embedding_providers", hog="AllocatesWithoutBound")
    start = time.perf_counter()
    result = omi_process(
        "plugins",
        "check",
        "hog",
        "-k",
        "batch*",
        "--memory-limit",
        "256M",
        OMI_CHECK_PROCESS=process,
    )
    took = time.perf_counter() - start
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in ("batch_matches_single", "batch_size_is_honoured"):
        index = next(i for i, line in enumerate(lines) if line.startswith(f"  ✗ {name} ("))
        assert lines[index + 1] == (
            "      the plugin exceeded the memory limit of 256 MiB (--memory-limit)"
        )
    assert any(line.startswith("  ✓ batch_of_nothing_is_empty") for line in lines)  # goes on
    assert took < 30  # a fraction of that alone; the margin is for a loaded machine


@pytest.mark.parametrize(
    "value, message",
    [
        (
            "banana",
            "--memory-limit takes a size such as 2G, 512M or 1073741824 (bytes), or none "
            "(or 0) for no limit; got 'banana'",
        ),
        ("-1G", "got '-1G'"),
        (
            "512",
            "--memory-limit 512 is less than a check process needs to start (32 MiB); give a "
            "size with its unit, e.g. 512M or 2G",
        ),
    ],
)
def test_a_bad_memory_limit_is_one_line_exit_2(installed, value, message):
    installed("omi.event_handlers", jsonl="JSONLinesHandler")
    result = omi("plugins", "check", "jsonl", "--memory-limit", value)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


@pytest.mark.parametrize("value", ["none", "0", "1.5G", "4294967296"])
def test_memory_limits_in_every_accepted_form_run_the_checks(installed, value):
    installed("omi.event_handlers", jsonl="JSONLinesHandler")
    result = omi("plugins", "check", "jsonl", "-k", "handle_returns_none", "--memory-limit", value)
    assert result.returncode == 0, result.stdout + result.stderr


def running(pid: int) -> bool:
    """Whether `pid` is a live process (an exited one waiting to be reaped is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def group_members(pgid: int) -> list[int]:
    """The live processes in process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):  # it exited meanwhile
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("process", CHECK_PROCESSES)
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_kills_the_check_processes_and_removes_their_files(
    installed, tmp_path, process, signum, code
):
    installed("omi.event_handlers", stuck="HangsWithAHelper")
    scratch, pids = tmp_path / "tmp", tmp_path / "pids"
    scratch.mkdir()
    path = os.pathsep.join([os.environ.get("PYTHONPATH", ""), str(TESTS)])
    # Its own session, so that the signal can go to its whole process group, as Ctrl-C in a
    # terminal or a CI runner's SIGTERM does.
    command = subprocess.Popen(
        [OMI, "plugins", "check", "stuck", "-k", "handle_returns_promptly"],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={
            **os.environ,
            "PYTHONPATH": path,
            "TMPDIR": str(scratch),
            "OMI_TEST_PIDS": str(pids),
            "OMI_CHECK_PROCESS": process,
        },
    )
    try:
        deadline = time.monotonic() + 60
        while not pids.exists():
            assert command.poll() is None and time.monotonic() < deadline, command.stderr.read()
            time.sleep(0.01)
        child, helper = map(int, pids.read_text().split())
        assert running(child) and running(helper) and list(scratch.iterdir())
        start = time.perf_counter()
        os.killpg(command.pid, signum)
        stdout, stderr = command.communicate(timeout=30)
        took = time.perf_counter() - start
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == code
    assert stdout == ""
    assert stderr == (
        f"Error: interrupted by {signal.Signals(signum).name}: the check processes "
        f"were killed and their scratch files removed\n"
    )
    assert not running(child) and not running(helper) and not group_members(child)
    assert list(scratch.iterdir()) == []
    assert took < 10


# A plugin's message spells these characters with these escapes in its source, and the reports
# must show them the same way (\x1c-\x1f are not among them: messages collapse them as spaces).
ESCAPES = "nul\\x00 esc\\x1b[31m bel\\x07 del\\x7f csi\\x9b half\\ud800 end"


def test_control_characters_and_lone_surrogates_are_escaped_in_every_report(make_dist, tmp_path):
    make_dist(
        "omi-hostile",
        entry_points={"omi.embedding_providers": {"hostile": "hostile:H"}},
        files={
            "hostile.py": "from conformance_plugins import HashEmbedder\n"
            "class H(HashEmbedder):\n"
            "    def embed_batch(self, texts, batch_size=8):\n"
            f"        raise ValueError('{ESCAPES}')\n"
        },
    )
    check = ("plugins", "check", "hostile", "-k", "batch_matches_single")
    report = tmp_path / "report.xml"
    assert omi(*check, "--format", "junit", "-o", str(report)).returncode == 1
    from_stdout = omi(*check, "--format", "junit")
    for root in (ElementTree.parse(report).getroot(), ElementTree.fromstring(from_stdout.stdout)):
        message = root.find("testsuite/testcase[@name='batch_matches_single']/failure").get(
            "message"
        )
        assert f"ValueError: {ESCAPES} (raised at hostile.py:4 in embed_batch)" in message
    document = json.loads(omi(*check, "--format", "json").stdout)
    assert ESCAPES in document["plugins"][0]["results"][0]["message"]
    text = omi(*check).stdout
    assert ESCAPES in text and not {"\x00", "\x1b", "\x07", "\x9b"} & set(text)


@pytest.mark.parametrize("process", CHECK_PROCESSES)
def test_a_plugin_writing_to_file_descriptor_1_cannot_break_the_json_report(make_dist, process):
    make_dist(
        "omi-noisy",
        entry_points={"omi.event_handlers": {"noisy": "noisy_mod:Noisy"}},
        files={
            "noisy_mod.py": "import os\n"
            "os.write(1, b'garbage at import\\n')\n"
            "from conformance_plugins import JSONLinesHandler\n"
            "class Noisy(JSONLinesHandler):\n"
            "    def handle(self, event_type, event_data):\n"
            "        os.write(1, b'garbage from a check\\n')\n"
            "        super().handle(event_type, event_data)\n"
        },
    )
    result = omi_process("plugins", "check", "noisy", "--format", "json", OMI_CHECK_PROCESS=process)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["plugins"][0]["counts"]["passed"] == EVENT
    assert "garbage at import" in result.stderr  # the command's own import: shown, on stderr


def test_deterministic_is_checked_in_a_fresh_interpreter(installed):
    """Vectors from Python's salted hash() agree within a process and differ across them."""
    installed("omi.embedding_providers", salty="SaltedHash", stable="HashEmbedder")
    result = omi("plugins", "check", "salty", "-k", "embed_is_deterministic")
    assert result.returncode == 1
    message = result.stdout.splitlines()[3]
    assert message.startswith(
        "      expected embed('Quarterly revenue grew by 12 p') in a fresh "
        "interpreter (PYTHONHASHSEED="
    )
    assert "fix: derive vectors from the text alone" in message
    assert omi("plugins", "check", "stable", "-k", "embed_is_deterministic").returncode == 0


def test_an_option_a_conformance_factory_does_not_take_says_to_accept_options(installed):
    """Before, every check failed with 'unexpected keyword argument' and the fix said to
    define the conformance_factory the plugin already had."""
    installed("omi.event_handlers", jsonl="JSONLinesHandler")
    result = omi("plugins", "check", "jsonl", "--option", "path={workdir}/x.jsonl")
    assert result.returncode == 2 and result.stdout == "", result.stdout + result.stderr
    assert result.stderr == (
        "Error: --option: JSONLinesHandler.conformance_factory() does not accept option path; "
        "let it take the options and pass them on: def conformance_factory(cls, directory, "
        "**options), calling JSONLinesHandler(..., **options)\n"
    )


# --- did you mean, --explain (issue 14) ------------------------------------------------------


def test_a_typo_in_known_failures_is_exit_2_with_the_check_meant(make_dist):
    make_dist(
        "omi-known-typo",
        entry_points={"omi.storage_backends": {"typo": "typo_mod:Typo"}},
        files={
            "typo_mod.py": "from conformance_plugins import SQLiteBackend\n"
            "class Typo(SQLiteBackend):\n"
            "    conformance_known_failures = "
            "{'recall_honors_limit': 'too many results'}\n"
        },
    )
    result = omi("plugins", "check", "typo")
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "Typo.conformance_known_failures names 'recall_honors_limit', which is not a "
        "storage check (did you mean 'recall_honours_limit'?); see omi plugins check "
        "--list-checks storage"
    ) in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["jsonl", "-k", "handle_returns_nune"],
            "Error: no event check matches -k 'handle_returns_nune' (did you mean "
            "'handle_returns_none'?); see omi plugins check --list-checks event\n",
        ),
        (
            ["--list-checks", "storge"],
            "Error: --list-checks takes embedding, storage or event, not 'storge' (did you mean "
            "'storage'?)\n",
        ),
        (
            ["--explain", "recall_honors_limit"],
            "Error: --explain names 'recall_honors_limit', which is not a check (did you mean "
            "'recall_honours_limit'?); see omi plugins check --list-checks\n",
        ),
        (
            ["--explain", "zzz"],
            "Error: --explain names 'zzz', which is not a check; see omi plugins check --list-checks\n",
        ),
        (
            ["jsonl", "--explain", "handle_returns_none"],
            "Error: --explain CHECK goes alone; drop the plugin NAME, --all and --list-checks\n",
        ),
    ],
)
def test_a_mistyped_name_is_one_line_exit_2_saying_the_name_meant(installed, args, message):
    installed("omi.event_handlers", jsonl="JSONLinesHandler")
    result = omi("plugins", "check", *args)
    assert result.returncode == 2 and result.stderr == message and not result.stdout


def test_explain_prints_what_each_check_does_why_and_the_usual_fix():
    from click.testing import CliRunner

    from omi.cli import cli
    from omi.conformance import all_checks

    for item in all_checks():
        result = CliRunner().invoke(cli, ["plugins", "check", "--explain", item.name])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[:4] == [
            f"{item.name} ({item.interface} check, since omi-openclaw {item.since})",
            f"  What it proves: {item.description}",
            f"  Why: {item.why}",
            f"  Usual fix: {item.fix}",
        ]
    result = omi("plugins", "check", "--explain", "data_survives_reopen")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "  Runs only when the plugin declares: persistent"


# --- bounds (issue 23) ------------------------------------------------------------------------

LOUD = """\
import os
from conformance_plugins import JSONLinesHandler

def shout(megabytes):
    chunk = b"x" * (1 << 20)  # one line of them all: no newline
    for _ in range(megabytes):
        os.write(1, chunk)

if os.environ.get("LOUD_ON_IMPORT"):
    shout(100)

class Loud(JSONLinesHandler):
    def handle(self, event_type, event_data):
        shout(100)
        os._exit(1)
"""


def run_measured(*args: str, **env: str) -> tuple[subprocess.CompletedProcess, int]:
    """`omi ARGS` and the largest resident size, in MiB, of it and the processes it ran."""
    measure = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(done.stdout)\nsys.stderr.write(done.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
        "sys.exit(done.returncode)\n"
    )
    path = os.pathsep.join([os.environ.get("PYTHONPATH", ""), str(TESTS)])
    result = subprocess.run(
        [sys.executable, "-c", measure, OMI, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, **env},
        timeout=120,
    )
    *output, peak = result.stdout.splitlines()
    result.stdout = "\n".join(output)
    return result, int(peak)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB")
@pytest.mark.parametrize("process", CHECK_PROCESSES)
def test_a_plugin_printing_100_mb_gets_a_short_report_and_no_memory_peak(make_dist, process):
    make_dist(
        "omi-loud",
        entry_points={"omi.event_handlers": {"loud": "loud_mod:Loud"}},
        files={"loud_mod.py": LOUD},
    )
    result, peak = run_measured(
        "plugins", "check", "loud", "-k", "handle_returns_none", OMI_CHECK_PROCESS=process
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "the interpreter died (exit code 1) during this check: xxx" in result.stdout
    assert "... (line cut)" in result.stdout
    assert len(result.stdout) < 3000 and len(result.stderr) < 3000
    assert peak < 150, f"{peak} MiB"  # reading it all took more than 300 MiB


def test_a_plugin_printing_100_mb_on_import_shows_only_the_end(make_dist):
    make_dist(
        "omi-loud",
        entry_points={"omi.event_handlers": {"loud": "loud_mod:Loud"}},
        files={"loud_mod.py": LOUD},
    )
    result, peak = run_measured(
        "plugins", "check", "loud", "-k", "unknown_event_types", LOUD_ON_IMPORT="1"
    )
    assert result.stderr.startswith(
        "[the first 104,792,064 bytes the plugin printed on import are not shown]\nxxx"
    )
    assert len(result.stderr) < 100_000
    assert peak < 150, f"{peak} MiB"


ESCAPING = """\
import os, subprocess, sys, threading
from conformance_plugins import JSONLinesHandler

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]
# Starts SLEEP in a session of its own, notes its pid and exits at once: SLEEP is an orphan.
DAEMON = [sys.executable, "-c", "import os, subprocess as s, sys; pid = s.Popen(sys.argv[1:], "
          "start_new_session=True, stdout=s.DEVNULL, stderr=s.DEVNULL).pid; "
          "open(os.environ['OMI_TEST_PIDS'], 'a').write(f'{pid} ')", *SLEEP]

class Escapes(JSONLinesHandler):
    def handle(self, event_type, event_data):
        helper = subprocess.Popen(SLEEP, start_new_session=True)
        subprocess.run(DAEMON, check=True)
        with open(os.environ["OMI_TEST_PIDS"], "a") as pids:
            pids.write(f"{helper.pid}\\n")
        if os.environ.get("ESCAPE_AND_HANG"):
            threading.Event().wait()
        super().handle(event_type, event_data)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a subreaper is Linux's")
@pytest.mark.parametrize("process", CHECK_PROCESSES)
@pytest.mark.parametrize(
    "hang",
    [False, pytest.param(True, marks=pytest.mark.slow)],  # waits out its 2 s timeout
    ids=["returns", "hangs"],
)
def test_processes_a_plugin_starts_in_new_sessions_do_not_survive_the_check(
    make_dist, tmp_path, process, hang
):
    make_dist(
        "omi-escapes",
        entry_points={"omi.event_handlers": {"escapes": "esc_mod:Escapes"}},
        files={"esc_mod.py": ESCAPING},
    )
    pids = tmp_path / "pids"
    env = {"OMI_TEST_PIDS": str(pids), "OMI_CHECK_PROCESS": process}
    if hang:
        env["ESCAPE_AND_HANG"] = "1"
    result = omi_process(
        "plugins",
        "check",
        "escapes",
        "-k",
        "handle_returns_none",
        *(["--timeout", "2"] if hang else []),
        **env,
    )
    assert pids.exists(), result.stdout + result.stderr
    started = [int(pid) for pid in pids.read_text().split()]
    try:
        assert result.returncode == (1 if hang else 0), result.stdout + result.stderr
        assert len(started) >= 2  # a helper and an orphan for each call
        deadline = time.monotonic() + 2
        while any(map(running, started)) and time.monotonic() < deadline:
            time.sleep(0.02)  # killed: init reaps them
        assert not any(map(running, started))
    finally:
        for pid in started:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
