"""{{ cookiecutter.description|replace('\\', '\\\\')|replace('"', '\\"') }}"""

from {{ cookiecutter.__import_name }}.{{ cookiecutter.__module }} import {{ cookiecutter.__class_name }}

__all__ = ["{{ cookiecutter.__class_name }}"]
__version__ = "{{ cookiecutter.version }}"
