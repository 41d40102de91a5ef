"""Browser helpers: waiting, console errors, chart data, full-page screenshots."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.pages.conftest import artifact_path

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def wait_until(
    driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 20
) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def console_errors(driver: WebDriver) -> list[str]:
    """SEVERE browser-log entries (script errors, CSP violations, failed loads) since last read."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def chart_points(driver: WebDriver, canvas_id: str) -> dict[str, Any]:
    """What Chart.js drew on ``canvas_id``: non-null data points per dataset and canvas size."""
    return driver.execute_script(
        """
        const canvas = document.getElementById(arguments[0]);
        const chart = window.Chart && window.Chart.getChart(canvas);
        if (!chart) { return null; }
        return {
          width: canvas.width, height: canvas.height,
          recorded: Number(canvas.getAttribute('data-points')),
          labels: chart.data.labels,
          datasets: chart.data.datasets.map(d => d.data),
          // Elements Chart.js laid out on the canvas for non-null values.
          drawn: chart.getSortedVisibleDatasetMetas().reduce((n, meta) => n + meta.data.filter(
            (p, i) => meta._dataset.data[i] !== null && !p.skip
              && Number.isFinite(p.x) && Number.isFinite(p.y)).length, 0),
        };
        """,
        canvas_id,
    )


def screenshot(driver: WebDriver, name: str, width: int, publish: bool = False) -> Path:
    """Save a full-page screenshot to test-artifacts/pages.

    With ``publish`` and ``UPDATE_SCREENSHOTS=1`` in the environment it is also
    copied to docs/screenshots (the committed README images).
    """
    driver.set_window_size(width, driver.get_window_size()["height"])
    wait_until(driver, lambda d: d.execute_script("return document.readyState") == "complete")
    size = driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.scrollHeight];"
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True,
         "clip": {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 8000), "scale": 1}},
    )  # fmt: skip
    path = artifact_path(name)
    path.write_bytes(base64.b64decode(shot["data"]))
    if publish and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / name)
    return path
