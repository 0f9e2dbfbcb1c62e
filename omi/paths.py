"""Where OMI keeps its files: the user's config and data directories (XDG), the default database.

Its own module so that the config loader and the built-in SQLite backend, which both need these
paths, need not import each other. The public functions give a `pathlib.Path`; `pathlib` is
imported when one is asked for, since the host's start (a config file named explicitly) needs
none and importing it costs several milliseconds.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["default_database_path", "user_config_dir", "user_config_file", "user_data_dir"]


def _xdg_dir(variable: str, fallback: str) -> str:
    """$variable/omi, or ~/fallback/omi; the XDG spec says a relative value must be ignored."""
    value = os.environ.get(variable, "")
    base = value if os.path.isabs(value) else os.path.join(os.path.expanduser("~"), fallback)
    return os.path.join(base, "omi")


def _path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


def user_config_file() -> str:
    """$XDG_CONFIG_HOME/omi/config.yaml as a string, for the config lookup."""
    return os.path.join(_xdg_dir("XDG_CONFIG_HOME", ".config"), "config.yaml")


def user_config_dir() -> Path:
    """$XDG_CONFIG_HOME/omi, by default ~/.config/omi."""
    return _path(_xdg_dir("XDG_CONFIG_HOME", ".config"))


def user_data_dir() -> Path:
    """$XDG_DATA_HOME/omi, by default ~/.local/share/omi: where the default database lives."""
    return _path(_xdg_dir("XDG_DATA_HOME", os.path.join(".local", "share")))


def default_database_path() -> Path:
    """Where OMI keeps its memories when config names no path: the user's data directory."""
    return user_data_dir() / "memories.db"
