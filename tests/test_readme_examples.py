"""Every ```python block of README.md runs, in order, with ``spark`` in scope."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_readme_examples_run(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no python examples"
    monkeypatch.setenv("PSEUDONYM_KEY", secrets.token_hex(32))
    namespace: dict[str, object] = {"spark": spark}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"README.md block {number}", "exec"), namespace)  # docs under test


def test_readme_documents_every_raw_column_and_job() -> None:
    from contracts.raw import RAW_TABLES
    from jobs.entrypoint import RUNNABLE_JOBS

    text = README.read_text(encoding="utf-8")
    for table, columns in RAW_TABLES.items():
        for column in columns:
            assert f"`{column.name}`" in text, f"raw column {table}.{column.name} undocumented"
    for job in RUNNABLE_JOBS:
        assert f"`{job}`" in text or f" {job} " in text, f"job {job} undocumented"
