"""The tenant list the jobs publish (``ops/tenants``): root's tenant list and unknown-tenant checks.

The API never reads raw/: every run writes the registry's tenants with their
learner counts to ``ops/tenants`` (no PII), and this module reads that table.
"""

from __future__ import annotations

from serving.data.store import RequestTables
from serving.data.tables import TableUnavailableError
from serving.exceptions import ApiError
from serving.models.responses import TenantInfo, TenantList

TENANT_COLUMNS = ("tenant_id", "name", "state_province", "joined_on", "learners", "updated_at")


def tenant_list(tables: RequestTables) -> TenantList:
    """Every tenant of the registry as the last run saw it, by name.

    Raises:
        TableUnavailableError: No run has published ``ops/tenants`` yet (a 503).
    """
    rows = tables.rows("tenants", {}, TENANT_COLUMNS).to_pylist()
    tenants = [
        TenantInfo(
            tenant_id=r["tenant_id"],
            tenant_name=r["name"],
            state_province=r["state_province"],
            joined_on=r["joined_on"],
            learners=r["learners"],
            updated_at=r["updated_at"],
        )
        for r in sorted(rows, key=lambda r: (r["name"] or "", r["tenant_id"]))
    ]
    return TenantList(count=len(tenants), tenants=tenants)


def require_known_tenant(tables: RequestTables, tenant_id: str) -> None:
    """Refuse a tenant the registry does not hold with 404 ``unknown_tenant``.

    Without it an unknown tenant would answer 200 with nulls, which reads like
    suppression. Before any run has published ``ops/tenants`` nothing is refused
    (there is no list to check against; the data tables are missing too).
    """
    try:
        rows = tables.rows("tenants", {"tenant_id": tenant_id}, ("tenant_id",))
    except TableUnavailableError:
        return
    if rows.num_rows == 0:
        raise ApiError(
            404,
            "unknown_tenant",
            f"tenant {tenant_id} is not in the tenant registry",
            field="tenant_id",
        )
