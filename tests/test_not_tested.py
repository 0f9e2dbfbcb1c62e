"""A plugin whose service cannot be reached is not tested, which is not failed: `omi plugins
check` probes the service once, says so in one line, and keeps its exit codes apart."""

from __future__ import annotations

import json
import socket
import time
from xml.etree import ElementTree

import pytest
from fake_servers import FakeNIM, closed_port_url
from run_omi import omi

from omi.conformance import checks_for
from omi.conformance.reachability import (
    Service,
    declared_service,
    endpoint,
    probe,
    unusable_service,
)

#: The checks of a remote embedder whose service cannot be reached: all the embedding checks but
#: the two it skips anyway (the counts follow the registry).
NOT_TESTED = len(checks_for("embedding")) - 2
#: The storage checks `-k "recall*"` selects.
RECALL = sum(check.name.startswith("recall") for check in checks_for("storage"))


#: An embedder built on omi.builtin.http that declares nothing: the first check that meets
#: the unreachable server says it.
PLAIN_REMOTE = """
import os
from omi.builtin.http import JSONClient
from omi.embeddings import EmbeddingProvider, cosine_similarity


class AcmeEmbedder(EmbeddingProvider):
    interface_version = "1.0"

    def __init__(self, base_url=None):
        self.client = JSONClient(base_url or os.environ["ACME_URL"], "Acme", max_retries=1,
                                 backoff=0)

    def embed(self, text):
        return self.embed_batch([text])[0]

    def embed_batch(self, texts, batch_size=None):
        return self.client.post("/embed", {"input": list(texts)})["vectors"]

    def similarity(self, a, b):
        return cosine_similarity(a, b)

    def get_dimension(self):
        return 4

    def get_model_name(self):
        return "acme"
"""

#: A storage plugin (SQLite underneath) that declares a server: the probe decides.
DECLARED_SERVICE = """
import os
from omi.builtin.sqlite import SQLiteBackend


class AcmeStore(SQLiteBackend):
    def conformance_service(self):
        return {"name": "Acme DB", "url": os.environ["ACMEDB_URL"], "env": "ACMEDB_URL"}
"""


def offline() -> dict:
    """The built-in embedders' servers, pointed at loopback ports where nothing listens: what
    an offline machine is to them, without asking the internet."""
    return {"NIM_BASE_URL": closed_port_url(), "OLLAMA_HOST": closed_port_url()}


@pytest.fixture
def listening():
    """A loopback TCP port that accepts connections (and answers nothing)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_an_unreachable_builtin_is_one_not_tested_line_exit_3_in_a_second():
    url = closed_port_url()
    started = time.monotonic()
    result = omi("plugins", "check", "nim", NIM_BASE_URL=url)
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "  ✓ validate_plugin"
    assert [line for line in lines if not line.startswith("  skipped ")][2:-1] == [
        f"  not tested ({NOT_TESTED} checks): NVIDIA NIM at {url} could not be reached (connection "
        f"refused); point the plugin at a running one with --option base_url=URL or the "
        f"NIM_BASE_URL environment variable"
    ]
    assert lines[-1] == (
        f"0 passed, 0 failed, 2 skipped, {NOT_TESTED} not tested (1 plugin whose "
        "service could not be reached)"
    )
    assert elapsed < 10  # one probe, not a retried request per check (73 s before)


def test_the_url_in_the_line_is_masked():
    url = closed_port_url().replace("http://", "http://user:hunter22@")
    result = omi("plugins", "check", "ollama", "--option", f"base_url={url}")
    assert result.returncode == 3
    assert (
        "hunter22" not in result.stdout and "Ollama at http://user:****@127.0.0.1:" in result.stdout
    )
    assert "--option base_url=URL or the OLLAMA_HOST environment variable" in result.stdout


def test_not_tested_in_json_and_junit():
    document = json.loads(omi("plugins", "check", "nim", "--format", "json", **offline()).stdout)
    plugin = document["plugins"][0]
    assert {result["status"] for result in plugin["results"]} == {"not-tested", "skipped"}
    assert plugin["counts"]["not-tested"] == NOT_TESTED and plugin["exit_code"] == 3
    assert document["exit_code"] == 3
    xml = omi("plugins", "check", "nim", "--format", "junit", **offline()).stdout
    suite = ElementTree.fromstring(xml).find("testsuite")
    assert suite.get("failures") == "0" and suite.get("skipped") == str(NOT_TESTED + 2)
    case = suite.find("testcase[@name='batch_matches_single']")
    assert case.find("skipped").get("message").startswith("not-tested: NVIDIA NIM at ")


@pytest.mark.slow
def test_all_passes_offline_for_a_healthy_plugin(make_dist):
    make_dist(
        "omi-embedding-hashy",
        entry_points={"omi.embedding_providers": {"hashy": "conformance_plugins:HashEmbedder"}},
    )
    result = omi("plugins", "check", "--all", **offline())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hashy (HashEmbedder)" in result.stdout
    assert result.stdout.count(f"  not tested ({NOT_TESTED} checks): ") == 2  # nim and ollama
    assert "✗" not in result.stdout and "conformance_known_failures" not in result.stdout
    alone = omi("plugins", "check", "--all", "--no-builtins", **offline())
    assert alone.returncode == 0 and "nim" not in alone.stdout and "hashy" in alone.stdout
    assert alone.stdout.splitlines()[-1] == (
        f"{len(checks_for('embedding')) - 2} passed, 0 failed, 2 skipped"
    )


@pytest.mark.slow
def test_all_with_nothing_tested_is_exit_3_and_a_failure_still_wins(make_dist):
    assert omi("plugins", "check", "--all", **offline()).returncode == 3
    make_dist(
        "omi-embedding-broken",
        entry_points={"omi.embedding_providers": {"broken": "conformance_plugins:BatchDisagrees"}},
    )
    assert omi("plugins", "check", "--all", **offline()).returncode == 1


def test_no_builtins_goes_with_all():
    result = omi("plugins", "check", "nim", "--no-builtins")
    assert result.returncode == 2 and "--no-builtins goes with --all" in result.stderr


def test_a_plugin_that_declares_nothing_is_not_tested_from_the_first_unreachable_call(make_dist):
    make_dist(
        "omi-embedding-acme",
        files={"acme_plain.py": PLAIN_REMOTE},
        entry_points={"omi.embedding_providers": {"acme": "acme_plain:AcmeEmbedder"}},
    )
    url = closed_port_url()
    result = omi("plugins", "check", "acme", ACME_URL=url)
    assert result.returncode == 3, result.stdout
    line = next(line for line in result.stdout.splitlines() if "not tested (" in line)
    assert f"a service could not be reached: Cannot reach Acme at {url}/embed" in line
    assert "✗" not in result.stdout


def test_a_declared_service_is_probed_both_ways(make_dist, listening):
    make_dist(
        "omi-storage-acme",
        files={"acme_store.py": DECLARED_SERVICE},
        entry_points={"omi.storage_backends": {"acme": "acme_store:AcmeStore"}},
    )
    down = omi("plugins", "check", "acme", "-k", "recall*", ACMEDB_URL=closed_port_url())
    assert down.returncode == 3 and "Acme DB at http://127.0.0.1:" in down.stdout
    assert (
        "point the plugin at a running one with the ACMEDB_URL environment variable" in down.stdout
    )
    up = omi("plugins", "check", "acme", "-k", "recall*", ACMEDB_URL=listening)
    assert up.returncode == 0, up.stdout
    assert "not tested" not in up.stdout


def test_a_builtin_failing_gets_no_known_failures_fix():
    with FakeNIM() as server:
        result = omi(
            "plugins",
            "check",
            "nim",
            "-k",
            "batch_matches_single",
            "--option",
            f"base_url={server.url}",
            "--option",
            "api_key=nim-test-key",
            "--option",
            "model=no/such-model",
            "--option",
            "backoff=0",
        )
    assert result.returncode == 1, result.stdout
    assert "conformance_known_failures" not in result.stdout
    assert "this plugin ships with omi-openclaw, it is not yours to change" in result.stdout


def test_the_probe_answers_within_its_bound_and_names_why(listening):
    assert probe(Service("X", listening)) is None
    assert probe(Service("X", closed_port_url())) == "connection refused"
    assert probe(Service("X", "http://")) == "its URL names no host"
    assert probe(Service("X", "http://127.0.0.1:notaport")).startswith("its URL is not one")


def test_the_probe_goes_where_urllib_would(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    assert endpoint("https://api.example/v1") == ("proxy.example", 3128)
    assert endpoint("http://localhost:11434") == ("localhost", 11434)
    assert endpoint("127.0.0.1:8080") == ("127.0.0.1", 8080)


@pytest.mark.parametrize(
    "answer, message",
    [
        (["a"], "must return a dict with name and url (str), got list"),
        ({"name": "X"}, "must give a name and a url"),
        ({"name": "X", "url": "u", "port": "1"}, "returned unknown key(s) port"),
        ({"name": "X", "url": 3}, "['url'] must be a str of at most 2048 characters"),
    ],
)
def test_a_wrong_declaration_is_a_value_error(answer, message):
    class Plugin:
        def conformance_service(self):
            return answer

    with pytest.raises(ValueError, match=None) as caught:
        declared_service(Plugin())
    assert message in str(caught.value)


def test_errors_that_mean_unreachable_and_errors_that_do_not():
    from omi.builtin.http import APIError, AuthenticationError, UnreachableError

    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as error:
            raise RuntimeError("driver failed") from error
    except RuntimeError as wrapped:
        assert unusable_service(wrapped) == ("a service could not be reached: connection refused")
    assert unusable_service(UnreachableError("Cannot reach X")) == (
        "a service could not be reached: Cannot reach X"
    )
    assert unusable_service(AuthenticationError("X rejected the API key (HTTP 401)")) == (
        "a service refused the credentials: X rejected the API key (HTTP 401)"
    )
    assert unusable_service(APIError("refused (HTTP 400)")) is None
    assert unusable_service(ValueError("bad text")) is None


def test_a_server_that_refuses_the_key_is_not_tested_in_one_request():
    with FakeNIM() as server:
        result = omi(
            "plugins",
            "check",
            "nim",
            "--option",
            f"base_url={server.url}",
            "--option",
            "api_key=wrong-key",
        )
        requests = len(server.requests)
    assert result.returncode == 3, result.stdout
    assert (
        "a service refused the credentials: NVIDIA NIM rejected the API key (HTTP 401"
        in result.stdout
        and "wrong-key" not in result.stdout
    )
    assert requests == 1  # the first check's first call; the other checks are not run


def test_a_wrong_declaration_fails_the_first_check_saying_so(make_dist):
    make_dist(
        "omi-storage-wrong",
        files={"wrong_store.py": DECLARED_SERVICE.replace('"env": "ACMEDB_URL"}', '"port": 5432}')},
        entry_points={"omi.storage_backends": {"wrong": "wrong_store:AcmeStore"}},
    )
    result = omi("plugins", "check", "wrong", "-k", "recall*", ACMEDB_URL=closed_port_url())
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    failed = [i for i, line in enumerate(lines) if line.startswith("  ✗ ")]
    assert lines[failed[0] + 1] == (
        "      AcmeStore.conformance_service() returned unknown key(s) "
        "port; it takes name, url, option and env"
    )
    # the check that makes the service fail reads the declaration too
    assert lines[failed[1]].startswith("  ✗ recall_raises_when_its_service_fails (")
    assert lines[failed[1] + 1] == (
        "      expected a conformance_service() the suite can read; got AcmeStore."
        "conformance_service() returned unknown key(s) port; it takes name, url, option and "
        "env; fix: return a dict of str: name and url, and option or env (the constructor "
        "option or environment variable that sets the URL)"
    )
    # validate and every other recall check
    assert sum(line.startswith("  ✓ ") for line in lines) == RECALL - 1


def test_under_pytest_a_check_that_meets_an_unreachable_server_is_skipped(pytester):
    pytester.makepyfile(
        test_plugin=f'''
import pytest
from omi.builtin.nim import NIMEmbedder
from omi.testing import EmbeddingProviderConformance


class TestConformance(EmbeddingProviderConformance):
    @pytest.fixture
    def plugin(self):
        return NIMEmbedder(base_url="{closed_port_url()}", max_retries=0)
'''
    )
    result = pytester.runpytest_inprocess(
        "-rs", "-p", "no:cacheprovider", "-k", "batch_matches_single"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*not tested: a service could not be reached: Cannot reach "
            "NVIDIA NIM at http://127.0.0.1:*"
        ]
    )
