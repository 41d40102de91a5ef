"""Response models: the documented shape of every successful answer ."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NoiseScales = dict[str, float | None]


class RateLimitInfo(BaseModel):
    """Where rate-limit counts live and what that means."""

    storage: str = Field(description="memory or the storage scheme (redis).")
    scope: str = Field(description="per-worker (memory: each worker counts alone) or shared.")
    reachable: bool
    public: str
    authenticated: str


class Health(BaseModel):
    """Liveness and which tables are readable."""

    status: str
    service: str
    version: str
    stage: str = Field(description="SERVING_ENV: production or development.")
    tables: dict[str, bool] = Field(description="Curated/ops table -> readable now.")
    rate_limits: RateLimitInfo


class EndpointInfo(BaseModel):
    """One endpoint of the API."""

    path: str
    methods: list[str]
    min_role: str = Field(description="Lowest role admitted (public < researcher < admin < root).")
    action: str = Field(description="Name recorded in the audit log.")


class ApiIndex(BaseModel):
    """The API's endpoints and its documents."""

    openapi: str = Field(description="Path of the OpenAPI 3.1 document.")
    docs: str = Field(description="Path of the interactive documentation.")
    endpoints: list[EndpointInfo]


class PrivacyLevelInfo(BaseModel):
    """One privacy level, as defined in ``contracts.levels``."""

    level: str
    description: str
    epsilon: float = Field(description="Total ε of one release (0 for anonymized: no noise).")
    differentially_private: bool
    suitable_for: str
    audiences: list[str] = Field(
        description="Who reads releases at this level without a grant (public, researcher, "
        "admin = tenant admin of their own tenant, root)."
    )


class PrivacyLevels(BaseModel):
    """All privacy levels and the default."""

    privacy_levels: list[PrivacyLevelInfo]
    default_level: str
    minimum_cohort_size: int
    grant_note: str


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
    error_bar_95: dict[str, float] = Field(
        description=(
            "95 % half-width of the DP noise in each total (0 when anonymized): the total is "
            "within ± this of the exact one 95 % of the time (normal approximation of the "
            "summed noise, never narrower than one row's own bar)."
        )
    )


class PeriodSessions(BaseModel):
    """A tenant's sessions over one reporting period (a ``session_summary`` row)."""

    period_start: date
    period_end: date
    active_learners: int | None
    sessions: int | None
    total_hours: float | None
    avg_sessions_per_learner: float | None
    avg_minutes_per_learner: float | None
    avg_session_minutes: float | None
    insufficient_data: bool
    noise_scales: dict[str, float] | None = Field(
        description=(
            "Noise scale per value (σ or b): the learner count and the two per-learner means as"
            " drawn, the totals and the session length propagated from them."
        )
    )
    ci95: dict[str, float] | None = Field(
        description="95 % half-width of the noise per value (value ± ci95); empty when exact."
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
    ci95: NoiseScales | None = Field(
        default=None,
        description="95 % error bar (half-width) of each noised metric; null when anonymized.",
    )


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
    ci95: NoiseScales | None = Field(
        default=None,
        description="95 % error bar (half-width) of each noised metric; null when anonymized.",
    )


class IepCategorySummary(BaseModel):
    """One IEP category in the latest period."""

    iep_category: str
    learners_with_goals: int | None
    mean_progress_pct: float | None
    share_on_track: float | None
    insufficient_data: bool
    noise_scales: NoiseScales | None
    ci95: NoiseScales | None = Field(
        default=None,
        description="95 % error bar (half-width) of each noised metric; null when anonymized.",
    )


class IepProgressSummary(BaseModel):
    """IEP progress of the latest period overlapping the request."""

    period_start: date | None
    period_end: date | None
    categories: list[IepCategorySummary]


class TenantMetrics(BaseModel):
    """The tenant dashboard (``GET /api/v1/metrics/tenant/{tenant_id}``)."""

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
    session_summaries: list[PeriodSessions] = Field(
        description=(
            "The tenant's session summary per reporting period overlapping the request"
            " (session_summary): each learner counted once per period, so at DP levels these"
            " are the usable session figures where the sums of daily rows above are noise."
            " Empty until a run has published the table."
        )
    )
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
    """One pseudonymous learner (``GET /api/v1/metrics/learner/{hash}``)."""

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


class BudgetRelease(BaseModel):
    """What one release charged to one accounting window (its ledger rows summed)."""

    release_id: str
    job_name: str
    privacy_level: str
    period_start: date
    period_end: date
    epsilon: float = Field(description="Net ε (compensating correction rows subtract).")
    delta: float | None
    rho: float | None
    job_run_id: str
    forced: bool
    charged_at: datetime
    state: str = Field(description="spent, or reserved while its run is still running.")


class BudgetWindow(BaseModel):
    """One fixed calendar accounting window (DP_BUDGET_WINDOW)."""

    window: str = Field(description="Label, e.g. 2025-Q1 or 2025-01.")
    window_start: date
    window_end: date
    epsilon_spent: float
    epsilon_reserved: float = Field(description="Charged by runs still running.")
    epsilon_left: float = Field(description="Budget minus spent minus reserved (may be < 0).")
    exhausted: bool
    releases: list[BudgetRelease]


class PrivacyBudget(BaseModel):
    """A tenant's privacy budget, per accounting window, newest first."""

    tenant_id: str
    epsilon_budget: float = Field(description="DP_EPSILON_BUDGET: ε per tenant per window.")
    window_kind: str = Field(description="DP_BUDGET_WINDOW: month or quarter.")
    windows: list[BudgetWindow]


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
    tenant_ids: list[str] | None = Field(
        default=None, description="Every tenant the run covered (null on old rows)."
    )
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
    counts_hidden: bool = Field(
        default=False,
        description="Exact event counts of a DP run are shown to root only (null here).",
    )


class TenantInfo(BaseModel):
    """One tenant of the registry, with its learner count (root only)."""

    tenant_id: str
    tenant_name: str | None = Field(description="The registry's display name (not PII).")
    state_province: str | None
    joined_on: date | None
    learners: int | None = Field(description="Learners registered for the tenant (exact).")
    updated_at: datetime = Field(description="When a run last published this row (UTC).")


class TenantList(BaseModel):
    """The tenants of the registry as published by the last run (``ops/tenants``)."""

    count: int
    tenants: list[TenantInfo]


class JobList(BaseModel):
    """Most recent runs first."""

    jobs: list[JobRun]
    count: int


class PublicMetric(BaseModel):
    """One public metric."""

    metric_key: str
    display_label: str | None
    metric_value: float | None
    error_bar_95: float | None = Field(
        default=None,
        description="Half-width of the value's 95 % noise interval (value ± error_bar_95).",
    )
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
    grant_id: str | None = Field(
        default=None, description="The root grant this export rests on, if any."
    )
    data_use_reference: str | None = None
    columns_withheld: list[str] = Field(
        default_factory=list, description="Columns left out (e.g. disability status)."
    )


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


class GrantView(BaseModel):
    """One access grant."""

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
    revoked_at: datetime | None
    revoked_by: str | None
    in_force: bool


class GrantList(BaseModel):
    """Grants, newest first."""

    grants: list[GrantView]
    count: int


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
