"""Issue 15 hardening on the app itself: audit poisoning, body limit, error shapes, proxies, tokens."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from conf.settings import ConfigurationError
from serving.app import create_app
from serving.tokens import AUDIENCE, Role, mint_token
from tests.serving.conftest import SECRET, TENANT_A, read_audit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REASON = "cohort study of reading progress"


# --- audit log poisoning (broken 2) -----------------------------------------------------------


def test_pii_named_parameters_never_poison_the_root_viewer(client, auth, app):
    assert client.get("/api/v1/health?email=kid@example.org").status_code == 422
    client.get("/api/v1/health?access_token=eyJhbGciOi.secret.part&name=Ann")
    logs = client.get("/api/v1/root/audit/logs", headers=auth("root"))
    assert logs.status_code == 200, logs.json
    poisoned = [e for e in logs.json["entries"] if e["endpoint"] == "/api/v1/health"]
    assert poisoned[-1]["redacted_parameters"] == ["email"]
    assert poisoned[-1]["parameters"] == {}
    assert "kid@example.org" not in logs.get_data(as_text=True)
    assert "eyJhbGciOi" not in logs.get_data(as_text=True)
    today = read_audit(app)[0]["iso_timestamp"][:10]
    exported = client.get(
        f"/api/v1/root/audit/export?start_date={today}&end_date={today}&reason={REASON}",
        headers=auth("root"),
    )
    assert exported.status_code == 200
    raw = "".join(
        p.read_text() for p in app.extensions["analytics_audit"].directory.glob("*.jsonl")
    )
    assert "kid@example.org" not in raw and "eyJhbGciOi" not in raw and '"email":' not in raw


def test_entries_written_before_the_fix_are_cleaned_on_read(client, auth, app):
    legacy = app.extensions["analytics_audit"].directory / "access.jsonl"
    legacy.write_text(
        '{"timestamp": 1.0, "iso_timestamp": "1970-01-01T00:00:01+00:00", "endpoint": '
        '"/api/v1/health", "action": "health_check", "success": false, "status": 422, '
        '"parameters": {"email": "kid@example.org"}, "events": []}\n'
    )
    logs = client.get("/api/v1/root/audit/logs", headers=auth("root"))
    assert logs.status_code == 200
    old = next(e for e in logs.json["entries"] if e["timestamp"] == 1.0)
    assert old["parameters"] == {} and old["redacted_parameters"] == ["email"]
    assert "kid@example.org" not in logs.get_data(as_text=True)


# --- body limit (broken 5) --------------------------------------------------------------------


@pytest.mark.parametrize("url", [f"/api/v1/etl/trigger/{TENANT_A}", "/api/v1/health",
                                 "/api/v1/root/grants"])  # fmt: skip
def test_bodies_over_64_kb_are_413_json_on_every_route(client, auth, app, url):
    method = "GET" if url.endswith("health") else "POST"
    response = client.open(url, method=method, data=b"x" * (1024 * 1024), headers=auth("root"))
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"
    assert "65536 bytes" in response.json["message"]
    assert read_audit(app)[-1]["status"] == 413  # refused before any view ran, and audited


# --- error shapes, index, headers ------------------------------------------------------------


def test_405_and_404_are_json_and_keep_their_headers(client):
    wrong = client.delete("/api/v1/health")
    assert wrong.status_code == 405 and wrong.json["error"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"] and "GET" in wrong.json["details"]["allowed_methods"]
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"


def test_redirects_are_json(app, client):
    from serving.guards.access import access

    @access(Role.PUBLIC, action="slashed")
    def slashed():
        return {}

    app.add_url_rule("/api/v1/slashed/", "slashed", slashed)

    response = client.get("/api/v1/slashed")
    assert response.status_code == 308
    assert response.json["details"]["location"].endswith("/api/v1/slashed/")
    assert response.headers["Location"].endswith("/api/v1/slashed/")


def test_api_index_lists_endpoints_and_the_openapi_document(client):
    body = client.get("/api/v1").json
    assert body["openapi"] == "/docs/openapi.json"
    assert client.get(body["openapi"]).status_code == 200
    paths = {(e["path"], tuple(e["methods"])): e["min_role"] for e in body["endpoints"]}
    assert paths[("/api/v1/health", ("GET",))] == "public"
    assert paths[("/api/v1/root/grants", ("POST",))] == "root"
    assert paths[("/api/v1/export/<dataset>", ("GET",))] == "researcher"


def test_no_retry_after_on_success_hsts_in_production_and_request_ids(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert "Retry-After" not in response.headers
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert len(response.headers["X-Request-ID"]) == 32
    assert response.headers["X-Request-ID"] != client.get("/api/v1/health").headers["X-Request-ID"]


def test_no_hsts_in_development(app_config):
    app = create_app({**app_config, "SERVING_ENV": "development"})
    assert "Strict-Transport-Security" not in app.test_client().get("/api/v1/health").headers


@pytest.mark.parametrize("reason", ["study of\nreading progress", "study\x1b[31m of reading",
                                    "study of reading\x00progress"])  # fmt: skip
def test_export_reason_rejects_control_characters(client, auth, reason):
    response = client.get(
        "/api/v1/export/course_metrics",
        query_string={"start": "2025-01-01", "end": "2025-01-31", "reason": reason,
                      "privacy_level": "dp_medium"},
        headers=auth("researcher"),
    )  # fmt: skip
    assert response.status_code == 422 and response.json["field"] == "reason"


def test_health_says_in_memory_limits_are_per_worker(client):
    limits = client.get("/api/v1/health").json["rate_limits"]
    assert limits == {"storage": "memory", "scope": "per-worker", "reachable": True,
                      "public": "4 per minute", "authenticated": "300 per minute"}  # fmt: skip


# --- rate limits: unmatched URLs, proxies ----------------------------------------------------


@pytest.fixture
def app_config(app_config, request):
    config = {**app_config, "RATE_LIMIT_PUBLIC": "4 per minute"}
    if "one_trusted_proxy" in request.node.name:
        config["TRUSTED_PROXY_HOPS"] = 1
    return config


def test_unmatched_urls_count_towards_the_limit(client):
    statuses = [client.get(f"/api/v1/no-such-{i}").status_code for i in range(4)]
    assert statuses == [404] * 4
    assert client.get("/api/v1/health").status_code == 429


def test_forwarded_for_is_ignored_without_trusted_proxies(client, app):
    spoofed = [
        client.get("/api/v1/health", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
        for i in range(5)
    ]
    assert spoofed == [200] * 4 + [429]  # one client address, however it claims otherwise
    assert {r["client_ip"] for r in read_audit(app)} == {"127.0.0.1"}


def test_one_trusted_proxy_gives_each_client_its_own_limit_and_audit_address(client, app):
    def via_proxy(client_ip):
        return client.get("/api/v1/health", headers={"X-Forwarded-For": f"6.6.6.6, {client_ip}"})

    assert [via_proxy("10.0.0.1").status_code for _ in range(5)] == [200] * 4 + [429]
    assert via_proxy("10.0.0.2").status_code == 200  # another client behind the same proxy
    assert {r["client_ip"] for r in read_audit(app)} == {"10.0.0.1", "10.0.0.2"}


# --- tokens and secrets -----------------------------------------------------------------------


def _token(lifetime: int, issued: float | None = None) -> str:
    now = int(time.time() if issued is None else issued)
    claims = {"sub": "u", "role": "root", "aud": AUDIENCE, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_tokens_longer_than_the_maximum_lifetime_are_refused(client):
    url = "/api/v1/root/grants"
    ok = client.get(url, headers={"Authorization": f"Bearer {_token(24 * 3600)}"})
    assert ok.status_code == 200
    too_long = client.get(url, headers={"Authorization": f"Bearer {_token(24 * 3600 + 1)}"})
    assert too_long.status_code == 401 and "lifetime" in too_long.json["message"]
    future = client.get(url, headers={"Authorization": f"Bearer {_token(60, time.time() + 3600)}"})
    assert future.status_code == 401


def test_cli_refuses_a_ttl_above_the_maximum(tmp_path):
    env = {"JWT_SECRET": SECRET, "PATH": "/usr/bin:/bin", "DATA_ROOT": str(tmp_path),
           "JWT_MAX_TTL_SECONDS": "7200"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "serving.tokens", "--role", "root", "--ttl", "7201"],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "JWT_MAX_TTL_SECONDS" in done.stderr
    assert mint_token(SECRET, role=Role.ROOT, subject="s")  # the library itself is unchanged


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("abcdefgh" * 4, "low-entropy"),
        ("your-secret-key-goes-here-0123456789", "placeholder"),
        ("prod-CHANGE_ME-6f1c2a9e0b7d4c3a8e5f1b2d9c0a7e4f", "placeholder"),
        ("correcthorsebatterystaplecorrecthorse", "low-entropy"),
        ("1234567890" * 4, "low-entropy"),
        ("", "JWT_SECRET: is required"),
        ("   ", "JWT_SECRET: is required"),
    ],
)
def test_weak_or_empty_jwt_secrets_stop_start_up(app_config, monkeypatch, secret, message):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match=message) as raised:
        create_app({**app_config, "JWT_SECRET": secret})
    assert secret.strip() == "" or secret not in str(raised.value)


def test_empty_jwt_secret_in_the_environment_is_reported_missing(app_config, monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "")
    config = {k: v for k, v in app_config.items() if k != "JWT_SECRET"}
    with pytest.raises(ConfigurationError, match="JWT_SECRET: is required"):
        create_app(config)


def test_ttl_above_the_maximum_is_a_configuration_error(app_config):
    with pytest.raises(ConfigurationError, match="JWT_MAX_TTL_SECONDS") as raised:
        create_app({**app_config, "JWT_TTL_SECONDS": 7200, "JWT_MAX_TTL_SECONDS": 3600})
    assert SECRET not in str(raised.value)


def test_gunicorn_messages_lose_queries_tokens_and_pseudonyms():
    from serving.gunicorn_logging import redact

    token = mint_token(SECRET, role=Role.ROOT, subject="s")
    line = (f"Invalid request from ip=1.2.3.4: 'GET /api/v1/metrics/learner/{'a' * 64}"
            f"?access_token={token} HTTP/1.1' Authorization: Bearer {token}")  # fmt: skip
    cleaned = redact(line)
    assert token not in cleaned and "a" * 64 not in cleaned and "access_token" not in cleaned
    assert cleaned.startswith("Invalid request from ip=1.2.3.4: 'GET /api/v1/metrics/learner/")
