"""{{ cookiecutter.description|replace('\\', '\\\\')|replace('"', '\\"') }}"""

from importlib.metadata import PackageNotFoundError, version

from {{ cookiecutter.__import_name }}.{{ cookiecutter.__module }} import {{ cookiecutter.__class_name }}

__all__ = ["{{ cookiecutter.__class_name }}"]
try:
    __version__ = version("{{ cookiecutter.__dist_name }}")  # pyproject.toml's, the one to bump
except PackageNotFoundError:  # imported from a checkout that is not installed (src/ on the path)
    __version__ = "0+unknown"
