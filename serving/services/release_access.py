"""Which privacy levels a caller may read: audiences from ``contracts.levels``, plus root grants.

A reader of both an exact and a noisy release of the same data gets no
protection from the noise, so every metrics and export route asks here
before reading a release:

- public callers read DP releases only;
- researchers read DP releases, and ``anonymized`` releases of one tenant
  only under a root grant for that tenant (each use is audited);
- tenant admins read every level of their own tenant (tenant scope is
  checked by the access policy);
- root reads everything.

Learner-level rows (the ``learner_progress`` export) need a grant that
allows them for every caller but root; disability columns stay out of such
exports unless the grant allows them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.levels import Audience, PrivacyLevel
from serving.exceptions import ApiError
from serving.services.grants import Grant, GrantStore
from serving.tokens import Principal, Role

_AUDIENCE_OF_ROLE = {
    Role.PUBLIC: Audience.PUBLIC,
    Role.RESEARCHER: Audience.RESEARCHER,
    Role.ADMIN: Audience.TENANT_ADMIN,
    Role.ROOT: Audience.ROOT,
}
# learner_snapshots columns that state or imply disability status.
DISABILITY_COLUMNS = ("has_iep", "iep_mean_progress_pct")


def audience_of(principal: Principal) -> Audience:
    """The audience a token's role belongs to."""
    return _AUDIENCE_OF_ROLE[principal.role]


def readable_levels(principal: Principal) -> list[str]:
    """Levels this caller reads without a grant (for error messages)."""
    audience = audience_of(principal)
    return [level.value for level in PrivacyLevel if level.readable_by(audience)]


@dataclass(frozen=True)
class ReadDecision:
    """A permitted read: the level, and the grant it rests on (None: the audience suffices)."""

    level: PrivacyLevel
    grant: Grant | None = None

    @property
    def disability_columns_allowed(self) -> bool:
        """Whether learner-level rows may keep their disability columns."""
        return self.grant is None or self.grant.disability_status


def _refuse(message: str, principal: Principal) -> ApiError:
    return ApiError(
        403,
        "level_not_permitted",
        message,
        field="privacy_level",
        details={"readable_levels": readable_levels(principal)},
    )


def _find_grant(
    grants: GrantStore,
    principal: Principal,
    tenant_id: str | None,
    level: PrivacyLevel,
    *,
    learner_level: bool,
) -> Grant | None:
    if tenant_id is None:
        return None
    now = datetime.now(tz=UTC)
    for grant in grants.in_force_for(principal.subject, tenant_id, now):
        level_ok = grant.privacy_level == level.value or level.readable_by(audience_of(principal))
        if level_ok and (grant.learner_level or not learner_level):
            return grant
    return None


def authorize_read(
    principal: Principal,
    level_name: str,
    tenant_id: str | None,
    grants: GrantStore,
    *,
    learner_level: bool = False,
) -> ReadDecision:
    """Decide whether ``principal`` may read ``level_name`` for ``tenant_id``.

    Args:
        principal: The verified caller (tenant scope already enforced).
        level_name: The validated privacy level requested (or defaulted).
        tenant_id: The one tenant read; None for platform-wide or all-tenant reads.
        grants: The grant table.
        learner_level: The read returns learner-level rows.

    Raises:
        ApiError: 403 ``level_not_permitted`` naming the readable levels, or
            ``grant_required`` for learner-level rows without a grant.
    """
    level = PrivacyLevel(level_name)
    if principal.role is Role.ROOT:
        return ReadDecision(level)
    audience = audience_of(principal)
    if learner_level:
        grant = _find_grant(grants, principal, tenant_id, level, learner_level=True)
        if grant is None:
            raise ApiError(
                403,
                "grant_required",
                "learner-level rows are exported only under a root grant for one tenant "
                "that names its data-use agreement; pass that tenant's tenant_id",
                field="tenant_id",
            )
        return ReadDecision(level, grant)
    if level.readable_by(audience):
        return ReadDecision(level)
    grant = _find_grant(grants, principal, tenant_id, level, learner_level=False)
    if grant is not None and level.readable_by(audience, granted=True):
        return ReadDecision(level, grant)
    if audience is Audience.RESEARCHER and tenant_id is None:
        raise _refuse(
            f"{level.value} releases are not open to researchers; a root grant opens one "
            "tenant's release: pass tenant_id, or choose a DP level",
            principal,
        )
    raise _refuse(f"{level.value} releases are not open to {audience.value} callers", principal)
