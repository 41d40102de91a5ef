"""Budget per accounting window and the job list at DP levels (issue 13 §1, §6), on real Delta ledgers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.serving.conftest import PERIOD_END, PERIOD_START, TENANT_A, TENANT_B
from tests.serving.curated_data import write_table

TENANT_C = "33333333-3333-4333-8333-333333333333"


def charge(release, epsilon, run, window=(date(2025, 1, 1), date(2025, 3, 31)), **extra):
    return {
        "tenant_id": TENANT_B, "period_start": PERIOD_START, "period_end": PERIOD_END,
        "window_start": window[0], "window_end": window[1], "release_id": release,
        "job_name": "session_daily", "privacy_level": "dp_low", "epsilon": epsilon,
        "delta": 0.0, "forced": False, "job_run_id": run,
        "charged_at": datetime(2025, 2, 1, tzinfo=UTC), **extra,
    }  # fmt: skip


def run(run_id, status, level="dp_low", tenant=None, tenants=None, started=1, **extra):
    return {
        "run_id": run_id, "job_name": "run_all", "tenant_id": tenant, "tenant_ids": tenants,
        "period_start": PERIOD_START, "period_end": PERIOD_END, "privacy_level": level,
        "status": status, "started_at": datetime(2025, 3, started, tzinfo=UTC),
        "rows_read": 12_345, "rows_written": 678, "rows_quarantined": 9, "groups_suppressed": 3,
        **extra,
    }  # fmt: skip


@pytest.fixture
def ledgers(data_root):
    write_table(data_root, "privacy_budget", [
        charge("rel-a", 1.0, "done-1"),
        charge("rel-b", 0.5, "live-1"),  # its run is still running: reserved
        charge("rel-c", 1.0, "done-2"),
        charge("rel-c", -1.0, "done-2", charged_at=datetime(2025, 2, 2, tzinfo=UTC)),  # corrected
        # A release whose input spans two quarters is charged to both windows.
        charge("rel-d", 2.0, "done-3", window=(date(2025, 4, 1), date(2025, 6, 30)),
               period_end=date(2025, 4, 3)),
        charge("rel-d", 2.0, "done-3", period_end=date(2025, 4, 3)),
    ])  # fmt: skip
    write_table(data_root, "job_runs", [
        run("done-1", "succeeded", tenant=TENANT_B),
        run("live-1", "running", tenant=TENANT_B),
    ])  # fmt: skip
    return data_root


def test_budget_shows_spent_reserved_left_and_releases_per_window(client, auth, ledgers):
    body = client.get(f"/api/v1/privacy/budget/{TENANT_B}", headers=auth("admin", TENANT_B)).json
    windows = {w["window"]: w for w in body["windows"]}
    q1, q2 = windows["2025-Q1"], windows["2025-Q2"]
    assert (q1["epsilon_spent"], q1["epsilon_reserved"], q1["epsilon_left"]) == (3.0, 0.5, 0.5)
    assert q1["exhausted"] is False
    states = {r["release_id"]: (r["epsilon"], r["state"]) for r in q1["releases"]}
    assert states == {"rel-a": (1.0, "spent"), "rel-b": (0.5, "reserved"),
                      "rel-c": (0.0, "spent"), "rel-d": (2.0, "spent")}  # fmt: skip
    assert (q2["window_start"], q2["window_end"], q2["epsilon_spent"]) == (
        "2025-04-01",
        "2025-06-30",
        2.0,
    )
    assert [r["release_id"] for r in q2["releases"]] == ["rel-d"]
    order = [w["window_start"] for w in body["windows"]]
    assert order == sorted(order, reverse=True)  # newest first


@pytest.fixture
def app_config(app_config, request):
    if "monthly" in request.node.name:
        return {**app_config, "DP_BUDGET_WINDOW": "month", "DP_EPSILON_BUDGET": "3.5"}
    return app_config


def test_budget_reports_the_configured_monthly_window_and_budget(client, auth, data_root):
    write_table(data_root, "privacy_budget", [
        charge("rel-m", 3.5, "done-9", window=(date(2025, 1, 1), date(2025, 1, 31))),
    ])  # fmt: skip
    body = client.get(f"/api/v1/privacy/budget/{TENANT_B}", headers=auth("root")).json
    assert body["window_kind"] == "month" and body["epsilon_budget"] == 3.5
    january = next(w for w in body["windows"] if w["window"] == "2025-01")
    assert january["epsilon_left"] == 0.0 and january["exhausted"] is True


def test_budget_is_tenant_scoped(client, auth, ledgers):
    url = f"/api/v1/privacy/budget/{TENANT_B}"
    assert client.get(url, headers=auth("admin", TENANT_A)).status_code == 403
    assert client.get(url, headers=auth("root")).status_code == 200
    assert client.get(url, headers=auth("researcher")).status_code == 403


@pytest.fixture
def runs(data_root):
    write_table(data_root, "job_runs", [
        run("dp-multi", "succeeded", tenants=[TENANT_A, TENANT_C], started=3),
        run("exact-a", "succeeded", level="anonymized", tenant=TENANT_A, tenants=[TENANT_A],
            started=4),
        run("dp-other", "succeeded", tenants=[TENANT_C], started=5),
        run("old-row", "succeeded", level="dp_high", tenant=TENANT_A, started=6),  # no tenant_ids
    ], mode="overwrite")  # fmt: skip
    return data_root


def test_admin_sees_every_run_covering_their_tenant_without_dp_counts(client, auth, runs):
    jobs = client.get("/api/v1/etl/jobs", headers=auth("admin", TENANT_A)).json["jobs"]
    by_id = {j["run_id"]: j for j in jobs}
    assert list(by_id) == ["old-row", "exact-a", "dp-multi"]  # newest first; dp-other not theirs
    for run_id in ("dp-multi", "old-row"):
        shown = by_id[run_id]
        assert shown["counts_hidden"] is True
        assert [shown[c] for c in ("rows_read", "rows_written", "rows_quarantined",
                                   "groups_suppressed")] == [None] * 4  # fmt: skip
    exact = by_id["exact-a"]
    assert exact["counts_hidden"] is False and exact["rows_read"] == 12_345


def test_root_sees_exact_counts_of_dp_runs(client, auth, runs):
    jobs = client.get("/api/v1/etl/jobs", headers=auth("root")).json["jobs"]
    assert len(jobs) == 4
    dp = next(j for j in jobs if j["run_id"] == "dp-multi")
    assert dp["rows_read"] == 12_345 and dp["counts_hidden"] is False
    assert dp["tenant_ids"] == [TENANT_A, TENANT_C]
    scoped = client.get(f"/api/v1/etl/jobs?tenant_id={TENANT_C}", headers=auth("root")).json
    assert [j["run_id"] for j in scoped["jobs"]] == ["dp-other", "dp-multi"]
