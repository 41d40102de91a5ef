"""Walk ``app.url_map``: every route has a policy and goes through every guard."""

from __future__ import annotations

import re

import pytest

from serving.guards.access import policy_for
from serving.guards.response import SECURITY_HEADERS
from serving.tokens import Role
from tests.serving.conftest import LEARNER_A, TENANT_A, read_audit

SAMPLE_VALUES = {"tenant_id": TENANT_A, "learner_id_hash": LEARNER_A, "dataset": "session_daily",
                 "filename": "css/swagger-ui.css",
                 "grant_id": "99999999-9999-4999-8999-999999999999"}  # fmt: skip


def concrete(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: SAMPLE_VALUES[m.group(1)], rule.rule)


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if policy_for(app, r.endpoint) is not None]


def test_every_route_declares_a_policy(app):
    rules = list(app.url_map.iter_rules())
    assert len(rules) >= 18
    undeclared = [r.endpoint for r in rules if policy_for(app, r.endpoint) is None]
    assert undeclared == []
    data_routes = [r for r in rules if r.rule.startswith("/api/")]
    assert len(data_routes) == 17
    for rule in data_routes:
        assert policy_for(app, rule.endpoint).inspect_payload, rule.rule


def test_every_route_passes_auth_headers_limits_and_audit(app, client, auth):
    for rule in app.url_map.iter_rules():
        policy = policy_for(app, rule.endpoint)
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        url = concrete(rule)
        anonymous = client.open(url, method=method)
        if policy.min_role > Role.PUBLIC:
            assert anonymous.status_code == 401, url
            assert anonymous.headers["WWW-Authenticate"] == "Bearer"
            forged = client.open(url, method=method,
                                 headers={"Authorization": "Bearer not.a.token"})  # fmt: skip
            assert forged.status_code == 401, url
            if policy.min_role > Role.RESEARCHER:
                assert (
                    client.open(url, method=method, headers=auth("researcher")).status_code == 403
                )
        else:
            assert anonymous.status_code < 500, url
        for name, value in SECURITY_HEADERS.items():
            assert anonymous.headers[name] == value, (url, name)
        if not rule.endpoint.endswith(".static"):
            # Flask-Limiter always exempts static files (here: the Swagger UI's JS/CSS).
            assert "X-RateLimit-Limit" in anonymous.headers, url
    logged = {record["endpoint"] for record in read_audit(app)}
    assert {rule.rule for rule in app.url_map.iter_rules()} <= logged


def test_undeclared_route_is_refused(app, client):
    @app.get("/api/v1/forgotten")
    def forgotten():
        return {"email": "a@b.c"}

    response = client.get("/api/v1/forgotten")
    assert response.status_code == 403
    assert response.json["message"] == "this route has no access policy"


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/metrics/tenant/"])
def test_unknown_paths_are_json_404_with_headers(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert response.headers["X-Frame-Options"] == "DENY"
