"""Start-up cost of the CLI: `omi --help` and `omi plugins list` with many distributions.

`omi --help` is held against `python -c "import click"` (target ratio <= 1.3): the CLI may cost
little more than the library it is written with. `omi plugins list` with 300 installed
distributions is held against a bare `importlib.metadata.entry_points()` scan of the same
environment (target ratio <= 1.5): listing may cost little more than finding the plugins.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import Figure, installed_env, interleaved_command_times, ratio_figure

PLUGIN_MODULE = '''
from omi.embeddings import EmbeddingProvider


class Embedder{index}(EmbeddingProvider):
    interface_version = "1.0"

    def embed(self, text):
        return [1.0]

    def embed_batch(self, texts, batch_size=8):
        return [[1.0] for _ in texts]

    def similarity(self, embedding1, embedding2):
        return 1.0

    def get_dimension(self):
        return 1

    def get_model_name(self):
        return "bench"
'''


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
            (site / f"bench_plugin_{index}.py").write_text(PLUGIN_MODULE.format(index=index))
        (dist_info / "entry_points.txt").write_text("\n".join(lines))
    return site


def run(quick: bool) -> list[Figure]:
    omi = str(Path(sys.executable).with_name("omi"))
    repeat = 5 if quick else 15
    help_time, click_time = interleaved_command_times(
        [omi, "--help"], [sys.executable, "-c", "import click"], repeat=repeat,
        env=installed_env(),
    )
    figures = [ratio_figure("omi --help", help_time, click_time, "s",
                            "python -c 'import click'", 1.3)]
    with tempfile.TemporaryDirectory() as tmp:
        site = make_site(Path(tmp), distributions=300, plugins=5)
        env = installed_env(PYTHONPATH=str(site))
        scan = "import importlib.metadata as m; m.entry_points()"
        list_time, scan_time = interleaved_command_times(
            [omi, "plugins", "list"], [sys.executable, "-c", scan], repeat=repeat, env=env
        )
    figures.append(ratio_figure("omi plugins list, 300 distributions", list_time, scan_time,
                                "s", "entry_points() scan", 1.5))
    return figures
