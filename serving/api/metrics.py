"""Tenant and learner dashboards, for admins of the tenant and root."""

from __future__ import annotations

from flask import Response

from serving.api.common import api_blueprint, app_config, get_grants, ok
from serving.data.store import get_tables
from serving.exceptions import ApiError
from serving.guards.access import access, current_principal
from serving.models.params import LearnerPath, LearnerQuery, PeriodQuery, TenantPath
from serving.models.responses import LearnerMetrics, TenantMetrics
from serving.services.learner_metrics import learner_metrics
from serving.services.release_access import authorize_read
from serving.services.tenant_metrics import tenant_metrics
from serving.services.tenants import require_known_tenant
from serving.tokens import Role

metrics_api = api_blueprint("metrics", "/api/v1/metrics", secured=True)


@metrics_api.get("/tenant/<tenant_id>", responses={200: TenantMetrics})
@access(Role.ADMIN, action="view_tenant_metrics", tenant_param="tenant_id")
def tenant(path: TenantPath, query: PeriodQuery) -> Response:
    """Active learners, hours, engagement, sessions, weekly activity, subjects and IEP progress."""
    start, end = query.resolved_range()
    tenant_id = str(path.tenant_id)
    require_known_tenant(get_tables(), tenant_id)
    requested = query.privacy_level or app_config().analytics.default_privacy_level
    level = authorize_read(current_principal(), requested, tenant_id, get_grants()).level
    return ok(tenant_metrics(get_tables(), tenant_id, start, end, level.value))


@metrics_api.get("/learner/<learner_id_hash>", responses={200: LearnerMetrics})
@access(Role.ADMIN, action="view_learner_metrics")
def learner(path: LearnerPath, query: LearnerQuery) -> Response:
    """The latest snapshot of one pseudonymous learner; admins see only their tenant's learners."""
    settings = app_config().analytics
    principal = current_principal()
    scope = principal.tenant_id if principal.role is Role.ADMIN else None
    requested = query.privacy_level or settings.default_privacy_level
    level = authorize_read(principal, requested, scope, get_grants()).level
    found = learner_metrics(
        get_tables(), path.learner_id_hash, level.value, scope, settings.min_cohort_size
    )
    if found is None:
        # Same answer for "no such learner" and "another tenant's learner": no existence oracle.
        raise ApiError(404, "not_found", "no snapshot for this learner at this privacy level",
                       field="learner_id_hash")  # fmt: skip
    return ok(found)
