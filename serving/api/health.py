"""Health and privacy-level endpoints, open to everyone."""

from __future__ import annotations

from flask import Response

from contracts.curated import CURATED_TABLES
from contracts.levels import PrivacyLevel
from contracts.versions import PACKAGE_VERSION
from serving.api.common import api_blueprint, app_config, ok
from serving.data.store import OPS_TABLES, get_tables
from serving.data.tables import TableUnavailableError
from serving.guards.access import access
from serving.guards.rate_limit import get_limiter, storage_reachable
from serving.models.params import PublicQuery
from serving.models.responses import Health, PrivacyLevelInfo, PrivacyLevels, RateLimitInfo
from serving.tokens import Role

health_api = api_blueprint("health", "/api/v1", secured=False)


@health_api.get("/health", responses={200: Health})
@access(Role.PUBLIC, action="health_check")
def health(query: PublicQuery) -> Response:
    """Liveness, plus which curated and ops tables are readable right now."""
    tables = get_tables()
    readable: dict[str, bool] = {}
    for name in (*CURATED_TABLES, *OPS_TABLES):
        try:
            tables.snapshot(name)
            readable[name] = True
        except TableUnavailableError:
            readable[name] = False
    settings = app_config().serving
    shared = settings.rate_limits_shared
    reachable = storage_reachable(get_limiter())
    limits = RateLimitInfo(
        storage=settings.rate_limit_storage_uri.split("://", 1)[0],
        scope="shared" if shared else "per-worker",
        reachable=reachable,
        public=settings.rate_limit_public,
        authenticated=settings.rate_limit_authenticated,
    )
    status = "healthy" if all(readable.values()) and reachable else "degraded"
    return ok(
        Health(
            status=status,
            service="analytics-svc",
            version=PACKAGE_VERSION,
            stage=settings.environment,
            tables=readable,
            rate_limits=limits,
        )
    )


@health_api.get("/privacy/levels", responses={200: PrivacyLevels})
@access(Role.PUBLIC, action="list_privacy_levels")
def privacy_levels(query: PublicQuery) -> Response:
    """The privacy levels (from ``contracts.levels``), their ε, audiences and the configured k."""
    settings = app_config().analytics
    k = settings.min_cohort_size
    levels = [
        PrivacyLevelInfo(
            level=level.value,
            description=level.description(k),
            epsilon=level.epsilon or 0.0,
            differentially_private=level.is_dp,
            suitable_for=level.suitable_for,
            audiences=sorted(audience.value for audience in level.audiences),
        )
        for level in PrivacyLevel
    ]
    return ok(
        PrivacyLevels(
            privacy_levels=levels,
            default_level=settings.default_privacy_level,
            minimum_cohort_size=k,
            grant_note=(
                "A root grant, recorded in the audit log, can open one tenant's anonymized "
                "releases to one researcher for a named data-use agreement."
            ),
        )
    )
