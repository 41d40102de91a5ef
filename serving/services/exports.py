"""Research exports: bounded, justified, logged.

``learner_progress`` replaces each learner's pseudonym with
HMAC-SHA256(per-export key, learner_id_hash), where the per-export key is
HMAC-SHA256(EXPORT_KEY, "privacy_udfs/export/" + export id) (the one scheme of
``privacy_udfs.keys.export_secret``), so the pseudonym column differs per
export. That does NOT make exports unlinkable: two exports of the same
tenant and period carry the same activity values, so their rows can be
matched one to one, and through them to the curated rows. Learner-level
exports are therefore pseudonymous personal data, served only under a root
grant naming its data-use agreement (see ``release_access``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow.compute as pc

from contracts.curated import CURATED_TABLES
from privacy_udfs.keys import export_secret
from serving.data.store import RequestTables

MAX_EXPORT_ROWS = 50_000
CONFIRMATION_THRESHOLD = 10_000
DATASET_TABLES = {
    "learner_progress": "learner_snapshots",
    "course_metrics": "course_metrics",
    "platform_daily": "platform_daily",
    "mastery_progress": "mastery_progress",
    "iep_progress": "iep_progress",
    "weekly_active": "weekly_active",
    "session_daily": "session_daily",
    "session_summary": "session_summary",
}
# Dropped from learner_progress: the linkable pseudonym and its key version.
_LEARNER_LINKABLE = ("learner_id_hash", "key_version")
PSEUDONYM_NOTE = (
    "learner_pseudonym is keyed per export and differs from the curated pseudonym, but rows "
    "of two exports can still be matched on their values: treat this export as pseudonymous "
    "personal data, under the data-use agreement of its grant"
)


def privacy_notice(k_threshold: int) -> str:
    """The notice attached to every export, with the configured k (``MIN_COHORT_SIZE``)."""
    return (
        f"Aggregated or pseudonymous data protected by k-suppression (k={k_threshold}) and, at "
        "dp_* levels, differential privacy. Do not attempt to re-identify individuals."
    )


@dataclass(frozen=True)
class ExportPlan:
    """A validated export: which table slice and what it will contain."""

    dataset: str
    table: str
    start: date
    end: date
    privacy_level: str
    tenant_id: str | None


def export_columns(available: list[str], dataset: str, withheld: tuple[str, ...] = ()) -> list[str]:
    """Column order of an export: every column the table has, less ``withheld``.

    Exports pass through whatever columns the published table carries, like a
    ``SELECT *``; the PII response validator is what stops a forbidden column.
    ``learner_progress`` is re-keyed (``learner_pseudonym`` first, no curated pseudonym).
    """
    kept = [n for n in available if n not in withheld]
    if dataset == "learner_progress":
        return ["learner_pseudonym"] + [n for n in kept if n not in _LEARNER_LINKABLE]
    return kept


def is_platform_wide(table: str) -> bool:
    """Whether ``table`` has no tenant key (one row set for the whole platform)."""
    return "tenant_id" not in {c.name for c in CURATED_TABLES[table].keys}


def _filter(plan: ExportPlan) -> pc.Expression:
    table = CURATED_TABLES[plan.table]
    period = pc.field(table.period_column)
    expression = (
        (pc.field("privacy_level") == pc.scalar(plan.privacy_level))
        & (period >= pc.scalar(plan.start))
        & (period <= pc.scalar(plan.end))
    )
    if plan.tenant_id is not None:
        if is_platform_wide(plan.table):
            # Never silently widen a tenant-scoped export to every tenant's rows.
            raise ValueError(f"{plan.table} is platform-wide: it has no rows per tenant")
        expression = expression & (pc.field("tenant_id") == pc.scalar(plan.tenant_id))
    return expression


def count_rows(tables: RequestTables, plan: ExportPlan) -> int:
    """Rows the export would contain (counted from the dataset, without reading them)."""
    return int(tables.snapshot(plan.table).dataset.count_rows(filter=_filter(plan)))


def export_key(secret: bytes, export_id: str) -> bytes:
    """The per-export pseudonym key: the one scheme of ``privacy_udfs.keys.export_secret``."""
    return export_secret(secret, export_id)


def rekey(key: bytes, learner_id_hash: str) -> str:
    """The export's pseudonym of a learner."""
    return hmac.new(key, learner_id_hash.encode(), hashlib.sha256).hexdigest()


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {str(k): v for k, v in value}  # pyarrow map -> pairs
    return value


def read_rows(
    tables: RequestTables,
    plan: ExportPlan,
    export_id: str,
    secret: bytes | None,
    withheld: tuple[str, ...] = (),
) -> tuple[list[str], list[dict[str, Any]]]:
    """The export's columns and rows, JSON-ready, pseudonyms re-keyed for ``learner_progress``.

    Raises:
        ValueError: ``learner_progress`` requested without an export key.
    """
    rows = tables.snapshot(plan.table).dataset.to_table(filter=_filter(plan), use_threads=False)
    records = rows.to_pylist()
    if plan.dataset == "learner_progress":
        if secret is None:
            raise ValueError("EXPORT_KEY is not configured")
        key = export_key(secret, export_id)
        for record in records:
            record["learner_pseudonym"] = rekey(key, record["learner_id_hash"])
            for linkable in _LEARNER_LINKABLE:
                record.pop(linkable, None)
    columns = export_columns(rows.column_names, plan.dataset, withheld)
    return columns, [{name: _jsonable(record.get(name)) for name in columns} for record in records]
