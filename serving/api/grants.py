"""Root-issued access grants (``ops/access_grants``): issue, list, revoke. Root only."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, g

from serving.api.common import api_blueprint, get_grants, ok
from serving.exceptions import ApiError, ErrorBody
from serving.guards.access import access, current_principal
from serving.guards.audit import caller_hash_of, get_audit_log, timestamps
from serving.models.params import GrantPath, GrantRequest, GrantsQuery
from serving.models.responses import GrantList, GrantView
from serving.services.grants import Grant, GrantNotFoundError, new_grant
from serving.tokens import Role

grants_api = api_blueprint("grants", "/api/v1/root", secured=True)


def _view(grant: Grant, now: datetime) -> GrantView:
    return GrantView(**grant.as_record(), in_force=grant.in_force(now))


def _record(kind: str, grant: Grant) -> None:
    get_audit_log().record_export({
        **timestamps(), "kind": kind, "grant_id": grant.grant_id, "tenant_filter": grant.tenant_id,
        "privacy_level": grant.privacy_level, "learner_level": grant.learner_level,
        "disability_status": grant.disability_status,
        "data_use_reference": grant.data_use_reference,
        "caller_hash": caller_hash_of(current_principal()),
    })  # fmt: skip
    g.guard_events.append(f"{kind}:{grant.grant_id}")


@grants_api.post("/grants", responses={201: GrantView})
@access(Role.ROOT, action="issue_grant")
def issue_grant(body: GrantRequest) -> Response:
    """Grant one researcher one tenant's exact releases (and optionally learner-level rows)."""
    grant = new_grant(
        grantee_subject=body.grantee_subject,
        tenant_id=str(body.tenant_id),
        privacy_level=body.privacy_level,
        learner_level=body.learner_level,
        disability_status=body.disability_status,
        data_use_reference=body.data_use_reference,
        expires_at=body.expires_at,
        created_by=caller_hash_of(current_principal()),
    )
    get_grants().issue(grant)
    _record("grant_issued", grant)
    return ok(_view(grant, datetime.now(tz=UTC)), status=201)


@grants_api.get("/grants", responses={200: GrantList})
@access(Role.ROOT, action="list_grants")
def list_grants(query: GrantsQuery) -> Response:
    """Every grant issued, newest first, optionally filtered."""
    now = datetime.now(tz=UTC)
    tenant = str(query.tenant_id) if query.tenant_id else None
    grants = [
        grant
        for grant in get_grants().all()
        if (query.grantee_subject is None or grant.grantee_subject == query.grantee_subject)
        and (tenant is None or grant.tenant_id == tenant)
        and (query.in_force is None or grant.in_force(now) == query.in_force)
    ]
    grants.sort(key=lambda grant: grant.created_at, reverse=True)
    return ok(GrantList(grants=[_view(grant, now) for grant in grants], count=len(grants)))


@grants_api.delete("/grants/<grant_id>", responses={200: GrantView, 404: ErrorBody})
@access(Role.ROOT, action="revoke_grant")
def revoke_grant(path: GrantPath) -> Response:
    """Revoke a grant now (every worker stops honouring it within TABLE_REFRESH_SECONDS)."""
    now = datetime.now(tz=UTC)
    try:
        grant = get_grants().revoke(str(path.grant_id), caller_hash_of(current_principal()), now)
    except GrantNotFoundError:
        raise ApiError(404, "not_found", "no grant has this id", field="grant_id") from None
    _record("grant_revoked", grant)
    return ok(_view(grant, now))
