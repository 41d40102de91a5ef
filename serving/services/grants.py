"""Access grants issued by root, kept in the Delta table ``ops/access_grants`` (delta-rs).

A grant opens, for one grantee (token subject) and one tenant, what the
grantee's audience may not read by default: that tenant's exact
(``anonymized``) releases, learner-level rows, disability columns. It names
the data-use agreement it rests on, expires, and can be revoked. Reads go
through a :class:`~serving.data.tables.DeltaTableReader` (so a revocation
reaches every worker within ``TABLE_REFRESH_SECONDS``); writes are appends,
revocation a Delta ``UPDATE`` of one row by its validated UUID.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from contracts.access import ACCESS_GRANTS
from contracts.columns import arrow_schema
from serving.data.tables import DeltaTableReader, TableUnavailableError
from serving.exceptions import ApiError

GRANTS_TABLE = "access_grants"
_SCHEMA = arrow_schema(ACCESS_GRANTS)
_UPDATE_ATTEMPTS = 5


@dataclass(frozen=True)
class Grant:
    """One row of ``ops/access_grants``."""

    grant_id: str
    grantee_subject: str
    tenant_id: str
    privacy_level: str
    learner_level: bool
    disability_status: bool
    data_use_reference: str
    expires_at: datetime
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def in_force(self, now: datetime) -> bool:
        """Not revoked and not expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at

    def as_record(self) -> dict[str, Any]:
        """The row as a dict (the table's column names)."""
        return {column.name: getattr(self, column.name) for column in ACCESS_GRANTS}


class GrantNotFoundError(ApiError):
    """No grant has this id: 404."""

    def __init__(self, grant_id: str) -> None:
        super().__init__(404, "not_found", f"no grant has the id {grant_id}")
        self.grant_id = grant_id


class GrantStore:
    """Reads and writes ``ops/access_grants``."""

    def __init__(self, uri: str, *, refresh_seconds: float) -> None:
        """Prepare the store; the table is created by the first grant.

        Args:
            uri: Location of ``ops/access_grants``.
            refresh_seconds: How often readers look for a newer version.
        """
        self.uri = uri
        self._reader = DeltaTableReader(GRANTS_TABLE, uri, refresh_seconds=refresh_seconds)
        self._write_lock = threading.Lock()

    def all(self) -> list[Grant]:
        """Every grant ever issued (none when the table does not exist yet)."""
        try:
            snapshot = self._reader.snapshot()
        except TableUnavailableError:
            return []
        rows = snapshot.dataset.to_table(use_threads=False).to_pylist()
        return [Grant(**row) for row in rows]

    def in_force_for(self, subject: str, tenant_id: str, now: datetime) -> list[Grant]:
        """Grants of ``subject`` for ``tenant_id`` valid at ``now``."""
        return [
            grant
            for grant in self.all()
            if grant.grantee_subject == subject
            and grant.tenant_id == tenant_id
            and grant.in_force(now)
        ]

    def issue(self, grant: Grant) -> Grant:
        """Append ``grant`` (the table is created on the first one)."""
        batch = pa.Table.from_pylist([grant.as_record()], schema=_SCHEMA)
        with self._write_lock:
            write_deltalake(self.uri, batch, mode="append")
        self._reader.invalidate()
        return grant

    def revoke(self, grant_id: str, by: str, now: datetime) -> Grant:
        """Mark one grant revoked (idempotent: an already revoked grant keeps its first date).

        Raises:
            GrantNotFoundError: No grant has ``grant_id``.
        """
        key = str(uuid.UUID(grant_id))  # validated: the predicate below embeds it
        existing = next((g for g in self.all() if g.grant_id == key), None)
        if existing is None:
            raise GrantNotFoundError(key)
        if existing.revoked_at is not None:
            return existing
        with self._write_lock:
            for attempt in range(_UPDATE_ATTEMPTS):
                try:
                    DeltaTable(self.uri).update(
                        new_values={"revoked_at": now, "revoked_by": by},
                        predicate=f"grant_id = '{key}' AND revoked_at IS NULL",
                    )
                    break
                except CommitFailedError:
                    if attempt == _UPDATE_ATTEMPTS - 1:
                        raise
        self._reader.invalidate()
        return next(g for g in self.all() if g.grant_id == key)


def new_grant(
    *,
    grantee_subject: str,
    tenant_id: str,
    privacy_level: str,
    learner_level: bool,
    disability_status: bool,
    data_use_reference: str,
    expires_at: datetime,
    created_by: str,
) -> Grant:
    """A fresh grant issued now."""
    return Grant(
        grant_id=str(uuid.uuid4()),
        grantee_subject=grantee_subject,
        tenant_id=tenant_id,
        privacy_level=privacy_level,
        learner_level=learner_level,
        disability_status=disability_status,
        data_use_reference=data_use_reference,
        expires_at=expires_at,
        created_at=datetime.now(tz=UTC),
        created_by=created_by,
    )
