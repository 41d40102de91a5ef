"""The admin dashboard in headless Chromium: login wall, charts, suppression, ε, ETL, export."""

from __future__ import annotations

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from jobs.run_queue import RunQueue
from serving.tokens import Role, mint_token
from tests.pages.conftest import LARGE_EXPORT_ROWS
from tests.pages.helpers import chart_points, console_errors, screenshot, wait_until
from tests.serving.conftest import SECRET, TENANT_A, TENANT_B

CHARTS = ("chart-sessions", "chart-weekly", "chart-mastery", "chart-iep", "chart-budget")


def token(role: str, tenant: str | None = None, secret: str = SECRET) -> str:
    return mint_token(secret, role=Role.parse(role), subject="dash-tester", tenant_id=tenant)


def sign_in(page, live_server, bearer: str) -> None:
    page.get(live_server.url + "/dashboard")
    field = page.find_element(By.ID, "token-input")
    field.send_keys(bearer)
    page.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()


def report_ready(driver) -> bool:
    return driver.find_element(By.ID, "dashboard-app").get_attribute("data-state") == "ready"


def visible(driver, element_id: str) -> bool:
    return driver.find_element(By.ID, element_id).is_displayed()


def rows(driver, table_id: str) -> dict[str, list[str]]:
    result = {}
    for row in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr"):
        cells = [c.text for c in row.find_elements(By.CSS_SELECTOR, "th, td")]
        result[cells[0]] = cells[1:]
    return result


def test_login_wall_holds_without_a_valid_token(page, live_server):
    page.get(live_server.url + "/dashboard")
    wait_until(page, lambda d: visible(d, "signin"))
    assert not visible(page, "dashboard-app")
    assert page.find_elements(By.CSS_SELECTOR, "#kpis .kpi") == []
    # The data behind the wall refuses anonymous callers.
    api = requests.get(f"{live_server.url}/api/v1/metrics/tenant/{TENANT_A}", timeout=10)
    assert api.status_code == 401

    attempts = {
        "not-a-token": "not a valid access token",
        token("researcher"): "needs an admin or root token",
        token("admin", TENANT_A, secret="forged-" + SECRET): "refused this token",
    }
    for bearer, message in attempts.items():
        sign_in(page, live_server, bearer)
        wait_until(page, lambda d: d.find_element(By.ID, "signin-error").is_displayed())
        assert message in page.find_element(By.ID, "signin-error").text
        assert not visible(page, "dashboard-app")
        assert page.execute_script("return window.sessionStorage.length") == 0
    assert page.get_cookies() == []


def test_admin_dashboard_charts_suppression_budget_and_jobs(page, live_server):
    sign_in(page, live_server, token("admin", TENANT_A))
    wait_until(page, report_ready)

    tenant = page.find_element(By.ID, "tenant")
    assert tenant.get_attribute("value") == TENANT_A and tenant.get_attribute("readonly")
    # Default range: the 31 days ending at the tenant's latest ETL period.
    assert page.find_element(By.ID, "start").get_attribute("value") == "2025-01-01"
    assert page.find_element(By.ID, "end").get_attribute("value") == "2025-01-31"

    for chart in CHARTS:
        drawn = chart_points(page, chart)
        assert drawn is not None and drawn["width"] > 0, chart
        assert drawn["drawn"] > 0 and drawn["drawn"] == drawn["recorded"], chart
    weekly = chart_points(page, "chart-weekly")
    assert weekly["datasets"][0] == [55, 55, 55, 55, None]  # returning; W05 suppressed, not 0
    assert weekly["labels"][-1] == "2025-W05 (insufficient data)"

    kpis = dict(
        zip(
            [e.text for e in page.find_elements(By.CSS_SELECTOR, "#kpis .kpi-label")],
            [e.text for e in page.find_elements(By.CSS_SELECTOR, "#kpis .kpi-value")],
            strict=True,
        )
    )
    assert kpis["Sessions"] == "3,565" and kpis["Learning hours"] == "1,550"

    # The period's session summary, each learner once (tenant A's January in the seed).
    assert rows(page, "summary-table")["2025-01-01 to 2025-01-31"][:3] == ["300", "2,600", "1,450"]
    week = rows(page, "weekly-table")
    assert week["2025-W01"][:4] == ["60", "5", "55", "2"]
    assert week["2025-W05"] == ["insufficient data"] * 7  # never 0, and no small cohort size
    assert rows(page, "mastery-table")["science"] == ["insufficient data"] * 3
    assert rows(page, "mastery-table")["math"][:2] == ["30", "70"]
    assert rows(page, "iep-table")["behavior"] == ["insufficient data"] * 3
    assert rows(page, "iep-table")["reading fluency"] == ["12", "55 %", "60 %"]

    budget = page.find_element(By.ID, "budget-summary").text
    assert "ε spent 2.00" in budget and "remaining 2.00" in budget and "of 4 for 2025-Q1" in budget
    jobs = rows(page, "etl-table")
    assert list(jobs) == ["session_daily"]  # tenant B's run is not listed for tenant A's admin
    assert "succeeded" in jobs["session_daily"]

    assert console_errors(page) == []
    assert page.get_cookies() == []
    assert page.execute_script("return sessionStorage.getItem('analytics.bearerToken')")
    screenshot(page, "dashboard.png", 1280, publish=True)


def test_dashboard_on_a_phone_and_by_keyboard(page, live_server):
    page.set_window_size(390, 844)
    sign_in(page, live_server, token("admin", TENANT_A))
    wait_until(page, report_ready)
    assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert all(chart_points(page, chart)["drawn"] > 0 for chart in CHARTS)
    unlabeled = page.execute_script(
        """return [...document.querySelectorAll('input, select, textarea')]
             .filter(e => e.type !== 'hidden' && e.labels.length === 0).map(e => e.id)"""
    )
    assert unlabeled == []
    # Keyboard: change the privacy level and submit the report form without the mouse.
    level = page.find_element(By.ID, "privacy-level")
    level.send_keys("dp_medium")
    level.send_keys(Keys.ENTER)
    page.find_element(By.ID, "end").send_keys(Keys.ENTER)
    wait_until(
        page, lambda d: "privacy level dp_medium" in d.find_element(By.ID, "report-status").text
    )
    # A DP report shows each noisy total with its 95 % error bar.
    hints = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#kpis .kpi-hint")]
    assert any(h.startswith("± ") and h.endswith("(95 % noise interval)") for h in hints), hints
    assert console_errors(page) == []
    screenshot(page, "dashboard-phone.png", 390)


def test_root_picks_a_tenant_and_triggers_etl(page, live_server):
    sign_in(page, live_server, token("root"))
    wait_until(page, report_ready)
    tenant = page.find_element(By.ID, "tenant")
    assert tenant.get_attribute("readonly") is None
    options = page.execute_script(
        "return [...document.querySelectorAll('#tenant-options option')].map(o => o.value)"
    )
    assert sorted(options) == sorted([TENANT_A, TENANT_B])
    tenant.clear()
    tenant.send_keys(TENANT_B)
    page.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until(page, lambda d: "Showing 2025-01-01" in d.find_element(By.ID, "report-status").text)

    page.find_element(By.ID, "etl-trigger").click()
    wait_until(page, lambda d: "submitted" in d.find_element(By.ID, "etl-status").text)
    queue = RunQueue(str(live_server.data_root / "ops" / "run_requests"))
    queued = [r for r in queue.requests() if r.tenant_id == TENANT_B]
    assert len(queued) == 1 and queued[0].status == "queued"
    assert queued[0].run_id in page.find_element(By.ID, "etl-status").text
    assert console_errors(page) == []


def test_export_asks_for_confirmation_and_again_above_10000_rows(page, live_server):
    sign_in(page, live_server, token("admin", TENANT_A))
    wait_until(page, report_ready)
    page.find_element(By.ID, "export-dataset").send_keys("Course metrics")
    page.find_element(By.ID, "export-format").send_keys("JSON")
    page.find_element(By.ID, "export-reason").send_keys("Curriculum review for 2025")
    page.find_element(By.CSS_SELECTOR, "#export-form button[type=submit]").click()

    wait_until(page, lambda d: visible(d, "export-confirm"))
    assert "course_metrics" in page.find_element(By.ID, "export-confirm-text").text
    page.find_element(By.ID, "export-go").click()
    # The API answers 428 above 10,000 rows: the page asks again, naming the row count.
    wait_until(page, lambda d: "10,051 rows" in d.find_element(By.ID, "export-confirm-text").text)
    assert visible(page, "export-confirm")
    page.find_element(By.ID, "export-go").click()
    wait_until(page, lambda d: "Exported" in d.find_element(By.ID, "export-status").text)
    assert (
        page.find_element(By.ID, "export-status").text
        == f"Exported {LARGE_EXPORT_ROWS + 1:,} rows."
    )
    errors = console_errors(page)
    assert len(errors) == 1 and "428" in errors[0]  # the expected confirmation_required answer


def test_sign_in_without_javascript_never_puts_the_token_in_a_url(page, live_server):
    """With scripts disabled the browser submits the form itself: by POST, token discarded."""
    bearer = token("admin", TENANT_A)
    page.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        page.get(live_server.url + "/dashboard")
        page.find_element(By.ID, "token-input").send_keys(bearer)
        page.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
        wait_until(page, lambda d: "signin=needs-javascript" in d.current_url)
        assert bearer not in page.current_url and "token=" not in page.current_url
        assert bearer not in page.page_source
        history = page.execute_cdp_cmd("Page.getNavigationHistory", {})
        assert all(bearer not in entry["url"] for entry in history["entries"])
    finally:
        page.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
