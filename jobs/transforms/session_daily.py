"""session_daily: sessions per tenant, day and subject, plus the tenant total ('all').

Every (tenant, day, subject) of the public lists is released, empty ones included.

Small cells at ``anonymized``. The ``all`` row of a (tenant, day) is a total of its
subject rows (plus sessions without a subject): a subject row suppressed under k could
be recovered as ``all`` minus the published subjects. So subject rows get complementary
suppression (:func:`privacy_udfs.suppression.with_complementary_suppression`, parts that
overlap: one learner may study several subjects): whenever a suppressed subject, or the
never-published remainder of sessions without a subject, holds any learner, the smallest
subject of at least k learners is suppressed too, so ``all`` minus the published subjects
always spans at least k learners. Under DP every value is noisy and suppression decides
on the noisy count; no complementary suppression is needed (or possible without
breaking DP).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from contracts.curated import ALL_SUBJECTS
from contracts.raw import SUBJECTS, EventType
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.common import (
    KeyValue,
    aggregate,
    days_between,
    public_keys,
    rename_noise_scale,
    tenant_ids,
    unmeasured_rows,
)
from privacy_udfs import Measure
from privacy_udfs.measures import MeasureKind
from privacy_udfs.suppression import with_complementary_suppression

TREND_TOLERANCE = 0.05  # ±5% of the previous week's mean counts as flat
NO_SUBJECT = "__no_subject"  # sessions without a subject: in 'all', never published alone
# dp_withheld entry of the release plan that keeps per-subject rows out of DP releases.
SUBJECT_ROWS = "subject_rows"
UNMEASURED = "none (not measured at this level: see the tenant's 'all' row of the day)"


def session_measures(lower: float, upper: float) -> list[Measure]:
    """The session metrics, all over ``duration_minutes`` clamped to [lower, upper] under DP."""

    def over_duration(name: str, kind: MeasureKind, quantile: float | None = None) -> Measure:
        return Measure(
            name=name,
            kind=kind,
            value_col="duration_minutes",
            lower=lower,
            upper=upper,
            quantile=quantile,
        )

    return [
        Measure(name="sessions", kind="count"),
        Measure(name="active_learners", kind="distinct_count"),
        over_duration("avg_duration_minutes", "mean"),
        over_duration("median_duration_minutes", "percentile", 0.5),
        over_duration("p90_duration_minutes", "percentile", 0.9),
        over_duration("max_duration_minutes", "max"),
        over_duration("total_minutes", "sum"),
    ]


def with_trend_direction(df: DataFrame) -> DataFrame:
    """trend_direction: total_hours against the mean of the previous 7 days (post-processing)."""
    previous_week = (
        Window.partitionBy("tenant_id", "subject")
        .orderBy(F.unix_date("activity_date"))
        .rangeBetween(-7, -1)
    )
    baseline = F.avg("total_hours").over(previous_week)
    trend = (
        F.when(F.col("total_hours").isNull() | baseline.isNull(), F.lit(None).cast("string"))
        .when(F.col("total_hours") > baseline * (1 + TREND_TOLERANCE), "up")
        .when(F.col("total_hours") < baseline * (1 - TREND_TOLERANCE), "down")
        .otherwise("flat")
    )
    return df.withColumn("trend_direction", trend)


def exact_subjects_with_complementary_suppression(
    sessions: DataFrame, context: ReleaseContext, subject_keys: DataFrame
) -> DataFrame:
    """``anonymized`` subject rows, suppressed so that none is recoverable from ``all``.

    Shape: sessions -> one row per (tenant, day, subject of the public list): exact
    measures, ``insufficient_data`` from k and complementary suppression.
    """
    measures = session_measures(context.job_bounds.lower, context.job_bounds.upper)
    exact = aggregate(
        sessions.withColumn("subject", F.coalesce(F.col("subject"), F.lit(NO_SUBJECT))),
        dataclasses.replace(context, k_threshold=0),  # suppressed below, on the true counts
        group_cols=["tenant_id", "activity_date", "subject"],
        measures=measures,
        public_groups=subject_keys,
    )
    return (
        with_complementary_suppression(
            exact.withColumn("hidden", F.col("subject") == F.lit(NO_SUBJECT)),
            context.k_threshold,
            group_cols=["tenant_id", "activity_date"],
            part_col="subject",
            count_col="active_learners",
            metric_cols=[m.name for m in measures],
            overlapping=True,
            hidden_col="hidden",
        )
        .where(~F.col("hidden"))
        .drop("hidden")
    )


def session_daily(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute session_daily for the run's scope (pure).

    ε is split evenly between the per-subject rows and the tenant totals. At DP levels
    the shipped release plan (``dp_withheld = ["subject_rows"]``) measures the tenant
    totals (subject ``all``) only, with the whole share: a subject's day is a few dozen
    learners, noise at any share. Subject rows are then released as suppressed rows (no
    ε spent on them).
    """
    scope = context.scope
    # Shape: one row per valid session -> (learner_id_hash, tenant_id, activity_date, subject, duration_minutes)
    sessions = inputs.events.where(F.col("event_type") == EventType.SESSION.value).select(
        "learner_id_hash", "tenant_id", "activity_date", "subject", "duration_minutes"
    )
    tenants, days = tenant_ids(inputs), days_between(scope.start, scope.end)
    measures = session_measures(context.job_bounds.lower, context.job_bounds.upper)
    subject_keys: dict[str, Sequence[KeyValue]] = {
        "tenant_id": tenants,
        "activity_date": days,
        "subject": list(SUBJECTS),
    }
    measure_subjects = not context.level.is_dp or context.job_bounds.releases_at_dp(SUBJECT_ROWS)
    totals = aggregate(
        sessions.withColumn("subject", F.lit(ALL_SUBJECTS)),
        context,
        group_cols=["tenant_id", "activity_date", "subject"],
        measures=measures,
        epsilon_fraction=0.5 if measure_subjects else 1.0,
        public_groups=public_keys(inputs, {**subject_keys, "subject": [ALL_SUBJECTS]}),
    )
    if not measure_subjects:
        per_subject = unmeasured_rows(
            public_keys(inputs, subject_keys), totals, context, mechanism=UNMEASURED
        )
    elif context.level.is_dp or context.k_threshold < 1:  # k = 0: the non-private baseline
        per_subject = aggregate(
            sessions.where(F.col("subject").isNotNull()),
            context,
            group_cols=["tenant_id", "activity_date", "subject"],
            measures=measures,
            epsilon_fraction=0.5,
            public_groups=public_keys(inputs, subject_keys),
        )
    else:
        # Sessions without a subject are a hidden part of each day's total.
        keys = public_keys(inputs, {**subject_keys, "subject": [*SUBJECTS, NO_SUBJECT]})
        per_subject = exact_subjects_with_complementary_suppression(sessions, context, keys)
    # Shape: one row per (tenant, day, subject incl. 'all') with noisy metrics.
    return (
        per_subject.unionByName(totals)
        .withColumn("total_hours", F.col("total_minutes") / 60.0)
        .withColumn("noise_scales", rename_noise_scale("total_minutes", "total_hours", 1 / 60.0))
        .drop("total_minutes")
        .transform(with_trend_direction)
    )
