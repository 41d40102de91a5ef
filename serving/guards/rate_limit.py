"""Rate limits (seed 003, Phase 4): per IP for anonymous callers, per user for token holders.

Both are application-wide limits (shared by every route) so a caller cannot
multiply their budget by spreading requests over endpoints. Counts live in
``RATE_LIMIT_STORAGE_URI``: in memory by default, which is per worker
process; use Redis so several gunicorn workers share one count.
"""

from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_limiter import ApplicationLimit, Limiter

from serving.config import AppConfig
from serving.guards.access import current_principal
from serving.tokens import Role


def _authenticated() -> bool:
    return current_principal().role > Role.PUBLIC


def _client_ip_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def _user_key() -> str:
    principal = current_principal()
    digest = hashlib.sha256(f"{principal.role.label}:{principal.subject}".encode()).hexdigest()
    return f"user:{digest[:32]}"


def init_rate_limits(app: Flask, config: AppConfig) -> Limiter:
    """Attach Flask-Limiter with the public and authenticated limits from ``config``.

    Must be called after the hook that identifies the caller is registered, so
    the limiter's own before_request hook sees the verified principal.
    """
    settings = config.serving
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
        headers_enabled=True,
        # O(1) per hit, unlike moving-window which stores one timestamp per request.
        strategy="sliding-window-counter",
    )
    limiter.init_app(app)
    return limiter
