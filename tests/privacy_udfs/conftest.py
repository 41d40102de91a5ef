"""Fixtures of the privacy_udfs tests: the seeded-randomness switch.

(Python workers run the venv's interpreter: ``jobs.session`` sets PYSPARK_PYTHON,
and the editable install puts the packages on their path.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from privacy_udfs.randomness import SEEDED_RANDOMNESS_ENV


@pytest.fixture()
def seeded_randomness() -> Iterator[None]:
    """Turn on the testing switch for seeded random sources, for one test."""
    previous = os.environ.get(SEEDED_RANDOMNESS_ENV)
    os.environ[SEEDED_RANDOMNESS_ENV] = "1"
    yield
    if previous is None:
        del os.environ[SEEDED_RANDOMNESS_ENV]
    else:
        os.environ[SEEDED_RANDOMNESS_ENV] = previous
