"""Output that cannot be forged: every text OMI did not write (plugin names, classes, versions,
errors, entry points, sys.path entries, stored memories and their metadata, config values, file
paths) reaches every output escaped and on one line; JSON stays valid and keeps the data.

Not one example but the class: HOSTILE holds every code point of the Unicode categories Cc,
Cf, Zl and Zp (C0 with tab, CR and LF, DEL, C1, the bidi embeddings, overrides, isolates and
marks, zero-width characters, the BOM, tags, U+2028, U+2029), and each output path gets all of
them at once, through the real command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from xml.etree import ElementTree

import plugin_sources as src
import pytest
from run_omi import omi_process

from omi.builtin.sqlite import SQLiteBackend
from omi.textsafety import one_line, visible

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="Windows file names cannot hold control characters"
)

EMB = "omi.embedding_providers"

UNSAFE = frozenset(
    chr(code)
    for code in range(sys.maxunicode + 1)
    if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp")
)
HOSTILE = "".join(sorted(UNSAFE))
# What a line of entry_points.txt or METADATA can hold (str.splitlines ends a line at the rest).
LINE_SAFE = "".join(char for char in HOSTILE if len(f"a{char}b".splitlines()) == 1)
# What file names can hold: all but NUL, in pieces short enough for a file name.
NAME_SAFE = HOSTILE.replace("\0", "")
NAMES = [NAME_SAFE[start : start + 40] for start in range(0, len(NAME_SAFE), 40)]

HOSTILE_MODULE = (
    src.embedder("Embedder")
    + f"""
HOSTILE = {HOSTILE!r}
Embedder.__name__ = Embedder.__qualname__ = "Cls" + HOSTILE.replace("\\0", "")


class Failing(Embedder):
    def get_dimension(self):
        raise ValueError("dimension" + HOSTILE)


Failing.__name__ = Failing.__qualname__ = "Failing" + HOSTILE.replace("\\0", "")  # no NUL
"""
)


def test_hostile_holds_every_category_and_the_characters_named_in_the_issue():
    assert {
        "\r",
        "\n",
        "\x1b",
        "\x7f",
        "\x85",
        "\x9b",
        "\u2028",
        "\u2029",
        "\u200e",
        "\u200f",
        "\ufeff",
        "\U000e0001",
    } <= UNSAFE
    assert {chr(code) for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]} <= UNSAFE
    assert len(UNSAFE) > 200 and "\n" not in LINE_SAFE and "\x1b" in LINE_SAFE


def assert_shown(output: str, *texts: str) -> None:
    """`output` holds no unsafe character raw but OMI's own line feeds, and shows each of
    `texts` escaped, whole, on one line."""
    raw = sorted(f"U+{ord(char):04X}" for char in set(output) & UNSAFE if char != "\n")
    assert not raw, f"raw in the output: {raw}\n{output}"
    for text in texts:
        assert text in output, f"{text!r} not in:\n{output}"


def assert_json(output: str) -> object:
    """Valid JSON, with no unsafe character raw but its own line feeds."""
    assert_shown(output)
    return json.loads(output)


def run(*args: str, env: dict | None = None, code: int = 0) -> subprocess.CompletedProcess:
    """The console script, whose stdout is a real pipe with a strict encoder (and whose plain
    `plugins list` is its own fast path), exiting with `code`."""
    done = omi_process(*args, **(env or {}))
    assert done.returncode == code, done.stdout + done.stderr
    return done


@pytest.fixture
def hostile_site(make_dist, plugin_site, tmp_path, monkeypatch) -> Path:
    """A distribution whose names, version, entry points and errors hold HOSTILE, on a
    PYTHONPATH that also holds a directory named with it."""
    dist_info = make_dist(
        "omi-hostile",
        entry_points={
            EMB: {
                f"ok{LINE_SAFE}z": "hostile_mod:Embedder",
                f"bad{LINE_SAFE}z": "broken_mod:Cls",
                "failing": "hostile_mod:Failing",
            }
        },
        files={
            "hostile_mod.py": HOSTILE_MODULE,
            "broken_mod.py": f"raise ImportError('broken' + {HOSTILE!r})\n",
        },
    )
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: omi-hostile\nVersion: 1.0{LINE_SAFE}z\n", "utf-8"
    )
    strange = [tmp_path / f"dir{name}" for name in NAMES]
    for directory in strange:
        directory.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(map(str, [plugin_site, *strange])))
    stamp = time.time_ns() - 60 * 10**9  # older than the plugin index's racy window
    for path in [*plugin_site.rglob("*"), plugin_site, *strange]:
        os.utime(path, ns=(stamp, stamp))
    return strange


def test_plugins_list_and_cache_show_escape_every_field(hostile_site):
    version = visible(f"1.0{LINE_SAFE}z")
    for switch in ("1", "0"):  # a scan; then the index it wrote (or a scan again)
        env = {"OMI_NO_CACHE": switch}
        text = run("plugins", "list", "--verbose", env=env).stdout
        assert_shown(
            text,
            f"  {visible(f'ok{LINE_SAFE}z')} (Embedder) - v{version} ",
            f"  {visible(f'bad{LINE_SAFE}z')} (Cls) - v{version} ",
            one_line(f"broken{HOSTILE}"),
            f"from omi-hostile {version}: ",
        )
        listed = assert_json(run("plugins", "list", "--format", "json", env=env).stdout)
        names = [plugin["name"] for plugin in listed["groups"][EMB]]  # the data, unchanged
        assert {f"ok{LINE_SAFE}z", f"bad{LINE_SAFE}z"} <= set(names)
    shown = run("plugins", "cache", "show").stdout
    assert_shown(
        shown,
        *(f"  {visible(directory)}\n" for directory in hostile_site),
        f"{visible(f'ok{LINE_SAFE}z')} = ",
    )
    key = assert_json(run("plugins", "cache", "show", "--format", "json").stdout)["key"]
    assert set(map(str, hostile_site)) <= set(key["path"])


def test_plugins_check_reports_escape_the_class_name_and_the_failure(hostile_site, tmp_path):
    label = visible(f"Failing{NAME_SAFE}")
    failure = one_line(f"dimension{HOSTILE}")
    args = ["plugins", "check", "failing", "-k", "dimension_positive"]
    text = run(*args, code=1).stdout
    assert_shown(text, label, failure[:200])
    header = text.splitlines()[0]
    assert header.startswith(f"failing ({label}) from ") and header.endswith("[embedding]")
    report = assert_json(run(*args, "--format", "json", code=1).stdout)
    assert label in report["plugins"][0]["plugin"]
    junit = run(*args, "--format", "junit", code=1).stdout
    assert_shown(junit, label)
    suite = ElementTree.fromstring(junit.encode("utf-8")).find("testsuite")
    assert suite is not None and label in suite.get("name", "")


def test_recall_escapes_stored_content_and_metadata_in_text_and_json(tmp_path):
    database = tmp_path / "memories.db"
    backend = SQLiteBackend(database)  # as any program using the library may store it
    backend.store_memory(
        {"content": f"tea {HOSTILE}", "metadata": {f"key{HOSTILE}": f"value{HOSTILE}"}}
    )
    backend.close()
    config = tmp_path / "omi.yaml"
    config.write_text(f"storage: {{backend: sqlite, path: '{database}'}}\n")
    text = run("recall", "tea", "--config", str(config)).stdout
    assert_shown(
        text,
        one_line(f"tea {HOSTILE}"),
        f"[{visible(f'key{HOSTILE}')}={visible(f'value{HOSTILE}')}]",
    )
    assert len(text.splitlines()) == 1
    found = assert_json(run("recall", "tea", "--config", str(config), "--format", "json").stdout)
    assert found["results"][0]["metadata"] == {f"key{HOSTILE}": f"value{HOSTILE}"}
    assert found["results"][0]["content"] == f"tea {HOSTILE}"


def test_config_show_and_errors_escape_values_and_paths(tmp_path):
    config = tmp_path / "omi.yaml"
    import yaml

    config.write_text(yaml.safe_dump({"storage": {"backend": "sqlite", "path": f"db{NAME_SAFE}"}}))
    shown = run("config", "show", "--config", str(config)).stdout
    assert_shown(shown)
    assert yaml.safe_load(shown)["storage"]["path"] == f"db{NAME_SAFE}"
    document = assert_json(
        run("config", "show", "--config", str(config), "--format", "json").stdout
    )
    assert document["storage"]["path"] == f"db{NAME_SAFE}"
    for name in NAMES:
        missing = tmp_path / f"missing{name}.yaml"
        error = run("recall", "tea", "--config", str(missing), code=2).stderr
        assert_shown(error, one_line(missing))  # an error's whitespace runs are one space
        assert len(error.splitlines()) == 1 and error.startswith("Error: ")
