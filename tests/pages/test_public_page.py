"""The public metrics page in headless Chromium against the live app."""

from __future__ import annotations

import re

import requests
from selenium.webdriver.common.by import By

from serving.pages.views import APPENDIX_B_NOTICE
from tests.pages.conftest import PUBLIC_METRICS
from tests.pages.helpers import chart_points, console_errors, screenshot, wait_until

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def _loaded(driver) -> bool:
    return driver.find_element(By.ID, "public-kpis").get_attribute("data-state") == "ready"


def test_public_page_shows_figures_charts_and_notice(page, live_server):
    page.get(live_server.url + "/")
    wait_until(page, _loaded)

    values = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#public-kpis .kpi-value")]
    labels = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#public-kpis .kpi-label")]
    assert len(values) == len(PUBLIC_METRICS)
    assert labels[0].lower() == "active learners"
    assert values[0] == "18,420"
    suppressed = [label for label, _, value in PUBLIC_METRICS].index("assessments_completed")
    assert values[suppressed] == "insufficient data"  # a null figure is never shown as 0
    assert "0" not in values
    hints = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#public-kpis .kpi-hint")]
    assert hints[0] == "± 39.2 (95 % noise interval)"  # every published figure's error bar
    assert len(hints) == len(PUBLIC_METRICS) - 1  # none for the suppressed one

    activity = chart_points(page, "public-activity-chart")
    assert activity is not None and activity["width"] > 0
    assert activity["datasets"][0] == [18420, 96310, 241877, 158230, None]
    assert activity["drawn"] == activity["recorded"] == 4  # the suppressed bar is not drawn
    mastery = chart_points(page, "public-mastery-chart")
    assert mastery["datasets"][0][0] == 72.4 and mastery["drawn"] == 2

    notice = page.find_element(By.ID, "privacy").text
    assert "Privacy Notice" in notice and APPENDIX_B_NOTICE in notice
    assert "dp_medium" in page.find_element(By.ID, "public-meta").text

    assert console_errors(page) == []
    assert page.get_cookies() == [] and page.execute_script("return document.cookie") == ""
    resources = page.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources and all(url.startswith(live_server.url + "/") for url in resources)
    screenshot(page, "public.png", 1280, publish=True)


def test_public_page_on_a_phone(page, live_server):
    page.set_window_size(390, 844)
    page.get(live_server.url + "/public")
    wait_until(page, _loaded)
    assert page.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
    ), "the page scrolls sideways on a phone"
    assert chart_points(page, "public-activity-chart")["drawn"] == 4
    assert console_errors(page) == []
    screenshot(page, "public-phone.png", 390)


def test_pages_send_csp_and_no_cookies(live_server):
    for path in ("/", "/public", "/dashboard"):
        response = requests.get(live_server.url + path, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        csp = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in csp and "http" not in csp
        assert "Set-Cookie" not in response.headers
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert INLINE_SCRIPT.search(response.text) is None, "inline <script> in " + path
        assert not re.search(r"\son[a-z]+=", response.text), "inline event handler in " + path
        assert not re.search(r"\sstyle=", response.text), "inline style in " + path
        for src in re.findall(r'(?:src|href)="([^"#]+)"', response.text):
            assert src.startswith("/"), f"{path} references a foreign origin: {src}"
    asset = requests.get(live_server.url + "/assets/vendor/chartjs/chart.umd.min.js", timeout=10)
    assert asset.status_code == 200 and "javascript" in asset.headers["Content-Type"]
    assert "Chart.js v4.5.1" in asset.text[:200]
    assert requests.get(live_server.url + "/assets/../app.py", timeout=10).status_code == 404


def test_browser_enforces_the_csp(page, live_server):
    page.get(live_server.url + "/")
    wait_until(page, _loaded)
    page.execute_script(
        """
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true;';
        document.head.appendChild(s);
        const f = document.createElement('script');
        f.src = 'https://example.invalid/x.js';
        document.head.appendChild(f);
        """
    )
    errors: list[str] = []

    def both_blocked(driver) -> bool:
        errors.extend(console_errors(driver))
        return sum("Content Security Policy" in message for message in errors) >= 2

    wait_until(page, both_blocked, timeout=10)
    assert page.execute_script("return window.__inlineRan === true") is False
