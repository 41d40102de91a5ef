"""Production serving over real servers on 127.0.0.1: gunicorn (gthread + head deadline), Redis.

Each test starts its own servers on free ports and stops them. Redis comes from
Debian's redis-server (``scripts/ensure_redis.sh`` installs it for ``make test``).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from serving.app import create_app
from serving.tokens import Role, mint_token
from tests.serving.conftest import EXPORT_KEY, LEARNER_A, SECRET, TENANT_A
from tests.serving.live import Gunicorn, gunicorn, redis_server, wait_for

HALF_OPEN_CONNECTIONS = 12
REASON = "cohort study of reading progress"


def _env(data_root: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "JWT_SECRET": SECRET,
        "EXPORT_KEY": EXPORT_KEY,
        "DATA_ROOT": str(data_root),
        "AUDIT_LOG_DIR": str(tmp_path / "audit"),
        "TABLE_REFRESH_SECONDS": "0",
        **extra,
    }


def _bearer(role: str, tenant: str | None = None) -> dict[str, str]:
    token = mint_token(SECRET, role=Role.parse(role), subject="live-tester", tenant_id=tenant)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def half_open() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


@pytest.mark.slow  # starts gunicorn (10-40 s on a loaded machine)
def test_slow_clients_do_not_starve_the_api(data_root, tmp_path, half_open):
    """12 connections that send half a request head: health still answers within 2 s."""
    env = _env(data_root, tmp_path, WEB_CONCURRENCY="2", GUNICORN_THREADS="4",
               REQUEST_HEADER_TIMEOUT="1")  # fmt: skip
    with gunicorn(env, tmp_path / "gunicorn.log") as server:
        for _ in range(HALF_OPEN_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            half_open.append(sock)
        time.sleep(0.3)  # every slow connection has been picked up by a worker thread
        started = time.monotonic()
        response = requests.get(f"{server.url}/api/v1/health", timeout=2)
        assert response.status_code == 200
        assert time.monotonic() - started < 2.0
        # The head deadline closed every slow connection (8 threads < 12 connections).
        for sock in half_open:
            sock.settimeout(5)
            assert sock.recv(1024) == b""
        assert "request head not received within 1.0 s" in server.log_text()


@pytest.mark.slow  # starts gunicorn (10-40 s on a loaded machine)
def test_access_log_carries_no_pseudonym_token_or_query(data_root, tmp_path):
    root = _bearer("root")
    token = root["Authorization"].split()[1]
    with gunicorn(_env(data_root, tmp_path), tmp_path / "gunicorn.log", root) as server:
        learner = requests.get(
            f"{server.url}/api/v1/metrics/learner/{LEARNER_A}?access_token={token}",
            headers=_bearer("admin", TENANT_A), timeout=10,
        )  # fmt: skip
        assert learner.status_code == 422  # access_token is not a parameter of this route
        assert (
            requests.get(
                f"{server.url}/api/v1/metrics/learner/{LEARNER_A}",
                headers=_bearer("admin", TENANT_A),
                timeout=10,
            ).status_code
            == 200
        )
        health = requests.get(f"{server.url}/api/v1/health?access_token={token}", timeout=10)
        assert health.headers["Server"] == "gunicorn"  # no version
        missing = requests.get(f"{server.url}/api/v1/learner/{LEARNER_A}?secret=1", timeout=10)
        assert missing.status_code == 404
        # The access line of the last request is written after its response: poll for it.
        wait_for(lambda: "(unmatched)" in _access_routes(server.log_text()),
                 what="the access log line of the unmatched request")  # fmt: skip
        log = server.log_text()
    assert "Listening at: http://127.0.0.1:" in log  # loopback by default
    assert LEARNER_A not in log and token not in log
    assert "access_token" not in log and "secret=1" not in log
    access = _access_entries(log)
    routes = _access_routes(log)
    assert "/api/v1/metrics/learner/<learner_id_hash>" in routes and "(unmatched)" in routes
    assert all(entry["request_id"] for entry in access)
    app_lines = [json.loads(line) for line in log.splitlines()
                 if line.startswith("{") and '"logger":"serving.request"' in line]  # fmt: skip
    assert app_lines and all(entry["request_id"] for entry in app_lines)


def _access_entries(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines()
            if line.startswith("{") and '"logger":"gunicorn.access"' in line]  # fmt: skip


def _access_routes(log: str) -> list[str]:
    return [entry["route"] for entry in _access_entries(log)]


def _public_access_lines(server: Gunicorn) -> list[str]:
    return [line for line in server.log_text().splitlines()
            if '"logger":"gunicorn.access"' in line and '"/api/public/metrics"' in line]  # fmt: skip


@pytest.mark.slow  # starts gunicorn (10-40 s on a loaded machine)
def test_public_limit_holds_across_two_workers_with_redis(data_root, tmp_path):
    with redis_server(tmp_path / "redis") as redis:
        env = _env(data_root, tmp_path, RATE_LIMIT_STORAGE_URI=redis.uri, WEB_CONCURRENCY="2")
        with gunicorn(env, tmp_path / "gunicorn.log", _bearer("root")) as server:
            health = requests.get(f"{server.url}/api/v1/health", headers=_bearer("root"),
                                  timeout=10).json()  # fmt: skip
            assert health["rate_limits"]["scope"] == "shared"
            statuses = []
            for _ in range(70):
                # A new connection each time, so both workers take requests.
                response = requests.get(f"{server.url}/api/public/metrics",
                                        headers={"Connection": "close"}, timeout=10)  # fmt: skip
                statuses.append(response.status_code)
            wait_for(lambda: len(_public_access_lines(server)) == 70, what="70 access log lines")
            pids = {json.loads(line)["pid"] for line in _public_access_lines(server)}
    assert len(pids) == 2, "both workers must have served requests for the test to mean anything"
    assert statuses.count(200) == 60 and statuses[60:] == [429] * 10


@pytest.fixture
def redis_app_config(app_config: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Any]]:
    with redis_server(tmp_path / "redis") as redis:
        yield {**app_config, "RATE_LIMIT_STORAGE_URI": redis.uri, "_redis": redis}


def test_redis_down_reads_fail_open_exports_and_writes_fail_closed(redis_app_config, auth):
    redis = redis_app_config.pop("_redis")
    app = create_app(redis_app_config)
    client = app.test_client()
    export = (f"/api/v1/export/course_metrics?start=2025-01-01&end=2025-01-31"
              f"&privacy_level=dp_medium&reason={REASON}")  # fmt: skip
    assert client.get(export, headers=auth("researcher")).status_code == 200
    redis.stop()
    assert client.get("/api/public/metrics").status_code == 200  # reads: open
    url = f"/api/v1/metrics/tenant/{TENANT_A}"
    assert client.get(url, headers=auth("admin", TENANT_A)).status_code == 200
    refused = client.get(export, headers=auth("researcher"))  # exports: closed
    assert refused.status_code == 503 and refused.json["error"] == "rate_limiter_unavailable"
    trigger = client.post(f"/api/v1/etl/trigger/{TENANT_A}", headers=auth("admin", TENANT_A))
    assert trigger.status_code == 503 and trigger.json["error"] == "rate_limiter_unavailable"
    health = client.get("/api/v1/health").json
    assert health["status"] == "degraded" and health["rate_limits"]["reachable"] is False
