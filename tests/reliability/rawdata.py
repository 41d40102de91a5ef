"""Tiny hand-made raw Delta tables for the reliability tests.

Rows are plain tuples in the contract's column order (``contracts.raw``); the
tables are written with the contract's schema so a case only changes what it means
to break. Every tenant gets five learners with one valid 30-minute math session each
on ``DAY`` (a cohort of exactly k = 5, so its session counts are published).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from conf.settings import AnalyticsSettings, load_settings
from contracts.columns import Column
from contracts.raw import COURSES, EVENTS, IEP_GOALS, LEARNERS, RAW_TABLES, TENANTS
from contracts.spark_types import spark_schema
from jobs.arguments import JobArguments
from jobs.registry import job_named
from jobs.release import CuratedJob
from jobs.run_report import RunSummary
from jobs.runner import run_release

SESSION_DAILY_JOB = job_named("session_daily")

TEST_KEY = "reliability-test-key-" + "fedcba9876543210" * 3
START = dt.date(2025, 1, 6)
END = dt.date(2025, 1, 12)
DAY = dt.date(2025, 1, 10)
NOW = dt.datetime(2025, 2, 1)
SESSION_START = dt.datetime(2025, 1, 10, 9, 0)
SESSION_END = SESSION_START + dt.timedelta(minutes=30)
LEARNERS_PER_TENANT = 5

Row = tuple[Any, ...]


def tenant_id(number: int) -> str:
    """A canonical tenant UUID."""
    return f"{number:08x}-0000-4000-8000-00000000000a"


def learner_id(tenant: int, number: int) -> str:
    """A canonical learner UUID, unique per (tenant, number)."""
    return f"{tenant:08x}-{number:04x}-4000-8000-00000000000b"


def course_id(tenant: int) -> str:
    """The one course of a tenant."""
    return f"{tenant:08x}-0000-4000-8000-00000000000c"


def tenant_row(tenant: int) -> Row:
    """A registry row in TENANTS column order: the tenant joined well before the test period."""
    return (tenant_id(tenant), f"District {tenant}", "OR", dt.date(2020, 8, 1))


def learner_row(tenant: int, number: int, *, raw_id: str | None = None) -> Row:
    """A raw learner in LEARNERS column order."""
    return (
        raw_id if raw_id is not None else learner_id(tenant, number),
        tenant_id(tenant),
        f"Learner {number}",
        f"learner{number}@example.org",
        dt.date(2014, 3, 1),
        "1 Main St",
        "Springfield",
        "12345",
        5,
        "OR",
        False,
        dt.datetime(2024, 9, 1),
    )


def event_row(
    tenant: int,
    learner: int,
    tag: str,
    *,
    event_id: str | None = "",
    **changes: Any,
) -> Row:
    """A valid session event in EVENTS column order, with ``changes`` applied by column name.

    ``tag`` goes in ``lesson_id`` (free text the validation ignores) so a test can find
    the row again in the quarantine table's ``raw_row`` whatever else is broken.
    """
    values: dict[str, Any] = {
        "event_id": f"{tag}-{tenant}-{learner}" if event_id == "" else event_id,
        "tenant_id": tenant_id(tenant),
        "learner_id": learner_id(tenant, learner),
        "event_type": "session",
        "occurred_at": SESSION_END,
        "course_id": course_id(tenant),
        "subject": "math",
        "session_started_at": SESSION_START,
        "session_ended_at": SESSION_END,
        "lesson_id": tag,
        "score": None,
        "attempt": None,
        "goal_id": None,
        "measurement": None,
    }
    unknown = set(changes) - set(values)
    if unknown:
        raise KeyError(f"not event columns: {sorted(unknown)}")
    values.update(changes)
    return tuple(values[c.name] for c in EVENTS)


def good_events(tenant: int, tag: str) -> list[Row]:
    """One valid session per learner of ``tenant``."""
    return [event_row(tenant, n, f"{tag}-good") for n in range(LEARNERS_PER_TENANT)]


def tenant_learners(tenant: int) -> list[Row]:
    """The five learners of ``tenant``."""
    return [learner_row(tenant, n) for n in range(LEARNERS_PER_TENANT)]


def course_row(tenant: int) -> Row:
    """A raw course in COURSES column order."""
    return (course_id(tenant), tenant_id(tenant), "Fractions", "math", "introductory")


@dataclass
class RawData:
    """Rows of the raw tables (None leaves a table absent)."""

    tenants: list[Row] | None
    learners: list[Row] | None
    events: list[Row] | None
    iep_goals: list[Row] | None
    courses: list[Row] | None

    @classmethod
    def for_tenants(cls, tenants: Sequence[int], tag: str = "base") -> RawData:
        """A registry row, five learners, five good sessions and one course per tenant."""
        return cls(
            tenants=[tenant_row(t) for t in tenants],
            learners=[r for t in tenants for r in tenant_learners(t)],
            events=[r for t in tenants for r in good_events(t, tag)],
            iep_goals=[],
            courses=[course_row(t) for t in tenants],
        )


def write_table(spark: SparkSession, frame: DataFrame, path: str) -> None:
    """Write ``frame`` as a new Delta table (replacing any table there)."""
    frame.coalesce(1).write.format("delta").mode("overwrite").option(
        "overwriteSchema", "true"
    ).save(path)


def feed_schema(columns: tuple[Column, ...]) -> T.StructType:
    """The contract schema with every column nullable: what a feed may actually deliver."""
    return T.StructType(
        [T.StructField(f.name, f.dataType, True, f.metadata) for f in spark_schema(columns).fields]
    )


def write_raw(spark: SparkSession, settings: AnalyticsSettings, data: RawData) -> None:
    """Write every present table of ``data`` under ``raw/`` with the contract schema."""
    columns = {
        "tenants": TENANTS,
        "learners": LEARNERS,
        "events": EVENTS,
        "iep_goals": IEP_GOALS,
        "courses": COURSES,
    }
    for name in RAW_TABLES:
        rows = getattr(data, name)
        if rows is None:
            continue
        write_table(
            spark,
            spark.createDataFrame(rows, feed_schema(columns[name])),
            settings.path("raw", name),
        )


def settings_for(root: Path, **overrides: Any) -> AnalyticsSettings:
    """Settings over a test data root with the test pseudonym key."""
    return load_settings(data_root=str(root), pseudonym_key=TEST_KEY, **overrides)


def release(
    spark: SparkSession,
    settings: AnalyticsSettings,
    *,
    level: str = "anonymized",
    tenant: str | None = None,
    jobs: Sequence[CuratedJob] = (SESSION_DAILY_JOB,),
    run_id: str | None = None,
    force: bool = False,
) -> RunSummary:
    """``run_release`` over the test period (session_daily only by default)."""
    arguments = JobArguments(START, END, tenant, level, run_id or str(uuid.uuid4()), force)
    return run_release(
        spark,
        settings,
        arguments,
        jobs,
        run_name=jobs[0].name if len(jobs) == 1 else "run_all",
        now=NOW,
    )


def job_run(spark: SparkSession, settings: AnalyticsSettings, run_id: str) -> T.Row:
    """The job_runs row of ``run_id``."""
    rows = (
        spark.read.format("delta")
        .load(settings.path("ops", "job_runs"))
        .where(F.col("run_id") == run_id)
        .collect()
    )
    assert len(rows) == 1, f"expected one job_runs row for {run_id}, got {len(rows)}"
    return rows[0]


def session_totals(spark: SparkSession, settings: AnalyticsSettings, level: str) -> dict[str, int]:
    """Tenant-total sessions on ``DAY`` per tenant (subject 'all'), from the curated table."""
    rows = (
        spark.read.format("delta")
        .load(settings.path("curated", "session_daily"))
        .where(
            (F.col("privacy_level") == level)
            & (F.col("activity_date") == F.lit(DAY))
            & (F.col("subject") == "all")
        )
        .select("tenant_id", "sessions")
        .collect()
    )
    return {r.tenant_id: r.sessions for r in rows}
