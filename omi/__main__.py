"""`python -m omi`: the `omi` command, where the environment's scripts are not on PATH."""

import os
import sys

# `python -m` puts the working directory first on sys.path, so a click.py (or any module) lying
# there would be imported in place of the real one. Drop it before importing anything, as pip's
# own __main__ does: `python -m omi` then finds what the `omi` script finds.
try:
    _cwd = os.getcwd()
except OSError:  # the working directory was removed
    _cwd = ""
if sys.path and sys.path[0] in ("", _cwd):
    del sys.path[0]

from omi.launch import main  # noqa: E402

main()
