"""Health and privacy-level endpoints (S2-15), open to everyone."""

from __future__ import annotations

from flask import Response

from jobs.contracts.curated import CURATED_TABLES
from serving.api.common import api_blueprint, app_config, ok
from serving.data.store import OPS_TABLES, get_tables
from serving.data.tables import TableUnavailableError
from serving.guards.access import access
from serving.models.params import PublicQuery
from serving.models.responses import Health, PrivacyLevels
from serving.services.privacy_levels import PRIVACY_LEVELS
from serving.tokens import Role

SERVICE_VERSION = "1.0.0"
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
    status = "healthy" if all(readable.values()) else "degraded"
    return ok(
        Health(
            status=status,
            service="analytics-svc",
            version=SERVICE_VERSION,
            stage="S2-15",
            tables=readable,
        )
    )


@health_api.get("/privacy/levels", responses={200: PrivacyLevels})
@access(Role.PUBLIC, action="list_privacy_levels")
def privacy_levels(query: PublicQuery) -> Response:
    """The four privacy levels, their ε and what each is suitable for."""
    settings = app_config().analytics
    return ok(
        PrivacyLevels(
            privacy_levels=list(PRIVACY_LEVELS),
            default_level=settings.default_privacy_level,
            minimum_cohort_size=settings.min_cohort_size,
        )
    )
