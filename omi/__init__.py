"""OMI's plugin system: interfaces, discovery, loading, validation and the plugin toolkit.

This module stays import-light on purpose: `omi --help` and `omi plugins list` must start fast,
so nothing here imports numpy, cookiecutter, pytest or any plugin.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("omi-openclaw")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
