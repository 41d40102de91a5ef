"""The notebooks run top to bottom on pipeline data, and are committed without outputs.

Each notebook is executed by nbclient in a fresh kernel of this virtualenv's Python
(jupyter_client runs a ``python`` kernelspec with ``sys.executable``), with ``DATA_ROOT``
pointing at the pipeline fixture's data root and test-speed Spark settings. Notebooks
that use Spark start their own JVM inside the kernel.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.pipeline import CuratedPipeline

pytestmark = pytest.mark.slow

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_SECONDS = 240
# Figures each notebook must draw (matplotlib's inline backend sends them as image/png).
MIN_FIGURES = {
    "01_exploring_curated_metrics": 3,
    "02_private_aggregate": 1,
    "03_reading_without_spark": 0,
}


def test_the_three_notebooks_exist() -> None:
    assert [p.stem for p in NOTEBOOKS] == sorted(MIN_FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; strip them"
    assert "widgets" not in notebook.metadata, f"{path.name}: widget state is an output too"
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert len(markdown) >= 4, f"{path.name}: explain the steps in markdown cells"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, curated_pipeline: CuratedPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel inherits this environment: the data root and test-speed Spark settings.
    monkeypatch.setenv("DATA_ROOT", str(curated_pipeline.root))
    monkeypatch.setenv("SPARK_MASTER", "local[2]")
    monkeypatch.setenv("SPARK_SHUFFLE_PARTITIONS", "2")
    monkeypatch.setenv("SPARK_UI_ENABLED", "false")
    monkeypatch.setenv("TRADEOFF_REPLICATES", "4")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.delenv("PSEUDONYM_KEY", raising=False)
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    started = time.monotonic()
    client.execute()  # raises CellExecutionError naming the failing cell
    elapsed = time.monotonic() - started

    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= MIN_FIGURES[path.stem], f"{path.name}: {len(figures)} figures"
    for figure in figures:
        assert base64.b64decode(figure["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert str(curated_pipeline.root) in text, f"{path.name} did not read the fixture's data root"
    print(f"{path.name}: {elapsed:.1f}s", file=sys.stderr)
