"""The layer rules of pyproject.toml hold (what `make lint` checks, run in CI too).

contracts/ is the bottom layer and conf/ sits on it; privacy_udfs knows nothing of jobs or serving;
serving runs without a JVM (no pyspark, py4j or delta-spark, directly or through a
package it imports).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contracts_are_declared() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    forbidden = {
        (tuple(c["source_modules"]), tuple(c["forbidden_modules"]))
        for c in config["contracts"]
        if c["type"] == "forbidden"
    }
    layers = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    assert layers == [["serving", "jobs", "privacy_udfs", "conf", "contracts"]]
    assert (("contracts",), ("conf", "jobs", "privacy_udfs", "serving")) in forbidden
    assert (("conf",), ("jobs", "privacy_udfs", "serving")) in forbidden
    assert (("privacy_udfs",), ("jobs", "serving")) in forbidden
    assert (("serving",), ("pyspark", "py4j", "delta")) in forbidden


def test_the_code_keeps_every_layer_contract() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is installed by make setup (the dev extra)"
    result = subprocess.run(
        [lint_imports, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
