"""learner_snapshots: one row per pseudonymous learner and period.

Seed 003 ``analytics_user_snapshots``.

Grain: one row per learner of the roster (the prepared learners dimension, enrolled
by the period's end) × tenant × period. The row set does not depend on activity,
so a row's existence does not reveal that a learner was active. Learners whose
events have no roster row get no snapshot. No raw id or PII exists in the inputs;
the pseudonym is the keyed HMAC and ``key_version`` names its key.

Values: sessions, learning minutes (sessions clamped to [0, 240] by validation
upstream, summed), lessons and assessments completed in the period; the latest
score per subject (``mastery_by_subject``); the mean progress of the learner's
IEP goals measured in the period (latest measurement per goal, from baseline
toward target, percent, clamped to [0, 150]); ``data_completeness``, the share of
the learner's valid events in the period that carry every field their type
needs downstream (see :func:`is_complete_event`).

Suppression: when the learner's tenant has fewer than k learners active in the
period every metric is null and ``insufficient_data`` is true. The tenant
counts come from :func:`privacy_udfs.private_aggregate` over the public tenant
list: true counts at ``anonymized``, noisy distinct counts (discrete Laplace,
sensitivity 1, :data:`COHORT_FRACTION` of the job's ε) under DP.

``anonymized``: exact values (no clamping) under the pseudonym.

DP levels (decision: noise what can be bounded, withhold the rest). Each
learner's row depends on that learner's data only, so noising each value with
the learner's own contribution bound protects it (the per-learner Laplace /
"local" mechanism): a value clamped to ``[0, cap]`` changes by at most ``cap``
when the learner's activity changes, and discrete Laplace noise of scale
``cap / ε_value`` makes it ε_value-DP. Rows of different learners use disjoint
data (parallel composition); the values of one row compose sequentially, so
per learner the release costs ``ε_job`` = cohort count share + the four value
shares. Published under DP, each with its scale in ``noise_scales``:

=====================  =====================================  ==========================
value                  cap per learner and period             mechanism
=====================  =====================================  ==========================
sessions               60 per 31 days                          discrete Laplace
learning_minutes       ``upper`` (bounds.toml) per 31 days     grid discrete Laplace
lessons_completed      90 per 31 days                          discrete Laplace
assessments_completed  60 per 31 days                          discrete Laplace
=====================  =====================================  ==========================

each with ``(1 − COHORT_FRACTION) / 4`` of the job's ε. Withheld (null) under DP
because no bounded-sensitivity numeric release protects them: age_band,
grade_band and has_iep (exact quasi-identifiers), mastery_by_subject (its key
set reveals the subjects studied), iep_mean_progress_pct (its presence reveals an
IEP) and data_completeness. With the default ε shares the per-learner noise is
large (scales in the thousands): the DP variant is for aggregation by the reader,
not for reading one learner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.contracts.raw import EventType
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.activity import is_event, is_scored_assessment, period_cap, period_months
from jobs.transforms.common import aggregate, tenants_frame
from privacy_udfs import Measure, clamp, laplace_count, laplace_sum
from privacy_udfs.mechanisms import grid_noise

COHORT_FRACTION = 0.2
IEP_PROGRESS_RANGE = (0.0, 150.0)
KEYS = ("learner_id_hash", "tenant_id")
COUNT_VALUES: dict[str, str] = {
    "sessions": "sessions",
    "lessons_completed": "lessons",
    "assessments_completed": "assessments",
}
METRICS = (
    "age_band",
    "grade_band",
    "has_iep",
    "sessions",
    "learning_minutes",
    "lessons_completed",
    "assessments_completed",
    "mastery_by_subject",
    "iep_mean_progress_pct",
    "data_completeness",
)
WITHHELD_UNDER_DP = (
    "age_band",
    "grade_band",
    "has_iep",
    "mastery_by_subject",
    "iep_mean_progress_pct",
    "data_completeness",
)


def is_complete_event() -> Column:
    """True when a valid event carries every field its type needs downstream.

    Sessions need a duration, course and subject; lessons a lesson, course and subject;
    assessments an attempt, course and subject; course events a course; IEP
    measurements a goal and a value.
    """
    has = {
        name: F.col(name).isNotNull()
        for name in (
            "duration_minutes",
            "course_id",
            "subject",
            "lesson_id",
            "attempt",
            "goal_id",
            "measurement",
        )
    }
    in_course = has["course_id"] & has["subject"]
    return (
        F.when(is_event(EventType.SESSION), has["duration_minutes"] & in_course)
        .when(is_event(EventType.LESSON_COMPLETED), has["lesson_id"] & in_course)
        .when(is_event(EventType.ASSESSMENT_COMPLETED), has["attempt"] & in_course)
        .when(
            is_event(EventType.COURSE_ENROLLED) | is_event(EventType.COURSE_COMPLETED),
            has["course_id"],
        )
        .when(is_event(EventType.IEP_GOAL_MEASUREMENT), has["goal_id"] & has["measurement"])
        .otherwise(F.lit(False))
    )


def learner_activity(events: DataFrame) -> DataFrame:
    """Per-learner totals of the period.

    Shape: valid events -> (learner_id_hash, tenant_id, sessions, learning_minutes, lessons,
    assessments, data_completeness), one row per active learner.
    """
    return events.groupBy(*KEYS).agg(
        F.count(F.when(is_event(EventType.SESSION), F.lit(1))).alias("sessions"),
        F.sum(F.when(is_event(EventType.SESSION), F.col("duration_minutes"))).alias(
            "learning_minutes"
        ),
        F.count(F.when(is_event(EventType.LESSON_COMPLETED), F.lit(1))).alias("lessons"),
        F.count(F.when(is_scored_assessment(), F.lit(1))).alias("assessments"),
        F.avg(is_complete_event().cast("double")).alias("data_completeness"),
    )


def mastery_by_subject(events: DataFrame) -> DataFrame:
    """Latest assessment score per subject, as a map.

    Shape: valid events -> (learner_id_hash, tenant_id, mastery_by_subject), one row per
    learner with a scored assessment in a subject.
    """
    latest = (
        events.where(is_scored_assessment() & F.col("subject").isNotNull())
        .groupBy(*KEYS, "subject")
        .agg(F.max_by(F.col("score"), F.struct("occurred_at", "event_id")).alias("score"))
    )  # shape: one row per (learner, tenant, subject)
    return latest.groupBy(*KEYS).agg(
        F.map_from_entries(F.array_sort(F.collect_list(F.struct("subject", "score")))).alias(
            "mastery_by_subject"
        )
    )


def iep_progress(events: DataFrame, goals: DataFrame) -> DataFrame:
    """Mean progress of the learner's IEP goals measured in the period.

    Progress of a goal = (latest measurement − baseline) / (target − baseline) × 100,
    clamped to [0, 150]; goals whose target equals their baseline have none.

    Shape: valid events + goals -> (learner_id_hash, tenant_id, iep_mean_progress_pct),
    one row per learner with a measured goal.
    """
    latest = (
        events.where(is_event(EventType.IEP_GOAL_MEASUREMENT))
        .groupBy(*KEYS, "goal_id")
        .agg(
            F.max_by(F.col("measurement"), F.struct("occurred_at", "event_id")).alias("measurement")
        )
    )  # shape: one row per (learner, tenant, goal) measured
    span = F.col("target") - F.col("baseline")
    progress = F.when(span != 0, (F.col("measurement") - F.col("baseline")) / span * F.lit(100.0))
    return (
        latest.join(
            goals.select("goal_id", "learner_id_hash", "baseline", "target"),
            on=["goal_id", "learner_id_hash"],
            how="inner",
        )
        .groupBy(*KEYS)
        .agg(F.avg(clamp(progress, *IEP_PROGRESS_RANGE)).alias("iep_mean_progress_pct"))
    )


def roster(learners: DataFrame, period_end: dt.date) -> DataFrame:
    """Learners enrolled by the end of the period.

    Shape: learners dim -> (learner_id_hash, tenant_id, age_band, grade_band, has_iep).
    """
    cutoff = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time.min)
    return learners.where(
        F.col("enrolled_at").isNull() | (F.col("enrolled_at") < F.lit(cutoff))
    ).select(*KEYS, "age_band", "grade_band", "has_iep")


def with_exact_values(df: DataFrame) -> DataFrame:
    """Contract names and zero defaults for learners without activity (anonymized values)."""
    return df.select(
        *KEYS,
        "age_band",
        "grade_band",
        "has_iep",
        F.coalesce(F.col("sessions"), F.lit(0)).cast("long").alias("sessions"),
        F.coalesce(F.col("learning_minutes"), F.lit(0.0)).alias("learning_minutes"),
        F.coalesce(F.col("lessons"), F.lit(0)).cast("long").alias("lessons_completed"),
        F.coalesce(F.col("assessments"), F.lit(0)).cast("long").alias("assessments_completed"),
        F.coalesce(F.col("mastery_by_subject"), F.create_map().cast("map<string,double>")).alias(
            "mastery_by_subject"
        ),
        "iep_mean_progress_pct",
        "data_completeness",
    )


def with_per_learner_noise(context: ReleaseContext) -> Callable[[DataFrame], DataFrame]:
    """Under DP: clamp and noise each learner's values, withhold the rest (see module docstring).

    Shape: one row per learner -> same columns, noisy counts and minutes, withheld columns null,
    plus noise_scales and noise_mechanism; materialized once (local checkpoint).
    """
    total = context.epsilon
    assert total is not None
    each = total * (1 - COHORT_FRACTION) / (len(COUNT_VALUES) + 1)
    days = context.scope.period_days()
    caps = {name: period_cap(base, days) for name, base in COUNT_VALUES.items()}
    minutes_cap = context.job_bounds.upper * period_months(days)
    minutes_scale = grid_noise(each, minutes_cap).laplace_scale
    source = context.random_source
    scales = {**{name: cap / each for name, cap in caps.items()}, "learning_minutes": minutes_scale}
    mechanism = "; ".join(
        [
            f"{name}: per-learner discrete_laplace(cap={cap:g}) ε={each:.6g}"
            for name, cap in caps.items()
        ]
        + [
            "learning_minutes: per-learner grid_discrete_laplace"
            f"(cap={minutes_cap:g}) ε={each:.6g}",
            f"tenant learner count: discrete_laplace ε={total * COHORT_FRACTION:.6g}",
            f"withheld under DP: {', '.join(WITHHELD_UNDER_DP)}",
        ]
    )

    def transform(df: DataFrame) -> DataFrame:
        noisy = {
            name: F.greatest(
                laplace_count(
                    clamp(name, 0.0, cap).cast("long"),
                    each,
                    cap,
                    random_source=source,
                    purpose=f"learner_snapshots/{name}",
                ),
                F.lit(0).cast("long"),
            )
            for name, cap in caps.items()
        }
        noisy["learning_minutes"] = F.greatest(
            laplace_sum(
                clamp("learning_minutes", 0.0, minutes_cap),
                each,
                minutes_cap,
                random_source=source,
                purpose="learner_snapshots/learning_minutes",
            ),
            F.lit(0.0),
        )
        withheld = {name: F.lit(None).cast(dict(df.dtypes)[name]) for name in WITHHELD_UNDER_DP}
        return (
            df.withColumns({**noisy, **withheld})
            .withColumn(
                "noise_scales",
                F.create_map(
                    *[
                        part
                        for name, scale in scales.items()
                        for part in (F.lit(name), F.lit(float(scale)))
                    ]
                ),
            )
            .withColumn("noise_mechanism", F.lit(mechanism))
            .localCheckpoint(eager=True)
        )

    return transform


def with_cohort_suppression(cohorts: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """Null every metric of the learners whose tenant is too small (decision from ``cohorts``)."""

    def transform(df: DataFrame) -> DataFrame:
        joined = df.join(
            cohorts.select("tenant_id", "insufficient_data"), on="tenant_id", how="left"
        )
        small = F.coalesce(F.col("insufficient_data"), F.lit(True))
        types = dict(joined.dtypes)
        return joined.withColumn("insufficient_data", small).withColumns(
            {
                name: F.when(~small, F.col(name)).otherwise(F.lit(None).cast(types[name]))
                for name in METRICS
            }
        )

    return transform


def learner_snapshots(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute learner_snapshots for the run's scope (pure).

    Args:
        inputs: Prepared, pseudonymous inputs of the run.
        context: The release (level, bounds, ε, k, scope, key version).

    Returns:
        One row per learner of the roster: keys, metrics and the privacy columns.
    """
    scope = context.scope
    events = inputs.events
    activity = learner_activity(events)
    # Shape: one row per learner of the roster -> bands + exact period values.
    exact = (
        roster(inputs.learners, scope.end)
        .join(activity, on=list(KEYS), how="left")
        .join(mastery_by_subject(events), on=list(KEYS), how="left")
        .join(iep_progress(events, inputs.iep_goals), on=list(KEYS), how="left")
        .transform(with_exact_values)
    )
    # Shape: one row per tenant of the directory -> learners active in the period, suppression.
    cohorts = aggregate(
        activity,
        context,
        group_cols=["tenant_id"],
        measures=[Measure(name="cohort_learners", kind="distinct_count")],
        epsilon_fraction=COHORT_FRACTION,
        public_groups=tenants_frame(inputs),
        max_partitions=1,
        max_rows_per_partition=1,
    )
    released = exact.transform(with_per_learner_noise(context)) if context.level.is_dp else exact
    return (
        released.transform(with_cohort_suppression(cohorts))
        .withColumn("period_start", F.lit(scope.start))
        .withColumn("period_end", F.lit(scope.end))
        .withColumn("key_version", F.lit(context.key_version))
        .withColumn("epsilon", F.lit(context.epsilon or 0.0))
    )
