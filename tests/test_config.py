"""omi.config: lookup order, ${VAR} expansion, shape checks, building plugins, `omi config show`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import plugin_sources as src
import pytest
from click.testing import CliRunner
from fake_servers import FakeNIM

from omi.builtin.nim import NIMEmbedder
from omi.builtin.sqlite import SQLiteBackend
from omi.cli import cli
from omi.config import (
    MAX_CONFIG_BYTES,
    Config,
    ConfigError,
    PluginChoice,
    build_plugins,
    expand_variables,
    find_config,
    load_config,
    mask_secrets,
    parse_config,
    user_config_dir,
    user_data_dir,
)

STORAGE = "omi.storage_backends"
EVENTS = "omi.event_handlers"

RECORDING_HANDLER = """
from omi.events import EventHandler

CLOSED = []


class Recorder(EventHandler):
    interface_version = "1.0"

    def __init__(self, url, retries=3):
        if not url.startswith("http"):
            raise ValueError(f"url must start with http, got {url!r}")
        self.url, self.retries = url, retries

    def handle(self, event_type, event_data):
        return None

    def close(self):
        CLOSED.append(self.url)
"""

TRACKED_BACKEND = (
    src.backend("Backend")
    + """

class Tracked(Backend):
    def __init__(self, dsn):
        super().__init__()
        self.dsn = dsn

    def close(self):
        CLOSED.append(self.dsn)


CLOSED = []
"""
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated HOME, XDG dirs and working directory, with no OMI_CONFIG."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("OMI_CONFIG", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path / "home"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- lookup order ---------------------------------------------------------------------------


def test_lookup_order_explicit_then_env_then_local_then_user_dir(home, monkeypatch, tmp_path):
    assert find_config() is None
    user = write(home / ".config" / "omi" / "config.yaml", "")
    assert find_config() == user
    local = write(Path("omi.yaml"), "")
    assert find_config() == Path("omi.yaml") and local.exists()
    from_env = write(tmp_path / "env.yaml", "")
    monkeypatch.setenv("OMI_CONFIG", str(from_env))
    assert find_config() == from_env
    explicit = write(tmp_path / "explicit.yaml", "")
    assert find_config(explicit) == explicit
    assert find_config(str(explicit)) == explicit


def test_xdg_dirs_are_honoured_and_relative_values_ignored(home, monkeypatch, tmp_path):
    assert user_config_dir() == home / ".config" / "omi"
    assert user_data_dir() == home / ".local" / "share" / "omi"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert user_config_dir() == tmp_path / "cfg" / "omi"
    assert user_data_dir() == tmp_path / "data" / "omi"
    user = write(tmp_path / "cfg" / "omi" / "config.yaml", "")
    assert find_config() == user
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert user_config_dir() == home / ".config" / "omi"


def test_a_named_file_that_does_not_exist_is_an_error_not_a_fallback(home, monkeypatch):
    write(Path("omi.yaml"), "")
    assert "--config names nope.yaml, which is not a file" in error_of(find_config, "nope.yaml")
    monkeypatch.setenv("OMI_CONFIG", "missing.yaml")
    assert error_of(find_config).startswith("OMI_CONFIG names missing.yaml, which is not a file")
    monkeypatch.setenv("OMI_CONFIG", str(Path.cwd()))
    assert "which is not a file" in error_of(find_config)  # a directory


def test_no_config_means_defaults(home):
    config = load_config()
    assert config == Config()
    assert config.effective() == {
        "embedding": None,
        "storage": {
            "backend": "sqlite",
            "path": str(home / ".local" / "share" / "omi" / "memories.db"),
        },
        "events": {"handlers": []},
    }


# --- ${VAR} expansion -----------------------------------------------------------------------


def test_variables_and_defaults_are_expanded_in_every_string():
    env = {"KEY": "s3cret", "HOST": "example.org", "EMPTY": ""}
    document = {
        "a": "${KEY}",
        "b": "https://${HOST}:${PORT:-8080}/v1",
        "c": "${MISSING:-}",
        "d": ["${KEY}", {"e": "x${EMPTY}y"}],
        "f": 16,
        "g": "$${KEY} stays",
        "h": "${EMPTY:-fallback}",
        "${KEY}": "keys are not expanded",
    }
    assert expand_variables(document, environ=env) == {
        "a": "s3cret",
        "b": "https://example.org:8080/v1",
        "c": "",
        "d": ["s3cret", {"e": "xy"}],
        "f": 16,
        "g": "${KEY} stays",
        "h": "fallback",
        "${KEY}": "keys are not expanded",
    }


def test_a_missing_variable_names_the_variable_and_the_key():
    document = {"events": {"handlers": [{"name": "w"}, {"name": "w", "url": "${HOOK_URL}"}]}}
    assert error_of(expand_variables, document, environ={}) == (
        "events.handlers[1].url: environment variable HOOK_URL is not set; export it or write "
        "${HOOK_URL:-default}"
    )


@pytest.mark.parametrize(
    "text, problem",
    [
        ("${}", "'${}' is not a variable reference"),
        ("${1ABC}", "'${1ABC}' is not a variable reference"),
        ("${A B}", "'${A B}' is not a variable reference"),
        ("${A:default}", "'${A:default}' is not a variable reference"),
        ("abc ${OPEN", "unclosed '${' in 'abc ${OPEN'"),
    ],
)
def test_malformed_references_are_errors_naming_the_key(text, problem):
    message = error_of(expand_variables, {"storage": {"path": text}}, environ={"A": "1"})
    assert message.startswith(f"storage.path: {problem}")


@pytest.mark.parametrize("text", ["${sk-live-12345}", "sk-live-12345${"])
def test_a_malformed_reference_in_a_secret_never_shows_its_text(text):
    message = error_of(expand_variables, {"embedding": {"api_key": text}})
    assert message.startswith("embedding.api_key: ") and "sk-live" not in message
    assert "****" in message


def test_a_missing_variable_in_a_file_names_the_file(home, monkeypatch):
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    write(Path("omi.yaml"), "embedding:\n  provider: nim\n  api_key: ${NVIDIA_API_KEY}\n")
    assert error_of(load_config) == (
        "omi.yaml: embedding.api_key: environment variable NVIDIA_API_KEY is not set; export "
        "it or write ${NVIDIA_API_KEY:-default}"
    )


# --- shape ----------------------------------------------------------------------------------


def test_the_spec_shape_parses_into_choices(home, monkeypatch):
    monkeypatch.setenv("MY_KEY", "k-123")
    write(
        Path("omi.yaml"),
        """
embedding:
  provider: nim
  model: nvidia/nv-embedqa-e5-v5
  api_key: ${MY_KEY}
  batch_size: 16
storage:
  backend: sqlite
  path: ${DB:-/tmp/omi.db}
events:
  handlers:
    - audit
    - name: webhook
      url: https://example.org/hook
  background: true
  queue_size: 50
""",
    )
    config = load_config()
    assert config.source == Path("omi.yaml")
    assert config.embedding == PluginChoice(
        "embedding",
        "nim",
        {"model": "nvidia/nv-embedqa-e5-v5", "api_key": "k-123", "batch_size": 16},
    )
    assert config.storage == PluginChoice("storage", "sqlite", {"path": "/tmp/omi.db"})
    assert config.handlers == [
        PluginChoice("events.handlers[0]", "audit"),
        PluginChoice("events.handlers[1]", "webhook", {"url": "https://example.org/hook"}),
    ]
    assert config.dispatch == {"background": True, "queue_size": 50}


@pytest.mark.parametrize(
    "document, message",
    [
        (
            [1, 2],
            "the top level must be a mapping with keys embedding, storage, events, not a list",
        ),
        (
            {"embeddings": {}},
            "unknown top-level key 'embeddings' (did you mean 'embedding'?); valid "
            "keys: embedding, storage, events",
        ),
        ({"plugins": 1}, "unknown top-level key 'plugins'; valid keys: embedding, storage, events"),
        (
            {"embedding": "nim"},
            "embedding must be a mapping with `provider` and the plugin's "
            "options, not a str ('nim')",
        ),
        (
            {"embedding": {"model": "m"}},
            "embedding.provider is missing; name the plugin, e.g. "
            "provider: nim (see `omi plugins list`)",
        ),
        (
            {"storage": {"backend": "  "}},
            "storage.backend is missing; name the plugin, e.g. backend: sqlite",
        ),
        (
            {"storage": {"backend": "sqlite", 3: "x"}},
            "storage: option 3 is not a valid option name",
        ),
        ({"events": ["webhook"]}, "events must be a mapping like {handlers: [name, ...]}"),
        (
            {"events": {"handler": []}},
            "events: unknown key 'handler' (did you mean 'handlers'?); "
            "valid keys: handlers, background, queue_size",
        ),
        ({"events": {"handlers": "webhook"}}, "events.handlers must be a list of names"),
        ({"events": {"handlers": [3]}}, "events.handlers[0] must be a mapping with `name`"),
        ({"events": {"handlers": [{"url": "x"}]}}, "events.handlers[0].name is missing"),
    ],
)
def test_bad_shapes_are_named(document, message):
    assert message in error_of(parse_config, document)


def test_empty_file_and_null_sections_mean_defaults(home):
    write(Path("omi.yaml"), "# nothing yet\n")
    assert load_config() == Config(source=Path("omi.yaml"))
    write(Path("omi.yaml"), "embedding:\nstorage:\nevents:\n")
    assert load_config() == Config(source=Path("omi.yaml"))


def test_an_unquoted_variable_in_a_flow_mapping_gets_a_hint(home):
    write(Path("omi.yaml"), "embedding: {provider: nim, api_key: ${KEY}}\n")
    assert error_of(load_config).endswith(
        'inside {...} quote values that use ${VAR}, e.g. api_key: "${MY_KEY}"'
    )
    write(Path("omi.yaml"), 'embedding: {provider: nim, api_key: "${KEY:-k}"}\n')
    assert load_config().embedding.options == {"api_key": "k"}


def test_invalid_yaml_and_unreadable_files(home):
    write(Path("omi.yaml"), "embedding:\n  provider: nim\n   model: [x\n")
    message = error_of(load_config)
    assert message.startswith("omi.yaml: not valid YAML at line 3, column ")
    Path("omi.yaml").write_bytes(b"embedding: {provider: \xff\xfe}\n")
    assert error_of(load_config).startswith("omi.yaml: cannot read it: ")


# --- building plugins -----------------------------------------------------------------------


def build(document, **kwargs):
    return build_plugins(parse_config(document), **kwargs)


def test_defaults_build_sqlite_in_the_user_data_dir(home):
    plugins = build(None)
    try:
        assert isinstance(plugins.storage, SQLiteBackend)
        assert plugins.storage.path == home / ".local" / "share" / "omi" / "memories.db"
        assert plugins.storage.path.exists()
        assert plugins.embedder is None and plugins.handlers == {}
    finally:
        plugins.storage.close()


def test_builtin_embedder_gets_its_options(tmp_path):
    with FakeNIM(api_key="k") as server:  # it refuses any other key
        plugins = build(
            {
                "embedding": {
                    "provider": "nim",
                    "api_key": "k",
                    "batch_size": 2,
                    "base_url": server.url,
                },
                "storage": {"backend": "sqlite", "path": str(tmp_path / "m.db")},
            }
        )
        plugins.storage.close()
        assert isinstance(plugins.embedder, NIMEmbedder)
        plugins.embedder.embed_batch(["a", "b", "c"])
    # the configured URL and key reached the server, in batches of the configured size
    assert [len(request["body"]["input"]) for request in server.requests] == [2, 1]


def test_unknown_plugin_names_list_what_is_valid(tmp_path, make_dist):
    make_dist(
        "omi-storage-tracked",
        entry_points={STORAGE: {"tracked": "tracked_mod:Tracked"}},
        files={"tracked_mod.py": TRACKED_BACKEND},
    )
    assert error_of(build, {"embedding": {"provider": "olama"}}) == (
        "embedding.provider: no embedding provider named 'olama' (did you mean 'ollama'?); "
        "valid: nim, ollama (see `omi plugins list`)"
    )
    assert error_of(build, {"storage": {"backend": "postgres"}}) == (
        "storage.backend: no storage backend named 'postgres'; valid: sqlite (built-in), "
        "tracked (see `omi plugins list`)"
    )
    assert error_of(build, {"events": {"handlers": ["slack"]}}) == (
        "events.handlers[0].name: no event handler named 'slack'; valid: (none installed) "
        "(see `omi plugins list`)"
    )


def test_a_plugin_that_fails_to_load_is_reported_with_its_key(make_dist):
    make_dist(
        "omi-event-broken",
        entry_points={EVENTS: {"broken": "broken_mod:Broken"}},
        files={"broken_mod.py": "class Broken:\n    interface_version = '1.0'\n"},
    )
    message = error_of(build, {"events": {"handlers": ["broken"]}})
    assert message.startswith(
        "events.handlers[0]: Plugin 'broken' from omi-event-broken 0.1.0 "
        "failed validation: Broken does not inherit from"
    )


def test_third_party_plugins_are_built_with_their_options(tmp_path, make_dist):
    make_dist(
        "omi-storage-tracked",
        entry_points={STORAGE: {"tracked": "tracked_mod:Tracked"}},
        files={"tracked_mod.py": TRACKED_BACKEND},
    )
    make_dist(
        "omi-event-recorder",
        entry_points={EVENTS: {"recorder": "recorder_mod:Recorder"}},
        files={"recorder_mod.py": RECORDING_HANDLER},
    )
    plugins = build(
        {
            "storage": {"backend": "tracked", "dsn": "db://x"},
            "events": {
                "handlers": [
                    {"name": "recorder", "url": "http://a"},
                    {"name": "recorder", "url": "http://b", "retries": 1},
                ]
            },
        }
    )
    assert plugins.storage.dsn == "db://x"
    assert list(plugins.handlers) == ["recorder", "recorder (events.handlers[1])"]
    assert [(h.url, h.retries) for h in plugins.handlers.values()] == [
        ("http://a", 3),
        ("http://b", 1),
    ]


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            {"name": "recorder", "uri": "http://a"},
            "events.handlers[0]: event handler 'recorder' (Recorder) does not accept option uri "
            "(did you mean 'url'?); it accepts: url, retries",
        ),
        (
            {"name": "recorder", "uri": "x", "tries": 2},
            "does not accept options uri, tries (did you mean 'url'?); it accepts: url, retries",
        ),
        (
            "recorder",
            "events.handlers[0]: event handler 'recorder' (Recorder) needs option url; add it",
        ),
        (
            {"name": "recorder", "url": "ftp://a"},
            "events.handlers[0]: event handler 'recorder' (Recorder) rejected its options (url): "
            "ValueError: url must start with http, got 'ftp://a'",
        ),
    ],
)
def test_constructor_problems_name_the_plugin_and_the_options(make_dist, entry, message):
    make_dist(
        "omi-event-recorder",
        entry_points={EVENTS: {"recorder": "recorder_mod:Recorder"}},
        files={"recorder_mod.py": RECORDING_HANDLER},
    )
    assert message in error_of(build, {"events": {"handlers": [entry]}})


def test_a_class_keeping_objects_constructor_is_checked_without_tokenizing():
    # inspect.signature would tokenize object's text signature, compiling tokenize's regular
    # expressions: milliseconds of every host start whose plugins define no __init__.
    code = """
import sys
from omi.config import options_problem
from omi.events import EventHandler

class Plain(EventHandler):
    pass

class Called(type):
    def __call__(cls, url):
        return None

class Custom(metaclass=Called):
    pass

print(options_problem(Plain, {}))
print(options_problem(Plain, {"url": "x"}))
tokenize = sys.modules.get("tokenize")
print(tokenize is None or tokenize._compile.cache_info().currsize == 0)
print(options_problem(Custom, {}))
"""

    lines = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert lines == [
        "None",
        "does not accept option url; it accepts: (no options)",
        "True",
        "needs option url; add it",
    ]


def test_secret_values_never_appear_in_constructor_errors():
    message = error_of(
        build, {"embedding": {"provider": "nim", "api_key": "TOPSECRET", "batch_size": -1}}
    )
    assert "rejected its options (api_key, batch_size)" in message
    assert "TOPSECRET" not in message


def test_what_was_built_before_a_failure_is_closed(make_dist):
    make_dist(
        "omi-storage-tracked",
        entry_points={STORAGE: {"tracked": "tracked_mod:Tracked"}},
        files={"tracked_mod.py": TRACKED_BACKEND},
    )
    make_dist(
        "omi-event-recorder",
        entry_points={EVENTS: {"recorder": "recorder_mod:Recorder"}},
        files={"recorder_mod.py": RECORDING_HANDLER},
    )
    error_of(
        build,
        {
            "storage": {"backend": "tracked", "dsn": "db://1"},
            "events": {
                "handlers": [
                    {"name": "recorder", "url": "http://ok"},
                    {"name": "recorder", "url": "bad"},
                ]
            },
        },
    )
    import recorder_mod
    import tracked_mod

    assert tracked_mod.CLOSED == ["db://1"]
    assert recorder_mod.CLOSED == ["http://ok"]


def test_sqlite_that_cannot_open_is_a_config_error(tmp_path):
    blocker = write(tmp_path / "file", "")
    message = error_of(build, {"storage": {"backend": "sqlite", "path": str(blocker / "m.db")}})
    assert message.startswith(
        "storage: storage backend 'sqlite' (SQLiteBackend) rejected its "
        "options (path): ValueError: Cannot open the SQLite database at"
    )


def test_build_errors_from_a_file_name_the_file(home):
    write(Path("omi.yaml"), "embedding: {provider: nope}\n")
    message = error_of(build_plugins, load_config())
    assert message.startswith("omi.yaml: embedding.provider: no embedding provider named 'nope'")


# --- masking and `omi config show` ----------------------------------------------------------


def test_secrets_are_masked_by_key_name():
    document = {
        "embedding": {"provider": "nim", "api_key": "k", "model": "m"},
        "storage": {"backend": "pg", "password": "p", "dsn": "x", "token": None},
        "events": {
            "handlers": [
                {
                    "name": "h",
                    "Auth-Token": "t",
                    "client_secret": "s",
                    "apiKey": "a",
                    "url": "u",
                    "secret": "",
                }
            ]
        },
    }
    assert mask_secrets(document) == {
        "embedding": {"provider": "nim", "api_key": "****", "model": "m"},
        "storage": {"backend": "pg", "password": "****", "dsn": "x", "token": None},
        "events": {
            "handlers": [
                {
                    "name": "h",
                    "Auth-Token": "****",
                    "client_secret": "****",
                    "apiKey": "****",
                    "url": "u",
                    "secret": "",
                }
            ]
        },
    }
    assert document["embedding"]["api_key"] == "k"  # the input is left alone


def show(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["config", "show", *args], env=env)


def test_config_show_prints_the_effective_config_with_secrets_masked(home, monkeypatch):
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-SECRET")
    write(
        Path("omi.yaml"),
        "embedding:\n  provider: nim\n  api_key: ${NVIDIA_API_KEY}\n"
        "storage: {backend: sqlite, path: /data/m.db}\n"
        "events: {handlers: [audit, {name: hook, token: abc}]}\n",
    )
    result = show()
    assert result.exit_code == 0, result.output
    assert "SECRET" not in result.output and "abc" not in result.output
    assert result.output == (
        "# omi.yaml\n"
        "embedding:\n  provider: nim\n  api_key: '****'\n"
        "storage:\n  backend: sqlite\n  path: /data/m.db\n"
        "events:\n  handlers:\n  - audit\n  - name: hook\n    token: '****'\n"
    )
    document = json.loads(show("--format", "json").output)
    assert document["source"] == "omi.yaml"
    assert document["embedding"] == {"provider": "nim", "api_key": "****"}


def test_config_show_without_a_file_shows_the_defaults(home):
    result = show()
    assert result.exit_code == 0
    assert result.output.startswith("# no config file found, so these are the defaults\n")
    assert f"path: {home / '.local' / 'share' / 'omi' / 'memories.db'}" in result.output


def test_config_show_honours_config_and_omi_config(home, tmp_path):
    explicit = write(tmp_path / "a.yaml", "storage: {backend: sqlite, path: /a.db}\n")
    from_env = write(tmp_path / "b.yaml", "storage: {backend: sqlite, path: /b.db}\n")
    assert "path: /a.db" in show("--config", str(explicit)).output
    assert "path: /b.db" in show(env={"OMI_CONFIG": str(from_env)}).output
    assert (
        "path: /a.db" in show("--config", str(explicit), env={"OMI_CONFIG": str(from_env)}).output
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("plugins: {}\n", "Error: omi.yaml: unknown top-level key 'plugins'; valid keys: "),
        (
            "storage:\n  backend: sqlite\n  path: ${NO_SUCH_VAR}\n",
            "Error: omi.yaml: storage.path: environment variable NO_SUCH_VAR is not set",
        ),
        ("storage: [\n", "Error: omi.yaml: not valid YAML at line 2"),
    ],
)
def test_config_show_errors_are_one_line_with_exit_2(home, monkeypatch, text, message):
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    write(Path("omi.yaml"), text)
    result = show()
    assert result.exit_code == 2
    assert result.output.startswith(message) and result.output.count("\n") == 1


def test_config_show_with_a_missing_file_is_exit_2(home):
    result = show("--config", "missing.yaml")
    assert result.exit_code == 2
    assert result.output == (
        "Error: --config names missing.yaml, which is not a file; fix the path or create the file\n"
    )


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "        raise ValueError(f'bad token {token!r}')\n",
            "rejected its options (url, token): ValueError: bad token '****'",
        ),
        (
            "        import sys\n        sys.exit(4)\n",
            "rejected its options (url, token): SystemExit: 4",
        ),
    ],
)
def test_a_constructor_that_quotes_a_secret_or_exits_is_a_config_error(make_dist, body, message):
    handler = src.handler("Picky") + "\n    def __init__(self, url, token):\n" + body
    make_dist(
        "omi-event-picky",
        entry_points={EVENTS: {"picky": "picky_mod:Picky"}},
        files={"picky_mod.py": handler},
    )
    error = error_of(
        build,
        {"events": {"handlers": [{"name": "picky", "url": "http://a", "token": "TOPSECRET"}]}},
    )
    assert error.endswith(message) and "TOPSECRET" not in error


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "embedding:\n  provider: nim\nembedding:\n  provider: ollama\n",
            "omi.yaml: not valid YAML at line 3, column 1: the key 'embedding' is given twice; keep "
            "one of them",
        ),
        (
            "storage: {backend: sqlite, path: /a.db, path: /b.db}\n",
            "omi.yaml: not valid YAML at line 1, column 41: the key 'path' is given twice",
        ),
    ],
)
def test_a_key_given_twice_is_an_error_not_a_silent_last_wins(home, text, message):
    write(Path("omi.yaml"), text)
    assert error_of(load_config).startswith(message)


def test_yaml_merge_keys_still_work_and_may_be_overridden(home):
    write(
        Path("omi.yaml"),
        "embedding: &base {provider: nim, model: m, batch_size: 4}\n"
        "storage:\n  backend: sqlite\n  path: /x.db\n"
        "events:\n  handlers:\n    - {name: a, <<: {url: u, retries: 1},"
        " retries: 2}\n",
    )
    config = load_config()
    assert config.handlers[0].options == {"url": "u", "retries": 2}


def test_passwords_inside_values_are_masked_too(home, monkeypatch):
    monkeypatch.setenv("OMI_POSTGRES_DSN", "postgresql://omi:s3cret@db.internal:5432/omi")
    assert mask_secrets(
        {
            "dsn": "host=db user=omi password=s3cret dbname=omi",
            "urls": ["redis://:s3cret@cache:6379/0", "postgresql://omi@db/omi"],
        }
    ) == {
        "dsn": "host=db user=omi password=**** dbname=omi",
        "urls": ["redis://:****@cache:6379/0", "postgresql://omi@db/omi"],
    }
    write(Path("omi.yaml"), "storage: {backend: sqlite, path: /m.db, dsn: '${OMI_POSTGRES_DSN}'}\n")
    result = show()
    assert "s3cret" not in result.output
    assert "dsn: postgresql://omi:****@db.internal:5432/omi" in result.output


# --- hostile files: size, aliases, depth -----------------------------------------------------


def alias_bomb(levels: int = 9) -> str:
    """`storage:` holding `levels` levels of ten aliases each: 10**levels strings once
    expanded, from a file of a few hundred bytes."""
    lines = ["storage:", "  backend: sqlite", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_once_in_one_line(home):
    """It used to take 2.7 GB and over a minute (${VAR} expansion copied every alias)."""
    write(Path("omi.yaml"), alias_bomb())
    started = time.perf_counter()
    result = show()
    elapsed = time.perf_counter() - started
    assert result.exit_code == 2 and elapsed < 1.0, (result.output, elapsed)
    assert result.output == (
        "Error: omi.yaml: line 6, column 47: the file holds more than 10,000 values once its "
        "aliases (*name) are expanded; write a smaller configuration without nested aliases\n"
    )


def test_aliases_within_the_limits_still_work(home):
    write(
        Path("omi.yaml"),
        "storage:\n  backend: sqlite\n  path: /m.db\n"
        "events:\n  handlers:\n"
        "    - {name: a, headers: &h {X-Tenant: t, X-Team: ops}}\n"
        "    - {name: b, headers: *h}\n",
    )
    assert [choice.options for choice in load_config().handlers] == [
        {"headers": {"X-Tenant": "t", "X-Team": "ops"}}
    ] * 2


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "storage: &s {backend: sqlite, again: *s}\n",
            "omi.yaml: line 1, column 38: the alias *s is inside the value it refers to; a "
            "configuration cannot contain itself",
        ),
        (
            "storage: {backend: sqlite, deep: " + "[" * 100_000 + "]" * 100_000 + "}\n",
            "omi.yaml: line 1, column 65: values are nested more than 32 levels deep; flatten the "
            "configuration",
        ),
        (
            "storage:\n" + "".join(f"{'  ' * level}k{level}:\n" for level in range(1, 40)),
            "omi.yaml: line 32, column 63: values are nested more than 32 levels deep; flatten the "
            "configuration",
        ),
    ],
)
def test_recursive_and_deeply_nested_documents_are_refused(home, text, message):
    """The recursive alias and the brackets ended in a RecursionError (the brackets after
    9 s); the 39 levels of keys were read."""
    write(Path("omi.yaml"), text)
    started = time.perf_counter()
    assert error_of(load_config) == message
    assert time.perf_counter() - started < 1.0


def test_a_huge_file_is_refused_without_reading_it(home):
    """A 50 MB config took 17-34 s to parse; only the first 256 KiB + 1 byte are read now."""
    with open("omi.yaml", "wb") as stream:
        stream.truncate(50 * 1024 * 1024)
    started = time.perf_counter()
    result = show()
    assert result.exit_code == 2 and time.perf_counter() - started < 1.0
    assert result.output == (
        "Error: omi.yaml: the file is larger than 256 KiB, which no "
        "configuration needs; check that this is the right file\n"
    )
    padding = "# " + "x" * 1021 + "\n"
    text = "storage: {backend: sqlite, path: /m.db}\n"
    text += padding * ((MAX_CONFIG_BYTES - len(text)) // len(padding))
    write(Path("omi.yaml"), text + "#" * (MAX_CONFIG_BYTES - len(text) - 1) + "\n")
    assert Path("omi.yaml").stat().st_size == MAX_CONFIG_BYTES
    assert load_config().storage.options == {"path": "/m.db"}


def test_an_error_without_a_message_is_never_a_bare_error_line(home, monkeypatch):
    """Under a memory limit the alias bomb used to end in `Error: ` and nothing else."""

    def out_of_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr("omi.config.load_config", out_of_memory)
    result = show()
    assert result.exit_code == 1
    assert result.output == (
        "Error: MemoryError (no message); rerun with --debug for the traceback\n"
    )


# --- secrets never print ---------------------------------------------------------------------

SECRETS = (
    "TOKEN1",
    "KEY2",
    "PW3",
    "SIG4",
    "COOKIE5",
    "PASS6",
    "PRIV7",
    "CRED8",
    "AUTH9",
    "ACCESS10",
    "APIKEY11",
    "p@ss/w0rd",
    "LIBPQ12",
    "BEARER13",
    "HEADER14",
    "PAIR15",
    "Q16",
    "Q17",
    "Q18",
    "Q19",
    "Q20",
    "Q21",
    "Q22",
    "Q23",
    "AMZ24",
    "PASSWD25",
    "PWD26",
)


def test_every_kind_of_secret_is_masked():
    document = {
        "headers": {
            "Authorization": "Bearer TOKEN1",
            "X-Api-Key": "KEY2",
            "Proxy-Authorization": "Basic UFczUFcz",
            "X-Auth-Token": "SIG4",
            "Cookie": "session=COOKIE5",
            "Set-Cookie": "id=COOKIE5",
            "X-Tenant": "t",
        },
        "pass": "PASS6",
        "passwd": "PASSWD25",
        "pwd": "PWD26",
        "private_key": "PRIV7",
        "credentials": {"user": "u", "secret": "CRED8"},
        "auth": ["u", "AUTH9"],
        "accessToken": "ACCESS10",
        "API-KEY": "APIKEY11",
        "dsn": "postgresql://user:p@ss/w0rd@db.internal:5432/omi",
        "libpq": "host=db user=omi password=LIBPQ12 dbname=omi",
        "unclosed": "host=db password='LIBPQ12",
        "extra_headers": [
            "Authorization: Bearer BEARER13",
            "X-Api-Key: HEADER14",
            ["X-Auth-Token", "PAIR15"],
        ],
        "url": "https://hooks.example.com/omi?token=Q16&access_token=Q17&api_key=Q18&key=Q19"
        "&secret=Q20&signature=Q21&password=Q22&sig=Q23&X-Amz-Credential=AMZ24&page=2",
        "auth_url": "https://auth.example.com/",
        "cache_key": "k",
        "model": "m",
    }
    masked = mask_secrets(document)
    shown = json.dumps(masked)
    assert [secret for secret in SECRETS if secret in shown] == []
    assert masked["headers"]["X-Tenant"] == "t" and masked["headers"]["Authorization"] == "****"
    assert masked["dsn"] == "postgresql://user:****@db.internal:5432/omi"
    assert mask_secrets("https://u:" + "J" * 2000 + "@registry/v2") == "https://u:****@registry/v2"
    assert masked["libpq"] == "host=db user=omi password=**** dbname=omi"
    assert masked["url"].endswith("sig=****&X-Amz-Credential=****&page=2")
    assert masked["extra_headers"] == [
        "Authorization: ****",
        "X-Api-Key: ****",
        ["X-Auth-Token", "****"],
    ]
    assert (masked["auth_url"], masked["cache_key"], masked["model"]) == (
        "https://auth.example.com/",
        "k",
        "m",
    )


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000 + "://u:" + "p" * 50_000,
        "a://b:" * 40_000,
        "X-Api-Key: a" + " " * 250_000 + "b",
    ],
)
def test_masking_a_hostile_string_takes_linear_time(text):
    """The patterns search a file's worth of text (256 KiB) without rescanning from every
    position: a first draft took 17 s on 60,000 characters of the first string."""
    started = time.perf_counter()
    mask_secrets({"value": text})
    assert time.perf_counter() - started < 3.0


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "apiKey",
        "API-KEY",
        "ApiKey",
        "x_api_key",
        "access_token",
        "accessToken",
        "pass",
        "passwd",
        "pwd",
        "password",
        "db_password",
        "private_key",
        "privateKey",
        "credentials",
        "auth",
        "basic_auth",
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "Set-Cookie",
        "X-CSRF-Token",
        "client_secret",
        "key",
        "sig",
    ],
)
def test_secret_key_names_whatever_their_case_and_separators(key):
    assert mask_secrets({key: "value"}) == {key: "****"}


def test_config_show_masks_headers_urls_and_dsns(home, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "TOKEN1")
    write(
        Path("omi.yaml"),
        """
storage: {backend: sqlite, path: /m.db, dsn: 'postgresql://user:p@ss/w0rd@db/omi'}
events:
  handlers:
    - name: webhook
      url: https://hooks.example.com/omi?token=${HOOK_TOKEN}&tenant=t
      headers: {Authorization: "Bearer KEY2", X-Api-Key: PW3, X-Tenant: t}
      apiKey: SIG4
""",
    )
    for output_format in ("yaml", "json"):
        result = show("--format", output_format)
        assert result.exit_code == 0, result.output
        assert [secret for secret in SECRETS if secret in result.output] == []
        assert "tenant=t" in result.output and "X-Tenant" in result.output


def test_a_misplaced_mapping_is_never_quoted_in_the_error(home, monkeypatch):
    """`handlers:` written as a mapping used to print the whole mapping, secret included."""
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-TOKEN1")
    write(Path("omi.yaml"), "events:\n  handlers: {name: webhook, token: KEY2}\n")
    message = error_of(load_config)
    assert message == (
        "omi.yaml: events.handlers must be a list of names or {name: ..., "
        "options} mappings, not a dict"
    )
    write(Path("omi.yaml"), "embedding: ${NVIDIA_API_KEY}\n")
    assert error_of(load_config) == (
        "omi.yaml: embedding must be a mapping with `provider` and "
        "the plugin's options, not a str ('${NVIDIA_API_KEY}')"
    )


def test_an_unclosed_reference_never_shows_a_urls_password(home):
    write(
        Path("omi.yaml"),
        "embedding:\n  provider: nim\n"
        "  base_url: 'https://user:p@ss/w0rd@nim.internal/v1?key=KEY2&${'\n",
    )
    message = error_of(load_config)
    assert message.startswith(
        "omi.yaml: embedding.base_url: unclosed '${' in "
        "'https://user:****@nim.internal/v1?key=****&${'"
    )
    assert [secret for secret in SECRETS if secret in message] == []


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "        raise ValueError(f'cannot reach {url} with {headers}')\n",
            "ValueError: cannot reach https://hooks.example.com/x?token=**** with {'Authorization': "
            "'****', 'X-Tenant': 't'}",
        ),
        (
            "        raise ValueError(f'no database at {dsn}')\n",
            "ValueError: no database at postgresql://omi:****@db/omi",
        ),
        ("        raise ValueError()\n", "rejected its options (url, headers, dsn): ValueError"),
    ],
)
def test_a_plugins_message_never_shows_a_secret_of_its_options(make_dist, body, message):
    handler = src.handler("Chatty") + "\n    def __init__(self, url, headers, dsn):\n" + body
    make_dist(
        "omi-event-chatty",
        entry_points={EVENTS: {"chatty": "chatty_mod:Chatty"}},
        files={"chatty_mod.py": handler},
    )
    error = error_of(
        build,
        {
            "events": {
                "handlers": [
                    {
                        "name": "chatty",
                        "url": "https://hooks.example.com/x?token=TOKEN1",
                        "headers": {"Authorization": "Bearer KEY2", "X-Tenant": "t"},
                        "dsn": "postgresql://omi:p@ss/w0rd@db/omi",
                    }
                ]
            }
        },
    )
    assert error.endswith(message), error
    assert [secret for secret in SECRETS if secret in error] == []


def test_a_selector_from_a_variable_is_shown_as_written_never_expanded(tmp_path, monkeypatch):
    """`provider: ${API_KEY}` by mistake must not print the key in 'no provider named ...'."""
    from omi.cli import cli

    (tmp_path / "omi.yaml").write_text("embedding:\n  provider: ${MY_API_KEY}\n")
    monkeypatch.setenv("MY_API_KEY", "sk-live-0123456789")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["recall", "x"])
    assert result.exit_code == 2
    assert "no embedding provider named '${MY_API_KEY}' (as expanded)" in result.output
    assert "sk-live" not in result.output


def test_loading_a_named_config_imports_no_pathlib_until_source_is_read(tmp_path):
    """The host's start skips `pathlib` (several milliseconds); `Config.source` is still a Path."""
    config = tmp_path / "omi.yaml"
    config.write_text("storage:\n  backend: sqlite\n  path: /data/omi.db\n", encoding="utf-8")
    code = (
        "import json, sys; before = 'pathlib' in sys.modules; "
        "from omi.config import load_config; "
        f"config = load_config({str(config)!r}); after = 'pathlib' in sys.modules; "
        "from pathlib import Path; print(json.dumps("
        "[before, after, isinstance(config.source, Path), str(config.source)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    before, after, is_path, shown = json.loads(out)
    assert (after, is_path, shown) == (before, True, str(config))
