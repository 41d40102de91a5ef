"""Tenant dashboard: values from the real tables, privacy-level slices, suppression, refresh."""

from __future__ import annotations

import math
import shutil
from datetime import timedelta

import pytest

from serving.services.tenant_metrics import error_bar_of_sum, noise_std_of_sum
from tests.serving.conftest import PERIOD_END, PERIOD_START, TENANT_A, TENANT_B
from tests.serving.curated_data import write_table

URL = f"/api/v1/metrics/tenant/{TENANT_A}"
JANUARY = {"start": "2025-01-01", "end": "2025-01-31"}


def test_tenant_metrics_follow_the_s2_15_shape_and_the_tables(client, auth):
    response = client.get(URL, query_string=JANUARY, headers=auth("admin", TENANT_A))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["tenant_id"] == TENANT_A
    assert body["reporting_period_start"] == "2025-01-01"
    assert body["privacy_level"] == "anonymized"
    sessions = body["session_metrics"]
    assert sessions["total_sessions"] == sum(100 + d for d in range(31))
    assert sessions["total_hours"] == 50.0 * 31
    assert sessions["data_points"] == 31
    assert sessions["trend_direction"] == "up"
    assert sessions["avg_duration_minutes"] == round(50.0 * 31 * 60 / sessions["total_sessions"], 3)
    assert sessions["noise_std"] == {"total_sessions": 0.0, "total_hours": 0.0}
    assert body["total_learning_hours"] == 50.0 * 31
    assert body["total_active_learners"] == 63  # peak of weekly 60..63; the small week is 3
    assert [w["iso_week"] for w in body["weekly_activity"]] == [f"2025-W0{i}" for i in range(1, 6)]
    assert [s["subject"] for s in body["top_subjects"]] == ["math", "reading", "science"]
    categories = body["iep_progress_summary"]["categories"]
    assert [c["iep_category"] for c in categories] == ["behavior", "reading_fluency"]
    assert body["last_updated"] is not None


def test_cohort_guard_nulls_small_groups_but_keeps_identifiers(client, auth):
    body = client.get(URL, query_string=JANUARY, headers=auth("admin", TENANT_A)).json
    small_week = body["weekly_activity"][-1]
    assert small_week["active_learners"] == 3
    assert small_week["insufficient_data"] is True
    assert small_week["new_learners"] is None and small_week["engagement_rate"] is None
    assert small_week["iso_week"] == "2025-W05"
    science = body["top_subjects"][-1]  # 4 learners assessed
    assert science["learners_assessed"] == 4 and science["mean_mastery"] is None
    behavior = body["iep_progress_summary"]["categories"][0]
    assert behavior["mean_progress_pct"] is None and behavior["insufficient_data"] is True
    assert body["weekly_activity"][0]["engagement_rate"] == 0.5


def test_privacy_level_selects_its_own_slice_with_error_bars(client, auth):
    query = {**JANUARY, "privacy_level": "dp_medium"}
    body = client.get(URL, query_string=query, headers=auth("admin", TENANT_A)).json
    assert body["privacy_level"] == "dp_medium" and body["epsilon"] == 1.0
    noise = body["session_metrics"]["noise_std"]
    assert math.isclose(noise["total_sessions"], math.sqrt(31 * 2 * 2.0**2), rel_tol=1e-3)
    assert math.isclose(noise["total_hours"], math.sqrt(31 * 2 * 0.5**2), rel_tol=1e-3)
    bars = body["session_metrics"]["error_bar_95"]
    assert math.isclose(bars["total_sessions"], 1.959964 * noise["total_sessions"], rel_tol=1e-3)
    # weekly rows only exist at 'anonymized' in the seed: the dp_medium slice has none
    assert body["weekly_activity"] == []


def test_the_session_summary_of_each_period_comes_with_its_error_bars(client, auth):
    body = client.get(URL, query_string=JANUARY, headers=auth("admin", TENANT_A)).json
    (january,) = body["session_summaries"]
    assert (january["period_start"], january["period_end"]) == ("2025-01-01", "2025-01-31")
    assert (january["active_learners"], january["sessions"]) == (300, 2600)
    assert january["avg_minutes_per_learner"] == 290.0 and january["ci95"] == {}
    query = {**JANUARY, "privacy_level": "dp_medium"}
    (noisy,) = client.get(URL, query_string=query, headers=auth("admin", TENANT_A)).json[
        "session_summaries"
    ]
    assert noisy["noise_scales"]["sessions"] == 360.0
    assert noisy["ci95"]["sessions"] == pytest.approx(1.959964 * 360.0)
    # Tenant B's month is under k: the row is there, its values are not.
    other = client.get(
        f"/api/v1/metrics/tenant/{TENANT_B}", query_string=JANUARY, headers=auth("admin", TENANT_B)
    ).json["session_summaries"]
    assert other[0]["insufficient_data"] is True and other[0]["sessions"] is None
    # A request outside the published periods has none.
    december = {"start": "2024-12-01", "end": "2024-12-31"}
    assert (
        client.get(URL, query_string=december, headers=auth("admin", TENANT_A)).json[
            "session_summaries"
        ]
        == []
    )


def test_a_data_root_without_the_session_summary_table_still_answers(client, auth, data_root):
    shutil.rmtree(data_root / "curated" / "session_summary")
    response = client.get(URL, query_string=JANUARY, headers=auth("admin", TENANT_A))
    assert response.status_code == 200, response.json
    assert response.json["session_summaries"] == []
    assert response.json["session_metrics"]["total_sessions"] == sum(100 + d for d in range(31))


def test_noise_of_a_total_follows_each_rows_mechanism() -> None:
    gaussian = [{"noise_scales": {"sessions": 3.0}, "noise_mechanism": "discrete_gaussian"}] * 4
    laplace = [{"noise_scales": {"sessions": 2.0}, "noise_mechanism": "discrete_laplace",
                "ci95": {"sessions": 6.0}}] * 2  # fmt: skip
    assert noise_std_of_sum(gaussian, "sessions") == pytest.approx(6.0)  # √(4·3²)
    assert noise_std_of_sum(laplace, "sessions") == pytest.approx(4.0)  # √(2·2·2²)
    assert noise_std_of_sum(gaussian, "total_hours") == 0.0
    # A one-row total is never given a narrower bar than the row's own.
    assert error_bar_of_sum(laplace[:1], "sessions") == pytest.approx(6.0)
    assert error_bar_of_sum(gaussian, "sessions") == pytest.approx(1.959964 * 6.0)


def test_rows_carry_their_error_bars(client, auth, data_root):
    query = {**JANUARY, "privacy_level": "dp_medium"}
    body = client.get(URL, query_string=query, headers=auth("admin", TENANT_A)).json
    assert body["session_metrics"]["error_bar_95"]["total_sessions"] > 0
    anonymized = client.get(URL, query_string=JANUARY, headers=auth("admin", TENANT_A)).json
    assert anonymized["session_metrics"]["error_bar_95"] == {
        "total_sessions": 0.0,
        "total_hours": 0.0,
    }
    assert all(w["ci95"] is None for w in anonymized["weekly_activity"])


def test_date_range_narrows_the_read(client, auth):
    query = {"start": "2025-01-10", "end": "2025-01-12"}
    body = client.get(URL, query_string=query, headers=auth("admin", TENANT_A)).json
    assert body["session_metrics"]["data_points"] == 3
    assert body["session_metrics"]["total_sessions"] == 109 + 110 + 111


def test_root_reads_any_tenant_admin_only_their_own(client, auth):
    other = f"/api/v1/metrics/tenant/{TENANT_B}"
    assert client.get(other, query_string=JANUARY, headers=auth("root")).status_code == 200
    denied = client.get(other, query_string=JANUARY, headers=auth("admin", TENANT_A))
    assert denied.status_code == 403
    assert denied.json["error"] == "forbidden_tenant"
    assert client.get(URL, headers=auth("researcher")).status_code == 403


def test_new_delta_version_is_served_after_refresh(client, auth, data_root):
    before = client.get(URL, query_string=JANUARY, headers=auth("admin", TENANT_A)).json
    write_table(data_root, "session_daily", [{
        "tenant_id": TENANT_A, "activity_date": PERIOD_END, "subject": "all", "sessions": 1000,
        "total_hours": 1.0,
    }])  # fmt: skip
    after = client.get(URL, query_string=JANUARY, headers=auth("admin", TENANT_A)).json
    delta = after["session_metrics"]["total_sessions"] - before["session_metrics"]["total_sessions"]
    assert delta == 1000


def test_missing_table_is_503_and_other_routes_keep_working(client, auth, data_root):
    shutil.rmtree(data_root / "curated" / "weekly_active")
    response = client.get(URL, query_string=JANUARY, headers=auth("admin", TENANT_A))
    assert response.status_code == 503
    assert response.json["details"]["table"] == "weekly_active"
    assert client.get("/api/public/metrics").status_code == 200
    health = client.get("/api/v1/health").json
    assert health["status"] == "degraded" and health["tables"]["weekly_active"] is False


def test_default_period_ends_today(client, auth):
    body = client.get(URL, headers=auth("admin", TENANT_A)).json
    start = PERIOD_START.fromisoformat(body["reporting_period_start"])
    end = PERIOD_START.fromisoformat(body["reporting_period_end"])
    assert end - start == timedelta(days=30)
