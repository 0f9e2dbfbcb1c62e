"""Every package in examples/ installed for real, then its own tests, `omi plugins check` and
`omi plugins list`, all inside one throwaway virtual environment.

The examples are found by listing examples/, so a new one is covered without editing this file.
Nothing is installed into the environment running these tests: the packages go into a venv
made for the session. The environment of the test command is passed through (minus
PYTHONPATH and VIRTUAL_ENV, which would leak this environment's packages into that one).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from venvs import make_venv

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(
    path for path in (ROOT / "examples").iterdir() if (path / "pyproject.toml").is_file()
)
EVENT_TYPES = (
    "memory.stored",
    "memory.recalled",
    "session.started",
    "session.ended",
    "checkpoint.created",
    "belief.updated",
)

#: Environment variables an example cannot be tested without, and where they come from.
REQUIRED_ENVIRONMENT = {
    "omi-storage-postgres": (
        "OMI_POSTGRES_DSN",
        "run the suite with `bash scripts/test.sh`, which starts a throwaway PostgreSQL server "
        "and exports OMI_POSTGRES_DSN, or export a DSN of a database the tests may use",
    ),
}


class EntryPoint(NamedTuple):
    group: str
    name: str
    class_name: str
    version: str


class Venv(NamedTuple):
    path: Path
    env: dict[str, str]
    entry_points: dict[str, list[EntryPoint]]  # example directory name -> its plugins

    def run(
        self, *command: str, cwd: Path = ROOT, timeout: float = 180
    ) -> subprocess.CompletedProcess:
        """Run a program of the venv's bin/ with the venv's environment."""
        program = str(self.path / "bin" / command[0])
        return subprocess.run(
            [program, *command[1:]],
            cwd=cwd,
            env=self.env,
            text=True,
            capture_output=True,
            timeout=timeout,
        )


def _require_environment(venv: Venv, example: Path) -> None:
    variable, how = REQUIRED_ENVIRONMENT.get(example.name, (None, ""))
    if variable and not venv.env.get(variable):
        pytest.fail(f"{example.name} needs {variable}, which is not set: {how}", pytrace=False)


_LIST_ENTRY_POINTS = """
import importlib.metadata as metadata, json, sys
found = {}
for name in sys.argv[1:]:
    dist = metadata.distribution(name)
    found[name] = [(ep.group, ep.name, ep.value.split(":")[-1], dist.version)
                   for ep in dist.entry_points if ep.group.startswith("omi.")]
print(json.dumps(found))
"""


def _install_examples(path: Path) -> None:
    """Make the venv at `path`: omi-openclaw (editable) and every example (editable, [testing])."""
    packages = ["-e", str(ROOT)]
    for example in EXAMPLES:
        packages += ["-e", f"{example}[testing]"]
    make_venv(path, *packages)


@pytest.fixture(scope="session")
def venv(build_once: Callable[..., Path], postgres_dsn: str | None) -> Venv:
    """The venv of the examples, made once for the run (the workers share it: it is only read),
    with this worker's PostgreSQL database."""

    def environment(path: Path) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
        }
        env.update(VIRTUAL_ENV=str(path), PATH=f"{path / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        if postgres_dsn:
            env.update(OMI_TEST_POSTGRES_DSN=postgres_dsn, OMI_POSTGRES_DSN=postgres_dsn)
        return env

    path = build_once("examples", lambda target: _install_examples(target / "venv")) / "venv"
    env = environment(path)
    names = {example.name: _distribution_name(example) for example in EXAMPLES}
    listed = subprocess.run(
        [str(path / "bin" / "python"), "-c", _LIST_ENTRY_POINTS, *names.values()],
        env=env,
        text=True,
        capture_output=True,
        check=True,
        timeout=60,
    )
    by_distribution = json.loads(listed.stdout)
    entry_points = {
        example: [EntryPoint(*row) for row in by_distribution[dist]]
        for example, dist in names.items()
    }
    return Venv(path, env, entry_points)


def _distribution_name(example: Path) -> str:
    match = re.search(
        r'^name\s*=\s*"([^"]+)"', (example / "pyproject.toml").read_text(), re.MULTILINE
    )
    assert match, f"{example}/pyproject.toml has no [project] name"
    return match.group(1)


def test_examples_are_found():
    names = [example.name for example in EXAMPLES]
    assert {
        "omi-embedding-example",
        "omi-embedding-cohere",
        "omi-event-webhook",
        "omi-storage-postgres",
    } <= set(names), names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_each_example_registers_plugins(venv: Venv, example: Path):
    assert venv.entry_points[example.name], f"{example.name} registers no omi.* entry point"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_each_example_passes_its_own_tests(venv: Venv, example: Path):
    _require_environment(venv, example)
    result = venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=example)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"pytest in {example.name} failed:\n{output[-4000:]}"
    assert re.search(r"\d+ passed", output), output[-2000:]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_each_example_passes_mypy_strict_and_ruff(venv: Venv, example: Path, mypy_cache: Path):
    """With the example's own [tool.mypy] and [tool.ruff], as its CI runs them."""
    mypy = venv.run("python", "-m", "mypy", "--strict", "--cache-dir", str(mypy_cache), cwd=example)
    assert mypy.returncode == 0, f"mypy in {example.name}:\n{mypy.stdout[-4000:]}"
    ruff = venv.run("python", "-m", "ruff", "check", "--no-cache", cwd=example)
    assert ruff.returncode == 0, f"ruff in {example.name}:\n{ruff.stdout[-4000:]}"


# --- what `omi plugins check` needs for each example ----------------------------------------


@contextmanager
def _server(venv: Venv, *command: str) -> Iterator[subprocess.Popen]:
    """Start a loopback server (a script that prints its URL first) in the examples venv."""
    process = subprocess.Popen(
        [str(venv.path / "bin" / "python"), *command],
        env=venv.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def _first_line(process: subprocess.Popen) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line.startswith("http://127.0.0.1:"), (
        f"the server did not start: {line!r} {process.stderr.read() if process.stderr else ''}"
    )
    return line


@contextmanager
def _check_options(venv: Venv, example: Path) -> Iterator[list[str]]:
    """The --option arguments an example's check needs; verifies what its server saw after."""
    if example.name == "omi-embedding-cohere":
        with _server(
            venv, str(example / "tests" / "fake_cohere.py"), "--api-key", "examples-key"
        ) as fake:
            yield ["--option", f"base_url={_first_line(fake)}", "--option", "api_key=examples-key"]
    elif example.name == "omi-event-webhook":
        with _server(
            venv, str(example / "tests" / "receiver.py"), "--secret", "examples-secret"
        ) as receiver:
            yield ["--option", f"url={_first_line(receiver)}", "--option", "secret=examples-secret"]
            receiver.kill()  # deliveries are synchronous: all are printed by now
            delivered = [
                json.loads(line)
                for line in receiver.communicate(timeout=10)[0].splitlines()
                if line.strip()
            ]
        types = {event["type"] for event in delivered}
        assert types == set(EVENT_TYPES), (
            f"the receiver verified deliveries of {sorted(types)}, expected all six event types"
        )
    else:
        yield []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_each_example_passes_plugins_check_with_no_known_failures(venv: Venv, example: Path):
    _require_environment(venv, example)
    for plugin in venv.entry_points[example.name]:
        with _check_options(venv, example) as options:
            result = venv.run(
                "omi", "plugins", "check", "--strict", f"{plugin.group}:{plugin.name}", *options
            )
            output = result.stdout + result.stderr
            assert result.returncode == 0, f"omi plugins check {plugin.name} failed:\n{output}"
            summary = result.stdout.strip().splitlines()[-1]
            assert re.fullmatch(r"[1-9]\d* passed, 0 failed, \d+ skipped", summary), (
                f"{plugin.name}: expected passes, no failures, no known failures; got {summary!r}"
            )


def test_plugins_list_shows_every_example_with_a_tick(venv: Venv):
    result = venv.run("omi", "plugins", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The guide's promise for its example, word for word.
    assert "  dummy (DummyEmbedder) - v0.1.0 [interface: 1.0] ✓" in lines, result.stdout
    for example, plugins in venv.entry_points.items():
        for plugin in plugins:
            expected = (
                f"  {plugin.name} ({plugin.class_name}) - v{plugin.version} [interface: 1.0] ✓"
            )
            assert expected in lines, f"{example}: no line {expected!r} in\n{result.stdout}"


_BUILD_CONFIG = """
import sys
from omi.config import build_plugins, load_config
plugins = build_plugins(load_config(sys.argv[1]))
print(type(plugins.embedder).__name__, type(plugins.storage).__name__,
      sorted((name, type(handler).__name__) for name, handler in plugins.handlers.items()))
"""


def _readme_block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = [block for block in blocks if containing in block]
    assert len(found) == 1, f"README.md: expected one {language} block with {containing!r}"
    return found[0]


def test_the_readme_config_yaml_builds_every_plugin_it_names(venv: Venv, tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text(_readme_block("yaml", "handlers:"))
    env = {**venv.env, "HOME": str(tmp_path), "NVIDIA_API_KEY": "key", "OMI_WEBHOOK_SECRET": "s"}
    result = subprocess.run(
        [str(venv.path / "bin" / "python"), "-c", _BUILD_CONFIG, str(config)],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 2) == [
        "NIMEmbedder",
        "SQLiteBackend",
        "[('webhook', 'WebhookHandler')]\n",
    ]


def test_the_readme_host_from_instances_runs(venv: Venv, tmp_path: Path):
    code = _readme_block("python", "omi.Memory(storage=") + "memory.close()\n"
    result = subprocess.run(
        [str(venv.path / "bin" / "python"), "-c", code],
        cwd=tmp_path,
        env=venv.env,
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "memories.db").exists()
