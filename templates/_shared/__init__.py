"""{{ cookiecutter.description|replace('\\', '\\\\')|replace('"', '\\"') }}"""

from importlib.metadata import version

from {{ cookiecutter.__import_name }}.{{ cookiecutter.__module }} import {{ cookiecutter.__class_name }}

__all__ = ["{{ cookiecutter.__class_name }}"]
__version__ = version("{{ cookiecutter.__dist_name }}")  # pyproject.toml's, the one to bump
