"""Every ```python block of docs/privacy_toolkit.md runs, in order, with ``spark`` in scope."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy_toolkit.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_doc_has_examples() -> None:
    assert len(BLOCK.findall(DOC.read_text(encoding="utf-8"))) >= 2


def test_doc_examples_run(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSEUDONYM_KEY", secrets.token_hex(32))
    namespace: dict[str, object] = {"spark": spark}
    for number, block in enumerate(BLOCK.findall(DOC.read_text(encoding="utf-8")), start=1):
        code = compile(block, f"{DOC.name} block {number}", "exec")
        exec(code, namespace)  # the documentation is the code under test
