"""`omi plugins new` against `cookiecutter --no-input` on the same template (target ratio <= 1.1).

Both are whole commands run alternately, each into a fresh output directory: what `omi` adds
on top of cookiecutter (name checks, git defaults, the answers file, the atomic rename) may
cost little more than cookiecutter's own rendering.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Figure, installed_env, ratio_figure

ROOT = Path(__file__).resolve().parent.parent


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def run(quick: bool) -> list[Figure]:
    bindir = Path(sys.executable).parent
    template = ROOT / "templates" / "embedding"
    repeat = 5 if quick else 15
    times: dict[str, list[float]] = {"omi": [], "cookiecutter": []}
    env = installed_env()  # both run with their bytecode cache, as pip installs them
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(repeat + 1):  # the first round only warms the caches
            out = Path(tmp) / str(index)
            (out / "omi").mkdir(parents=True)
            omi = [
                str(bindir / "omi"),
                "plugins",
                "new",
                "embedding",
                "bench",
                "-o",
                str(out / "omi"),
                "--no-input",
            ]
            cookiecutter = [
                str(bindir / "cookiecutter"),
                "--no-input",
                str(template),
                "-o",
                str(out / "cookiecutter"),
                "__plugin_name=bench",
            ]
            omi_time, cookiecutter_time = _timed(omi, env), _timed(cookiecutter, env)
            if index:
                times["omi"].append(omi_time)
                times["cookiecutter"].append(cookiecutter_time)
    return [
        ratio_figure(
            "omi plugins new embedding",
            statistics.median(times["omi"]),
            statistics.median(times["cookiecutter"]),
            "s",
            "cookiecutter --no-input",
            1.1,
        )
    ]
