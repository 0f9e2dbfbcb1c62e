"""OMI's standard conformance suite: the same checks as `omi plugins check {{ cookiecutter.__plugin_name }}`."""

import pytest
from omi.testing import EmbeddingProviderConformance

from {{ cookiecutter.__import_name }}.embedder import {{ cookiecutter.__class_name }}


class TestConformance(EmbeddingProviderConformance):
    # The suite version these tests were generated for; checks added later say so.
    suite_version = "{{ cookiecutter.__omi_version }}"
    # Checks your plugin cannot pass yet, with the reason: {"check_name": "why"}.
    known_failures = {}

    @pytest.fixture
    def plugin(self) -> {{ cookiecutter.__class_name }}:
        return {{ cookiecutter.__class_name }}()
