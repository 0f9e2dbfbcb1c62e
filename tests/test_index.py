"""The persistent plugin index: whatever is installed, changed or removed, a listing through
the index equals the listing of a fresh scan (OMI_NO_CACHE=1).

Each case runs real interpreters on a sys.path of real `*.dist-info` distributions, with the
user cache directory in tmp_path. Files are dated a minute back before the index may be
written: the index refuses to trust a timestamp younger than its racy window.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import plugin_sources as src
import pytest
from click.testing import CliRunner

import omi
from omi import cachefiles, distributions, index
from omi.cli import cli


def _load_conftest():
    """tests/conftest.py as a module (a bare `import conftest` may find tests/data's)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "omi_tests_conftest", Path(__file__).with_name("conftest.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


write_distribution = _load_conftest().write_distribution

EMB, STO, EVT = "omi.embedding_providers", "omi.storage_backends", "omi.event_handlers"

LISTING = """
import json, logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s: %(message)s")
from omi import plugins
found = plugins.discover_plugins()
out = {g: [[ep.name, ep.value, ep.group, plugins.distribution_name(ep),
            plugins.distribution_version(ep), plugins.is_builtin(ep)] for ep in eps]
       for g, eps in found.items()}
registry = plugins.PluginRegistry()
out["registry"] = {g: {n: i.to_dict() for n, i in infos.items()}
                   for g, infos in registry.list_all().items()}
out["misplaced"] = [[i.name, i.group, meant] for i, meant in registry.misplaced()]
out["load"] = {}
for g, eps in found.items():
    for ep in eps:
        try:
            plugins.load_plugin(g, ep.name)
            out["load"][g + ":" + ep.name] = "ok"
        except plugins.PluginError as error:
            out["load"][g + ":" + ep.name] = str(error)
print(json.dumps(out))
"""


def age(*paths: Path, seconds: float = 60.0) -> int:
    """Date every file and directory under `paths` `seconds` back; return that time in ns."""
    stamp = time.time_ns() - int(seconds * 1e9)
    for path in paths:
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.utime(os.path.join(root, name), ns=(stamp, stamp))
        os.utime(path, ns=(stamp, stamp))
    return stamp


class Env:
    """Runs the listing in a subprocess with a given PYTHONPATH, cached and uncached."""

    def __init__(self, tmp_path: Path, cache: Path) -> None:
        self.cwd = tmp_path / "cwd"
        self.cwd.mkdir()
        age(self.cwd)  # once: `python -c` puts it on sys.path, so its mtime is fingerprinted
        self.cache = cache
        self.pythonpath: list[Path] = []

    def site(self, name: str) -> Path:
        site = self.cwd.parent / name
        site.mkdir(exist_ok=True)
        return site

    def run(
        self,
        *,
        cached: bool = True,
        python: list[str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[dict, str]:
        done = self.python(LISTING, cached=cached, python=python, extra=extra)
        return json.loads(done.stdout), done.stderr

    def python(
        self,
        code: str,
        *,
        cached: bool = True,
        python: list[str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "XDG_CACHE_HOME": str(self.cache.parent),
            "PYTHONPATH": os.pathsep.join(str(p) for p in self.pythonpath),
            **(extra or {}),
        }
        env.pop("OMI_NO_CACHE", None)
        if "OMI_LOAD_PLUGINS" not in (extra or {}):
            env.pop("OMI_LOAD_PLUGINS", None)
        if not cached:
            env["OMI_NO_CACHE"] = "1"
        done = subprocess.run(
            [*(python or [sys.executable]), "-c", code],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done

    def check(self, expect: str, **kwargs) -> dict:
        """Run cached, assert the index was a hit/miss as expected, and that the listing
        equals an uncached one."""
        cached, log = self.run(**kwargs)
        uncached, _ = self.run(cached=False, **kwargs)
        assert cached == uncached
        first = next(
            line
            for line in log.splitlines()
            if "plugin index hit" in line or "plugin index miss" in line
        )
        assert f"plugin index {expect}" in first, log  # the process's first discovery
        return cached


@pytest.fixture
def env(tmp_path: Path, private_cache: Path) -> Env:
    return Env(tmp_path, private_cache)


def embedder_dist(
    site: Path,
    name: str = "omi-emb-one",
    version: str = "0.1.0",
    plugin: str = "one",
    module: str = "emb_one",
) -> Path:
    return write_distribution(
        site,
        name,
        version,
        entry_points={
            EMB: {plugin: f"{module}:Embedder"},
            "console_scripts": {name: f"{module}:main"},
        },
        files={f"{module}.py": src.embedder("Embedder")},
    )


def names(listing: dict, group: str = EMB) -> list[tuple[str, str]]:
    return [(ep[0], ep[4]) for ep in listing[group]]


def test_first_run_writes_the_index_and_the_second_reads_it(env):
    site = env.site("site")
    embedder_dist(site)
    write_distribution(
        site,
        "omi-store",
        entry_points={STO: {"store": "st:Backend"}},
        files={"st.py": src.backend("Backend")},
    )
    env.pythonpath = [site]
    age(site)
    first = env.check("miss")
    assert ("one", "0.1.0") in names(first) and names(first, STO) == [("store", "0.1.0")]
    assert ["nim", "ollama"] == [ep[0] for ep in first[EMB] if ep[5]]  # built-ins still first
    assert len(list(env.cache.glob("plugins-*.json"))) == 1
    env.check("hit")


@pytest.mark.slow
def test_install_uninstall_and_upgrade_are_seen_at_once(env):
    site = env.site("site")
    embedder_dist(site)
    env.pythonpath = [site]
    age(site)
    env.check("miss")
    env.check("hit")
    two = embedder_dist(site, "omi-emb-two", plugin="two", module="emb_two")  # install
    assert ("two", "0.1.0") in names(env.check("miss"))
    shutil.rmtree(two)  # uninstall
    assert "two" not in [n for n, _ in names(env.check("miss"))]
    shutil.rmtree(site / "omi_emb_one-0.1.0.dist-info")  # upgrade, as pip does it
    embedder_dist(site, version="0.2.0")
    assert ("one", "0.2.0") in names(env.check("miss"))
    age(site)
    env.check("miss")  # the files are old enough now: the index is written again
    assert ("one", "0.2.0") in names(env.check("hit"))


@pytest.mark.slow
def test_editable_entry_points_changed_in_place_within_the_same_second(env):
    site = env.site("site")
    dist_info = embedder_dist(site)
    write_distribution(site, "other", files={"other_mod.py": src.embedder("Other")})
    env.pythonpath = [site]
    stamp = age(site)
    env.check("miss")
    env.check("hit")
    entry_points = dist_info / "entry_points.txt"
    text = entry_points.read_text()
    # Same size, same second (1 ns later), directory untouched: only the ns mtime differs.
    entry_points.write_text(text.replace("one = emb_one:Embedder", "uno = emb_one:Embedder"))
    os.utime(entry_points, ns=(stamp + 1, stamp + 1))
    os.utime(dist_info, ns=(stamp, stamp))
    assert [n for n, _ in names(env.check("miss"))][-1] == "uno"
    env.check("hit")
    # Same mtime to the nanosecond, different size: the size gives it away.
    entry_points.write_text(
        entry_points.read_text().replace(
            "uno = emb_one:Embedder", "dos = emb_one:Embedder\nother = other_mod:Other"
        )
    )
    os.utime(entry_points, ns=(stamp + 1, stamp + 1))
    assert {"dos", "other"} <= {n for n, _ in names(env.check("miss"))}
    env.check("hit")


# `omi plugins list` as the console script answers it (without click), logging the index. The
# console script's sys.path does not hold the working directory (which Env.run re-dates).
CONSOLE_LIST = """
import atexit, logging, sys
WATCHED = ("click", "importlib.metadata", "omi.diagnosis", "packaging")
atexit.register(lambda: print("imported:", ",".join(m for m in WATCHED if m in sys.modules),
                              file=sys.stderr))
sys.path[:] = [entry for entry in sys.path if entry]
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s: %(message)s")
sys.argv = ["omi", "plugins", "list"]
from omi.cli.launch import main
main()
"""


def imported(log: str) -> list[str]:
    """Which of CONSOLE_LIST's watched modules the process imported."""
    line = next(line for line in log.splitlines() if line.startswith("imported:"))
    return [name for name in line.split(":", 1)[1].strip().split(",") if name]


def test_a_warm_list_imports_no_diagnosis_packaging_metadata_or_click(env):
    site = env.site("site")
    embedder_dist(site)
    env.pythonpath = [site]
    age(site)
    console_list(env, "miss")
    warm = env.python(CONSOLE_LIST)
    assert "plugin index hit" in warm.stderr and imported(warm.stderr) == []
    assert "  one (Embedder) - v0.1.0 [interface: 1.0] ✓" in warm.stdout.splitlines()


def console_list(env: Env, expect: str) -> str:
    done = env.python(CONSOLE_LIST)
    assert f"plugin index {expect}" in done.stderr, done.stderr
    return done.stdout


@pytest.mark.slow
def test_a_warm_list_shows_a_misplaced_plugin_until_its_group_is_fixed(env):
    site = env.site("site")
    dist_info = write_distribution(
        site,
        "omi-emb-mine",
        entry_points={"omi.embedding_provider": {"mine": "mine:Mine"}},
        files={"mine.py": src.embedder("Mine")},
    )
    env.pythonpath = [site]
    stamp = age(site)
    assert env.check("miss")["misplaced"] == [["mine", "omi.embedding_provider", EMB]]
    cold = console_list(env, "miss")
    warm = console_list(env, "hit")
    assert warm == cold
    assert (
        "\n\nNot loaded:\n  mine (Mine) - v0.1.0 ✗ registered in group "
        "'omi.embedding_provider', which OMI does not read (did you mean "
        f"'{EMB}'?)"
    ) in warm
    # The author fixes the group and reinstalls in place, within the same second.
    entry_points = dist_info / "entry_points.txt"
    entry_points.write_text(entry_points.read_text().replace("omi.embedding_provider]", f"{EMB}]"))
    os.utime(entry_points, ns=(stamp + 1, stamp + 1))
    os.utime(dist_info, ns=(stamp, stamp))
    fixed = console_list(env, "miss")
    assert "Not loaded" not in fixed
    assert "  mine (Mine) - v0.1.0 [interface: 1.0] ✓" in fixed.splitlines()
    assert console_list(env, "hit") == fixed
    listing = env.check("miss")
    assert listing["misplaced"] == [] and ("mine", "0.1.0") in names(listing)


def test_a_warm_list_shows_a_range_conflict_without_importing_packaging(env):
    site = env.site("site")
    dist_info = embedder_dist(site, "omi-emb-old", plugin="old", module="emb_old")
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: omi-emb-old\n"
        "Version: 0.1.0\nRequires-Dist: omi-openclaw<0.3\n"
    )
    env.pythonpath = [site]
    age(site)
    conflict = (
        "omi-emb-old 0.1.0 has requirement omi-openclaw<0.3, but you have "
        f"omi-openclaw {omi.__version__}"
    )
    assert env.check("miss")["registry"][EMB]["old"]["conflict"] == conflict
    cold = env.python(CONSOLE_LIST)
    assert "packaging" in imported(cold.stderr)  # the scan checked the range
    warm = env.python(CONSOLE_LIST)
    assert "plugin index hit" in warm.stderr and imported(warm.stderr) == []
    assert warm.stdout == cold.stdout
    assert f"  old (Embedder) - v0.1.0 [interface: 1.0] ✓ ⚠ {conflict}" in warm.stdout


def test_a_version_edited_in_place_in_an_egg_info_is_seen(env):
    site = env.site("site")
    egg = site / "omi_egg.egg-info"  # setup.py develop: no version in the directory's name
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: omi-egg\nVersion: 1.0\n")
    (egg / "entry_points.txt").write_text(f"[{EVT}]\negg = egg_mod:Handler\n")
    (site / "egg_mod.py").write_text(src.handler("Handler"))
    env.pythonpath = [site]
    stamp = age(site)
    assert names(env.check("miss"), EVT) == [("egg", "1.0")]
    (egg / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: omi-egg\nVersion: 2.0\n")
    os.utime(egg / "PKG-INFO", ns=(stamp + 1, stamp + 1))
    os.utime(egg, ns=(stamp, stamp))
    assert names(env.check("miss"), EVT) == [("egg", "2.0")]


@pytest.mark.slow
def test_an_in_place_edit_that_puts_the_mtime_back_is_seen(env):
    site = env.site("site")
    dist_info = embedder_dist(site)
    env.pythonpath = [site]
    stamp = age(site)
    env.check("miss")
    env.check("hit")
    entry_points = dist_info / "entry_points.txt"
    # `cp -p`, `rsync --inplace`: same size, mtime to the nanosecond, directory untouched.
    with entry_points.open("r+") as file:
        text = file.read()
        file.seek(0)
        file.write(text.replace("one = emb_one:Embedder", "uno = emb_one:Embedder"))
    os.utime(entry_points, ns=(stamp, stamp))
    os.utime(dist_info, ns=(stamp, stamp))
    assert "uno" in [n for n, _ in names(env.check("miss"))]
    env.check("hit")


@pytest.mark.slow
def test_entry_points_of_an_egg_directory_on_sys_path_are_fingerprinted(env):
    egg = env.site("omi_egg-1.0-py3.egg")  # what easy_install (and a .pth) puts on sys.path
    (egg / "EGG-INFO").mkdir()
    (egg / "EGG-INFO" / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nName: omi-egg\nVersion: 1.0\n"
    )
    (egg / "EGG-INFO" / "entry_points.txt").write_text(f"[{EVT}]\negg = egg_mod:Handler\n")
    (egg / "egg_mod.py").write_text(src.handler("Handler"))
    env.pythonpath = [egg]
    stamp = age(egg)
    assert names(env.check("miss"), EVT) == [("egg", "1.0")]
    env.check("hit")
    (egg / "EGG-INFO" / "entry_points.txt").write_text(
        f"[{EVT}]\negg = egg_mod:Handler\nsecond = egg_mod:Handler\n"
    )
    os.utime(egg / "EGG-INFO" / "entry_points.txt", ns=(stamp + 1, stamp + 1))  # dirs as were
    assert names(env.check("miss"), EVT) == [("egg", "1.0"), ("second", "1.0")]
    env.check("hit")


PLANTED = ["planted", "planted_mod:Cls", EMB, None]


def planted_index(env: Env, monkeypatch) -> Path:
    """A good index with one entry point added that no distribution declares: what another
    user who can write the cache directory could make omi list and import."""
    site = env.site("site")
    embedder_dist(site)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(cachefiles, "RACY_NS", 0)  # whatever on sys.path (tests/) was just edited
    index.entry_points((EMB, STO, EVT))
    (file,) = env.cache.glob("plugins-*.json")
    document = json.loads(file.read_text())
    document["entry_points"].append(PLANTED)
    file.write_text(json.dumps(document))
    assert PLANTED[0] in [ep.name for ep in index.entry_points((EMB, STO, EVT))[EMB]]
    return file


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="Windows: os.stat has no owner or modes")
@pytest.mark.parametrize(
    "how",
    [
        "file open to others",
        "directory open to others",
        "another user's file",
        "a symlink to a file",
    ],
)
def test_an_index_another_user_could_have_written_is_not_read(env, monkeypatch, how):
    file = planted_index(env, monkeypatch)
    if how == "file open to others":
        file.chmod(0o622)
    elif how == "directory open to others":
        file.parent.chmod(0o777)
    elif how == "another user's file":
        owner = file.stat().st_uid
        monkeypatch.setattr(os, "getuid", lambda: owner + 1)
    else:
        elsewhere = env.cwd.parent / "elsewhere.json"
        file.rename(elsewhere)
        file.symlink_to(elsewhere)
    found = index.entry_points((EMB, STO, EVT))
    assert PLANTED[0] not in [ep.name for ep in found[EMB]]
    assert "one" in [ep.name for ep in found[EMB]]
    shown = index.show()
    if how in ("directory open to others", "another user's file"):  # not written there either
        assert PLANTED in json.loads(file.read_text())["entry_points"]
        assert shown["status"] == f"ignored: it {cachefiles.UNTRUSTED_DIRECTORY}"
    else:  # the scan put a good index in its place
        assert not file.is_symlink() and file.stat().st_mode & 0o777 == 0o600
        assert PLANTED not in json.loads(file.read_text())["entry_points"]
        assert shown["status"] == "current"


def test_a_broken_distribution_is_reported_and_everything_else_works(env):
    site = env.site("site")
    embedder_dist(site)
    broken = write_distribution(site, "broken", entry_points={EVT: {"b": "broken_mod:H"}})
    (broken / "entry_points.txt").write_bytes(b"[console_scripts]\nx = caf\xe9:main\n")
    odd = write_distribution(site, "odd", entry_points={STO: {"odd": "odd_mod:S"}})
    (odd / "METADATA").write_bytes(b"Metadata-Version: 2.1\nName: odd\nVersion: 1.0\xff\n")
    env.pythonpath = [site]
    age(site)
    problems = [
        f"{broken}/entry_points.txt is not valid UTF-8 (byte 0xE9 at offset 25): its "
        f"entry points are ignored; reinstall or remove that distribution",
        f"{odd}/METADATA is not valid UTF-8 (byte 0xFF at offset 44): its name and "
        f"version are shown with U+FFFD for the bad bytes; reinstall or remove that "
        f"distribution",
    ]
    command = [str(Path(sys.executable).with_name("omi")), "plugins", "list"]
    environ = {**os.environ, "XDG_CACHE_HOME": str(env.cache.parent), "PYTHONPATH": str(site)}
    for switch in ("1", "0", "0"):  # no index; the scan that writes it; the index
        listed = subprocess.run(
            [*command, "--format", "json"],
            capture_output=True,
            text=True,
            env={**environ, "OMI_NO_CACHE": switch},
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert listed.stderr.splitlines() == problems
        plugins = json.loads(listed.stdout)["groups"]
        assert [p["name"] for p in plugins[EMB]] == ["nim", "ollama", "one"]
        assert [(p["name"], p["version"]) for p in plugins[STO]] == [("odd", "1.0\ufffd")]
        assert plugins[EVT] == []
    checked = subprocess.run(
        [*command[:2], "check", "one", "-k", "dimension_positive"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 passed, 0 failed" in checked.stdout
    assert problems[0] in checked.stderr


@pytest.mark.slow
def test_pythonpath_changes_and_new_sys_path_entries(env):
    first, second = env.site("first"), env.site("second")
    embedder_dist(first)
    embedder_dist(second, "omi-emb-two", plugin="two", module="emb_two")
    # the same distribution name twice on sys.path: the first entry wins, as in a scan
    embedder_dist(second, "omi-emb-one", "9.0", plugin="shadowed", module="emb_shadow")
    age(first, second)
    env.pythonpath = [first]
    env.check("miss")
    env.pythonpath = [first, second]  # a new sys.path entry: another key, another file
    both = env.check("miss")
    assert {"one", "two"} <= {n for n, _ in names(both)}
    assert "shadowed" not in {n for n, _ in names(both)}
    env.pythonpath = [second, first]  # the order matters
    flipped = env.check("miss")
    assert ("shadowed", "9.0") in names(flipped) and "one" not in {n for n, _ in names(flipped)}
    env.pythonpath = [first]
    env.check("hit")  # its own index is still there and still current
    assert len(list(env.cache.glob("plugins-*.json"))) == 3


@pytest.mark.slow
def test_two_interpreters_share_one_cache_directory(env):
    site = env.site("site")
    embedder_dist(site)
    env.pythonpath = [site]
    age(site)
    isolated = [sys.executable, "-I"]  # no PYTHONPATH, no script directory: another sys.path
    env.check("miss")
    without = env.check("miss", python=isolated)
    assert "one" not in {n for n, _ in names(without)}
    assert ("one", "0.1.0") in names(env.check("hit"))
    env.check("hit", python=isolated)
    files = list(env.cache.glob("plugins-*.json"))
    assert len(files) == 2
    keys = [json.loads(f.read_text())["key"]["path"] for f in files]
    assert keys[0] != keys[1]


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        # each costs three interpreters (about a second): the others, in the whole suite only
        *(
            pytest.param(damage, marks=pytest.mark.slow)
            for damage in ["garbage", "not an object", "wrong shape", "foreign key"]
        ),
    ],
)
def test_a_damaged_index_means_a_scan_never_an_error(env, damage):
    site = env.site("site")
    embedder_dist(site)
    env.pythonpath = [site]
    age(site)
    env.check("miss")
    (file,) = env.cache.glob("plugins-*.json")
    data = file.read_bytes()
    document = json.loads(data)
    if damage == "truncated":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        file.write_bytes(b"\x00\xff" * 100)
    elif damage == "not an object":
        file.write_text("[1, 2, 3]")
    elif damage == "wrong shape":
        document["entry_points"] = [[1, 2]]
        file.write_text(json.dumps(document))
    else:
        document["key"]["executable"] = "/elsewhere/python"
        file.write_text(json.dumps(document))
    env.check("miss")
    env.check("hit")  # the scan wrote a good index again


def test_an_oversized_index_is_not_read(env, monkeypatch):
    site = env.site("site")
    embedder_dist(site)
    monkeypatch.syspath_prepend(str(site))
    age(site)
    index.entry_points((EMB, STO, EVT))
    (file,) = env.cache.glob("plugins-*.json")
    assert index._read(str(file))[0] is not None
    monkeypatch.setattr(index, "MAX_BYTES", file.stat().st_size - 1)
    assert index._read(str(file)) == (None, f"is larger than {index.MAX_BYTES} bytes")


def test_an_unwritable_cache_directory_costs_only_the_cache(env, tmp_path):
    site = env.site("site")
    embedder_dist(site)
    env.pythonpath = [site]
    age(site)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    extra = {"XDG_CACHE_HOME": str(blocker)}  # the cache directory cannot be made
    cached, log = env.run(extra=extra)
    assert cached == env.run(cached=False)[0]
    assert "plugin index not written" in log


@pytest.mark.slow
def test_concurrent_writers_leave_a_good_index(env):
    site = env.site("site")
    for number in range(20):
        embedder_dist(site, f"omi-emb-{number}", plugin=f"p{number}", module=f"emb_{number}")
    env.pythonpath = [site]
    age(site, env.cwd)
    expected = env.run(cached=False)[0]
    environ = {**os.environ, "XDG_CACHE_HOME": str(env.cache.parent), "PYTHONPATH": str(site)}
    environ.pop("OMI_NO_CACHE", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", LISTING],
            cwd=env.cwd,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert json.loads(out) == expected
    assert [p.name for p in env.cache.iterdir()] == [
        p.name for p in env.cache.glob("plugins-*.json")
    ]  # no temporary file left behind
    assert env.check("hit") == expected


def test_files_too_new_to_trust_are_not_indexed(env):
    site = env.site("site")
    embedder_dist(site)  # written just now: its mtime may not move on the next edit
    env.pythonpath = [site]
    _, log = env.run()
    assert "changed too recently" in log
    assert not list(env.cache.glob("plugins-*.json"))


def test_omi_no_cache_writes_nothing(env):
    site = env.site("site")
    embedder_dist(site)
    env.pythonpath = [site]
    age(site)
    env.run(cached=False)
    assert not env.cache.exists() or not list(env.cache.iterdir())


def test_doubled_names_and_the_load_switch_behave_as_without_the_index(env):
    site = env.site("site")
    embedder_dist(site, "omi-emb-a", plugin="twin", module="emb_a")
    embedder_dist(site, "omi-emb-b", plugin="twin", module="emb_b")
    env.pythonpath = [site]
    age(site)
    env.check("miss")
    listing = env.check("hit")
    assert "registered by 2 distributions" in listing["load"][f"{EMB}:twin"]
    chosen = env.check("hit", extra={"OMI_LOAD_PLUGINS": "omi-emb-b"})
    assert chosen["load"][f"{EMB}:twin"] == "ok"
    assert chosen["registry"][EMB]["twin"]["distribution"] == "omi-emb-b"


def test_cache_show_and_clear(env, monkeypatch):
    site = env.site("site")
    embedder_dist(site)
    monkeypatch.syspath_prepend(str(site))
    age(site)
    runner = CliRunner()
    assert "status: absent" in runner.invoke(cli, ["plugins", "cache", "show"]).output
    index.entry_points((EMB, STO, EVT))
    shown = runner.invoke(cli, ["plugins", "cache", "show"])
    assert shown.exit_code == 0, shown.output
    assert "status: current" in shown.output and "one = emb_one:Embedder" in shown.output
    document = json.loads(
        runner.invoke(cli, ["plugins", "cache", "show", "--format", "json"]).output
    )
    assert document["key"]["path"] == sys.path and document["age_seconds"] >= 0
    entry = next(e for e in document["entries"] if e["name"] == "one")
    assert (entry["distribution"], entry["version"]) == ("omi-emb-one", "0.1.0")
    cleared = runner.invoke(cli, ["plugins", "cache", "clear"])
    assert cleared.exit_code == 0 and "Removed 1 plugin index file(s)" in cleared.output
    assert "status: absent" in runner.invoke(cli, ["plugins", "cache", "show"]).output


def test_requires_dist_on_omi_is_recorded(env, monkeypatch):
    site = env.site("site")
    dist_info = embedder_dist(site)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: omi-emb-one\nVersion: 0.1.0\n"
        "Requires-Dist: omi-openclaw>=0.1\nRequires-Dist: requests\n"
    )
    monkeypatch.syspath_prepend(str(site))
    age(site)
    index.entry_points((EMB, STO, EVT))
    found = index.entry_points((EMB, STO, EVT))[EMB]
    one = next(ep for ep in found if ep.name == "one")
    assert isinstance(one, distributions.CachedEntryPoint)
    assert one.dist.requires_omi == ["omi-openclaw>=0.1"]
    assert one.dist.metadata["Version"] == "0.1.0"  # the rest of the metadata, on demand
    assert (one.module, one.attr) == ("emb_one", "Embedder")
    assert one.load().__name__ == "Embedder"


def test_verbose_list_shows_import_times_slowest_first(make_dist):
    make_dist(
        "omi-slow",
        entry_points={EMB: {"slow": "slow_mod:Slow"}},
        files={"slow_mod.py": "import time\ntime.sleep(0.3)\n" + src.embedder("Slow")},
    )
    result = CliRunner().invoke(cli, ["plugins", "list", "--verbose", "--group", "embedding"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("  slow (Slow)")
    assert lines[3].startswith("      imported in ") and float(lines[3].split()[2]) >= 300
    assert len([line for line in lines if "imported in" in line]) == 3  # nim, ollama, slow


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-v"],
        ["--format", "json"],
        ["--format=json"],
        ["--group=storage", "--verbose"],
        ["--group", "embedding"],
    ],
)
def test_the_console_script_answers_plain_lists_as_click_does(make_dist, argv):
    make_dist(
        "omi-emb-x", entry_points={EMB: {"x": "emb_x:X"}}, files={"emb_x.py": src.embedder("X")}
    )
    make_dist("omi-emb-typo", entry_points={"omi.embedding_provider": {"typo": "emb_x:X"}})
    old = make_dist("omi-emb-old", entry_points={EMB: {"old": "emb_x:X"}})
    (old / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: omi-emb-old\nVersion: 0.1.0\n"
        "Requires-Dist: omi-openclaw<0.1\n"
    )
    omi = str(Path(sys.executable).with_name("omi"))
    fast = subprocess.run([omi, "plugins", "list", *argv], capture_output=True, text=True)
    slow = CliRunner().invoke(cli, ["plugins", "list", *argv])
    assert fast.returncode == slow.exit_code == 0, fast.stderr

    def timeless(text: str) -> list[str]:  # --verbose orders by import time, which varies
        text = re.sub(r"\S+/python[\d.]* -m pip", "PYTHON -m pip", text)  # python vs python3
        lines = [line for line in text.splitlines() if "imported in" not in line]
        return sorted(lines) if "-v" in argv or "--verbose" in argv else lines

    assert timeless(fast.stdout) == timeless(slow.output)
    if "--group=storage" not in argv:
        assert "typo" in fast.stdout and "has requirement omi-openclaw<0.1" in fast.stdout


def test_only_plain_list_command_lines_skip_click():
    from omi.cli.launch import parse_plain_list

    assert parse_plain_list(["plugins", "list", "-v", "--format", "json"]) == (
        "json",
        None,
        True,
        False,
    )
    assert parse_plain_list(["plugins", "list", "--group", "storage"]) == (
        "text",
        "storage",
        False,
        False,
    )
    assert parse_plain_list(["plugins", "list", "--strict"]) == ("text", None, False, True)
    for argv in (
        ["--debug", "plugins", "list"],
        ["plugins", "list", "--format", "xml"],
        ["plugins", "list", "--bogus"],
        ["plugins", "list", "--group"],
        ["plugins", "list", "--help"],
        ["plugins", "check", "x"],
        ["plugins", "list", "x"],
        ["plugins", "list", "--strict=yes"],
    ):
        assert parse_plain_list(argv) is None, argv


def test_the_fast_path_names_an_error_without_a_message_as_click_does(monkeypatch, capsys):
    from omi.cli import launch

    def out_of_memory(group):
        raise MemoryError()

    monkeypatch.setattr("omi.listing.list_report", out_of_memory)
    monkeypatch.setattr(sys, "argv", ["omi", "plugins", "list"])
    monkeypatch.delenv("OMI_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        launch.main()
    assert exited.value.code == 1
    assert capsys.readouterr().err == (
        "Error: MemoryError (no message); rerun with --debug for the traceback\n"
    )


def zipped_site(staging: Path, target: Path, version: str, plugin: str) -> Path:
    """A zip file holding one distribution (its dist-info and module), as a sys.path entry."""
    import zipfile

    shutil.rmtree(staging, ignore_errors=True)
    embedder_dist(staging, "omi-emb-zip", version=version, plugin=plugin, module="emb_zip")
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(staging.rglob("*")):
            archive.write(file, file.relative_to(staging).as_posix())
    age(target)
    return target


@pytest.mark.slow
def test_a_zip_file_on_sys_path_is_fingerprinted_by_its_own_stat(env, tmp_path):
    archive = zipped_site(tmp_path / "staging", tmp_path / "site.zip", "0.1.0", "zipped")
    env.pythonpath = [archive]
    assert ("zipped", "0.1.0") in names(env.check("miss"))
    listing = env.check("hit")
    assert listing["load"][f"{EMB}:zipped"] == "ok"  # the module is imported from the zip
    zipped_site(tmp_path / "staging", archive, "0.2.0", "rezipped")  # rewritten in place
    changed = names(env.check("miss"))
    assert ("rezipped", "0.2.0") in changed and "zipped" not in [n for n, _ in changed]
    assert ("rezipped", "0.2.0") in names(env.check("hit"))


def test_a_cached_distribution_in_a_zip_file_reads_its_metadata(env, tmp_path, monkeypatch):
    archive = zipped_site(tmp_path / "staging", tmp_path / "site.zip", "0.3.0", "zipped")
    monkeypatch.syspath_prepend(str(archive))
    index.entry_points((EMB,))
    (entry_point,) = [ep for ep in index.entry_points((EMB,))[EMB] if ep.name == "zipped"]
    assert isinstance(entry_point, distributions.CachedEntryPoint)  # served by the index
    assert entry_point.dist.metadata["Version"] == "0.3.0"
    assert "emb_zip:Embedder" in entry_point.dist.read_text("entry_points.txt")


def test_stale_index_files_are_pruned_only_when_an_index_is_written(env):
    site = env.site("site")
    embedder_dist(site)
    env.pythonpath = [site]
    age(site)
    env.cache.mkdir(parents=True)
    days = (cachefiles.MAX_AGE_DAYS + 1) * 86400
    old = env.cache / "plugins-0000000000000000.json"
    undeletable = env.cache / "plugins-1111111111111111.json"  # a directory: unlink fails
    other_kind = env.cache / "config-0000000000000000.json"
    undeletable.mkdir()
    for file in (old, other_kind):
        file.write_text("{}")
    recent = [env.cache / f"plugins-{n:016x}.json" for n in range(2, cachefiles.MAX_FILES + 6)]
    for number, file in enumerate(recent):
        file.write_text("{}")
        stamp = time.time() - 3600 + number  # the first ones the oldest
        os.utime(file, (stamp, stamp))
    age(old, undeletable, other_kind, seconds=days)
    env.check("miss")
    kept = set(env.cache.glob("plugins-*.json"))
    assert old not in kept and other_kind.exists() and undeletable in kept
    # the new index and the newest others, up to MAX_FILES besides the undeletable one
    assert len(kept - {undeletable}) == cachefiles.MAX_FILES
    assert set(recent[-(cachefiles.MAX_FILES - 1) :]) <= kept and recent[0] not in kept
    old.write_text("{}")
    age(old, seconds=days)
    env.check("hit")
    assert old.exists()  # a hit writes nothing, so it prunes nothing


def test_another_omi_version_has_its_own_index(monkeypatch):
    """The index records range verdicts about the running omi-openclaw: a new version (an
    editable checkout bumped in place) must not read them."""
    before = index.cache_file()
    monkeypatch.setattr(index, "__version__", "99.0")
    assert index.interpreter_key()["omi"] == "99.0" and index.cache_file() != before


@pytest.mark.parametrize(
    "value",
    [
        "pkg.mod:Class",
        "mod",
        "mod:",
        "mod :Class",
        "mod: Class ",
        "mod:Outer.Inner",
        " mod:Class",
        "mod:Class extra",
        "mod:Class [extra1, extra2]",
        "mod[extra]",
        "1mod:x",
        "pkg..mod:x",
        "mod:Cla-ss",
        "módulo:Clase",
        "mod\u00a0:Class",
        "mod:Class\n",
        "a\u00b7b:C",
        "mod::Class",
        "mod:Class:Other",
        "",
        ":Class",
    ],
)
def test_an_indexed_entry_point_splits_its_value_as_importlib_metadata_does(value):
    from importlib.metadata import EntryPoint

    real = EntryPoint(name="x", value=value, group="omi.embedding_providers")
    cached = distributions.CachedEntryPoint("x", value, "omi.embedding_providers")
    match = real.pattern.match(value)
    if match is None:  # importlib.metadata raises for these; the index names the module part
        assert (cached.module, cached.attr, cached.extras) == (
            value.partition(":")[0].strip(),
            "",
            [],
        )
    else:
        assert (cached.module, cached.attr, cached.extras) == (
            real.module,
            real.attr or "",
            real.extras,
        )


def test_cache_file_names_are_stable_and_tell_keys_apart():
    names = {cachefiles.digest(f"/venv-{number}/bin/python".encode()) for number in range(1000)}
    assert len(names) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{16}", name) for name in names)
    assert cachefiles.digest(b"/usr/bin/python3") == cachefiles.digest(b"/usr/bin/python3")
    assert cachefiles.digest(b"") != cachefiles.digest(b"\x00")  # a leading zero byte still counts
