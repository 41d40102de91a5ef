"""A real server (werkzeug, in a thread) over real Delta tables, and headless Debian Chromium."""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from werkzeug.serving import BaseWSGIServer, make_server

from serving.app import create_app
from tests.serving.conftest import (
    EXPORT_KEY,
    PERIOD_END,
    PERIOD_START,
    SECRET,
    TENANT_A,
    seed_curated,
)
from tests.serving.curated_data import write_table

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
# Above the API's 10,000-row confirmation threshold: exports of course_metrics need confirmed=1.
LARGE_EXPORT_ROWS = 10_050

PUBLIC_METRICS = (
    ("total_learners_active", "Active learners", 18_420.0),
    ("active_tenants", "Active schools and districts", 37.0),
    ("total_learning_hours", "Hours of learning", 96_310.0),
    ("total_sessions", "Learning sessions", 241_877.0),
    ("lessons_completed", "Lessons completed", 158_230.0),
    ("assessments_completed", "Assessments completed", None),  # suppressed: insufficient data
    ("average_mastery_score", "Average mastery score (0-100)", 72.4),
)


def _public_rows() -> list[dict[str, Any]]:
    return [
        {"metric_key": key, "period_start": PERIOD_START, "period_end": PERIOD_END,
         "metric_value": value, "display_label": label, "display_order": order,
         "privacy_level": "dp_medium", "epsilon": 1.0,
         "noise_scales": None if value is None else {"metric_value": 20.0},
         "ci95": None if value is None else {"metric_value": 39.2},
         "insufficient_data": value is None}
        for order, (key, label, value) in enumerate(PUBLIC_METRICS, start=1)
    ]  # fmt: skip


def _course_rows(count: int) -> list[dict[str, Any]]:
    return [
        {"tenant_id": TENANT_A, "course_id": str(uuid.UUID(int=index + 1, version=4)),
         "course_name": f"Course {index}", "subject": "math", "difficulty": "introductory",
         "period_start": PERIOD_START, "period_end": PERIOD_END, "enrolled_learners": 25,
         "completion_rate": 0.4, "mean_mastery": 72.0}
        for index in range(count)
    ]  # fmt: skip


def seed_pages_data(root: Path) -> None:
    """The serving tests' dataset, plus a full public page and a >10,000-row export."""
    seed_curated(root)
    write_table(root, "public_metrics", _public_rows(), mode="overwrite")
    write_table(root, "course_metrics", _course_rows(LARGE_EXPORT_ROWS))


@dataclass(frozen=True)
class LiveServer:
    """The running app: its base URL and its data root (the ETL trigger queues runs there)."""

    url: str
    data_root: Path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app over real Delta tables, served on a free 127.0.0.1 port for the session."""
    root = tmp_path_factory.mktemp("pages-data")
    seed_pages_data(root)
    app = create_app({
        "JWT_SECRET": SECRET,
        "EXPORT_KEY": EXPORT_KEY,
        "DATA_ROOT": str(root),
        "AUDIT_LOG_DIR": str(root / "audit"),
        "TABLE_REFRESH_SECONDS": 0,
        "SERVING_ENV": "production",
        "DP_EPSILON_BUDGET": "4.0",  # the seeded ledger was written for a 4.0 budget
        "RATE_LIMIT_PUBLIC": "2000 per minute",  # a page and its assets are several requests
    })  # fmt: skip
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="pages-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", data_root=root)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def chromium_options(user_data_dir: str) -> webdriver.ChromeOptions:
    """Headless Debian Chromium with a fresh profile and no background network traffic."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-extensions", "--disable-default-apps",
        "--force-device-scale-factor=1", "--hide-scrollbars", "--lang=en-US",
        f"--user-data-dir={user_data_dir}", "--window-size=1280,900",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the session (fresh --user-data-dir), quit in teardown."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian chromium/chromium-driver missing: run scripts/ensure_browser.sh")
    profile = tempfile.mkdtemp(prefix="pages-chromium-")
    # Both binaries are given explicitly, so selenium-manager never downloads anything.
    driver = webdriver.Chrome(options=chromium_options(profile), service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: webdriver.Chrome, live_server: LiveServer) -> Iterator[webdriver.Chrome]:
    """The session browser reset to a laptop window, a blank tab state and an empty console."""
    browser.set_window_size(1280, 900)
    browser.get(live_server.url + "/api/v1/health")  # same origin: clear this tab's storage
    browser.execute_script("window.sessionStorage.clear(); window.localStorage.clear();")
    browser.delete_all_cookies()
    browser.get_log("browser")  # drain
    yield browser


def artifact_path(name: str) -> Path:
    """Where a screenshot of this run goes (git-ignored ``test-artifacts/pages``)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
