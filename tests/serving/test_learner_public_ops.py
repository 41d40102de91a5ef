"""Learner snapshots, public metrics, privacy budget, ETL trigger and job list."""

from __future__ import annotations

import pytest

from tests.serving.conftest import LEARNER_A, LEARNER_B, TENANT_A, TENANT_B


def test_learner_snapshot_for_admin_of_its_tenant(client, auth):
    response = client.get(f"/api/v1/metrics/learner/{LEARNER_A}", headers=auth("admin", TENANT_A))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["learner_id_hash"] == LEARNER_A
    assert body["session_metrics"]["sessions"] == 12
    assert body["subject_progress"] == [
        {"subject": "math", "mastery": 81.0},
        {"subject": "reading", "mastery": 64.0},
    ]
    assert body["minimum_cohort_size"] == 5 and body["data_completeness"] == 0.97


def test_other_tenants_learner_looks_absent(client, auth):
    response = client.get(f"/api/v1/metrics/learner/{LEARNER_B}", headers=auth("admin", TENANT_A))
    assert response.status_code == 404
    assert (
        client.get(f"/api/v1/metrics/learner/{LEARNER_B}", headers=auth("root")).status_code == 200
    )


@pytest.mark.parametrize("bad", ["ABC", "a" * 63, "A" * 64, "g" * 64])
def test_malformed_learner_hash_is_422_naming_the_field(client, auth, bad):
    response = client.get(f"/api/v1/metrics/learner/{bad}", headers=auth("root"))
    assert response.status_code == 422
    assert response.json["field"] == "learner_id_hash"


def test_public_metrics_latest_period_most_private_release(client):
    response = client.get("/api/public/metrics")
    assert response.status_code == 200
    body = response.json
    assert body["privacy_level"] == "dp_medium"
    assert [m["metric_key"] for m in body["metrics"]] == ["active_learners", "lessons_completed"]
    assert "No individual" in body["privacy_notice"]


@pytest.mark.parametrize("query", ["tenant_id=x", "privacy_level=anonymized", "limit=1"])
def test_public_metrics_accepts_no_parameters(client, query):
    response = client.get(f"/api/public/metrics?{query}")
    assert response.status_code == 422
    assert response.json["field"] == query.split("=")[0]


def test_privacy_budget_per_window(client, auth):
    body = client.get(f"/api/v1/privacy/budget/{TENANT_A}", headers=auth("admin", TENANT_A)).json
    assert body["epsilon_budget"] == 4.0 and body["window_kind"] == "quarter"
    q1 = next(w for w in body["windows"] if w["window"] == "2025-Q1")
    assert (q1["window_start"], q1["window_end"]) == ("2025-01-01", "2025-03-31")
    assert (q1["epsilon_spent"], q1["epsilon_reserved"], q1["epsilon_left"]) == (2.0, 0.0, 2.0)
    assert [r["release_id"] for r in q1["releases"]] == ["r0", "r1"]
    empty = client.get(f"/api/v1/privacy/budget/{TENANT_B}", headers=auth("admin", TENANT_B))
    assert [w["releases"] for w in empty.json["windows"]] == [[]]  # only the current window


def test_job_list_filters_and_scopes(client, auth):
    everything = client.get("/api/v1/etl/jobs", headers=auth("root")).json
    assert [j["run_id"] for j in everything["jobs"]] == ["run-2", "run-1"]  # newest first
    failed = client.get("/api/v1/etl/jobs?status_filter=failed", headers=auth("root")).json
    assert [j["run_id"] for j in failed["jobs"]] == ["run-2"]
    mine = client.get("/api/v1/etl/jobs", headers=auth("admin", TENANT_A)).json
    assert [j["run_id"] for j in mine["jobs"]] == ["run-1"]
    other = client.get(f"/api/v1/etl/jobs?tenant_id={TENANT_B}", headers=auth("admin", TENANT_A))
    assert other.status_code == 403
    for bad in ("limit=0", "limit=501", "status_filter=exploded", "limit=ten"):
        response = client.get(f"/api/v1/etl/jobs?{bad}", headers=auth("root"))
        assert response.status_code == 422, bad
        assert response.json["field"] == bad.split("=")[0]


# ETL trigger and run queue: tests/serving/test_etl_queue.py
