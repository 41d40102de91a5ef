"""ETL trigger: requests queued in ops/run_requests (no child process, no JVM in the API)."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import UTC, datetime
from pathlib import Path

from conf.settings import load_settings
from jobs.run_queue import RunQueue
from jobs.worker import Worker, WorkerOptions
from tests.serving.conftest import TENANT_A, TENANT_B
from tests.serving.curated_data import write_table

PERIOD = "start=2025-01-01&end=2025-01-31"


def _queue(data_root: Path) -> RunQueue:
    return RunQueue(str(data_root / "ops" / "run_requests"))


def test_trigger_queues_a_run_whose_id_is_a_uuid_and_refuses_a_second(client, auth, data_root):
    url = f"/api/v1/etl/trigger/{TENANT_A}?privacy_level=anonymized&{PERIOD}"
    first = client.post(url, headers=auth("admin", TENANT_A))
    assert first.status_code == 202, first.json
    body = first.json
    assert str(uuid.UUID(body["run_id"])) == body["run_id"]  # --run-id must be a UUID
    assert body["status"] == "queued" and body["tenant_id"] == TENANT_A
    stored = _queue(data_root).get(body["run_id"])
    assert stored is not None and stored.status == "queued"
    assert stored.run_id == body["run_id"] and stored.requested_by == "admin"
    assert (stored.period_start, stored.period_end) == (dt.date(2025, 1, 1), dt.date(2025, 1, 31))

    second = client.post(url, headers=auth("admin", TENANT_A))
    assert second.status_code == 409 and second.json["error"] == "run_in_progress"
    other = client.post(
        f"/api/v1/etl/trigger/{TENANT_B}?privacy_level=dp_low&{PERIOD}", headers=auth("root")
    )
    assert other.status_code == 202
    assert len(_queue(data_root).requests()) == 2


def test_a_repeated_request_id_returns_the_same_run(client, auth, data_root):
    request_id = str(uuid.uuid4())
    url = f"/api/v1/etl/trigger/{TENANT_A}?{PERIOD}&request_id={request_id}"
    first = client.post(url, headers=auth("admin", TENANT_A))
    again = client.post(url, headers=auth("admin", TENANT_A))
    assert first.status_code == 202 and again.status_code == 200
    assert first.json["run_id"] == again.json["run_id"] == request_id
    assert len(_queue(data_root).requests()) == 1
    changed = client.post(url.replace("2025-01-31", "2025-01-30"), headers=auth("admin", TENANT_A))
    assert changed.status_code == 409 and changed.json["error"] == "request_id_reused"
    assert len(_queue(data_root).requests()) == 1


def test_dp_runs_are_root_only(client, auth, data_root):
    for level in ("dp_low", "dp_medium", "dp_high"):
        url = f"/api/v1/etl/trigger/{TENANT_A}?privacy_level={level}&{PERIOD}"
        response = client.post(url, headers=auth("admin", TENANT_A))
        assert response.status_code == 403, level
        assert response.json["field"] == "privacy_level"
        assert "root" in response.json["message"] and "anonymized" in response.json["message"]
    assert _queue(data_root).requests() == []
    response = client.post(
        f"/api/v1/etl/trigger/{TENANT_A}?privacy_level=dp_low&{PERIOD}", headers=auth("root")
    )
    assert response.status_code == 202


def test_admins_trigger_only_their_tenant(client, auth, data_root):
    response = client.post(
        f"/api/v1/etl/trigger/{TENANT_B}?{PERIOD}", headers=auth("admin", TENANT_A)
    )
    assert response.status_code == 403
    assert _queue(data_root).requests() == []


def test_trigger_is_409_when_ledger_shows_a_running_job(client, auth, data_root):
    write_table(data_root, "job_runs", [{
        "run_id": "run-9", "job_name": "run_all", "tenant_id": TENANT_B,
        "period_start": datetime(2025, 1, 1).date(), "period_end": datetime(2025, 1, 1).date(),
        "privacy_level": "anonymized", "status": "running",
        "started_at": datetime(2025, 3, 1, tzinfo=UTC),
    }])  # fmt: skip
    response = client.post(f"/api/v1/etl/trigger/{TENANT_B}", headers=auth("admin", TENANT_B))
    assert response.status_code == 409


def test_trigger_validates_dates_level_and_request_id(client, auth, data_root):
    headers = auth("admin", TENANT_A)
    base = f"/api/v1/etl/trigger/{TENANT_A}"
    cases = (
        ("start=2025-02-01&end=2025-01-01", "end"),
        ("start=2025-13-01", "start"),
        ("privacy_level=dp_extreme", "privacy_level"),
        ("request_id=api-123", "request_id"),
    )
    for query, field in cases:
        response = client.post(f"{base}?{query}", headers=headers)
        assert response.status_code == 422 and response.json["field"] == field, query
    assert _queue(data_root).requests() == []  # nothing was queued


def test_job_list_shows_queued_requests_and_failed_launches(client, auth, data_root):
    queued = client.post(
        f"/api/v1/etl/trigger/{TENANT_A}?{PERIOD}", headers=auth("admin", TENANT_A)
    )
    run_id = queued.json["run_id"]
    jobs = client.get("/api/v1/etl/jobs?status_filter=queued", headers=auth("admin", TENANT_A)).json
    assert [(j["run_id"], j["status"]) for j in jobs["jobs"]] == [(run_id, "queued")]

    # A worker whose launcher cannot start: the run shows as failed, with the error.
    settings = load_settings(data_root=str(data_root))
    options = WorkerOptions(submit_script=data_root / "no-such-spark-submit.sh")
    Worker(_queue(data_root), settings, options).run_once()
    jobs = client.get("/api/v1/etl/jobs", headers=auth("admin", TENANT_A)).json["jobs"]
    failed = [j for j in jobs if j["run_id"] == run_id]
    assert len(failed) == 1 and failed[0]["status"] == "failed"
    assert "cannot start" in failed[0]["error_message"]
    assert "no-such-spark-submit.sh" in failed[0]["error_message"]
    # Other tenants' admins do not see it; root does.
    other = client.get("/api/v1/etl/jobs", headers=auth("admin", TENANT_B)).json["jobs"]
    assert run_id not in [j["run_id"] for j in other]
    assert run_id in [
        j["run_id"] for j in client.get("/api/v1/etl/jobs", headers=auth("root")).json["jobs"]
    ]
    # A failed request no longer blocks the tenant.
    assert (
        client.post(
            f"/api/v1/etl/trigger/{TENANT_A}?{PERIOD}", headers=auth("admin", TENANT_A)
        ).status_code
        == 202
    )


def test_a_running_row_whose_worker_died_is_listed_as_abandoned(client, auth, data_root):
    queue = _queue(data_root)
    response = client.post(
        f"/api/v1/etl/trigger/{TENANT_B}?{PERIOD}", headers=auth("admin", TENANT_B)
    )
    run_id = response.json["run_id"]
    claim = queue.claim("dead-worker", dt.timedelta(seconds=0))  # its lease lapses at once
    assert claim is not None and claim.run_id == run_id
    write_table(data_root, "job_runs", [{
        "run_id": run_id, "job_name": "run_all", "tenant_id": TENANT_B,
        "period_start": datetime(2025, 1, 1).date(), "period_end": datetime(2025, 1, 31).date(),
        "privacy_level": "anonymized", "status": "running",
        "started_at": datetime(2025, 3, 1, tzinfo=UTC),
    }])  # fmt: skip
    jobs = client.get("/api/v1/etl/jobs", headers=auth("admin", TENANT_B)).json["jobs"]
    assert [j["status"] for j in jobs if j["run_id"] == run_id] == ["abandoned"]
    # ... and does not block a new request of the tenant.
    assert (
        client.post(
            f"/api/v1/etl/trigger/{TENANT_B}?{PERIOD}", headers=auth("admin", TENANT_B)
        ).status_code
        == 202
    )


def test_the_api_never_starts_a_process(client, auth, monkeypatch):
    import subprocess

    def refuse(*args, **kwargs):
        raise AssertionError("the API started a process")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    response = client.post(
        f"/api/v1/etl/trigger/{TENANT_A}?{PERIOD}", headers=auth("admin", TENANT_A)
    )
    assert response.status_code == 202
