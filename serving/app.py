"""The application factory: ``gunicorn 'serving.app:create_app()'``.

Configuration comes from the environment (see ``docs/api.md``); tests pass a
mapping of the same variable names. Anything missing or invalid stops the
factory with a :class:`conf.settings.ConfigurationError` naming the variable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI
from werkzeug.middleware.proxy_fix import ProxyFix

from conf.log_format import configure_json_logging
from contracts.versions import PACKAGE_VERSION
from jobs.run_queue import RunQueue
from serving.api.audit import audit_api
from serving.api.common import CONFIG_EXTENSION, GRANTS_EXTENSION
from serving.api.exports import export_api
from serving.api.grants import grants_api
from serving.api.health import health_api
from serving.api.index import index_api
from serving.api.ledgers import ledgers_api
from serving.api.metrics import metrics_api
from serving.api.operations import LAUNCHER_EXTENSION, operations_api
from serving.api.public import public_api
from serving.config import AppConfig, load_app_config
from serving.data.store import init_table_store
from serving.errors import register_error_handlers, validation_error_response
from serving.guards.response import init_guards
from serving.pages.views import pages
from serving.services.etl_launcher import EtlLauncher
from serving.services.grants import GRANTS_TABLE, GrantStore

SECURITY_SCHEMES = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
BLUEPRINTS = (
    index_api, health_api, metrics_api, ledgers_api, operations_api, public_api, export_api,
    audit_api, grants_api,
)  # fmt: skip
MAX_CONTENT_LENGTH = 64 * 1024  # the only bodies are small JSON objects (grants)


def _flask_config(config: AppConfig) -> dict[str, Any]:
    secret = config.serving.jwt_secret.get_secret_value()
    return {
        "JWT_SECRET": secret,
        # Separate key for audit caller hashes, so the logs never help forge tokens.
        "AUDIT_CALLER_KEY": hashlib.sha256(b"audit-caller-id:" + secret.encode()).digest(),
        "MIN_COHORT_SIZE": config.analytics.min_cohort_size,
        "PII_MAX_DEPTH": config.serving.pii_max_depth,
        "SERVING_ENV": config.serving.environment,
        "JSON_SORT_KEYS": False,
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,  # enforced on every route (413)
        "JWT_MAX_TTL_SECONDS": config.serving.jwt_max_ttl_seconds,
    }


def create_app(config: Mapping[str, Any] | None = None) -> OpenAPI:
    """Build the API.

    Args:
        config: Overrides of environment variables by name (``JWT_SECRET``,
            ``DATA_ROOT``, ``RATE_LIMIT_AUTHENTICATED``...); ``None`` reads the
            environment only.

    Raises:
        conf.settings.ConfigurationError: A variable is missing or invalid.
    """
    settings = load_app_config(config)
    configure_json_logging(settings.serving.log_level)
    app = OpenAPI(
        __name__,
        info=Info(
            title="Privacy-preserving learning analytics API",
            version=PACKAGE_VERSION,
            description=(
                "Curated, privacy-protected learning metrics behind JWT roles, PII, "
                "cohort, rate-limit and audit guards."
            ),
        ),
        security_schemes=SECURITY_SCHEMES,  # type: ignore[arg-type]
        validation_error_status=422,
        validation_error_callback=validation_error_response,
        doc_prefix="/docs",
        static_folder=None,
    )
    app.config.update(_flask_config(settings))
    app.extensions[CONFIG_EXTENSION] = settings
    app.extensions[LAUNCHER_EXTENSION] = EtlLauncher(RunQueue(settings.ops_path("run_requests")))
    app.extensions[GRANTS_EXTENSION] = GrantStore(
        settings.ops_path(GRANTS_TABLE),
        refresh_seconds=settings.serving.table_refresh_seconds,
    )
    init_table_store(app, settings)
    register_error_handlers(app)
    init_guards(app, settings)
    for blueprint in BLUEPRINTS:
        app.register_api(blueprint)
    app.register_blueprint(pages)  # HTML pages: outside the OpenAPI document, same guards
    hops = settings.serving.trusted_proxy_hops
    if hops:
        # Only this many proxies' X-Forwarded-For/-Proto are believed; with 0 (the default)
        # the headers are ignored, so a client cannot pick its own address for rate limits.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app
