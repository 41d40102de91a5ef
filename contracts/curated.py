"""The curated contract: every published Delta table under ``<data_root>/curated/``.

Each table lists its key columns, its metric columns (the ones suppression
nulls and noise perturbs) and shares one block of privacy metadata columns.
Jobs write with :func:`contracts.columns.spark_schema`, the API and
researchers read with :func:`contracts.columns.arrow_schema`, and
``docs/DATA_DICTIONARY.md`` is generated from the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts.columns import Column
from contracts.levels import PrivacyLevel

AggregationLevel = Literal["individual", "cohort", "tenant", "platform"]

ALL_SUBJECTS = "all"  # subject key of the tenant-wide rows in per-subject tables
ALL_CATEGORIES = "all"  # iep_category key of a tenant's pooled IEP row (every category)

PRIVACY_METADATA: tuple[Column, ...] = (
    Column(
        "privacy_level",
        "string",
        " or ".join(
            f"{level.value} (ε={level.epsilon:g})" if level.epsilon else level.value
            for level in PrivacyLevel
        )
        + ".",
        False,
        "metadata",
    ),
    Column(
        "epsilon", "double", "ε spent on this row's release (0 for anonymized).", False, "metadata"
    ),
    Column(
        "delta",
        "double",
        "δ of the release (zCDP conversion or partition selection); 0 for pure ε-DP.",
        False,
        "metadata",
    ),
    Column(
        "k_threshold",
        "int",
        "Minimum distinct learners for metrics to be published.",
        False,
        "metadata",
    ),
    Column(
        "noise_mechanism",
        "string",
        "Noise added: none, or the mechanism per metric family.",
        False,
        "metadata",
    ),
    Column(
        "aggregation_level", "string", "individual, cohort, tenant or platform.", False, "metadata"
    ),
    Column(
        "insufficient_data",
        "boolean",
        "True when fewer than k learners: metrics are null.",
        False,
        "metadata",
    ),
    Column(
        "noise_scales",
        "map<string,double>",
        "Noise scale per noised metric: Laplace b or Gaussian σ (noise_mechanism says which).",
        True,
        "metadata",
    ),
    Column(
        "ci95",
        "map<string,double>",
        "Half-width of the 95 % noise interval per noised metric (value ± ci95); empty when exact.",
        True,
        "metadata",
    ),
    Column("job_run_id", "string", "The job_runs row that produced this row.", False, "metadata"),
)


@dataclass(frozen=True)
class CuratedTable:
    """A published table: its grain, its metrics and how it was protected."""

    name: str
    description: str
    aggregation_level: AggregationLevel
    keys: tuple[Column, ...]
    metrics: tuple[Column, ...]
    partition_by: tuple[str, ...]
    period_column: str
    suppression_rule: str

    @property
    def columns(self) -> tuple[Column, ...]:
        """All columns in write order: keys, metrics, then privacy metadata."""
        return self.keys + self.metrics + PRIVACY_METADATA

    @property
    def key_names(self) -> tuple[str, ...]:
        """Names of the key (grain) columns."""
        return tuple(c.name for c in self.keys)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Names of the metric columns that suppression nulls."""
        return tuple(c.name for c in self.metrics)


TENANT = Column("tenant_id", "string", "Tenant (UUID).", False, "public key")
SUBJECT = Column(
    "subject", "string", f"Subject, or '{ALL_SUBJECTS}' for the tenant total.", False, "public key"
)
PERIOD_START = Column(
    "period_start", "date", "First day of the reporting period.", False, "public key"
)
PERIOD_END = Column("period_end", "date", "Last day of the reporting period.", False, "public key")

_K_RULE = (
    "Metrics null and insufficient_data=true when distinct learners < k (noisy count in DP levels)."
)
_PUBLIC_KEYS = " Every key of the public lists is released, empty ones included."
_PERIOD_CADENCE = (
    " At anonymized, released only for one closed calendar month (the 1st to its last day)."
)
# Measures the shipped release plan withholds at DP levels: too noisy per cell for their share.
_NOT_MEASURED_AT_DP = (
    " Null at DP levels in the shipped release plan (not measured: conf/bounds.toml, dp_withheld)."
)
_QUARTERLY_AT_DP = (
    " At DP levels, released once per calendar quarter (period_start is the quarter's first"
    " day) by the run whose period ends on the quarter's last day, with the three months'"
    " shares of the budget (conf/bounds.toml, dp_cadence)."
)

SESSION_DAILY = CuratedTable(
    name="session_daily",
    description=(
        "Learning sessions per tenant, day and subject (subject 'all' = tenant total)."
        " At DP levels the shipped release plan measures the 'all' rows only: subject rows"
        " are suppressed rows, not measured (conf/bounds.toml, dp_withheld)."
    ),
    aggregation_level="tenant",
    keys=(
        TENANT,
        Column("activity_date", "date", "Day (UTC).", False, "public key"),
        SUBJECT,
    ),
    metrics=(
        Column("sessions", "long", "Sessions that ended that day.", treatment="count"),
        Column(
            "active_learners",
            "long",
            "Distinct learners with a session.",
            treatment="distinct count",
        ),
        Column(
            "avg_duration_minutes",
            "double",
            "Mean session length, minutes (each session clamped to [0, 240]).",
            treatment="mean",
        ),
        Column(
            "median_duration_minutes",
            "double",
            "Median session length, minutes." + _NOT_MEASURED_AT_DP,
            treatment="percentile",
        ),
        Column(
            "p90_duration_minutes",
            "double",
            "90th percentile of session length, minutes." + _NOT_MEASURED_AT_DP,
            treatment="percentile",
        ),
        Column(
            "max_duration_minutes",
            "double",
            "Longest session (anonymized level only; null under DP).",
            treatment="max",
        ),
        Column("total_hours", "double", "Sum of session lengths, hours.", treatment="sum"),
        Column(
            "trend_direction",
            "string",
            "up / down / flat: total hours vs the previous 7 days' mean.",
            treatment="derived",
        ),
    ),
    partition_by=("tenant_id",),
    period_column="activity_date",
    suppression_rule=_K_RULE
    + _PUBLIC_KEYS
    + " At anonymized, subject rows get complementary suppression against the 'all' row"
    " (whenever a suppressed subject or the sessions without a subject hold a learner, the"
    " smallest subject of >= k learners is suppressed too), so no suppressed cell can be"
    " recovered by subtraction.",
)

SESSION_SUMMARY = CuratedTable(
    name="session_summary",
    description=(
        "A tenant's learning sessions over the reporting period (a calendar month on the"
        " documented schedule): active learners, sessions and hours, one row per tenant."
        " Each learner counts once, so at DP levels this is the tenant's usable session"
        " figure where daily cells are noise."
    ),
    aggregation_level="tenant",
    keys=(TENANT, PERIOD_START, PERIOD_END),
    metrics=(
        Column(
            "active_learners",
            "long",
            "Distinct learners with a session in the period.",
            treatment="distinct count",
        ),
        Column(
            "sessions",
            "long",
            "Sessions in the period (avg_sessions_per_learner × active_learners).",
            treatment="derived",
        ),
        Column(
            "total_hours",
            "double",
            "Session hours (avg_minutes_per_learner × active_learners / 60).",
            treatment="derived",
        ),
        Column(
            "avg_sessions_per_learner",
            "double",
            "Sessions per active learner, each learner's clamped to 30 per 31 days.",
            treatment="mean",
        ),
        Column(
            "avg_minutes_per_learner",
            "double",
            "Session minutes per active learner, each learner's clamped to 1,000 per 31 days"
            " (conf/bounds.toml, upper).",
            treatment="mean",
        ),
        Column(
            "avg_session_minutes",
            "double",
            "Mean session length: avg_minutes_per_learner / avg_sessions_per_learner.",
            treatment="derived",
        ),
    ),
    partition_by=("tenant_id",),
    period_column="period_start",
    suppression_rule=_K_RULE + _PUBLIC_KEYS + _PERIOD_CADENCE,
)

MASTERY_PROGRESS = CuratedTable(
    name="mastery_progress",
    description="Assessment mastery per tenant, subject and reporting period.",
    aggregation_level="cohort",
    keys=(TENANT, SUBJECT, PERIOD_START, PERIOD_END),
    metrics=(
        Column(
            "learners_assessed",
            "long",
            "Distinct learners with an assessment.",
            treatment="distinct count",
        ),
        Column("assessments_completed", "long", "Assessments completed.", treatment="count"),
        Column(
            "mean_mastery",
            "double",
            "Mean of each learner's latest score in the period, 0-100.",
            treatment="mean",
        ),
        Column(
            "improvement_delta",
            "double",
            "Mean change per learner from first to latest score in the period, points.",
            treatment="derived",
        ),
        Column(
            "median_days_to_mastery",
            "double",
            "Median days from first assessment to first score >= 80.",
            treatment="percentile",
        ),
    ),
    partition_by=("tenant_id",),
    period_column="period_start",
    suppression_rule=_K_RULE + _PUBLIC_KEYS + _PERIOD_CADENCE,
)

WEEKLY_ACTIVE = CuratedTable(
    name="weekly_active",
    description="Active, new, returning and churned learners per tenant and ISO week.",
    aggregation_level="tenant",
    keys=(
        TENANT,
        Column("week_start", "date", "Monday of the ISO week.", False, "public key"),
        Column("iso_week", "string", "ISO week label, e.g. 2025-W03.", False, "public key"),
    ),
    metrics=(
        Column(
            "active_learners",
            "long",
            "Distinct learners with any event that week.",
            treatment="distinct count",
        ),
        Column(
            "new_learners",
            "long",
            "Active learners whose first-ever activity is this week.",
            treatment="distinct count",
        ),
        Column(
            "returning_learners",
            "long",
            "Active learners also active before this week.",
            treatment="distinct count",
        ),
        Column(
            "churned_learners",
            "long",
            "Learners active the previous week but not this week.",
            treatment="distinct count",
        ),
        Column(
            "avg_sessions_per_learner",
            "double",
            "Sessions per active learner, each learner's week clamped to [0, 14] sessions.",
            treatment="mean",
        ),
        Column(
            "avg_minutes_per_learner",
            "double",
            "Session minutes per active learner, each learner's week clamped to [0, 400]"
            " minutes (conf/bounds.toml; at every level).",
            treatment="mean",
        ),
        Column(
            "engagement_rate",
            "double",
            "active_learners / enrolled learners of the tenant.",
            treatment="derived",
        ),
        Column(
            "age_band_distribution",
            "map<string,long>",
            "Active learners per age band (under_13, 13_17, 18_plus, not_provided).",
            treatment="count",
        ),
        Column(
            "grade_band_distribution",
            "map<string,long>",
            "Active learners per grade band.",
            treatment="count",
        ),
    ),
    partition_by=("tenant_id",),
    period_column="week_start",
    suppression_rule=_K_RULE
    + " Band counts under k are null; at anonymized, bands get complementary suppression"
    " against active_learners (the suppressed bands of a week add up to 0 or >= k), and only"
    " complete ISO weeks inside the run's period are released. At DP levels the week's"
    " counts are made consistent by least squares (post-processing): new_learners +"
    " returning_learners = active_learners, and each band map adds up to active_learners"
    " (its published bands to at most that); a band is null under k plus its 95 % error"
    " bar.",
)

IEP_PROGRESS = CuratedTable(
    name="iep_progress",
    description="Progress toward IEP goals per tenant, IEP category and period.",
    aggregation_level="cohort",
    keys=(
        TENANT,
        Column(
            "iep_category",
            "string",
            "IEP goal category: every category of the public list, for every tenant, and"
            f" '{ALL_CATEGORIES}' for the tenant's pooled row (every learner with a goal).",
            False,
            "public key",
        ),
        PERIOD_START,
        PERIOD_END,
    ),
    metrics=(
        Column(
            "learners_with_goals",
            "long",
            "Distinct learners with a goal measured.",
            treatment="distinct count",
        ),
        Column(
            "mean_progress_pct",
            "double",
            "Mean progress from baseline toward target, percent, clamped to [0, 120].",
            treatment="mean",
        ),
        Column(
            "share_on_track",
            "double",
            "Share of learners whose progress is at or ahead of schedule.",
            treatment="derived",
        ),
        Column(
            "support_level_distribution",
            "map<string,long>",
            "Learners per support level (every level of the public list; null under k)."
            + _NOT_MEASURED_AT_DP,
            treatment="count",
        ),
    ),
    partition_by=("tenant_id",),
    period_column="period_start",
    suppression_rule=_K_RULE
    + _PUBLIC_KEYS
    + " At anonymized, support levels get complementary suppression against"
    " learners_with_goals (the suppressed levels add up to 0 or >= k), and categories against"
    f" the tenant's pooled '{ALL_CATEGORIES}' row (a learner may be in several categories: any"
    " suppressed category holding a learner comes with one of at least k learners)."
    + _PERIOD_CADENCE
    + _QUARTERLY_AT_DP
    + f" At DP levels only the pooled '{ALL_CATEGORIES}' row is measured; category rows are"
    " released as suppressed rows (no ε spent on cells of tens of learners).",
)

COURSE_METRICS = CuratedTable(
    name="course_metrics",
    description="Course effectiveness per course and period.",
    aggregation_level="cohort",
    keys=(
        TENANT,
        Column(
            "course_id",
            "string",
            "Course (UUID): every course of the tenant's catalogue (raw/courses).",
            False,
            "public key",
        ),
        Column("course_name", "string", "Course title.", True, "descriptive"),
        Column("subject", "string", "Course subject.", True, "descriptive"),
        Column("difficulty", "string", "Course difficulty.", True, "descriptive"),
        PERIOD_START,
        PERIOD_END,
    ),
    metrics=(
        Column(
            "enrolled_learners",
            "long",
            "Distinct learners with activity in the course.",
            treatment="distinct count",
        ),
        Column(
            "completion_rate",
            "double",
            "Share of enrolled learners who completed the course.",
            treatment="derived",
        ),
        Column(
            "mean_mastery",
            "double",
            "Mean assessment score, 0-100." + _NOT_MEASURED_AT_DP,
            treatment="mean",
        ),
        Column(
            "avg_study_hours", "double", "Session hours per enrolled learner.", treatment="mean"
        ),
        Column(
            "retry_rate",
            "double",
            "Share of assessments that were retries." + _NOT_MEASURED_AT_DP,
            treatment="derived",
        ),
        Column(
            "avg_lessons_per_learner",
            "double",
            "Lessons completed per enrolled learner." + _NOT_MEASURED_AT_DP,
            treatment="mean",
        ),
    ),
    partition_by=("tenant_id",),
    period_column="period_start",
    suppression_rule=_K_RULE
    + " Every course of the tenant's catalogue is released, without activity included."
    + _PERIOD_CADENCE
    + _QUARTERLY_AT_DP,
)

PLATFORM_DAILY = CuratedTable(
    name="platform_daily",
    description="Platform-wide daily rollup and time series.",
    aggregation_level="platform",
    keys=(Column("activity_date", "date", "Day (UTC).", False, "public key"),),
    metrics=(
        Column(
            "active_learners",
            "long",
            "Distinct learners active that day.",
            treatment="distinct count",
        ),
        Column("active_tenants", "long", "Tenants with activity that day.", treatment="count"),
        Column("sessions", "long", "Sessions that ended that day.", treatment="count"),
        Column("total_hours", "double", "Session hours.", treatment="sum"),
        Column("lessons_completed", "long", "Lessons completed.", treatment="count"),
        Column("assessments_completed", "long", "Assessments completed.", treatment="count"),
        Column("avg_score", "double", "Mean assessment score, 0-100.", treatment="mean"),
    ),
    partition_by=(),
    period_column="activity_date",
    suppression_rule=_K_RULE,
)

PUBLIC_METRICS = CuratedTable(
    name="public_metrics",
    description="Platform-wide totals for the public page; no drill-down.",
    aggregation_level="platform",
    keys=(
        Column("metric_key", "string", "Stable metric identifier.", False, "public key"),
        PERIOD_START,
        PERIOD_END,
    ),
    metrics=(
        Column("metric_value", "double", "The value (noised under DP).", treatment="count or sum"),
        Column("display_label", "string", "Human-readable label.", treatment="descriptive"),
        Column("display_order", "int", "Sort order on the public page.", treatment="descriptive"),
    ),
    partition_by=(),
    period_column="period_start",
    suppression_rule=(
        _K_RULE + " The average_mastery_score row also when learners with a scored assessment"
        " < k (its own noisy count in DP levels)."
    ),
)

LEARNER_SNAPSHOTS = CuratedTable(
    name="learner_snapshots",
    description=(
        "Per pseudonymous learner and month: activity, mastery and IEP progress. PSEUDONYMOUS"
        " PERSONAL DATA, not anonymous: exact values under a keyed pseudonym. Released at"
        " anonymized only (never at a DP level), to the tenant's admins; k-anonymous over"
        " (tenant, age_band, grade_band, has_iep). No raw id, name, email or birth date."
    ),
    aggregation_level="individual",
    keys=(
        Column(
            "learner_id_hash",
            "string",
            "HMAC-SHA256 pseudonym of the learner id (hex).",
            False,
            "pseudonym",
        ),
        TENANT,
        PERIOD_START,
        PERIOD_END,
        Column("key_version", "string", "Version of the pseudonym key.", False, "metadata"),
    ),
    metrics=(
        Column(
            "age_band",
            "string",
            "under_13, 13_17, 18_plus or not_provided; coarsened to under_18 / 18_plus, or"
            " null (withheld), when the tenant needs it for k-anonymity.",
            treatment="quasi-identifier, generalized",
        ),
        Column(
            "grade_band",
            "string",
            "K-2, 3-5, 6-8, 9-12 or not_provided; coarsened to K-5 / 6-12, or null (withheld),"
            " when the tenant needs it for k-anonymity.",
            treatment="quasi-identifier, generalized",
        ),
        Column(
            "has_iep",
            "boolean",
            "Learner has an IEP (disability status); null (withheld) when the tenant needs it"
            " for k-anonymity.",
            treatment="quasi-identifier, withheld first",
        ),
        Column("sessions", "long", "Sessions in the period.", treatment="count"),
        Column("learning_minutes", "double", "Session minutes in the period.", treatment="sum"),
        Column("lessons_completed", "long", "Lessons completed.", treatment="count"),
        Column("assessments_completed", "long", "Assessments completed.", treatment="count"),
        Column(
            "mastery_by_subject",
            "map<string,double>",
            "Latest score per subject, 0-100.",
            treatment="as is",
        ),
        Column(
            "iep_mean_progress_pct",
            "double",
            "Mean progress toward IEP targets, percent; null where has_iep is withheld.",
            treatment="as is",
        ),
        Column(
            "data_completeness",
            "double",
            "Share of the learner's events that passed validation.",
            treatment="derived",
        ),
    ),
    partition_by=("tenant_id",),
    period_column="period_start",
    suppression_rule=(
        "k-anonymity: each tenant's rows are generalised to one level (IEP status withheld,"
        " then bands coarsened, then withheld) so that every published (tenant, age_band,"
        " grade_band, has_iep) combination has >= k rows; rows of smaller classes (at most 5%"
        " of the tenant) are not published, nor any row of a tenant with fewer than k"
        " learners. Metrics null when the tenant has fewer than k active learners."
        + _PERIOD_CADENCE
    ),
)

CURATED_TABLES: dict[str, CuratedTable] = {
    table.name: table
    for table in (
        SESSION_DAILY,
        SESSION_SUMMARY,
        MASTERY_PROGRESS,
        WEEKLY_ACTIVE,
        IEP_PROGRESS,
        COURSE_METRICS,
        PLATFORM_DAILY,
        PUBLIC_METRICS,
        LEARNER_SNAPSHOTS,
    )
}

# ---- operational ledgers under <data_root>/ops/ --------------------------------

JOB_RUNS: tuple[Column, ...] = (
    Column("run_id", "string", "Unique run id.", False),
    Column("job_name", "string", "Job module name, e.g. session_daily.", False),
    Column("tenant_id", "string", "Tenant the run was limited to; null for all tenants."),
    Column(
        "tenant_ids",
        "array<string>",
        "Every tenant the run covered (a tenant admin sees each run that touched their tenant).",
    ),
    Column("period_start", "date", "First day covered.", False),
    Column("period_end", "date", "Last day covered.", False),
    Column("privacy_level", "string", "Privacy level of the release.", False),
    Column("status", "string", "running, succeeded, failed, refused or abandoned.", False),
    Column("started_at", "timestamp", "Start (UTC).", False),
    Column("finished_at", "timestamp", "End (UTC); null while running."),
    Column("rows_read", "long", "Raw rows read."),
    Column("rows_written", "long", "Curated rows written."),
    Column("rows_quarantined", "long", "Raw rows sent to quarantine."),
    Column("groups_suppressed", "long", "Groups with insufficient_data=true."),
    Column(
        "epsilon_charged",
        "double",
        "ε the run charged each tenant it released (the most any one tenant was charged).",
    ),
    Column("error_message", "string", "Why the run failed or was refused."),
    Column("host", "string", "Driver host."),
    Column("pid", "long", "Driver process id."),
    Column(
        "table_outcomes",
        "string",
        "Per-table outcome as a JSON list: table, rows written, groups suppressed, tenants "
        "released, reused (already published) and refused (over budget), skip reason.",
    ),
)

PRIVACY_BUDGET: tuple[Column, ...] = (
    Column("tenant_id", "string", "Tenant charged.", False),
    Column("period_start", "date", "First day of the period charged.", False),
    Column("period_end", "date", "Last day of the period charged.", False),
    Column(
        "window_start",
        "date",
        "First day of the fixed calendar accounting window charged (DP_BUDGET_WINDOW).",
        False,
    ),
    Column("window_end", "date", "Last day of the accounting window charged.", False),
    Column("release_id", "string", "Identifies the release (job, level, tenant, period).", False),
    Column("job_name", "string", "Job that made the release.", False),
    Column("privacy_level", "string", "Privacy level of the release.", False),
    Column("epsilon", "double", "ε charged (negative on a compensating correction row).", False),
    Column("delta", "double", "δ of the release (0 for pure ε-DP)."),
    Column(
        "rho",
        "double",
        "zCDP ρ of the release (ε²/2 for pure ε-DP); null for (ε, δ) releases without one.",
    ),
    Column("forced", "boolean", "Re-release with fresh noise that charged again.", False),
    Column("job_run_id", "string", "Run that charged it.", False),
    Column("charged_at", "timestamp", "When (UTC).", False),
)

QUARANTINE: tuple[Column, ...] = (
    Column("source_table", "string", "Raw table the row came from.", False),
    Column("tenant_id", "string", "Tenant, when readable."),
    Column("reason", "string", "Why the row was rejected.", False),
    Column(
        "raw_row",
        "string",
        "The rejected row as JSON. Contains PII: same access as raw/.",
        False,
        "pii",
    ),
    Column("job_run_id", "string", "Run that rejected it.", False),
    Column("quarantined_at", "timestamp", "When (UTC).", False),
    Column(
        "period_start",
        "date",
        "First day of the run's period. A rerun replaces its (period, scope, source) slice.",
    ),
    Column("period_end", "date", "Last day of the run's period; retention counts from it."),
    Column("run_scope", "string", "The run's tenant (UUID), or 'all' for an all-tenant run."),
)

OPS_TENANTS: tuple[Column, ...] = (
    Column("tenant_id", "string", "Tenant (UUID), from the registry raw/tenants.", False),
    Column("name", "string", "Tenant's display name (not PII)."),
    Column("state_province", "string", "State or province of the tenant."),
    Column("joined_on", "date", "Tenant's first day on the platform."),
    Column("learners", "long", "Learners registered for the tenant in raw/learners (exact)."),
    Column("updated_at", "timestamp", "When a run last wrote this row (UTC).", False),
)

RUN_REQUESTS: tuple[Column, ...] = (
    Column(
        "request_id",
        "string",
        "UUID the API returned; also the run id of the first attempt in job_runs.",
        False,
    ),
    Column("tenant_id", "string", "Tenant the run is limited to.", False),
    Column("privacy_level", "string", "Privacy level requested.", False),
    Column("period_start", "date", "First day to cover.", False),
    Column("period_end", "date", "Last day to cover.", False),
    Column("requested_by", "string", "Role of the caller (admin or root); no identity.", False),
    Column("requested_at", "timestamp", "When the API accepted the request (UTC).", False),
    Column("status", "string", "queued, running, succeeded, failed, refused or abandoned.", False),
    Column("run_id", "string", "job_runs id of the current or last attempt.", False),
    Column(
        "attempt", "int", "Attempts so far (a new one starts when a worker's lease expired).", False
    ),
    Column(
        "previous_run_ids",
        "array<string>",
        "job_runs ids of attempts whose worker died (marked abandoned there).",
    ),
    Column("revision", "long", "Incremented by every change: the compare-and-swap token.", False),
    Column("worker_id", "string", "Worker holding the claim (host, pid and a random part)."),
    Column("claimed_at", "timestamp", "When the current attempt was claimed (UTC)."),
    Column("heartbeat_at", "timestamp", "Last heartbeat of the claiming worker (UTC)."),
    Column(
        "lease_expires_at",
        "timestamp",
        "Without a heartbeat by then the worker is presumed dead and the request re-claimable.",
    ),
    Column("finished_at", "timestamp", "When the request reached a final status (UTC)."),
    Column(
        "error_message", "string", "Why the run failed (the ledger's message or the launch error)."
    ),
)
