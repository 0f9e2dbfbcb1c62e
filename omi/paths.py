"""Where OMI keeps its files: the user's config and data directories (XDG), the default database.

Its own module so that the config loader and the built-in SQLite backend, which both need these
paths, need not import each other.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_database_path", "user_config_dir", "user_data_dir"]


def _xdg_dir(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable, "")
    # The XDG spec says relative values are invalid and must be ignored.
    return Path(value) if os.path.isabs(value) else Path.home() / fallback


def user_config_dir() -> Path:
    """$XDG_CONFIG_HOME/omi, by default ~/.config/omi."""
    return _xdg_dir("XDG_CONFIG_HOME", ".config") / "omi"


def user_data_dir() -> Path:
    """$XDG_DATA_HOME/omi, by default ~/.local/share/omi: where the default database lives."""
    return _xdg_dir("XDG_DATA_HOME", os.path.join(".local", "share")) / "omi"


def default_database_path() -> Path:
    """Where OMI keeps its memories when config names no path: the user's data directory."""
    return user_data_dir() / "memories.db"
