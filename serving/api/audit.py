"""Audit access: aggregates for admins, entries and exports for root."""

from __future__ import annotations

import time
import uuid

from flask import Response, current_app, g

from serving.api.common import api_blueprint, check_export_size, ok
from serving.exceptions import ErrorBody
from serving.guards.access import access, current_principal
from serving.guards.audit import caller_hash_of, get_audit_log, timestamps
from serving.guards.response import CsvRendering
from serving.models.params import AuditExportQuery, AuditLogQuery, AuditSummaryQuery
from serving.models.responses import AuditExport, AuditLogPage, AuditSummary
from serving.services.audit_reader import (
    WINDOWS,
    AuditIndex,
    EntryFilter,
    day_bounds,
    iter_entries,
    newest_first_page,
    summarize,
)
from serving.tokens import Role

AUDIT_COLUMNS = [
    "timestamp", "iso_timestamp", "request_id", "endpoint", "action", "caller_hash", "role",
    "caller_tenant", "client_ip", "method", "status", "success", "response_time_ms",
    "parameters", "redacted_parameters", "events",
]  # fmt: skip
AUDIT_INDEX_EXTENSION = "analytics_audit_index"
audit_api = api_blueprint("audit", "/api/v1", secured=True)


def _audit_index() -> AuditIndex:
    index: AuditIndex | None = current_app.extensions.get(AUDIT_INDEX_EXTENSION)
    if index is None:
        index = current_app.extensions.setdefault(AUDIT_INDEX_EXTENSION, AuditIndex())
    return index


@audit_api.get("/admin/audit/summary", responses={200: AuditSummary})
@access(Role.ADMIN, action="view_audit_summary")
def audit_summary(query: AuditSummaryQuery) -> Response:
    """Counts of requests, failures and guard events; admins see their tenant's callers only."""
    principal = current_principal()
    scope = principal.tenant_id if principal.role is Role.ADMIN else None
    selection = EntryFilter(since=time.time() - WINDOWS[query.window].total_seconds(),
                            caller_tenant=scope)  # fmt: skip
    stats = summarize(iter_entries(get_audit_log().directory, selection))
    return ok(AuditSummary(window=query.window, scope=scope or "platform", **stats))


@audit_api.get("/root/audit/logs", responses={200: AuditLogPage})
@access(Role.ROOT, action="view_audit_logs")
def audit_logs(query: AuditLogQuery) -> Response:
    """Audit entries, newest first, filtered and paginated (≤ 1000 per page).

    Reads the per-day indexes of the range and only the lines of the page.
    """
    since, until = day_bounds(query.start_date, query.end_date)
    selection = EntryFilter(since=since, until=until, endpoint=query.endpoint,
                            action=query.action, success=query.success)  # fmt: skip
    found = newest_first_page(
        get_audit_log().directory, _audit_index(), selection, query.offset, query.limit
    )
    page = AuditLogPage(
        entries=found.entries,
        total_matched=found.total_matched,
        limit=query.limit,
        offset=query.offset,
        available_filters={"endpoint": found.endpoints, "action": found.actions},
    )
    return ok(page)


@audit_api.get("/root/audit/export", responses={200: AuditExport, 428: ErrorBody})
@access(Role.ROOT, action="export_audit_logs")
def audit_export(query: AuditExportQuery) -> Response:
    """Export audit entries (≤ 365 days, ≤ 50,000, confirmed=1 above 10,000, reason required)."""
    since, until = day_bounds(query.start_date, query.end_date)
    entries = list(iter_entries(get_audit_log().directory, EntryFilter(since, until)))
    check_export_size(len(entries), query.confirmed, "end_date")
    export_id = str(uuid.uuid4())
    metadata = {
        **timestamps(),
        "kind": "audit",
        "export_id": export_id,
        "caller_hash": caller_hash_of(current_principal()),
        "start_date": query.start_date.isoformat(),
        "end_date": query.end_date.isoformat(),
        "format": query.format,
        "reason": query.reason,
        "row_count": len(entries),
    }
    get_audit_log().record_export(metadata)
    g.guard_events.append("export")
    if query.format == "csv":
        g.csv_rendering = CsvRendering("entries", AUDIT_COLUMNS, f"audit-{export_id}.csv")
    return ok(AuditExport(export=metadata, entries=entries))
