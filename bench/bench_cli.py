"""Start-up cost of the CLI and the host, with the persistent plugin index (omi/index.py).

- `omi --help` against `python -c "import click"` (target ratio <= 1.15): the CLI may cost
  little more than the library it is written with.
- `omi plugins list` against a bare `importlib.metadata.entry_points()` scan of the same
  environment, both whole processes: with 300 installed distributions warm (the index is
  current; target <= 0.70) and cold (the index is deleted before every run, so each run scans
  and writes it; target <= 1.50), and with only the test venv's own distributions, warm
  (target <= 0.85).
- Host start: a process running `Memory.from_config()` on a config naming one plugin of each
  kind, against one constructing the same three plugins and the `Memory` directly (target
  <= 1.20).

The distributions and the config file are dated 10 s back before timing: the plugin index and
the parsed-config cache do not trust a timestamp younger than 2 s (see omi/cachefiles.py and
omi/configcache.py), and a user's installed packages and config file are older than that.
The plugin modules are compiled first, as pip compiles what it installs: otherwise the first
import writes `__pycache__` into the sys.path entry, which changes it, and the index would be
rebuilt, untrusted, for the next two seconds of runs.
"""

from __future__ import annotations

import compileall
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import plugin_sources
from common import Figure, installed_env, interleaved_command_times, ratio_figure


def make_site(root: Path, distributions: int, plugins: int) -> Path:
    """A sys.path entry holding `distributions` installed distributions, `plugins` of them OMI's."""
    site = root / "site"
    site.mkdir()
    for index in range(distributions):
        name = f"bench-dist-{index}"
        dist_info = site / f"bench_dist_{index}-1.0.{index}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.{index}\nSummary: bench\n"
        )
        lines = ["[console_scripts]", f"bench-tool-{index} = bench_mod_{index}:main", ""]
        if index < plugins:
            target = f"bench_plugin_{index}:Embedder{index}"
            lines += ["[omi.embedding_providers]", f"bench-{index} = {target}", ""]
            (site / f"bench_plugin_{index}.py").write_text(
                plugin_sources.embedder(f"Embedder{index}")
            )
        (dist_info / "entry_points.txt").write_text("\n".join(lines))
    return site


def backdate(root: Path, seconds: float = 10.0) -> None:
    """Date everything under `root` back, as an install some seconds old is, and compile its
    modules as pip does; bytecode records its source's mtime, so both dates are one stamp."""
    stamp = time.time_ns() - int(seconds * 1e9)

    def date_all() -> None:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                os.utime(os.path.join(folder, name), ns=(stamp, stamp))
        os.utime(root, ns=(stamp, stamp))

    date_all()
    if root.is_dir():
        compileall.compile_dir(root, quiet=1)
        date_all()


def add_host_plugins(site: Path) -> None:
    """One distribution registering a plugin of each kind."""
    dist_info = site / "bench_host-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-host\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[omi.embedding_providers]\nbench-emb = bench_host_emb:Embedder0\n\n"
        "[omi.storage_backends]\nbench-store = bench_host_store:Backend\n\n"
        "[omi.event_handlers]\nbench-handler = bench_host_handler:Handler\n"
    )
    (site / "bench_host_emb.py").write_text(plugin_sources.embedder("Embedder0"))
    (site / "bench_host_store.py").write_text(plugin_sources.backend("Backend"))
    (site / "bench_host_handler.py").write_text(plugin_sources.handler("Handler"))


def run(quick: bool) -> list[Figure]:
    omi = str(Path(sys.executable).with_name("omi"))
    repeat = 5 if quick else 15
    scan = "import importlib.metadata as m; m.entry_points()"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"
        base = installed_env(XDG_CACHE_HOME=str(cache))
        base.pop("OMI_NO_CACHE", None)
        help_time, click_time = interleaved_command_times(
            [omi, "--help"], [sys.executable, "-c", "import click"], repeat=repeat, env=base
        )
        figures = [
            ratio_figure("omi --help", help_time, click_time, "s", "python -c 'import click'", 1.15)
        ]

        own = root / "own"  # an empty PYTHONPATH entry: the venv's own distributions only
        own.mkdir()
        add_host_plugins(own)
        backdate(own)
        env = {**base, "PYTHONPATH": str(own)}
        list_time, scan_time = interleaved_command_times(
            [omi, "plugins", "list"], [sys.executable, "-c", scan], repeat=repeat, env=env
        )
        figures.append(
            ratio_figure(
                "omi plugins list, the venv's distributions, warm",
                list_time,
                scan_time,
                "s",
                "entry_points() scan",
                0.85,
            )
        )

        config = root / "config.yaml"
        config.write_text(
            "embedding:\n  provider: bench-emb\nstorage:\n  backend: bench-store\n"
            "events:\n  handlers:\n    - name: bench-handler\n"
        )
        backdate(config)
        host = f"from omi.host import Memory; Memory.from_config({str(config)!r}).close()"
        direct = (
            "from omi.host import Memory; from bench_host_emb import Embedder0; "
            "from bench_host_store import Backend; from bench_host_handler import Handler; "
            "Memory(Backend(), Embedder0(), {'bench-handler': Handler()}).close()"
        )
        host_time, direct_time = interleaved_command_times(
            [sys.executable, "-c", host], [sys.executable, "-c", direct], repeat=repeat, env=env
        )
        figures.append(
            ratio_figure(
                "host start, Memory.from_config(), 3 plugins",
                host_time,
                direct_time,
                "s",
                "the 3 plugins + Memory built directly",
                1.20,
            )
        )

        site = make_site(root, distributions=300, plugins=5)
        backdate(site)
        env = {**base, "PYTHONPATH": str(site)}
        list_time, scan_time = interleaved_command_times(
            [omi, "plugins", "list"], [sys.executable, "-c", scan], repeat=repeat, env=env
        )
        figures.append(
            ratio_figure(
                "omi plugins list, 300 distributions, warm",
                list_time,
                scan_time,
                "s",
                "entry_points() scan",
                0.70,
            )
        )
        cold_time, scan_time = interleaved_command_times(
            [omi, "plugins", "list"],
            [sys.executable, "-c", scan],
            repeat=repeat,
            env=env,
            before_subject=lambda: shutil.rmtree(cache, ignore_errors=True),
        )
        figures.append(
            ratio_figure(
                "omi plugins list, 300 distributions, cold",
                cold_time,
                scan_time,
                "s",
                "entry_points() scan",
                1.50,
            )
        )
    return figures
