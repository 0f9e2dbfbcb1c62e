"""OMI's plugin system: interfaces, discovery, loading, validation and the plugin toolkit.

This module stays import-light on purpose: `omi --help` and `omi plugins list` must start fast,
so nothing here imports numpy, cookiecutter, pytest, importlib.metadata or any plugin.
"""

__version__ = "0.4.0"  # the single source of the version; pyproject.toml reads it from here

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from omi.host import Memory

__all__ = ["Memory", "__version__"]


def __getattr__(name: str) -> "type[Memory]":
    """`omi.Memory` imports the host on first use, so `import omi` stays light."""
    if name == "Memory":
        from omi.host import Memory

        return Memory
    raise AttributeError(f"module 'omi' has no attribute {name!r}")
