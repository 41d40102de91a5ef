"""The tenant dashboard: a tenant's metrics assembled from five curated tables.

Each table is read as one (tenant, privacy level) slice through the dataset
(partition-pruned, cached per table version) and narrowed to the requested
period in memory. Totals of noised values carry the standard deviation of
their noise so a dashboard can draw error bars.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from contracts.curated import ALL_SUBJECTS
from contracts.levels import PrivacyLevel
from serving.data.store import RequestTables
from serving.data.tables import TableUnavailableError
from serving.models.responses import (
    IepCategorySummary,
    IepProgressSummary,
    PeriodSessions,
    SessionMetrics,
    SubjectSummary,
    TenantMetrics,
    WeeklyActivity,
)

TOP_SUBJECTS = 5
SESSION_COLUMNS = (
    "activity_date", "subject", "sessions", "total_hours", "median_duration_minutes",
    "trend_direction", "insufficient_data", "noise_scales", "noise_mechanism", "ci95",
)  # fmt: skip
WEEKLY_COLUMNS = (
    "week_start", "iso_week", "active_learners", "new_learners", "returning_learners",
    "churned_learners", "avg_sessions_per_learner", "avg_minutes_per_learner",
    "engagement_rate", "insufficient_data", "noise_scales", "ci95",
)  # fmt: skip
MASTERY_COLUMNS = (
    "subject", "period_start", "period_end", "learners_assessed", "assessments_completed",
    "mean_mastery", "improvement_delta", "insufficient_data", "noise_scales", "ci95",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "period_start", "period_end", "active_learners", "sessions", "total_hours",
    "avg_sessions_per_learner", "avg_minutes_per_learner", "avg_session_minutes",
    "insufficient_data", "noise_scales", "ci95",
)  # fmt: skip
IEP_COLUMNS = (
    "iep_category", "period_start", "period_end", "learners_with_goals", "mean_progress_pct",
    "share_on_track", "insufficient_data", "noise_scales", "ci95",
)  # fmt: skip


def as_mapping(value: object) -> dict[str, Any] | None:
    """A map column value (pyarrow gives a list of pairs) as a dict."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, Iterable):
        return dict(value)  # type: ignore[arg-type]
    return None


# The slices are small and in memory: plain compute kernels on a boolean mask are an order
# of magnitude cheaper here than an expression filter (which plans an Acero query).
def _between(rows: pa.Table, column: str, start: date, end: date) -> pa.Table:
    values = rows[column]
    return rows.filter(pc.and_(pc.greater_equal(values, start), pc.less_equal(values, end)))


def _overlapping(rows: pa.Table, start: date, end: date) -> pa.Table:
    return rows.filter(
        pc.and_(
            pc.less_equal(rows["period_start"], end), pc.greater_equal(rows["period_end"], start)
        )
    )


# A total over many published rows: the normal approximation of its summed noise.
Z_95 = 1.959964


def noise_std_of_sum(records: list[dict[str, Any]], metric: str) -> float:
    """Standard deviation of the noise in the sum of ``metric`` over ``records``.

    Independent draws add variances: a discrete Gaussian of scale σ has variance σ², a
    (discrete) Laplace of scale b about 2b² (``noise_mechanism`` says which was drawn).
    """
    variance = 0.0
    for record in records:
        scale = (as_mapping(record.get("noise_scales")) or {}).get(metric)
        if scale:
            gaussian = str(record.get("noise_mechanism") or "").endswith("gaussian")
            variance += (1.0 if gaussian else 2.0) * float(scale) ** 2
    return math.sqrt(variance)


def error_bar_of_sum(records: list[dict[str, Any]], metric: str) -> float:
    """95 % half-width of the noise in a sum of published values.

    1.96 standard deviations (exact for Gaussian noise, the normal approximation for a
    sum of Laplace draws), and never narrower than the widest single row's own bar.
    """
    widest = max(
        ((as_mapping(r.get("ci95")) or {}).get(metric) or 0.0 for r in records), default=0.0
    )
    return max(Z_95 * noise_std_of_sum(records, metric), float(widest))


def _session_metrics(records: list[dict[str, Any]], privacy_level: str) -> SessionMetrics:
    published = [r for r in records if not r["insufficient_data"]]
    sessions = [r["sessions"] for r in published if r["sessions"] is not None]
    hours = [r["total_hours"] for r in published if r["total_hours"] is not None]
    medians = [
        r["median_duration_minutes"] for r in published if r["median_duration_minutes"] is not None
    ]
    total_sessions = sum(sessions) if sessions else None
    total_hours = round(sum(hours), 3) if hours else None
    average = (
        round(total_hours * 60.0 / total_sessions, 3)
        if total_sessions and total_hours is not None and total_sessions > 0
        else None
    )
    latest = max(published, key=lambda r: r["activity_date"], default=None)
    return SessionMetrics(
        total_sessions=total_sessions,
        avg_duration_minutes=average,
        median_duration_minutes=round(statistics.median(medians), 3) if medians else None,
        total_hours=total_hours,
        trend_direction=latest["trend_direction"] if latest else None,
        privacy_level=privacy_level,
        data_points=len(published),
        noise_std={
            "total_sessions": round(noise_std_of_sum(published, "sessions"), 4),
            "total_hours": round(noise_std_of_sum(published, "total_hours"), 4),
        },
        error_bar_95={
            "total_sessions": round(error_bar_of_sum(published, "sessions"), 4),
            "total_hours": round(error_bar_of_sum(published, "total_hours"), 4),
        },
    )


def _weekly(records: list[dict[str, Any]]) -> list[WeeklyActivity]:
    return [
        WeeklyActivity(
            **{**r, "noise_scales": as_mapping(r["noise_scales"]), "ci95": as_mapping(r["ci95"])}
        )
        for r in sorted(records, key=lambda r: r["week_start"])
    ]


def _top_subjects(records: list[dict[str, Any]]) -> list[SubjectSummary]:
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["subject"] == ALL_SUBJECTS:
            continue
        seen = latest.get(record["subject"])
        if seen is None or record["period_start"] > seen["period_start"]:
            latest[record["subject"]] = record
    ranked = sorted(
        latest.values(),
        key=lambda r: (
            r["learners_assessed"] is None,
            -(r["learners_assessed"] or 0),
            r["subject"],
        ),
    )
    return [
        SubjectSummary(
            **{**r, "noise_scales": as_mapping(r["noise_scales"]), "ci95": as_mapping(r["ci95"])}
        )
        for r in ranked[:TOP_SUBJECTS]
    ]


def _iep_summary(records: list[dict[str, Any]]) -> IepProgressSummary:
    if not records:
        return IepProgressSummary(period_start=None, period_end=None, categories=[])
    latest_start = max(r["period_start"] for r in records)
    current = sorted(
        (r for r in records if r["period_start"] == latest_start), key=lambda r: r["iep_category"]
    )
    return IepProgressSummary(
        period_start=latest_start,
        period_end=current[0]["period_end"],
        categories=[
            IepCategorySummary(
                **{
                    **r,
                    "noise_scales": as_mapping(r["noise_scales"]),
                    "ci95": as_mapping(r["ci95"]),
                }
            )
            for r in current
        ],
    )


def _session_summaries(
    tables: RequestTables, slice_key: dict[str, object], start: date, end: date
) -> list[PeriodSessions]:
    """The tenant's session_summary rows overlapping [start, end], oldest first.

    A data root written before the table existed has none yet: the dashboard answers
    without them (an empty list) rather than failing until the next run.
    """
    try:
        rows = _overlapping(tables.rows("session_summary", slice_key, SUMMARY_COLUMNS), start, end)
    except TableUnavailableError:
        return []
    return [
        PeriodSessions(
            **{**r, "noise_scales": as_mapping(r["noise_scales"]), "ci95": as_mapping(r["ci95"])}
        )
        for r in sorted(rows.to_pylist(), key=lambda r: r["period_start"])
    ]


def tenant_metrics(
    tables: RequestTables, tenant_id: str, start: date, end: date, privacy_level: str
) -> TenantMetrics:
    """Build the tenant dashboard for ``[start, end]`` at ``privacy_level``.

    Raises:
        serving.data.tables.TableUnavailableError: One of the four tables the dashboard
            needs is missing (session_summary may be: its rows are then left out).
    """
    slice_key: dict[str, object] = {"tenant_id": tenant_id, "privacy_level": privacy_level}
    totals_key = {**slice_key, "subject": ALL_SUBJECTS}
    sessions = _between(
        tables.rows("session_daily", totals_key, SESSION_COLUMNS), "activity_date", start, end
    )
    weekly = _between(
        tables.rows("weekly_active", slice_key, WEEKLY_COLUMNS),
        "week_start",
        start - timedelta(days=6),
        end,
    )
    mastery = _overlapping(tables.rows("mastery_progress", slice_key, MASTERY_COLUMNS), start, end)
    iep = _overlapping(tables.rows("iep_progress", slice_key, IEP_COLUMNS), start, end)

    session_records = sessions.to_pylist()
    weekly_records = weekly.to_pylist()
    session_metrics = _session_metrics(session_records, privacy_level)
    active = [r["active_learners"] for r in weekly_records if r["active_learners"] is not None]
    engagement = [r["engagement_rate"] for r in weekly_records if r["engagement_rate"] is not None]
    updated = [
        tables.snapshot(name).committed_at
        for name in ("session_daily", "weekly_active", "mastery_progress", "iep_progress")
    ]
    return TenantMetrics(
        tenant_id=tenant_id,
        reporting_period_start=start,
        reporting_period_end=end,
        total_active_learners=max(active) if active else None,
        total_learning_hours=session_metrics.total_hours,
        average_engagement_rate=round(statistics.fmean(engagement), 4) if engagement else None,
        session_metrics=session_metrics,
        session_summaries=_session_summaries(tables, slice_key, start, end),
        weekly_activity=_weekly(weekly_records),
        top_subjects=_top_subjects(mastery.to_pylist()),
        iep_progress_summary=_iep_summary(iep.to_pylist()),
        privacy_level=privacy_level,
        epsilon=PrivacyLevel(privacy_level).epsilon or 0.0,
        insufficient_data=session_metrics.data_points == 0,
        last_updated=max(updated),
    )
