"""Operations: the ETL trigger (S2-15), for admins. The ledgers are read in ``ledgers.py``."""

from __future__ import annotations

from datetime import timedelta

import pyarrow.compute as pc
from flask import Response, current_app

from serving.api.common import api_blueprint, app_config, ok
from serving.data.store import get_tables
from serving.data.tables import TableUnavailableError
from serving.errors import ApiError, ErrorBody
from serving.guards.access import access
from serving.models.params import EtlTriggerQuery, TenantPath, today
from serving.models.responses import EtlTriggered
from serving.services.etl_launcher import (
    EtlLauncher,
    LaunchFailedError,
    LaunchRequest,
    RunAlreadyActiveError,
)
from serving.tokens import Role

LAUNCHER_EXTENSION = "analytics_etl_launcher"
operations_api = api_blueprint("operations", "/api/v1", secured=True)


def _job_running_in_ledger(tenant_id: str) -> bool:
    tables = get_tables()
    runs = tables.snapshot("job_runs").dataset.count_rows(
        filter=(pc.field("tenant_id") == pc.scalar(tenant_id))
        & (pc.field("status") == pc.scalar("running"))
    )
    return bool(runs)


@operations_api.post("/etl/trigger/<tenant_id>", responses={202: EtlTriggered, 409: ErrorBody})
@access(Role.ADMIN, action="trigger_etl", tenant_param="tenant_id")
def trigger_etl(path: TenantPath, query: EtlTriggerQuery) -> Response:
    """Start ``spark-submit.sh run_all`` for the tenant; 409 if a run is already going."""
    tenant_id = str(path.tenant_id)
    start = query.start or today() - timedelta(days=1)
    end = query.end or start
    if end < start:
        raise ApiError(422, "validation_error", "end is before start", field="end")
    level = query.privacy_level or app_config().analytics.default_privacy_level
    launcher: EtlLauncher = current_app.extensions[LAUNCHER_EXTENSION]
    try:
        running = launcher.is_running(tenant_id) or _job_running_in_ledger(tenant_id)
    except TableUnavailableError:  # no ledger yet: no run has ever been recorded
        running = False
    if running:
        raise ApiError(409, "run_in_progress", "an ETL run for this tenant is already running")
    try:
        run_id = launcher.launch(LaunchRequest(tenant_id, level, start, end))
    except RunAlreadyActiveError:
        raise ApiError(
            409, "run_in_progress", "an ETL run for this tenant is already running"
        ) from None
    except LaunchFailedError as error:
        raise ApiError(503, "etl_unavailable", str(error)) from None
    triggered = EtlTriggered(
        run_id=run_id, tenant_id=tenant_id, privacy_level=level, start=start, end=end,
        status="submitted",
    )  # fmt: skip
    return ok(triggered, status=202)
