"""Rate limits: per IP for anonymous callers, per user for token holders.

Both are application-wide limits (shared by every route, unmatched URLs
included) so a caller cannot multiply their budget by spreading requests
over endpoints. Counts live in ``RATE_LIMIT_STORAGE_URI``: in memory by
default, which is per worker process; ``redis://`` shares one count between
every worker and instance.

When the shared storage cannot be reached, reads fail *open* (served, not
counted: an outage of Redis must not take the dashboards down) and exports
and state-changing requests fail *closed* (503 ``rate_limiter_unavailable``:
nothing bulk or irreversible happens unmetered).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter

from serving.config import AppConfig
from serving.exceptions import ApiError
from serving.guards.access import current_principal
from serving.tokens import Role

LIMITER_EXTENSION = "analytics_limiter"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reads of these actions hand out data in bulk: metered or refused.
EXPORT_ACTIONS = frozenset({"export_dataset", "export_audit_logs"})
_STORAGE_TIMEOUT_SECONDS = 0.5
logger = logging.getLogger(__name__)


def _authenticated() -> bool:
    return current_principal().role > Role.PUBLIC


def _client_ip_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def _user_key() -> str:
    principal = current_principal()
    digest = hashlib.sha256(f"{principal.role.label}:{principal.subject}".encode()).hexdigest()
    return f"user:{digest[:32]}"


def _request_identifier() -> str:
    # Flask-Limiter exempts requests without an endpoint; unmatched URLs must count too.
    return request.endpoint or "unmatched"


def fails_closed() -> bool:
    """Whether this request must be refused when the limit storage is unreachable."""
    policy = g.get("policy")
    return request.method not in SAFE_METHODS or (
        policy is not None and policy.action in EXPORT_ACTIONS
    )


def get_limiter() -> Limiter:
    """The app's limiter."""
    limiter: Limiter = current_app.extensions[LIMITER_EXTENSION]
    return limiter


def storage_reachable(limiter: Limiter) -> bool:
    """Whether the limit storage answers (always true in memory)."""
    try:
        return bool(limiter.storage.check())
    except Exception:
        return False


def refuse_unmetered() -> None:
    """before_request (after the access policy): fail closed for exports and writes.

    Raises:
        ApiError: 503 ``rate_limiter_unavailable`` when shared storage is down.
    """
    if not current_app.config["RATE_LIMITS_SHARED"] or not fails_closed():
        return
    if not storage_reachable(get_limiter()):
        logger.error("rate-limit storage unreachable: refusing %s %s", request.method,
                     request.url_rule.rule if request.url_rule else "(unmatched)")  # fmt: skip
        raise ApiError(
            503,
            "rate_limiter_unavailable",
            "rate limiting is unavailable; exports and changes are refused until it is back",
            headers={"Retry-After": "30"},
        )


def init_rate_limits(app: Flask, config: AppConfig) -> Limiter:
    """Attach Flask-Limiter with the public and authenticated limits from ``config``.

    Must be called after the hook that identifies the caller is registered, so
    the limiter's own before_request hook sees the verified principal.
    """
    settings = config.serving
    shared = settings.rate_limits_shared
    options: dict[str, Any] = (
        {"socket_connect_timeout": _STORAGE_TIMEOUT_SECONDS,
         "socket_timeout": _STORAGE_TIMEOUT_SECONDS}
        if settings.rate_limit_storage_uri.startswith(("redis://", "rediss://"))
        else {}
    )  # fmt: skip
    limiter = Limiter(
        key_func=_client_ip_key,
        application_limits=[
            ApplicationLimit(
                settings.rate_limit_public,
                key_function=_client_ip_key,
                scope="public",
                exempt_when=_authenticated,
            ),
            ApplicationLimit(
                settings.rate_limit_authenticated,
                key_function=_user_key,
                scope="authenticated",
                exempt_when=lambda: not _authenticated(),
            ),
        ],
        storage_uri=settings.rate_limit_storage_uri,
        storage_options=options,  # redis-py takes float timeouts, whatever the stub says
        headers_enabled=True,
        request_identifier=_request_identifier,
        # Storage errors are logged and the request goes on (reads fail open);
        # refuse_unmetered() then refuses exports and writes (fail closed).
        swallow_errors=shared,
        # O(1) per hit, unlike moving-window which stores one timestamp per request.
        strategy="sliding-window-counter",
    )
    limiter.init_app(app)
    app.config["RATE_LIMITS_SHARED"] = shared
    app.extensions[LIMITER_EXTENSION] = limiter
    return limiter
