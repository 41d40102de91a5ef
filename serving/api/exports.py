"""Research exports (seed 003 §6, Phase 4 controls), for researchers and above."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Response, g

from serving.api.common import api_blueprint, app_config, check_export_size, ok
from serving.data.store import get_tables
from serving.errors import ApiError, ErrorBody
from serving.guards.access import access, current_principal, require_tenant_access
from serving.guards.audit import caller_hash_of, get_audit_log, timestamps
from serving.guards.response import CsvRendering
from serving.models.params import DatasetPath, ExportQuery
from serving.models.responses import ExportMetadata, ExportResult
from serving.services.exports import (
    DATASET_TABLES,
    PRIVACY_NOTICE,
    ExportPlan,
    count_rows,
    read_rows,
)
from serving.tokens import Role

export_api = api_blueprint("exports", "/api/v1/export", secured=True)


def _tenant_of_export(query: ExportQuery) -> str | None:
    principal = current_principal()
    requested = str(query.tenant_id) if query.tenant_id else None
    if requested is not None:
        require_tenant_access(requested)
        return requested
    return principal.tenant_id  # tenant-scoped tokens export their own tenant only


@export_api.get("/<dataset>", responses={200: ExportResult, 428: ErrorBody})
@access(Role.RESEARCHER, action="export_dataset", individual_rows=True)
def export_dataset(path: DatasetPath, query: ExportQuery) -> Response:
    """Export a dataset for research: ≤ 365 days, ≤ 50,000 rows, confirmation above 10,000."""
    config = app_config()
    plan = ExportPlan(
        dataset=path.dataset,
        table=DATASET_TABLES[path.dataset],
        start=query.start,
        end=query.end,
        privacy_level=query.privacy_level or config.analytics.default_privacy_level,
        tenant_id=_tenant_of_export(query),
    )
    secret = config.serving.export_key
    if path.dataset == "learner_progress" and secret is None:
        raise ApiError(503, "export_unavailable",
                       "learner_progress exports need EXPORT_KEY to be configured")  # fmt: skip
    tables = get_tables()
    row_count = count_rows(tables, plan)
    check_export_size(row_count, query.confirmed, "end")
    export_id = str(uuid.uuid4())
    columns, rows = read_rows(
        tables, plan, export_id, secret.get_secret_value().encode() if secret else None
    )
    g.individual_rows = path.dataset == "learner_progress"
    g.guard_events.append("export")
    principal = current_principal()
    get_audit_log().record_export({
        **timestamps(),
        "kind": "dataset",
        "export_id": export_id,
        "dataset": plan.dataset,
        "caller_hash": caller_hash_of(principal),
        "role": principal.role.label,
        "tenant_filter": plan.tenant_id,
        "start": plan.start.isoformat(),
        "end": plan.end.isoformat(),
        "privacy_level": plan.privacy_level,
        "format": query.format,
        "reason": query.reason,
        "row_count": len(rows),
    })  # fmt: skip
    if query.format == "csv":
        g.csv_rendering = CsvRendering("rows", columns, f"{plan.dataset}-{export_id}.csv")
    metadata = ExportMetadata(
        export_id=export_id,
        dataset=plan.dataset,
        start=plan.start,
        end=plan.end,
        privacy_level=plan.privacy_level,
        row_count=len(rows),
        generated_at=datetime.now(tz=UTC),
        pseudonym_note=(
            "learner_pseudonym is keyed per export: it cannot be joined with other exports"
            if plan.dataset == "learner_progress"
            else None
        ),
        privacy_notice=PRIVACY_NOTICE,
    )
    return ok(ExportResult(export=metadata, rows=rows))
