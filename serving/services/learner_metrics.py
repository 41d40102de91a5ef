"""One learner's latest snapshot from ``learner_snapshots``, in the API's learner shape."""

from __future__ import annotations

from contracts.levels import PrivacyLevel
from serving.data.store import RequestTables
from serving.models.responses import LearnerMetrics, SubjectProgress
from serving.services.tenant_metrics import as_mapping


def learner_metrics(
    tables: RequestTables,
    learner_id_hash: str,
    privacy_level: str,
    tenant_scope: str | None,
    min_cohort_size: int,
) -> LearnerMetrics | None:
    """The learner's most recent period, or None if absent (or outside ``tenant_scope``).

    Args:
        tables: Request table view.
        learner_id_hash: Validated 64-hex pseudonym.
        privacy_level: Release to read.
        tenant_scope: Restrict to this tenant (admins); None for root.
        min_cohort_size: Reported as ``minimum_cohort_size``.
    """
    conditions: dict[str, object] = {
        "learner_id_hash": learner_id_hash,
        "privacy_level": privacy_level,
    }
    if tenant_scope is not None:
        conditions["tenant_id"] = tenant_scope  # partition pruning, and the scope check itself
    records = tables.rows("learner_snapshots", conditions).to_pylist()
    if not records:
        return None
    latest = max(records, key=lambda r: r["period_start"])
    mastery = as_mapping(latest["mastery_by_subject"]) or {}
    return LearnerMetrics(
        learner_id_hash=learner_id_hash,
        reporting_period_start=latest["period_start"],
        reporting_period_end=latest["period_end"],
        session_metrics={
            "sessions": latest["sessions"],
            "learning_minutes": latest["learning_minutes"],
            "lessons_completed": latest["lessons_completed"],
            "assessments_completed": latest["assessments_completed"],
        },
        subject_progress=[
            SubjectProgress(subject=subject, mastery=score)
            for subject, score in sorted(mastery.items())
        ],
        iep_progress={
            "has_iep": latest["has_iep"],
            "mean_progress_pct": latest["iep_mean_progress_pct"],
        },
        age_band=latest["age_band"],
        grade_band=latest["grade_band"],
        privacy_level=privacy_level,
        minimum_cohort_size=min_cohort_size,
        differential_privacy_epsilon=PrivacyLevel(privacy_level).epsilon or 0.0,
        insufficient_data=latest["insufficient_data"],
        last_updated=tables.snapshot("learner_snapshots").committed_at,
        data_completeness=latest["data_completeness"],
    )
