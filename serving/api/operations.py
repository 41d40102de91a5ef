"""Operations: the ETL trigger, for admins. The ledgers are read in ``ledgers.py``."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pyarrow.compute as pc
from flask import Response, current_app

from contracts.levels import PrivacyLevel
from serving.api.common import api_blueprint, app_config, ok
from serving.data.store import get_tables
from serving.data.tables import TableUnavailableError
from serving.exceptions import ApiError, ErrorBody
from serving.guards.access import access, current_principal
from serving.models.params import EtlTriggerQuery, TenantPath, today
from serving.models.responses import EtlTriggered
from serving.services.etl_launcher import (
    EtlLauncher,
    LaunchRequest,
)
from serving.tokens import Role

LAUNCHER_EXTENSION = "analytics_etl_launcher"
operations_api = api_blueprint("operations", "/api/v1", secured=True)


def _job_running_in_ledger(tenant_id: str, launcher: EtlLauncher) -> bool:
    """A ``running`` job_runs row of the tenant whose driver is not known to be gone."""
    tables = get_tables()
    rows = tables.snapshot("job_runs").dataset.to_table(
        columns=["run_id"],
        filter=(pc.field("tenant_id") == pc.scalar(tenant_id))
        & (pc.field("status") == pc.scalar("running")),
    )
    running = set(rows.column("run_id").to_pylist())
    return bool(running - launcher.stale_runs()) if running else False


@operations_api.post(
    "/etl/trigger/<tenant_id>", responses={200: EtlTriggered, 202: EtlTriggered, 409: ErrorBody}
)
@access(Role.ADMIN, action="trigger_etl", tenant_param="tenant_id")
def trigger_etl(path: TenantPath, query: EtlTriggerQuery) -> Response:
    """Queue a ``run_all`` of the tenant for a worker; 202 with the run id, 409 if one is active.

    The returned ``run_id`` is the id ``job_runs`` records. Sending the same
    ``request_id`` again returns that request (200) instead of queueing a second run.
    Tenant admins may request ``anonymized`` runs of their tenant; DP runs spend the
    privacy budget and are started by operators (root) only.
    """
    tenant_id = str(path.tenant_id)
    start = query.start or today() - timedelta(days=1)
    end = query.end or start
    if end < start:
        raise ApiError(422, "validation_error", "end is before start", field="end")
    level = PrivacyLevel(query.privacy_level or app_config().analytics.default_privacy_level)
    principal = current_principal()
    if level.is_dp and principal.role is not Role.ROOT:
        raise ApiError(
            403,
            "insufficient_privileges",
            f"{level.value} runs spend the tenant's privacy budget and are started by "
            "operators (root) only; tenant admins may request privacy_level=anonymized",
            field="privacy_level",
        )
    launcher: EtlLauncher = current_app.extensions[LAUNCHER_EXTENSION]
    request_id = str(query.request_id) if query.request_id else str(uuid.uuid4())
    new_request = query.request_id is None or launcher.queue.get(request_id) is None
    try:
        busy = new_request and _job_running_in_ledger(tenant_id, launcher)
    except TableUnavailableError:  # no ledger yet: no run has ever been recorded
        busy = False
    if busy:
        raise ApiError(409, "run_in_progress", "an ETL run for this tenant is already running")
    # RunAlreadyActiveError and RequestIdReusedError are ApiErrors: answered as 409.
    stored, created = launcher.submit(
        LaunchRequest(request_id, tenant_id, level.value, start, end, principal.role.label)
    )
    triggered = EtlTriggered(
        run_id=stored.request_id, tenant_id=stored.tenant_id,
        privacy_level=stored.privacy_level, start=stored.period_start, end=stored.period_end,
        status=stored.status,
    )  # fmt: skip
    return ok(triggered, status=202 if created else 200)
