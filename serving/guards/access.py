"""Authentication and authorization: every route declares an access policy, default deny.

A view declares who may call it with :func:`access`. The hooks here read the
bearer token before the rate limiter runs (so limits key on the verified
user) and enforce the policy after it (so failed logins are rate limited
per IP too). A route without a policy is refused, never silently public.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from serving.exceptions import ApiError
from serving.tokens import ANONYMOUS, InvalidTokenError, Principal, Role, verify_token

F = TypeVar("F", bound=Callable[..., Any])
POLICY_ATTRIBUTE = "access_policy"
# flask-openapi3's own blueprints (OpenAPI JSON, Swagger UI and its static files).
DOCS_BLUEPRINTS = frozenset({"openapi", "swagger"})


@dataclass(frozen=True)
class AccessPolicy:
    """Who may call a route.

    Attributes:
        min_role: Lowest role admitted (higher roles are admitted too).
        action: Name recorded in the audit log.
        tenant_param: Path parameter naming the tenant; non-root callers must be scoped to it.
        individual_rows: The route may return lists of per-learner records (research export).
        inspect_payload: Run the cohort guard and PII validator on the body. Only the
            API's own OpenAPI document and docs UI skip them: they describe the API
            (and use words like ``name`` as OpenAPI keywords), they carry no data.
    """

    min_role: Role
    action: str
    tenant_param: str | None = None
    individual_rows: bool = False
    inspect_payload: bool = True


DOCS_POLICY = AccessPolicy(min_role=Role.PUBLIC, action="view_api_docs", inspect_payload=False)


def access(
    min_role: Role,
    *,
    action: str,
    tenant_param: str | None = None,
    individual_rows: bool = False,
) -> Callable[[F], F]:
    """Declare the access policy of a view (apply below the route decorator)."""
    policy = AccessPolicy(min_role, action, tenant_param, individual_rows)

    def decorate(view: F) -> F:
        setattr(view, POLICY_ATTRIBUTE, policy)
        return view

    return decorate


def policy_for(app: Flask, endpoint: str | None) -> AccessPolicy | None:
    """The declared policy of ``endpoint`` (docs are public); None if undeclared."""
    if endpoint is None:
        return None
    if endpoint.split(".", 1)[0] in DOCS_BLUEPRINTS:
        return DOCS_POLICY
    view = app.view_functions.get(endpoint)
    policy = getattr(view, POLICY_ATTRIBUTE, None)
    return policy if isinstance(policy, AccessPolicy) else None


def current_principal() -> Principal:
    """The verified caller of this request (anonymous when no valid token)."""
    principal: Principal = g.get("principal", ANONYMOUS)
    return principal


def require_tenant_access(tenant_id: str) -> None:
    """Refuse (403) unless the caller may see ``tenant_id``.

    Raises:
        ApiError: 403 ``forbidden_tenant``.
    """
    if not current_principal().may_access_tenant(tenant_id):
        raise ApiError(
            403, "forbidden_tenant", "your token is not scoped to this tenant", field="tenant_id"
        )


def identify_caller() -> None:
    """before_request: verify the bearer token, if any, and remember the principal on ``g``."""
    g.principal = ANONYMOUS
    g.auth_error = None
    header = request.headers.get("Authorization")
    if header is None:
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        g.auth_error = "Authorization header must be 'Bearer <token>'"
        return
    secret = current_app.config["JWT_SECRET"]
    try:
        g.principal = verify_token(
            token.strip(), secret, max_ttl_seconds=current_app.config["JWT_MAX_TTL_SECONDS"]
        )
    except InvalidTokenError as error:
        g.auth_error = str(error)


def enforce_policy() -> None:
    """before_request (after rate limiting): apply the route's policy.

    Raises:
        ApiError: 401 for a bad or missing token where one is needed, 403 for an
            insufficient role, a tenant outside the token's scope, or a route
            with no declared policy.
    """
    if request.endpoint is None:
        return  # 404/405: nothing is served, the error handler answers
    policy = policy_for(current_app, request.endpoint)
    if policy is None:
        raise ApiError(403, "forbidden", "this route has no access policy")
    g.policy = policy
    if g.auth_error is not None:
        raise ApiError(401, "unauthorized", g.auth_error, headers={"WWW-Authenticate": "Bearer"})
    principal = current_principal()
    if principal.role < policy.min_role:
        if principal.role is Role.PUBLIC:
            raise ApiError(
                401, "unauthorized", "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        raise ApiError(
            403,
            "insufficient_privileges",
            f"requires role {policy.min_role.label} or higher; token has {principal.role.label}",
        )
    if policy.tenant_param is not None:
        raw = (request.view_args or {}).get(policy.tenant_param)
        try:
            tenant = str(uuid.UUID(str(raw)))
        except ValueError:
            return  # malformed: request validation answers 422 naming the field
        require_tenant_access(tenant)
