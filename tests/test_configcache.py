"""omi.configcache: a config file parsed once is read from the cache while it is unchanged,
never while it may have changed, and never in a way that shows anything but what parsing it
shows. Real files, dated back past the racy window where a test wants them cached; the user
cache directory is each test's own (conftest's private_cache)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from omi import cachefiles, configcache
from omi.cli import cli
from omi.config import MAX_CONFIG_BYTES, ConfigError, load_config

CONFIG = "storage:\n  backend: sqlite\n  path: /data/one.db\n"


def aged(path: Path, text: str, seconds: float = 60.0) -> Path:
    """`path` holding `text`, last modified `seconds` ago (older than the racy window)."""
    path.write_text(text, encoding="utf-8")
    stamp = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(stamp, stamp))
    return path


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("config-*.json"))


@pytest.fixture(autouse=True)
def cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMI_NO_CACHE", raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return aged(tmp_path / "config.yaml", CONFIG)


def tamper(entry: Path, document: object) -> None:
    """Replace the cached tree, keeping the entry's identity: what a stale cache would hold."""
    data = json.loads(entry.read_text())
    data["document"] = document
    entry.write_text(json.dumps(data))


def test_an_unchanged_file_is_read_from_the_cache_without_importing_yaml(tmp_path, private_cache):
    config = aged(tmp_path / "config.yaml", CONFIG.replace("/data", str(tmp_path)))
    code = (
        "import json, sys; from omi.host import Memory; "
        f"Memory.from_config({str(config)!r}).close(); "
        "print(json.dumps(['yaml' in sys.modules, 'omi.configcache' in sys.modules]))"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(private_cache.parent)}
    env.pop("OMI_NO_CACHE", None)
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
        )
        for _ in range(2)
    ]
    assert runs == [[True, True], [False, True]]
    (entry,) = entries(private_cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(private_cache.stat().st_mode) == 0o700


def test_a_hit_gives_what_parsing_gives(config, private_cache):
    parsed = load_config(config)
    assert len(entries(private_cache)) == 1
    assert load_config(config) == parsed
    tamper(entries(private_cache)[0], {"storage": {"backend": "sqlite", "path": "/cached.db"}})
    assert load_config(config).storage.options == {"path": "/cached.db"}  # the cache is read


def test_every_change_to_the_file_is_seen(config, private_cache):
    load_config(config)
    before = config.stat()
    # Same size, same mtime, rewritten in place: the ctime still differs (once the file
    # system's coarse clock has ticked: a few milliseconds).
    time.sleep(0.05)
    config.write_text(CONFIG.replace("one", "two"), encoding="utf-8")
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load_config(config).storage.options == {"path": "/data/two.db"}
    # Replaced by another file (a new inode), dated back to the same time.
    other = aged(config.with_name("new.yaml"), CONFIG.replace("one", "six"))
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, config)
    assert load_config(config).storage.options == {"path": "/data/six.db"}


def test_a_file_changed_too_recently_is_not_cached(tmp_path, private_cache):
    fresh = tmp_path / "config.yaml"
    fresh.write_text(CONFIG, encoding="utf-8")
    assert load_config(fresh).storage.options == {"path": "/data/one.db"}
    assert entries(private_cache) == []


def test_variables_are_expanded_at_every_load_and_never_cached(tmp_path, private_cache):
    config = aged(tmp_path / "config.yaml", "embedding:\n  provider: nim\n  api_key: ${NIM_KEY}\n")
    first = load_config(config, environ={"NIM_KEY": "sk-first-secret"})
    second = load_config(config, environ={"NIM_KEY": "sk-second-secret"})
    assert first.embedding.options == {"api_key": "sk-first-secret"}
    assert second.embedding.options == {"api_key": "sk-second-secret"}
    (entry,) = entries(private_cache)
    text = entry.read_text()
    assert "${NIM_KEY}" in text and "secret" not in text


def test_errors_read_the_same_from_the_cache(tmp_path, private_cache):
    config = aged(tmp_path / "config.yaml", "embeding:\n  provider: nim\n")
    with pytest.raises(ConfigError) as parsed:
        load_config(config)
    assert len(entries(private_cache)) == 1
    with pytest.raises(ConfigError) as cached:
        load_config(config)
    assert (
        str(cached.value)
        == str(parsed.value)
        == (
            f"{config}: unknown top-level key 'embeding' (did you mean 'embedding'?); valid keys: "
            f"embedding, storage, events"
        )
    )


@pytest.mark.parametrize(
    "text, problem",
    [
        ("storage: [x\n", "not valid YAML"),
        (
            "storage:\n  backend: sqlite\n  pad: " + "x" * MAX_CONFIG_BYTES + "\n",
            "the file is larger than 256 KiB",
        ),
        ("storage: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels deep"),
        (
            "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
            "more than 10,000 values",
        ),
    ],
)
def test_a_file_that_does_not_parse_is_never_cached(tmp_path, private_cache, text, problem):
    config = aged(tmp_path / "config.yaml", text)
    first = str(pytest.raises(ConfigError, load_config, config).value)
    assert first.startswith(f"{config}: ") and problem in first
    assert str(pytest.raises(ConfigError, load_config, config).value) == first
    assert entries(private_cache) == []


@pytest.mark.parametrize(
    "text",
    [
        "storage:\n  backend: sqlite\n  since: 2024-01-01\n",  # a date
        "storage:\n  backend: sqlite\n  codes:\n    1: one\n",  # a key that is not a string
        "storage:\n  backend: sqlite\n  blob: !!binary aGVsbG8=\n",  # bytes
    ],
)
def test_values_json_cannot_carry_are_parsed_every_time(tmp_path, private_cache, text):
    config = aged(tmp_path / "config.yaml", text)
    options = load_config(config).storage.options
    assert load_config(config).storage.options == options
    assert entries(private_cache) == []


@pytest.mark.parametrize(
    "big, copies",
    [
        ("x" * (200 * 1024), 6),
        ("\U0001f600" * 60_000, 1),  # 240 KB of UTF-8, but 12 bytes each once escaped in JSON
    ],
)
def test_a_tree_too_large_for_its_entry_is_not_cached(tmp_path, private_cache, big, copies):
    text = f"storage:\n  backend: sqlite\n  a: &big {big}\n  b: [{', '.join(['*big'] * copies)}]\n"
    config = aged(tmp_path / "config.yaml", text)
    assert load_config(config).storage.options["b"] == [big] * copies
    assert entries(private_cache) == []


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b'{"format": 1}',
        b"[1, 2]",
        b"null",
        b"x" * (configcache.MAX_ENTRY_BYTES + 1),
    ],
)
def test_a_damaged_entry_means_parsing_never_an_error(config, private_cache, damage):
    load_config(config)
    (entry,) = entries(private_cache)
    entry.write_bytes(damage)
    assert load_config(config).storage.options == {"path": "/data/one.db"}


def test_an_entry_of_another_file_or_format_is_not_used(config, private_cache):
    load_config(config)
    (entry,) = entries(private_cache)
    data = json.loads(entry.read_text())
    for key, value in (("path", "/elsewhere.yaml"), ("format", 99)):
        entry.write_text(
            json.dumps({**data, key: value, "document": {"storage": {"backend": "wrong"}}})
        )
        assert load_config(config).storage.name == "sqlite"


def test_an_entry_others_may_write_is_not_read(config, private_cache):
    load_config(config)
    (entry,) = entries(private_cache)
    tamper(entry, {"storage": {"backend": "planted"}})
    entry.chmod(0o646)
    assert load_config(config).storage.name == "sqlite"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="Windows: os.stat has no owner or modes")
@pytest.mark.parametrize("how", ["directory open to others", "a symlink to a private file"])
def test_an_entry_in_an_open_directory_or_behind_a_symlink_is_not_read(
    config, private_cache, tmp_path, how
):
    load_config(config)
    (entry,) = entries(private_cache)
    tamper(entry, {"storage": {"backend": "planted"}})
    if how == "directory open to others":
        private_cache.chmod(0o755)
    else:
        elsewhere = tmp_path / "elsewhere.json"
        entry.rename(elsewhere)
        entry.symlink_to(elsewhere)
    assert load_config(config).storage.name == "sqlite"


def test_nothing_is_cached_in_a_directory_open_to_others(config, private_cache):
    private_cache.mkdir(parents=True)
    private_cache.chmod(0o755)
    assert load_config(config).storage.options == {"path": "/data/one.db"}
    assert entries(private_cache) == []


def test_an_unusable_cache_directory_costs_only_the_cache(config, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache directory cannot be made
    assert load_config(config).storage.options == {"path": "/data/one.db"}
    assert load_config(config).storage.options == {"path": "/data/one.db"}


def test_omi_no_cache_neither_reads_nor_writes(config, private_cache, monkeypatch):
    monkeypatch.setenv("OMI_NO_CACHE", "1")
    load_config(config)
    assert entries(private_cache) == []
    monkeypatch.delenv("OMI_NO_CACHE")
    load_config(config)
    tamper(entries(private_cache)[0], {"storage": {"backend": "planted"}})
    monkeypatch.setenv("OMI_NO_CACHE", "1")
    assert load_config(config).storage.name == "sqlite"


def test_cache_clear_removes_the_parsed_configs_too(config, private_cache):
    load_config(config)
    assert len(entries(private_cache)) == 1
    result = CliRunner().invoke(cli, ["plugins", "cache", "clear"])
    assert result.exit_code == 0, result.output
    assert "1 parsed config file(s)" in result.output
    assert entries(private_cache) == []
    assert configcache.clear() == []


def test_stale_entries_are_pruned_when_a_new_one_is_written(config, private_cache):
    private_cache.mkdir(parents=True, mode=0o700)
    old = private_cache / "config-0123456789abcdef.json"
    recent = private_cache / "config-fedcba9876543210.json"
    for file, days in ((old, cachefiles.MAX_AGE_DAYS + 1), (recent, 1)):
        file.write_text("{}")
        stamp = time.time() - days * 86400
        os.utime(file, (stamp, stamp))
    load_config(config)
    assert old not in entries(private_cache) and recent in entries(private_cache)
    assert len(entries(private_cache)) == 2


def test_cache_show_lists_each_kept_config_never_its_contents(tmp_path, private_cache):
    secret = "sk-live-0123456789abcdef"
    config = aged(
        tmp_path / "config.yaml",
        f"embedding:\n  provider: nim\n  api_key: {secret}\nstorage:\n  backend: sqlite\n",
    )
    load_config(config)
    runner = CliRunner()
    shown = runner.invoke(cli, ["plugins", "cache", "show"])
    assert shown.exit_code == 0, shown.output
    assert f"parsed config files: 1\n  {config} (" in shown.output
    assert shown.output.rstrip().endswith("current)")
    report = json.loads(runner.invoke(cli, ["plugins", "cache", "show", "--format", "json"]).output)
    (entry,) = report["configs"]
    assert (entry["config"], entry["status"]) == (str(config), "current")
    assert entry["age_seconds"] >= 0 and entry["file"] == str(entries(private_cache)[0])
    aged(config, CONFIG)  # changed since: the entry is stale until the next load
    again = runner.invoke(cli, ["plugins", "cache", "show"])
    assert "stale (the next load parses again)" in again.output
    assert secret not in shown.output + again.output + json.dumps(report)


def test_temporary_files_of_dead_writers_are_removed(tmp_path, private_cache):
    """A writer killed between creating its temporary file and renaming it leaves the file
    behind; the next write removes it once it is an hour old, `cache clear` at once."""
    private_cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    old = private_cache / ".config-4242-7f00.tmp"
    fresh = private_cache / ".config-4343-7f00.tmp"
    other = private_cache / ".plugins-4242-7f00.tmp"
    for path in (old, fresh, other):
        path.write_text("{", encoding="utf-8")
    stamp = time.time_ns() - int(2 * 3600 * 1e9)
    for path in (old, other):
        os.utime(path, ns=(stamp, stamp))
    load_config(aged(tmp_path / "config.yaml", CONFIG))  # writes an entry, then prunes
    assert not old.exists() and fresh.exists() and other.exists()  # each kind prunes its own
    cleared = CliRunner().invoke(cli, ["plugins", "cache", "clear"])
    assert cleared.exit_code == 0, cleared.output
    assert not fresh.exists() and not other.exists()
