"""The ops tables, read-only: privacy budget per accounting window, the job list, the tenants."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app

from contracts.levels import PrivacyLevel
from serving.api.common import api_blueprint, app_config, ok
from serving.api.operations import LAUNCHER_EXTENSION
from serving.data.store import get_tables
from serving.data.tables import TableUnavailableError
from serving.guards.access import access, current_principal, require_tenant_access
from serving.models.params import JobsQuery, PublicQuery, TenantPath, today
from serving.models.responses import JobList, JobRun, PrivacyBudget, TenantList
from serving.services.budget_windows import budget_by_window
from serving.services.etl_launcher import EtlLauncher
from serving.services.tenants import require_known_tenant, tenant_list
from serving.tokens import Role

# Exact event counts of a run: at a DP level they would undo the noise of its release.
EXACT_COUNT_COLUMNS = ("rows_read", "rows_written", "rows_quarantined", "groups_suppressed")
ledgers_api = api_blueprint("ledgers", "/api/v1", secured=True)


@ledgers_api.get("/privacy/budget/<tenant_id>", responses={200: PrivacyBudget})
@access(Role.ADMIN, action="view_privacy_budget", tenant_param="tenant_id")
def privacy_budget(path: TenantPath, query: PublicQuery) -> Response:
    """Per accounting window: ε spent, reserved (runs still running), left, and the releases."""
    settings = app_config().analytics
    require_known_tenant(get_tables(), str(path.tenant_id))
    return ok(
        budget_by_window(
            get_tables(),
            str(path.tenant_id),
            settings.dp_epsilon_budget,
            settings.dp_budget_window,
            today(),
        )
    )


@ledgers_api.get("/tenants", responses={200: TenantList})
@access(Role.ROOT, action="list_tenants")
def tenants(query: PublicQuery) -> Response:
    """Every tenant of the registry: id, name, state, join date and learner count (root only)."""
    return ok(tenant_list(get_tables()))


def _covers(run: dict[str, Any], tenant: str) -> bool:
    covered = run.get("tenant_ids")
    if covered:
        return tenant in covered
    return run.get("tenant_id") == tenant  # rows written before tenant_ids existed


def _shown(run: dict[str, Any], root: bool) -> JobRun:
    hide = not root and PrivacyLevel(run["privacy_level"]).is_dp
    if hide:
        run = {**run, **dict.fromkeys(EXACT_COUNT_COLUMNS)}
    return JobRun(**run, counts_hidden=hide)


@ledgers_api.get("/etl/jobs", responses={200: JobList})
@access(Role.ADMIN, action="list_etl_jobs")
def etl_jobs(query: JobsQuery) -> Response:
    """Most recent runs; admins see every run that covered their tenant, without exact counts of DP runs."""
    principal = current_principal()
    tenant = str(query.tenant_id) if query.tenant_id else None
    if principal.role is Role.ADMIN:
        if tenant is not None:
            require_tenant_access(tenant)
        tenant = principal.tenant_id
    try:
        ledger = get_tables().rows("job_runs", {}).to_pylist()
    except TableUnavailableError:  # requests may be queued before any run is recorded
        ledger = []
    # Queued requests and launch failures come from the run queue; stale runs show abandoned.
    launcher: EtlLauncher = current_app.extensions[LAUNCHER_EXTENSION]
    rows = [
        row
        for row in launcher.job_rows(ledger, tenant)
        if query.status_filter is None or row["status"] == query.status_filter
    ]
    if tenant is not None:
        rows = [run for run in rows if _covers(run, tenant)]
    rows.sort(key=lambda r: r["started_at"], reverse=True)
    root = principal.role is Role.ROOT
    jobs = [_shown(run, root) for run in rows[: query.limit]]
    return ok(JobList(jobs=jobs, count=len(jobs)))
