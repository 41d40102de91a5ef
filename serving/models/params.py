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

from conf.settings import PrivacyLevelName

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
MAX_METRICS_RANGE_DAYS = 366
MAX_EXPORT_RANGE_DAYS = 365
DEFAULT_WINDOW_DAYS = 31

ReportDate = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
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
        "iep_progress", "weekly_active", "session_daily",
    ]  # fmt: skip


class PeriodQuery(StrictParams):
    """Reporting period and privacy level (defaults: last 31 days, DEFAULT_PRIVACY_LEVEL)."""

    start: ReportDate | None = Field(default=None, description="First day (default: end - 30).")
    end: ReportDate | None = Field(default=None, description="Last day (default: today, UTC).")
    privacy_level: PrivacyLevelName | None = Field(
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

    privacy_level: PrivacyLevelName | None = None


class EtlTriggerQuery(StrictParams):
    """Parameters of an ETL run (defaults: yesterday, DEFAULT_PRIVACY_LEVEL)."""

    privacy_level: PrivacyLevelName | None = None
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
    """Research export controls (seed 003 Phase 4)."""

    start: ReportDate
    end: ReportDate
    reason: str = Field(
        min_length=10, max_length=500, description="Why the data is needed (logged)."
    )
    format: Literal["json", "csv"] = "json"
    confirmed: int = Field(default=0, ge=0, le=1, description="1 to export > 10,000 rows.")
    tenant_id: UUID | None = Field(
        default=None, description="Only this tenant (required for tenant-scoped tokens)."
    )
    privacy_level: PrivacyLevelName | None = None

    @field_validator("end")
    @classmethod
    def _range_allowed(cls, end: date, info: ValidationInfo) -> date:
        check_range(info.data.get("start"), end, MAX_EXPORT_RANGE_DAYS)
        return end


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
    reason: str = Field(min_length=10, max_length=500)
    format: Literal["json", "csv"] = "json"
    confirmed: int = Field(default=0, ge=0, le=1, description="1 to export > 10,000 rows.")

    @field_validator("end_date")
    @classmethod
    def _range_allowed(cls, end: date, info: ValidationInfo) -> date:
        check_range(info.data.get("start_date"), end, MAX_EXPORT_RANGE_DAYS)
        return end
