"""The ops table of access grants (``ops/access_grants``), written by the API's root endpoints.

A grant lets one researcher read what their audience may not by default: one
tenant's exact (``anonymized``) releases, learner-level rows, disability
columns. It is issued by root for a recorded data-use agreement, expires, and
can be revoked; every use is recorded in the audit log. Spark-free.
"""

from __future__ import annotations

from contracts.columns import Column

ACCESS_GRANTS: tuple[Column, ...] = (
    Column("grant_id", "string", "Grant id (UUID).", False),
    Column(
        "grantee_subject",
        "string",
        "Token subject (`sub`) of the researcher (or tenant admin) granted.",
        False,
    ),
    Column("tenant_id", "string", "The one tenant the grant covers (UUID).", False),
    Column("privacy_level", "string", "Privacy level the grant opens (e.g. anonymized).", False),
    Column(
        "learner_level",
        "boolean",
        "Allows learner-level rows (the learner_progress export).",
        False,
    ),
    Column(
        "disability_status",
        "boolean",
        "Allows disability columns (has_iep, IEP progress) in learner-level exports.",
        False,
    ),
    Column(
        "data_use_reference", "string", "Data-use agreement or ethics approval reference.", False
    ),
    Column("expires_at", "timestamp", "End of validity (UTC).", False),
    Column("created_at", "timestamp", "When root issued it (UTC).", False),
    Column("created_by", "string", "Keyed hash of the issuing root caller.", False),
    Column("revoked_at", "timestamp", "When it was revoked (UTC); null while in force."),
    Column("revoked_by", "string", "Keyed hash of the revoking root caller."),
)
