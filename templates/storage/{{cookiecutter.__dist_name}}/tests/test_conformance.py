"""OMI's standard conformance suite: the same checks as `omi plugins check {{ cookiecutter.__plugin_name }}`."""

from pathlib import Path
from typing import Callable

import pytest
from omi.testing import StorageBackendConformance

from {{ cookiecutter.__import_name }}.backend import {{ cookiecutter.__class_name }}


class TestConformance(StorageBackendConformance):
    # The suite version these tests were generated for; checks added later say so.
    suite_version = "{{ cookiecutter.__omi_version }}"
    # Checks your plugin cannot pass yet, with the reason: {"check_name": "why"}.
    known_failures = {}

    @pytest.fixture
    def backend_factory(self) -> Callable[[Path], {{ cookiecutter.__class_name }}]:
        # A new backend whose data lives in `directory`; the same directory reopens it.
        return lambda directory: {{ cookiecutter.__class_name }}(path=directory / "memories.db")
