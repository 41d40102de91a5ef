"""Response models: the documented shape of every successful answer (S2-15 shapes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NoiseScales = dict[str, float | None]


class Health(BaseModel):
    """Liveness and which tables are readable."""

    status: str
    service: str
    version: str
    stage: str
    tables: dict[str, bool] = Field(description="Curated/ops table -> readable now.")


class PrivacyLevelInfo(BaseModel):
    """One privacy level."""

    level: str
    description: str
    epsilon: float
    suitable_for: str


class PrivacyLevels(BaseModel):
    """All privacy levels and the default."""

    privacy_levels: list[PrivacyLevelInfo]
    default_level: str
    minimum_cohort_size: int


class SessionMetrics(BaseModel):
    """Session totals over the period (subject 'all' rows)."""

    total_sessions: int | None
    avg_duration_minutes: float | None
    median_duration_minutes: float | None = Field(
        description="Median of the daily medians over the period."
    )
    total_hours: float | None
    trend_direction: str | None
    privacy_level: str
    data_points: int = Field(description="Days with published (unsuppressed) data.")
    noise_std: dict[str, float] = Field(
        description="Standard deviation of the DP noise in each total (0 when anonymized)."
    )


class WeeklyActivity(BaseModel):
    """One ISO week."""

    week_start: date
    iso_week: str
    active_learners: int | None
    new_learners: int | None
    returning_learners: int | None
    churned_learners: int | None
    avg_sessions_per_learner: float | None
    avg_minutes_per_learner: float | None
    engagement_rate: float | None
    insufficient_data: bool
    noise_scales: NoiseScales | None


class SubjectSummary(BaseModel):
    """A subject's latest mastery period overlapping the request."""

    subject: str
    period_start: date
    period_end: date
    learners_assessed: int | None
    assessments_completed: int | None
    mean_mastery: float | None
    improvement_delta: float | None
    insufficient_data: bool
    noise_scales: NoiseScales | None


class IepCategorySummary(BaseModel):
    """One IEP category in the latest period."""

    iep_category: str
    learners_with_goals: int | None
    mean_progress_pct: float | None
    share_on_track: float | None
    insufficient_data: bool
    noise_scales: NoiseScales | None


class IepProgressSummary(BaseModel):
    """IEP progress of the latest period overlapping the request."""

    period_start: date | None
    period_end: date | None
    categories: list[IepCategorySummary]


class TenantMetrics(BaseModel):
    """The tenant dashboard (S2-15 ``GET /api/v1/metrics/tenant/{tenant_id}``)."""

    tenant_id: str
    reporting_period_start: date
    reporting_period_end: date
    total_active_learners: int | None = Field(
        description="Peak weekly distinct learners in the period (distinct learners over "
        "longer periods are not published)."
    )
    total_learning_hours: float | None
    average_engagement_rate: float | None
    session_metrics: SessionMetrics
    weekly_activity: list[WeeklyActivity]
    top_subjects: list[SubjectSummary]
    iep_progress_summary: IepProgressSummary
    privacy_level: str
    epsilon: float = Field(description="ε of the release read (0 when anonymized).")
    insufficient_data: bool
    last_updated: datetime | None


class SubjectProgress(BaseModel):
    """A learner's latest score in one subject."""

    subject: str
    mastery: float | None


class LearnerMetrics(BaseModel):
    """One pseudonymous learner (S2-15 ``GET /api/v1/metrics/learner/{hash}``)."""

    learner_id_hash: str
    reporting_period_start: date
    reporting_period_end: date
    session_metrics: dict[str, float | int | None]
    subject_progress: list[SubjectProgress]
    iep_progress: dict[str, float | bool | None]
    age_band: str | None
    grade_band: str | None
    privacy_level: str
    minimum_cohort_size: int
    differential_privacy_epsilon: float
    insufficient_data: bool
    last_updated: datetime | None
    data_completeness: float | None


class BudgetPeriod(BaseModel):
    """ε charged in one period."""

    period_start: date
    period_end: date
    epsilon_charged: float
    epsilon_remaining: float
    releases: int
    exhausted: bool


class PrivacyBudget(BaseModel):
    """A tenant's privacy budget usage."""

    tenant_id: str
    epsilon_budget: float
    periods: list[BudgetPeriod]


class EtlTriggered(BaseModel):
    """An accepted ETL run."""

    run_id: str
    tenant_id: str
    privacy_level: str
    start: date
    end: date
    status: str


class JobRun(BaseModel):
    """One job_runs row."""

    run_id: str
    job_name: str
    tenant_id: str | None
    period_start: date
    period_end: date
    privacy_level: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    rows_read: int | None
    rows_written: int | None
    rows_quarantined: int | None
    groups_suppressed: int | None
    epsilon_charged: float | None
    error_message: str | None


class JobList(BaseModel):
    """Most recent runs first."""

    jobs: list[JobRun]
    count: int


class PublicMetric(BaseModel):
    """One public metric."""

    metric_key: str
    display_label: str | None
    metric_value: float | None
    display_order: int | None
    period_start: date
    period_end: date


class PublicMetrics(BaseModel):
    """Platform-wide totals for the public page; no drill-down."""

    metrics: list[PublicMetric]
    privacy_level: str | None
    privacy_notice: str
    last_updated: datetime | None


class ExportMetadata(BaseModel):
    """What an export holds and how it was protected."""

    export_id: str
    dataset: str
    start: date
    end: date
    privacy_level: str
    row_count: int
    generated_at: datetime
    pseudonym_note: str | None
    privacy_notice: str


# Exports answer text/csv when format=csv; the OpenAPI document must say so.
_CSV_ALTERNATIVE = ConfigDict(
    # flask-openapi3 reads this extension key; pydantic's TypedDict does not list it.
    openapi_extra={"content": {"text/csv": {"schema": {"type": "string"}}}}  # type: ignore[typeddict-unknown-key]
)


class ExportResult(BaseModel):
    """A research export (JSON form; CSV carries the same rows)."""

    model_config = _CSV_ALTERNATIVE

    export: ExportMetadata
    rows: list[dict[str, Any]]


class AuditSummary(BaseModel):
    """Aggregate audit statistics (admin: own tenant's callers; root: everyone)."""

    window: str
    scope: str
    total_requests: int
    successful_requests: int
    failed_requests: int
    pii_blocks: int
    cohort_suppressions: int
    rate_limited: int
    auth_failures: int
    exports: int
    status_counts: dict[str, int]
    top_endpoints: list[dict[str, Any]]
    phases: dict[str, str]


class AuditLogPage(BaseModel):
    """Filtered audit log entries (root only)."""

    entries: list[dict[str, Any]]
    total_matched: int
    limit: int
    offset: int
    available_filters: dict[str, list[str]]


class AuditExport(BaseModel):
    """An audit export (JSON form; CSV carries the same entries)."""

    model_config = _CSV_ALTERNATIVE

    export: dict[str, Any]
    entries: list[dict[str, Any]]
