"""Builders of small, hand-made PreparedInputs for transform tests (no I/O)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession

from conf.bounds import load_job_bounds
from jobs.prepare import PreparedInputs, Scope
from jobs.release import ReleaseContext
from privacy_udfs import PrivacyLevel, RandomSource

EVENT_SCHEMA = (
    "event_id string, tenant_id string, learner_id_hash string, event_type string, "
    "occurred_at timestamp, activity_date date, course_id string, subject string, "
    "duration_minutes double, lesson_id string, score double, attempt int, goal_id string, "
    "measurement double"
)
LEARNER_SCHEMA = (
    "learner_id_hash string, tenant_id string, age_band string, grade_band string, "
    "has_iep boolean, enrolled_at timestamp"
)
GOAL_SCHEMA = (
    "goal_id string, tenant_id string, learner_id_hash string, category string, baseline double, "
    "target double, set_at date, support_level string"
)
COURSE_SCHEMA = "course_id string, tenant_id string, name string, subject string, difficulty string"
TENANT_SCHEMA = "tenant_id string, name string, state_province string, joined_on date"
HISTORY_SCHEMA = "learner_id_hash string, tenant_id string, activity_date date"
REJECTED_SCHEMA = "source_table string, tenant_id string, reason string, raw_row string"

TENANT_A = "00000000-0000-4000-8000-00000000000a"
TENANT_B = "00000000-0000-4000-8000-00000000000b"
REGISTRY = (
    (TENANT_A, "District A", "OR", dt.date(2020, 8, 1)),
    (TENANT_B, "District B", "WA", dt.date(2021, 8, 1)),
)


def learner(n: int) -> str:
    """A readable fake pseudonym (64 hex chars) for learner ``n``."""
    return f"{n:064x}"


def event(
    n: int,
    learner_n: int,
    event_type: str,
    when: dt.datetime,
    *,
    tenant: str = TENANT_A,
    course_id: str | None = None,
    subject: str | None = None,
    duration_minutes: float | None = None,
    lesson_id: str | None = None,
    score: float | None = None,
    attempt: int | None = None,
    goal_id: str | None = None,
    measurement: float | None = None,
) -> tuple[Any, ...]:
    """One prepared event row in EVENT_SCHEMA order."""
    return (
        f"e{n}",
        tenant,
        learner(learner_n),
        event_type,
        when,
        when.date(),
        course_id,
        subject,
        duration_minutes,
        lesson_id,
        score,
        attempt,
        goal_id,
        measurement,
    )


def make_inputs(
    spark: SparkSession,
    *,
    events: Sequence[tuple[Any, ...]] = (),
    learners: Sequence[tuple[Any, ...]] = (),
    iep_goals: Sequence[tuple[Any, ...]] = (),
    courses: Sequence[tuple[Any, ...]] = (),
    history: Sequence[tuple[Any, ...]] | None = None,
    tenants: Sequence[tuple[Any, ...]] = REGISTRY,
) -> PreparedInputs:
    """PreparedInputs from inline rows.

    History defaults to the events' (learner, tenant, day); the tenant registry to
    TENANT_A and TENANT_B, both joined before any test period.
    """
    events_df = spark.createDataFrame(list(events), EVENT_SCHEMA)
    history_df = (
        spark.createDataFrame(list(history), HISTORY_SCHEMA)
        if history is not None
        else events_df.select("learner_id_hash", "tenant_id", "activity_date")
    )
    return PreparedInputs(
        checked_events=events_df,
        events=events_df,
        history=history_df,
        learners=spark.createDataFrame(list(learners), LEARNER_SCHEMA),
        iep_goals=spark.createDataFrame(list(iep_goals), GOAL_SCHEMA),
        courses=spark.createDataFrame(list(courses), COURSE_SCHEMA),
        tenants=spark.createDataFrame(list(tenants), TENANT_SCHEMA),
        rejected=spark.createDataFrame([], REJECTED_SCHEMA),
    )


def make_context(
    job: str,
    start: dt.date,
    end: dt.date,
    *,
    level: PrivacyLevel = PrivacyLevel.ANONYMIZED,
    tenant_id: str | None = None,
    k_threshold: int = 5,
    random_source: RandomSource | None = None,
) -> ReleaseContext:
    """A ReleaseContext for ``job`` with the configured bounds."""
    return ReleaseContext(
        level=level,
        job_bounds=load_job_bounds()[job],
        k_threshold=k_threshold,
        scope=Scope(start, end, tenant_id, dt.datetime(2030, 1, 1)),
        run_id="11111111-1111-4111-8111-111111111111",
        key_version="v1",
        random_source=random_source,
    )
