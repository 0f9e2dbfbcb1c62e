"""What the tests of generated plugins share: the three types, a virtual environment with
omi-openclaw installed from its wheel, and the projects `omi plugins new` renders in it.

Split over several test files (test_generated_*.py) so that pytest-xdist runs the long ones on
different workers; each file makes its own environment, since its tests install into it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from venvs import install, make_venv

TYPES = {
    "embedding": ("acme-vectors", "AcmeVectorsEmbedder"),
    "storage": ("acme-store", "AcmeStoreBackend"),
    "event": ("acme-audit", "AcmeAuditHandler"),
}
AUTHOR = ["--author", "Ada Lovelace", "--email", "ada@example.org"]
#: What a generated plugin's `testing` extra brings besides omi-openclaw.
TESTING_TOOLS = ("pytest", "build", "twine", "mypy", "ruff")


def run(argv: list, cwd: Path, timeout: float = 600) -> str:
    """Run a command in `cwd` (never this checkout, whose omi/ would shadow the wheel's)."""
    completed = subprocess.run(
        [str(part) for part in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    if completed.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, argv))} exited {completed.returncode}:\n"
            f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
        )
    return completed.stdout


class Environment:
    """A fresh virtual environment with omi-openclaw installed from its wheel."""

    wheel: Path  # the omi-openclaw wheel it was made with

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / ("Scripts" if sys.platform == "win32" else "bin")

    def tool(self, name: str) -> str:
        return str(self.bin / name)


def make_wheel_env(work: Path, omi_dist: Path) -> Environment:
    """A venv in `work` with omi-openclaw's wheel (from `omi_dist`), pytest, build, twine and
    uv (for `build --installer uv`: venvs.BUILD), and pip, which the generated workflows run."""
    wheel = next(omi_dist.glob("omi_openclaw-*.whl"))
    make_venv(work / "venv", wheel, "pytest", "build", "twine", "uv", pip=True, cwd=work)
    env = Environment(work / "venv")
    env.wheel = wheel
    return env


def render_and_install(env: Environment, out: Path) -> Path:
    """All three types rendered into `out` with the environment's own `omi`, then installed
    into it together (editable, with their testing extras)."""
    for plugin_type, (name, _) in TYPES.items():
        run(
            [
                env.tool("omi"),
                "plugins",
                "new",
                plugin_type,
                name,
                "-o",
                out,
                "--no-input",
                *AUTHOR,
            ],
            cwd=out,
        )
    install(  # with uv: the environment's pip is for the workflows' own commands
        env.root,
        *(
            f"-e{out / f'omi-{plugin_type}-{name}'}[testing]"
            for plugin_type, (name, _) in TYPES.items()
        ),
        cwd=out,
    )
    return out


def workflow(project: Path, name: str) -> Path:
    return project / ".github" / "workflows" / name


@pytest.fixture(scope="module", name="wheel_env")
def wheel_env_fixture(tmp_path_factory: pytest.TempPathFactory, omi_dist: Path) -> Environment:
    """The test file's own environment (imported into each file: one per file)."""
    return make_wheel_env(tmp_path_factory.mktemp("wheel-env"), omi_dist)


@pytest.fixture(scope="module", name="projects")
def projects_fixture(wheel_env: Environment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Render all three types with the wheel's own `omi`, then install them together."""
    return render_and_install(wheel_env, tmp_path_factory.mktemp("rendered"))
