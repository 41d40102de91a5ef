"""Tokens, roles and start-up configuration."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from conf.settings import ConfigurationError
from serving.app import create_app
from serving.tokens import AUDIENCE, Role, mint_token, verify_token
from tests.serving.conftest import SECRET, TENANT_A

URL = f"/api/v1/privacy/budget/{TENANT_A}"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(**overrides):
    # Built at collection time; the suite may reach these tests much later, so the
    # tokens must outlive the whole run (only the "expired" case tests expiry).
    now = int(time.time())
    base = {"sub": "u", "role": "admin", "tenant_id": TENANT_A, "aud": AUDIENCE,
            "iat": now, "exp": now + 24 * 3600}  # fmt: skip
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (mint_token(SECRET, role=Role.ADMIN, subject="u", tenant_id=TENANT_A, now=0), "expired"),
        (
            mint_token("another-secret-0123456789abcdefghijkl", role=Role.ROOT, subject="u"),
            "invalid",
        ),
        (jwt.encode(claims(), SECRET, algorithm="HS512"), "invalid"),
        (jwt.encode(claims(), None, algorithm="none"), "invalid"),
        (jwt.encode(claims(role="superuser"), SECRET, algorithm="HS256"), "claims"),
        (jwt.encode(claims(tenant_id=None), SECRET, algorithm="HS256"), "claims"),
        (jwt.encode(claims(aud="other"), SECRET, algorithm="HS256"), "invalid"),
    ],
    ids=["expired", "forged", "wrong-alg", "alg-none", "bad-role", "admin-no-tenant", "aud"],
)
def test_bad_tokens_are_401(client, token, message):
    response = client.get(URL, headers=bearer(token))
    assert response.status_code == 401
    assert message in response.json["message"]


def test_malformed_authorization_header_is_401(client):
    response = client.get(URL, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401


def test_role_hierarchy_and_tenant_scope(client, auth):
    assert client.get(URL, headers=auth("admin", TENANT_A)).status_code == 200
    assert client.get(URL, headers=auth("root")).status_code == 200
    assert client.get(URL, headers=auth("researcher", TENANT_A)).status_code == 403
    other = "/api/v1/privacy/budget/33333333-3333-4333-8333-333333333333"
    assert client.get(other, headers=auth("admin", TENANT_A)).status_code == 403
    root_only = client.get("/api/v1/root/audit/logs", headers=auth("admin", TENANT_A))
    assert root_only.status_code == 403
    assert root_only.json["error"] == "insufficient_privileges"


def test_token_round_trip():
    token = mint_token(SECRET, role=Role.ADMIN, subject="s", tenant_id=TENANT_A.upper())
    principal = verify_token(token, SECRET)
    assert principal.role is Role.ADMIN and principal.tenant_id == TENANT_A
    with pytest.raises(ValueError, match="requires --tenant"):
        mint_token(SECRET, role=Role.ADMIN, subject="s")


def test_cli_mints_a_token_with_the_configured_secret(tmp_path):
    env = {"JWT_SECRET": SECRET, "PATH": "/usr/bin:/bin", "DATA_ROOT": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "serving.tokens", "--role", "admin", "--tenant", TENANT_A],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert verify_token(done.stdout.strip(), SECRET).tenant_id == TENANT_A
    refused = subprocess.run(
        [sys.executable, "-m", "serving.tokens", "--role", "root"],
        capture_output=True, text=True, env={**env, "JWT_SECRET": "short"}, cwd=PROJECT_ROOT,
        check=False, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "JWT_SECRET" in refused.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"JWT_SECRET": None}, "JWT_SECRET: is required"),
        ({"JWT_SECRET": "changeme"}, "JWT_SECRET"),
        ({"JWT_SECRET": "x" * 64}, "low-entropy"),
        ({"JWT_SECRET": "Abcdefgh12345"}, "at least 32"),
        ({"EXPORT_KEY": "short-but-varied"}, "EXPORT_KEY"),
        ({"RATE_LIMIT_PUBLIC": "lots"}, "RATE_LIMIT_PUBLIC"),
        ({"MIN_COHORT_SIZE": "one"}, "MIN_COHORT_SIZE"),
        ({"TABLE_REFRESH_SECONDS": -1}, "TABLE_REFRESH_SECONDS"),
    ],
)
def test_bad_configuration_fails_at_start_up(app_config, overrides, message, monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    config = {**app_config, **overrides}
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(ConfigurationError, match=message) as raised:
        create_app(config)
    assert SECRET not in str(raised.value)


def test_unwritable_audit_dir_fails_at_start_up(app_config, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        create_app({**app_config, "AUDIT_LOG_DIR": str(blocker / "audit")})


def test_factory_reads_the_environment(monkeypatch, app_config):
    for key, value in app_config.items():
        monkeypatch.setenv(key, str(value))
    app = create_app()
    assert app.test_client().get("/api/v1/health").status_code == 200
