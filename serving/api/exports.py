"""Research exports, for researchers and above.

Every export is served only at a level the caller's audience may read
(``release_access``); learner-level rows need a root grant; a tenant-scoped
export of a platform-wide table is refused rather than widened.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Response, g

from serving.api.common import api_blueprint, app_config, check_export_size, get_grants, ok
from serving.data.store import get_tables
from serving.exceptions import ApiError, ErrorBody
from serving.guards.access import access, current_principal, require_tenant_access
from serving.guards.audit import caller_hash_of, get_audit_log, timestamps
from serving.guards.response import CsvRendering
from serving.models.params import DatasetPath, ExportQuery
from serving.models.responses import ExportMetadata, ExportResult
from serving.services.exports import (
    DATASET_TABLES,
    PSEUDONYM_NOTE,
    ExportPlan,
    count_rows,
    is_platform_wide,
    privacy_notice,
    read_rows,
)
from serving.services.release_access import DISABILITY_COLUMNS, authorize_read
from serving.tokens import Role

export_api = api_blueprint("exports", "/api/v1/export", secured=True)
LEARNER_LEVEL_DATASET = "learner_progress"


def _tenant_of_export(query: ExportQuery, table: str) -> str | None:
    principal = current_principal()
    requested = str(query.tenant_id) if query.tenant_id else None
    if requested is not None:
        require_tenant_access(requested)
    tenant = requested if requested is not None else principal.tenant_id
    if tenant is not None and is_platform_wide(table):
        if requested is not None:
            raise ApiError(
                422, "validation_error",
                f"{table} is platform-wide: it has no rows per tenant; drop tenant_id",
                field="tenant_id",
            )  # fmt: skip
        raise ApiError(
            403, "forbidden_tenant",
            f"{table} is platform-wide (every tenant's data); a tenant-scoped token "
            "may export only its own tenant's rows",
            field="dataset",
        )  # fmt: skip
    return tenant  # tenant-scoped tokens export their own tenant only


@export_api.get("/<dataset>", responses={200: ExportResult, 428: ErrorBody})
@access(Role.RESEARCHER, action="export_dataset", individual_rows=True)
def export_dataset(path: DatasetPath, query: ExportQuery) -> Response:
    """Export a dataset for research: ≤ 365 days, ≤ 50,000 rows, confirmation above 10,000."""
    config = app_config()
    table = DATASET_TABLES[path.dataset]
    tenant = _tenant_of_export(query, table)
    learner_level = path.dataset == LEARNER_LEVEL_DATASET
    principal = current_principal()
    decision = authorize_read(
        principal,
        query.privacy_level or config.analytics.default_privacy_level,
        tenant,
        get_grants(),
        learner_level=learner_level,
    )
    plan = ExportPlan(
        dataset=path.dataset,
        table=table,
        start=query.start,
        end=query.end,
        privacy_level=decision.level.value,
        tenant_id=tenant,
    )
    secret = config.serving.export_key
    if learner_level and secret is None:
        raise ApiError(503, "export_unavailable",
                       "learner_progress exports need EXPORT_KEY to be configured")  # fmt: skip
    withheld = (
        () if decision.disability_columns_allowed or not learner_level else DISABILITY_COLUMNS
    )
    tables = get_tables()
    row_count = count_rows(tables, plan)
    check_export_size(row_count, query.confirmed, "end")
    export_id = str(uuid.uuid4())
    columns, rows = read_rows(
        tables, plan, export_id, secret.get_secret_value().encode() if secret else None, withheld
    )
    g.individual_rows = learner_level
    g.guard_events.append("export")
    grant = decision.grant
    if grant is not None:
        g.guard_events.append(f"grant_used:{grant.grant_id}")
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
        "grant_id": grant.grant_id if grant else None,
        "data_use_reference": grant.data_use_reference if grant else None,
        "columns_withheld": list(withheld),
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
        pseudonym_note=PSEUDONYM_NOTE if learner_level else None,
        privacy_notice=privacy_notice(config.analytics.min_cohort_size),
        grant_id=grant.grant_id if grant else None,
        data_use_reference=grant.data_use_reference if grant else None,
        columns_withheld=list(withheld),
    )
    return ok(ExportResult(export=metadata, rows=rows))
