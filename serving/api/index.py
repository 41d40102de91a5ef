"""``GET /api/v1``: an index of the endpoints and where the OpenAPI document is."""

from __future__ import annotations

from flask import Response, current_app

from serving.api.common import api_blueprint, ok
from serving.guards.access import access, policy_for
from serving.models.params import PublicQuery
from serving.models.responses import ApiIndex, EndpointInfo
from serving.tokens import Role

OPENAPI_DOCUMENT = "/docs/openapi.json"
SWAGGER_UI = "/docs/swagger"
index_api = api_blueprint("index", "/api", secured=False)


@index_api.get("/v1", responses={200: ApiIndex})
@access(Role.PUBLIC, action="api_index")
def api_index(query: PublicQuery) -> Response:
    """Every API endpoint with its methods and the lowest role admitted."""
    endpoints = []
    for rule in current_app.url_map.iter_rules():
        policy = policy_for(current_app, rule.endpoint)
        if policy is None or not rule.rule.startswith("/api/"):
            continue
        methods = sorted(m for m in rule.methods or () if m not in ("HEAD", "OPTIONS"))
        endpoints.append(
            EndpointInfo(
                path=rule.rule,
                methods=methods,
                min_role=policy.min_role.label,
                action=policy.action,
            )
        )
    endpoints.sort(key=lambda e: (e.path, e.methods))
    return ok(ApiIndex(openapi=OPENAPI_DOCUMENT, docs=SWAGGER_UI, endpoints=endpoints))
