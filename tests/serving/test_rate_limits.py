"""Rate limits: per IP for anonymous callers, per user for token holders; 429 + Retry-After."""

from __future__ import annotations

import pytest

from tests.serving.conftest import TENANT_A


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATE_LIMIT_PUBLIC": "5 per minute",
            "RATE_LIMIT_AUTHENTICATED": "8 per minute"}  # fmt: skip


def test_public_limit_is_per_ip_and_answers_json_429(client):
    statuses = [client.get("/api/public/metrics").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    limited = client.get("/api/v1/health")  # shared across routes
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json["error"] == "rate_limited"
    assert limited.headers["X-Content-Type-Options"] == "nosniff"
    other_ip = client.get("/api/public/metrics", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_ip.status_code == 200


def test_authenticated_limit_is_per_user(client, auth):
    url = f"/api/v1/privacy/budget/{TENANT_A}"
    alice = auth("admin", TENANT_A, subject="alice")
    statuses = [client.get(url, headers=alice).status_code for _ in range(9)]
    assert statuses == [200] * 8 + [429]
    bob = auth("admin", TENANT_A, subject="bob")
    assert client.get(url, headers=bob).status_code == 200  # same IP, other user


def test_failed_logins_count_against_the_ip(client):
    url = f"/api/v1/privacy/budget/{TENANT_A}"
    statuses = [client.get(url, headers={"Authorization": "Bearer x"}).status_code
                for _ in range(6)]  # fmt: skip
    assert statuses == [401] * 5 + [429]
