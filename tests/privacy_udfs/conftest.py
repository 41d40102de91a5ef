"""Fixtures of the privacy_udfs tests: the seeded-randomness switch and worker Python.

Pandas UDFs run in Python worker processes started by Spark. They must use
this virtualenv's interpreter (numpy, pandas, pyarrow) and be able to import
``privacy_udfs``; both come from the environment at the moment Spark starts,
so they are set here, at collection time, before the session fixture runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from privacy_udfs.randomness import SEEDED_RANDOMNESS_ENV

_REPO = str(Path(__file__).resolve().parents[2])
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
if _REPO not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_REPO, os.environ.get("PYTHONPATH", "")) if p
    )


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
