"""Embedding texts in a fresh interpreter: does `deterministic` hold across processes?

A vector built with Python's salted `hash()`, or from an unseeded random generator, is the same
for the same text within one process and different in the next one. The parent starts a new
interpreter with another PYTHONHASHSEED, which builds the plugin from the same recipe as the
runner (the class, by reference, and the options: `InstanceFactory`), embeds the texts and
writes the vectors to a file (not stdout, which the plugin may print to).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from omi.conformance.authoring import CheckFailure
from omi.conformance.building import InstanceFactory

_SPEC, _ANSWER = "spec.pickle", "answer.json"
_EMBED_FAILED = 3  # the child's exit code when it built the plugin but embed() raised


class FreshInterpreter:
    """A child interpreter embedding `texts` with the plugin `recipe` builds, started at once
    so that it works while the caller embeds the same texts itself; leaving the `with` block
    ends it."""

    def __init__(
        self, recipe: InstanceFactory, texts: list[str], directory: Path, hash_seed: int
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        try:
            spec = pickle.dumps({"recipe": recipe, "texts": texts})
        except Exception as error:  # noqa: BLE001 - pickle raises several kinds
            raise CheckFailure(
                f"a recipe for building {recipe.plugin_class.__qualname__} in another interpreter",
                f"{type(error).__name__}: {error}",
                "define the plugin class at the top level of an importable module, with "
                "options a new process can receive (str, numbers, lists, dicts)",
            ) from None
        (directory / _SPEC).write_bytes(spec)
        env = {
            **os.environ,
            "PYTHONHASHSEED": str(hash_seed),
            "TMPDIR": str(directory),
            "PYTHONPATH": os.pathsep.join(os.path.abspath(p or os.curdir) for p in sys.path),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "omi.conformance.fresh", str(directory)],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> FreshInterpreter:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.process.returncode is None:  # the check failed before asking for the answer
            self.process.kill()
            self.process.communicate()

    def answer(self, timeout: float) -> dict[str, Any]:
        """The child's vectors and model name; a CheckFailure when it fails or takes longer
        than `timeout` seconds."""
        try:
            # waits on the child's output, which ends when it exits (no polling delay)
            output = self.process.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            self.process.kill()
            output = self.process.communicate()[0]
            raise CheckFailure(
                f"vectors from a fresh interpreter within {timeout:g} s",
                f"none after {timeout:g} s ({_tail(output) or 'no output'})",
                "make building the plugin and embedding a text quick in a new process "
                "(load models once, lazily), or raise --timeout",
            ) from None
        if self.process.returncode == _EMBED_FAILED:
            raise CheckFailure(
                "embed() to work in a fresh interpreter as it does here",
                f"an error there: {_tail(output) or 'no output'}",
                "depend only on the constructor's options, not on state this process happened "
                "to have (globals, files, the working directory)",
            )
        if self.process.returncode != 0:
            raise CheckFailure(
                "a fresh interpreter to build the plugin the same way and embed the texts",
                f"exit code {self.process.returncode}: {_tail(output) or 'no output'}",
                "make the plugin buildable in a new process from its class, importable by its "
                "module's name, and its options, as omi plugins check builds it (under pytest: "
                "plugin_class and plugin_options on the test class)",
            )
        answer: dict[str, Any] = json.loads((self.directory / _ANSWER).read_text(encoding="utf-8"))
        return answer  # the JSON object main() wrote


def _tail(output: bytes) -> str:
    return " | ".join(output.decode("utf-8", "replace").strip().splitlines()[-3:])


def main() -> None:
    """The child: build the plugin from the recipe, embed the texts, write the answer."""
    where = Path(sys.argv[1])
    spec = pickle.loads((where / _SPEC).read_bytes())
    plugin = spec["recipe"](where)
    try:
        answer = {
            "vectors": [plugin.embed(text) for text in spec["texts"]],
            "model": plugin.get_model_name(),
        }
    except Exception:  # noqa: BLE001 - reported through the log and the exit code
        traceback.print_exc()
        sys.exit(_EMBED_FAILED)
    (where / _ANSWER).write_text(json.dumps(answer, default=float), encoding="utf-8")
    # Done: skip the interpreter's teardown (freeing a model can take longer than embedding).
    # Its temporary files are in `where` (TMPDIR), which the check removes.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
