"""Cost of `omi plugins matrix`: its own overhead on warm environments, and a cold cell's time
with venv + pip and with uv.

The wheelhouse holds omi-openclaw built from this checkout, the embedding example and a
freshly rendered storage and event plugin, with every dependency; every run is offline from it.

- Warm overhead: the matrix (one job at a time, every environment cached) over the sum of the
  same `omi plugins check GROUP:NAME --format json` commands run directly in those prepared
  environments. The difference is the matrix's own work: hashing the inputs (the wheels'
  bytes), one probe of the metadata per cell, the reports. Target: ratio <= 1.30.
- Cold cell: a matrix with an empty cache, one job at a time, over the number of cells: making
  the environment, installing, checking. With venv + pip, and with uv (from PyPI, installed
  into a scratch directory for the run; the figure is left out when it cannot be installed).
  Informational.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Figure, installed_env, ratio_figure

ROOT = Path(__file__).resolve().parent.parent
OMI = str(Path(sys.executable).with_name("omi"))
KINDS = ("storage", "event")


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        check=True,
        capture_output=True,
        text=True,  # type: ignore
        env=kwargs.pop("env", installed_env()),
        **kwargs,
    )


def _wheelhouse(work: Path) -> list[str]:
    """The plugin wheels (and the omi wheel, last) in work/wheels, with their dependencies."""
    rendered = work / "rendered"
    rendered.mkdir()
    for kind in KINDS:
        _run([OMI, "plugins", "new", kind, "bench", "-o", str(rendered), "--no-input"])
    sources = [
        str(ROOT),
        str(ROOT / "examples" / "omi-embedding-example"),
        *(str(rendered / f"omi-{kind}-bench") for kind in KINDS),
    ]
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--wheel-dir",
            str(work / "wheels"),
            *sources,
        ]
    )
    wheels = work / "wheels"
    found = [
        next(wheels.glob(f"{prefix}-*.whl"))
        for prefix in (
            "omi_embedding_example",
            *(f"omi_{kind}_bench" for kind in KINDS),
            "omi_openclaw",
        )
    ]
    return [str(path) for path in found]


def _matrix(
    wheels: list[str], work: Path, cache: Path, installer: str, env: dict[str, str] | None = None
) -> float:
    """Wall seconds of one matrix run (one job at a time) of every plugin x the omi wheel."""
    argv = [
        OMI,
        "plugins",
        "matrix",
        *(a for w in wheels[:-1] for a in ("--plugin", w)),
        "--omi",
        wheels[-1],
        "--find-links",
        str(work / "wheels"),
        "--offline",
        "--cache-dir",
        str(cache),
        "--installer",
        installer,
        "--jobs",
        "1",
        "--format",
        "json",
    ]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env or installed_env())
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the matrix failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return seconds


def _direct_checks(cache: Path) -> float:
    """The same checks run directly in the prepared environments, one after the other."""
    total = 0.0
    for marker in cache.glob("*/.omi-matrix-env.json"):
        env = marker.parent
        probe = _run([str(env / "bin" / "python"), str(ROOT / "omi" / "matrix" / "probe.py")])
        for plugin in json.loads(probe.stdout).get("plugins", []):
            start = time.perf_counter()
            subprocess.run(
                [str(env / "bin" / "omi"), "plugins", "check", plugin, "--format", "json"],
                capture_output=True,
                env=installed_env(VIRTUAL_ENV=str(env)),
            )
            total += time.perf_counter() - start
    return total


def _uv(work: Path) -> str | None:
    """uv from PyPI in a scratch directory, or None when it does not install here."""
    target = work / "uv"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "uv"],
        capture_output=True,
        text=True,
    )
    binary = target / "bin" / "uv"
    return str(binary) if done.returncode == 0 and binary.exists() else None


def run(quick: bool = False) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="omi-bench-matrix-") as scratch:
        work = Path(scratch)
        wheels = _wheelhouse(work)
        cells = len(wheels) - 1
        cold_pip = _matrix(wheels, work, work / "cache-pip", "pip")
        warm = min(
            _matrix(wheels, work, work / "cache-pip", "pip") for _ in range(1 if quick else 3)
        )
        direct = min(_direct_checks(work / "cache-pip") for _ in range(1 if quick else 3))
        figures.append(
            ratio_figure(
                "matrix, warm: wall / the same checks run directly",
                warm,
                direct,
                "s",
                "checks run directly",
                1.30,
            )
        )
        figures.append(
            Figure(f"matrix, cold cell with venv + pip ({cells} cells)", cold_pip / cells, "s")
        )
        uv = _uv(work)
        if uv is not None:
            env = installed_env(
                PATH=f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}",
                UV_CACHE_DIR=str(work / "uv-cache"),
            )  # cold, as pip's
            cold_uv = _matrix(wheels, work, work / "cache-uv", "uv", env)
            figures.append(
                Figure(
                    f"matrix, cold cell with uv ({cells} cells)",
                    cold_uv / cells,
                    "s",
                    cold_pip / cells,
                    "venv + pip",
                )
            )
        shutil.rmtree(work / "cache-uv", ignore_errors=True)
    return figures
