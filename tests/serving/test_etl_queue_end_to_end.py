"""Trigger through the real API, a real worker runs run_all on tiny raw tables, the ledger agrees.

The API appends the request; ``jobs.worker`` claims it and starts ``python -m
jobs.run_all`` (its own Spark driver) under the request's id; the job list moves
queued -> running -> succeeded and job_runs records the same id. Raw tables are
written with delta-rs, so this test starts no JVM of its own.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from conf.settings import load_settings
from contracts.columns import arrow_schema
from contracts.raw import COURSES, EVENTS, IEP_GOALS, LEARNERS, TENANTS
from jobs.run_queue import RunQueue, read_whole
from jobs.worker import Worker, WorkerOptions
from serving.app import create_app
from tests.reliability.rawdata import END, START, TEST_KEY, RawData, tenant_id
from tests.serving.conftest import SECRET

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 2400.0  # a loaded 2-core machine took >15 min; an idle one a few


def _write_raw(root: Path, data: RawData) -> None:
    columns = {
        "tenants": TENANTS,
        "learners": LEARNERS,
        "events": EVENTS,
        "iep_goals": IEP_GOALS,
        "courses": COURSES,
    }
    for name, contract in columns.items():
        schema = pa.schema([field.with_nullable(True) for field in arrow_schema(contract)])
        names = schema.names
        rows = [dict(zip(names, row, strict=True)) for row in getattr(data, name)]
        write_deltalake(str(root / "raw" / name), pa.Table.from_pylist(rows, schema=schema))


@pytest.mark.slow
def test_trigger_worker_ledger_queued_running_succeeded(tmp_path, auth):
    root = tmp_path / "data"
    _write_raw(root, RawData.for_tenants([1, 2]))
    tenant = tenant_id(1)
    app = create_app({
        "JWT_SECRET": SECRET, "DATA_ROOT": str(root), "AUDIT_LOG_DIR": str(tmp_path / "audit"),
        "TABLE_REFRESH_SECONDS": 0,
    })  # fmt: skip
    client = app.test_client()
    headers = auth("admin", tenant)
    query = f"privacy_level=anonymized&start={START.isoformat()}&end={END.isoformat()}"
    response = client.post(f"/api/v1/etl/trigger/{tenant}?{query}", headers=headers)
    assert response.status_code == 202, response.json
    run_id = response.json["run_id"]

    def status() -> str | None:
        jobs = client.get("/api/v1/etl/jobs", headers=headers).json["jobs"]
        found = [j["status"] for j in jobs if j["run_id"] == run_id]
        return found[0] if found else None

    seen = [status()]
    settings = load_settings(data_root=str(root))
    environ = {
        **os.environ,
        "PSEUDONYM_KEY": TEST_KEY,
        "SPARK_MASTER": "local[1]",
        "SPARK_SHUFFLE_PARTITIONS": "2",
        "PYTHONPATH": str(REPO),
        "JWT_SECRET": SECRET,  # present in the worker, filtered out of the run
    }
    worker = Worker(
        RunQueue(settings.path("ops", "run_requests")),
        settings,
        WorkerOptions(lease=dt.timedelta(seconds=30)),
        environ,
    )
    thread = threading.Thread(target=worker.run_once, name="test-worker", daemon=True)
    thread.start()
    deadline = time.monotonic() + RUN_TIMEOUT
    while thread.is_alive() and time.monotonic() < deadline:
        current = status()
        if current != seen[-1]:
            seen.append(current)
        time.sleep(0.5)
    if thread.is_alive():
        worker.stop()
        thread.join(timeout=30)
        pytest.fail(f"the run did not finish in {RUN_TIMEOUT:.0f}s; statuses seen: {seen}")
    seen.append(status())
    compressed = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert compressed == ["queued", "running", "succeeded"], seen

    ledger = read_whole(DeltaTable(settings.path("ops", "job_runs"))).to_pylist()
    rows = [r for r in ledger if r["run_id"] == run_id]
    assert len(rows) == 1 and rows[0]["status"] == "succeeded", rows
    assert rows[0]["tenant_id"] == tenant and rows[0]["rows_written"] > 0
    request = RunQueue(settings.path("ops", "run_requests")).get(run_id)
    assert request is not None and request.status == "succeeded" and request.attempt == 1
    sessions = read_whole(DeltaTable(settings.path("curated", "session_daily"))).to_pylist()
    assert {r["job_run_id"] for r in sessions} == {run_id}
    assert {r["tenant_id"] for r in sessions} == {tenant}
