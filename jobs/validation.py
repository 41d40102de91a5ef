"""Row-level validation of raw events: every rejected row gets a reason, none is dropped.

``with_rejection_reason`` adds a ``rejection_reason`` column (null for a good row)
from built-in column logic only; ``with_duplicates_flagged`` marks repeated
``event_id`` s so that at-least-once delivery counts each event once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from contracts.raw import MAX_SESSION_MINUTES, SCORE_RANGE, SUBJECTS, EventType

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
MAX_ID_LENGTH = 128

REASON_DUPLICATE = "duplicate event_id"
REASON_TENANT_MISMATCH = "tenant differs from the learner's roster tenant"
REASON_LEARNER_IN_TWO_TENANTS = "learner_id listed under more than one tenant"


def is_uuid(col: Column) -> Column:
    """True where ``col`` is a lowercase canonical UUID string."""
    return col.isNotNull() & col.rlike(UUID_PATTERN)


def session_minutes(started: Column, ended: Column) -> Column:
    """Length of a session in minutes (negative when it ends before it starts)."""
    return (F.unix_micros(ended) - F.unix_micros(started)) / F.lit(60_000_000.0)


def rejection_reason(now: dt.datetime) -> Column:
    """The first rule a raw event breaks, or null when it is valid.

    Args:
        now: The run's clock (UTC); events after it are in the future.
    """
    event_types = [e.value for e in EventType]
    is_session = F.col("event_type") == EventType.SESSION.value
    is_assessment = F.col("event_type") == EventType.ASSESSMENT_COMPLETED.value
    is_iep = F.col("event_type") == EventType.IEP_GOAL_MEASUREMENT.value
    minutes = session_minutes(F.col("session_started_at"), F.col("session_ended_at"))
    long_id = F.length(F.coalesce(F.col("event_id"), F.lit(""))) > MAX_ID_LENGTH
    return (
        F.when(F.col("event_id").isNull() | (F.trim(F.col("event_id")) == ""), "null event_id")
        .when(long_id, "event_id longer than 128 characters")
        .when(~is_uuid(F.col("tenant_id")), "tenant_id is not a UUID")
        .when(F.col("learner_id").isNull(), "null learner_id")
        .when(~is_uuid(F.col("learner_id")), "learner_id is not a UUID")
        .when(
            F.col("event_type").isNull() | ~F.col("event_type").isin(event_types),
            "unknown event_type",
        )
        .when(F.col("occurred_at").isNull(), "null occurred_at")
        .when(F.col("occurred_at") > F.lit(now), "occurred_at in the future")
        .when(
            F.col("subject").isNotNull() & ~F.col("subject").isin(list(SUBJECTS)), "unknown subject"
        )
        .when(
            F.col("course_id").isNotNull() & ~is_uuid(F.col("course_id")), "course_id is not a UUID"
        )
        .when(
            is_session
            & (F.col("session_started_at").isNull() | F.col("session_ended_at").isNull()),
            "session without start or end",
        )
        .when(is_session & (minutes < 0), "session ends before it starts")
        .when(is_session & (minutes > MAX_SESSION_MINUTES), "session longer than 24 h")
        .when(
            is_assessment
            & (
                F.col("score").isNull()
                | F.isnan("score")
                | (F.col("score") < SCORE_RANGE[0])
                | (F.col("score") > SCORE_RANGE[1])
            ),
            "score out of range",
        )
        .when(
            is_iep
            & (F.col("goal_id").isNull() | F.col("measurement").isNull() | F.isnan("measurement")),
            "IEP measurement without goal or value",
        )
    )


def with_rejection_reason(now: dt.datetime) -> Callable[[DataFrame], DataFrame]:
    """Transform adding ``rejection_reason`` (see :func:`rejection_reason`)."""

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumn("rejection_reason", rejection_reason(now))

    return transform


def roster_tenants(learners: DataFrame) -> DataFrame:
    """Each rostered learner id with the set of tenants the raw roster lists it under.

    Shape: raw learners -> (learner_id, roster_tenants array<string>), one row per learner id
    with a UUID id and tenant. A learner belongs to exactly one tenant; a set of two or more
    is a roster error (see :data:`REASON_LEARNER_IN_TWO_TENANTS`).
    """
    return (
        learners.where(is_uuid(F.col("learner_id")) & is_uuid(F.col("tenant_id")))
        .groupBy("learner_id")
        .agg(F.array_sort(F.collect_set("tenant_id")).alias("roster_tenants"))
    )


def with_roster_tenant_checked(roster: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """Reject valid events whose tenant is not their learner's only roster tenant.

    Every release is charged to the budget of the tenant a row carries: a learner's
    events filed under a second tenant would charge them under two tenant ledgers, so
    such events are quarantined (:data:`REASON_TENANT_MISMATCH`), as are the events of
    a learner the roster lists under two tenants. Events of learners absent from the
    roster are left as they are. Rows already rejected keep their first reason.

    Args:
        roster: :func:`roster_tenants` of the raw learners (every tenant, not just the run's).
    """

    def transform(events: DataFrame) -> DataFrame:
        tenants = F.col("roster_tenants")
        mismatch = (
            F.col("rejection_reason").isNull()
            & tenants.isNotNull()
            & ((F.size(tenants) != 1) | ~F.array_contains(tenants, F.col("tenant_id")))
        )
        return (
            events.join(roster, on="learner_id", how="left")
            .withColumn(
                "rejection_reason",
                F.when(mismatch, F.lit(REASON_TENANT_MISMATCH)).otherwise(
                    F.col("rejection_reason")
                ),
            )
            .select(*events.columns)
        )

    return transform


def with_duplicates_flagged(df: DataFrame) -> DataFrame:
    """Set ``rejection_reason`` to 'duplicate event_id' on all but one copy of each (tenant, event).

    The copy kept is chosen deterministically (smallest ``occurred_at``, then the
    row's own hash) so reruns keep the same row. Rows already rejected are left alone.
    """
    valid = F.col("rejection_reason").isNull()
    # Event ids are unique per tenant's feed; two tenants may reuse one.
    order = Window.partitionBy("tenant_id", "event_id", valid).orderBy(
        F.col("occurred_at").asc_nulls_last(),
        F.xxhash64(*[c for c in df.columns if c != "rejection_reason"]),
    )
    return (
        df.withColumn("_copy_number", F.row_number().over(order))
        .withColumn(
            "rejection_reason",
            F.when(valid & (F.col("_copy_number") > 1), F.lit(REASON_DUPLICATE)).otherwise(
                F.col("rejection_reason")
            ),
        )
        .drop("_copy_number")
    )
