"""The API over real HTTP on 127.0.0.1 while a Spark job rewrites the table it serves.

(A missing table -> 503 on its routes only, and bad configuration failing at start-up,
are covered by tests/serving: test_tenant_metrics.py and test_auth_and_config.py.)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from werkzeug.serving import make_server

from jobs.delta_io import overwrite_slice
from serving.app import create_app
from serving.tokens import Role, mint_token
from tests.serving.conftest import EXPORT_KEY, SECRET, TENANT_A, seed_curated

LOAD_SECONDS = 15.0
CLIENTS = 3
STEP = 1000  # each rewrite adds STEP sessions to every tenant-total day of tenant A
DAYS = 31
SLICE = f"tenant_id = '{TENANT_A}' AND privacy_level = 'anonymized'"


@pytest.mark.slow
def test_loopback_load_during_rewrite_sees_no_5xx_and_only_whole_versions(
    spark: SparkSession, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    seed_curated(root)
    table = str(root / "curated" / "session_daily")
    original = spark.read.format("delta").load(table).where(SLICE).localCheckpoint()
    app = create_app(
        {
            "JWT_SECRET": SECRET,
            "EXPORT_KEY": EXPORT_KEY,
            "DATA_ROOT": str(root),
            "AUDIT_LOG_DIR": str(tmp_path / "audit"),
            "TABLE_REFRESH_SECONDS": 0,
            "RATE_LIMIT_AUTHENTICATED": "1000000 per minute",
            "ETL_SUBMIT_SCRIPT": str(tmp_path / "no-such-spark-submit.sh"),
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/metrics/tenant/{TENANT_A}"
    token = mint_token(SECRET, role=Role.parse("admin"), subject="load", tenant_id=TENANT_A)
    headers = {"Authorization": f"Bearer {token}"}
    params = {"start": "2025-01-01", "end": "2025-01-31"}

    def total_sessions() -> int:
        response = requests.get(url, params=params, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return int(response.json()["session_metrics"]["total_sessions"])

    statuses: list[int] = []
    totals: list[int] = []
    errors: list[BaseException] = []
    writes_done: list[int] = []
    stop = threading.Event()

    def client() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    response = session.get(url, params=params, headers=headers, timeout=30)
                except requests.RequestException as error:
                    errors.append(error)
                    continue
                statuses.append(response.status_code)
                if response.status_code == 200:
                    totals.append(int(response.json()["session_metrics"]["total_sessions"]))

    try:
        baseline = total_sessions()
        load = [threading.Thread(target=client) for _ in range(CLIENTS)]
        started = time.monotonic()
        for thread in load:
            thread.start()
        version = 0
        try:
            while time.monotonic() - started < LOAD_SECONDS or version < 2:
                version += 1
                rewritten = original.withColumn(
                    "sessions",
                    F.when(F.col("subject") == "all", F.col("sessions") + STEP * version).otherwise(
                        F.col("sessions")
                    ),
                )
                overwrite_slice(rewritten, table, SLICE)
                writes_done.append(version)
                if time.monotonic() - started > 4 * LOAD_SECONDS:
                    break
        finally:
            stop.set()
            for thread in load:
                thread.join(timeout=60)
        final = total_sessions()
    finally:
        server.shutdown()
        serving.join(timeout=10)

    assert not errors, errors[:3]
    assert statuses and all(s == 200 for s in statuses), sorted(set(statuses))
    assert final == baseline + STEP * DAYS * writes_done[-1]
    # Every response is exactly one version's total: never a mix of old and new files.
    seen = set(totals)
    assert all((t - baseline) % (STEP * DAYS) == 0 for t in seen), sorted(seen)
    assert all(0 <= (t - baseline) // (STEP * DAYS) <= writes_done[-1] for t in seen)
    assert len(seen) >= 2, "the load never observed a rewrite"
