"""Request parameter models: every path and query parameter is validated here, nowhere else.

Each model forbids unknown parameters, so a typo is a 422 naming it rather
than silently ignored. Cross-field rules (``end`` before ``start``) are field
validators on the later field so the error names it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from contracts.levels import PrivacyLevel

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
MAX_METRICS_RANGE_DAYS = 366
MAX_EXPORT_RANGE_DAYS = 365
DEFAULT_WINDOW_DAYS = 31
MAX_GRANT_DAYS = 366

ReportDate = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
# Free text that ends up in the audit log: printable only (no control characters, so no
# forged log lines, terminal escapes or NUL bytes).
PRINTABLE_TEXT = r"^[^\x00-\x1f\x7f-\x9f]*$"
Reason = Annotated[
    str,
    Field(
        min_length=10,
        max_length=500,
        pattern=PRINTABLE_TEXT,
        description="Why the data is needed (logged); printable characters only.",
    ),
]
LearnerHash = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{64}$",
        description="HMAC-SHA256 pseudonym: 64 lowercase hex digits.",
    ),
]


class StrictParams(BaseModel):
    """Base of all parameter models: unknown parameters are errors."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """JSON schema, cached for the argument-less call.

        flask-openapi3 calls ``model_json_schema()`` on every request to see which
        query fields are arrays; generating it costs ~1.5 ms, the answer never changes.
        """
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        cached: dict[str, Any] | None = cls.__dict__.get("_cached_json_schema")
        if cached is None:
            cached = super().model_json_schema()
            type.__setattr__(cls, "_cached_json_schema", cached)
        return cached


def today() -> date:
    """Today in UTC (the data's calendar)."""
    return datetime.now(tz=UTC).date()


def check_range(start: date | None, end: date | None, max_days: int) -> None:
    """Validate an inclusive range (raises ValueError, reported on the ``end`` field)."""
    if start is None or end is None:
        return
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    if (end - start).days + 1 > max_days:
        raise ValueError(f"range is {(end - start).days + 1} days; at most {max_days} allowed")


class TenantPath(StrictParams):
    """A tenant in the path."""

    tenant_id: UUID = Field(description="Tenant UUID.")


class LearnerPath(StrictParams):
    """A learner pseudonym in the path."""

    learner_id_hash: LearnerHash


class DatasetPath(StrictParams):
    """An export dataset in the path."""

    dataset: Literal[
        "learner_progress", "course_metrics", "platform_daily", "mastery_progress",
        "iep_progress", "weekly_active", "session_daily", "session_summary",
    ]  # fmt: skip


class PeriodQuery(StrictParams):
    """Reporting period and privacy level (defaults: last 31 days, DEFAULT_PRIVACY_LEVEL)."""

    start: ReportDate | None = Field(default=None, description="First day (default: end - 30).")
    end: ReportDate | None = Field(default=None, description="Last day (default: today, UTC).")
    privacy_level: PrivacyLevel | None = Field(
        default=None, description="Release to read (default: DEFAULT_PRIVACY_LEVEL)."
    )

    @field_validator("end")
    @classmethod
    def _end_not_before_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        check_range(info.data.get("start"), end, MAX_METRICS_RANGE_DAYS)
        return end

    def resolved_range(self) -> tuple[date, date]:
        """(start, end) with defaults filled in."""
        end = self.end or (
            self.start + timedelta(days=DEFAULT_WINDOW_DAYS - 1) if self.start else today()
        )
        start = self.start or end - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
        return start, end


class LearnerQuery(StrictParams):
    """Privacy level of the learner snapshot to read."""

    privacy_level: PrivacyLevel | None = None


class EtlTriggerQuery(StrictParams):
    """Parameters of an ETL run (defaults: yesterday, DEFAULT_PRIVACY_LEVEL)."""

    privacy_level: PrivacyLevel | None = None
    start: ReportDate | None = Field(default=None, description="First day (default: yesterday).")
    end: ReportDate | None = Field(default=None, description="Last day (default: start).")
    request_id: UUID | None = Field(
        default=None,
        description="Client-chosen id: sending it again returns the same run instead of a new one.",
    )

    @field_validator("end")
    @classmethod
    def _end_not_before_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        check_range(info.data.get("start"), end, MAX_EXPORT_RANGE_DAYS)
        return end


JobStatus = Literal["queued", "running", "succeeded", "failed", "refused", "abandoned"]


class JobsQuery(StrictParams):
    """Job list filters."""

    limit: int = Field(default=20, ge=1, le=500, description="Most recent runs to return.")
    status_filter: JobStatus | None = None
    tenant_id: UUID | None = Field(default=None, description="Only runs of this tenant.")


class ExportQuery(StrictParams):
    """Research export controls."""

    start: ReportDate
    end: ReportDate
    reason: Reason
    format: Literal["json", "csv"] = "json"
    confirmed: int = Field(default=0, ge=0, le=1, description="1 to export > 10,000 rows.")
    tenant_id: UUID | None = Field(
        default=None, description="Only this tenant (required for tenant-scoped tokens)."
    )
    privacy_level: PrivacyLevel | None = None

    @field_validator("end")
    @classmethod
    def _range_allowed(cls, end: date, info: ValidationInfo) -> date:
        check_range(info.data.get("start"), end, MAX_EXPORT_RANGE_DAYS)
        return end


class GrantPath(StrictParams):
    """A grant in the path."""

    grant_id: UUID = Field(description="Grant UUID.")


class GrantRequest(StrictParams):
    """What root grants (JSON body of ``POST /api/v1/root/grants``)."""

    grantee_subject: str = Field(
        min_length=1,
        max_length=200,
        pattern=PRINTABLE_TEXT,
        description="Token subject (sub) of the researcher (or tenant admin) granted.",
    )
    tenant_id: UUID = Field(description="The one tenant the grant covers.")
    privacy_level: PrivacyLevel = Field(
        default=PrivacyLevel.ANONYMIZED,
        description="Level the grant opens (anonymized for exact data).",
    )
    learner_level: bool = Field(
        default=False, description="Also allow learner-level rows (learner_progress export)."
    )
    disability_status: bool = Field(
        default=False, description="Keep has_iep and IEP progress in learner-level exports."
    )
    data_use_reference: str = Field(
        min_length=3,
        max_length=200,
        pattern=PRINTABLE_TEXT,
        description="Data-use agreement or ethics approval the grant rests on (recorded).",
    )
    expires_at: datetime = Field(description="End of validity (ISO 8601 with time zone).")

    @field_validator("expires_at")
    @classmethod
    def _expires_in_the_future(cls, expires_at: datetime) -> datetime:
        if expires_at.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2026-06-30T00:00:00Z")
        now = datetime.now(tz=UTC)
        if expires_at <= now:
            raise ValueError("must be in the future")
        if expires_at > now + timedelta(days=MAX_GRANT_DAYS):
            raise ValueError(f"at most {MAX_GRANT_DAYS} days ahead; renew the grant instead")
        return expires_at.astimezone(UTC)


class GrantsQuery(StrictParams):
    """Grant list filters."""

    grantee_subject: str | None = Field(default=None, max_length=200)
    tenant_id: UUID | None = None
    in_force: bool | None = Field(default=None, description="Only grants valid now (or not).")


class PublicQuery(StrictParams):
    """The public endpoint accepts no parameters at all."""


class AuditSummaryQuery(StrictParams):
    """Window of the admin audit summary."""

    window: Literal["24h", "7d", "30d", "90d"] = "7d"


class AuditLogQuery(StrictParams):
    """Root audit log filters."""

    start_date: ReportDate | None = None
    end_date: ReportDate | None = None
    endpoint: str | None = Field(default=None, max_length=200)
    action: str | None = Field(default=None, max_length=100)
    success: bool | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=10_000_000)

    @field_validator("end_date")
    @classmethod
    def _end_not_before_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        check_range(info.data.get("start_date"), end, 100_000)
        return end


class AuditExportQuery(StrictParams):
    """Root audit export controls."""

    start_date: ReportDate
    end_date: ReportDate
    reason: Reason
    format: Literal["json", "csv"] = "json"
    confirmed: int = Field(default=0, ge=0, le=1, description="1 to export > 10,000 rows.")

    @field_validator("end_date")
    @classmethod
    def _range_allowed(cls, end: date, info: ValidationInfo) -> date:
        check_range(info.data.get("start_date"), end, MAX_EXPORT_RANGE_DAYS)
        return end
