"""Running `omi` in tests: in this process by default, as the console script where the process
is what a test is about.

`omi(...)` invokes the root click command here (click's CliRunner), as the console script's
`omi.cli.root.main` does, and answers like `subprocess.run` would (a CompletedProcess with
text stdout and stderr): about 0.1 s less per command than starting an interpreter, and
`omi plugins check` still runs the plugin in check processes of its own. Each call starts from
what a new process would have of OMI's own state, and leaves this one as it found it.

`omi_process(...)` runs the installed console script instead. Use it when the test is about the
process: its exit on a signal, its argv bytes, the console script's fast path for `plugins
list`, what it logs (pytest holds the logging here), what a plugin prints (a check process
forked from this one writes to the copy of click's buffer it inherited), a check process
forked or spawned as the test says (OMI_CHECK_PROCESS; this process forks only while it runs
no other thread), a working directory the command resolves against its own sys.path.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import omi
from omi.cli import cli

OMI = str(Path(sys.executable).with_name("omi"))
#: The kinds of check process a test about them runs with (OMI_CHECK_PROCESS): forked, as on
#: Linux, and a new interpreter, as on macOS and Windows. The second is the slower twin of
#: the first (an interpreter to start for each), so only the whole suite runs it.
CHECK_PROCESSES = ("fork", pytest.param("spawn", marks=pytest.mark.slow))
TESTS = Path(__file__).parent
#: Where modules a command may import and keep live for the rest of the run: the standard
#: library, the environment's packages and OMI itself. A module from anywhere else (a test's
#: plugin) is dropped after the command, as a new process would not have it.
_KEPT = tuple(
    {str(Path(prefix).resolve()) for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    | {str(Path(omi.__file__).parent), str(TESTS)}
)


def omi(
    *args: str, cwd: Path | str | None = None, input: str | None = None, **env: str
) -> subprocess.CompletedProcess:
    """`omi ARGS` in this process, with the environment variables `env` and in `cwd`.

    An exception the command does not handle propagates, with its traceback, where the
    console script would print it and exit 1.
    """
    from omi.distributions import _REPORTED

    before, root = set(sys.modules), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    previous = os.getcwd()
    _REPORTED.clear()  # warned of once per process
    try:
        if cwd is not None:
            os.chdir(cwd)
        result = CliRunner().invoke(
            cli, list(args), input=input, env=env, prog_name="omi", catch_exceptions=False
        )
    finally:
        os.chdir(previous)
        root.handlers[:], root.level = handlers, level  # --debug configures logging
        _forget_modules(set(sys.modules) - before)
    return subprocess.CompletedProcess(
        ["omi", *args], result.exit_code, result.stdout, result.stderr
    )


def _forget_modules(names: set[str]) -> None:
    for name in names:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
        if path and not str(Path(path).resolve()).startswith(_KEPT):
            del sys.modules[name]
    importlib.invalidate_caches()


def omi_process(
    *args: str,
    cwd: Path | str | None = None,
    input: str | None = None,
    timeout: float = 120,
    **env: str,
) -> subprocess.CompletedProcess:
    """`omi ARGS` as the installed console script, in a new process whose PYTHONPATH also
    holds tests/ (conformance_plugins), with the environment variables `env`."""
    path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(TESTS)]))
    return subprocess.run(
        [OMI, *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, **env},
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
