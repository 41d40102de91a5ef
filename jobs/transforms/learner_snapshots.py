"""learner_snapshots: one row per pseudonymous learner and period (``anonymized`` only).

Seed 003 ``analytics_user_snapshots``.

What this is. Learner-level rows under a keyed pseudonym are **pseudonymous personal
data** (GDPR Art. 4(5)), not anonymous data: whoever holds the key, or can link a row's
exact activity to a learner they know, re-identifies it. They are released only at
``anonymized``, to the tenant's own admins (and under a root grant); they are **never
released at a DP level** (the job declares ``dp_release=False`` and the runner skips it,
and :func:`learner_snapshots` refuses a DP context): no per-learner noise bounded to the
learner's own contribution protects roster membership, and a per-learner release would
use a neighbour relation different from every other table.

Grain: one row per learner of the roster (the prepared learners dimension, enrolled
by the period's end) × tenant × period, minus the rows k-anonymity suppresses. The row
set does not depend on activity, so a row's existence does not reveal that a learner
was active. Learners whose events have no roster row get no snapshot. No raw id or PII
exists in the inputs; the pseudonym is the keyed HMAC and ``key_version`` names its key.

k-anonymity. The quasi-identifiers are (tenant, age band, grade band, has_iep). Each
tenant's rows are generalised together to the first level of :func:`generalization_levels`
at which at most :data:`MAX_SUPPRESSED_SHARE` of them fall in classes under k
(k = ``MIN_COHORT_SIZE``); those rows are suppressed (not published), and a tenant with
fewer than k rostered learners publishes none (:func:`privacy_udfs.kanonymity.k_anonymize`).
So every published (tenant, age_band, grade_band, has_iep) combination has at least k rows.
IEP status is withheld first; where it is withheld, ``iep_mean_progress_pct`` is withheld
too (its presence would reveal an IEP).

Values: sessions, learning minutes (sessions clamped to [0, 240] by validation
upstream, summed), lessons and assessments completed in the period; the latest
score per subject (``mastery_by_subject``); the mean progress of the learner's
IEP goals measured in the period (latest measurement per goal, from baseline
toward target, percent, clamped to [0, 150]); ``data_completeness``, the share of
the learner's valid events in the period that carry every field their type
needs downstream (see :func:`is_complete_event`). Exact values (no noise).

Suppression: when the learner's tenant has fewer than k learners active in the
period every metric is null and ``insufficient_data`` is true (exact counts over
the public tenant list).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contracts.bands import COARSE_AGE, COARSE_GRADE
from contracts.raw import EventType
from jobs.prepare import PreparedInputs
from jobs.release import DP_REFUSAL, ReleaseContext
from jobs.transforms.activity import is_event, is_scored_assessment
from jobs.transforms.common import aggregate, public_keys, tenant_ids, with_period_columns
from privacy_udfs import Measure, PrivacyConfigurationError, clamp
from privacy_udfs.kanonymity import k_anonymize

IEP_PROGRESS_RANGE = (0.0, 150.0)
KEYS = ("learner_id_hash", "tenant_id")
QUASI_IDENTIFIERS = ("age_band", "grade_band", "has_iep")  # with the tenant
MAX_SUPPRESSED_SHARE = 0.05
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


def _mapped(column: str, mapping: dict[str, str]) -> Column:
    return F.create_map(*[F.lit(x) for pair in mapping.items() for x in pair])[F.col(column)]


def generalization_levels() -> tuple[dict[str, Column], ...]:
    """The k-anonymity ladder, most detailed first; each tenant uses one level for all rows.

    0 as is; 1 IEP status withheld; 2 and bands coarsened (under_18 / 18_plus, K-5 / 6-12);
    3 and age withheld; 4 every quasi-identifier withheld (only the tenant remains).
    """
    withheld = F.lit(None)
    age, grade = F.col("age_band"), F.col("grade_band")
    coarse_age, coarse_grade = _mapped("age_band", COARSE_AGE), _mapped("grade_band", COARSE_GRADE)
    return (
        {"age_band": age, "grade_band": grade, "has_iep": F.col("has_iep")},
        {"age_band": age, "grade_band": grade, "has_iep": withheld},
        {"age_band": coarse_age, "grade_band": coarse_grade, "has_iep": withheld},
        {"age_band": withheld, "grade_band": coarse_grade, "has_iep": withheld},
        {"age_band": withheld, "grade_band": withheld, "has_iep": withheld},
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
            goals.select("goal_id", "learner_id_hash", "tenant_id", "baseline", "target"),
            on=["goal_id", "learner_id_hash", "tenant_id"],
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


def k_anonymous_roster(roster_rows: DataFrame, k: int) -> DataFrame:
    """The roster generalised per tenant so each (tenant, QI) combination has >= k rows.

    Shape: roster (learner_id_hash, tenant_id, age_band, grade_band, has_iep) -> the same
    columns, generalised; rows of classes under k at the tenant's level removed.
    """
    return k_anonymize(
        roster_rows,
        k,
        partition_col="tenant_id",
        levels=generalization_levels(),
        max_suppressed_share=MAX_SUPPRESSED_SHARE,
    )


def learner_snapshots(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute learner_snapshots for the run's scope (pure; ``anonymized`` only).

    Args:
        inputs: Prepared, pseudonymous inputs of the run.
        context: The release (level, bounds, k, scope, key version).

    Returns:
        One row per k-anonymous learner of the roster: keys, metrics and privacy columns.

    Raises:
        PrivacyConfigurationError: ``context`` is a DP level (never released there).
    """
    if context.level.is_dp:
        raise PrivacyConfigurationError(f"learner_snapshots: {DP_REFUSAL}")
    scope = context.scope
    events = inputs.events
    activity = learner_activity(events)
    roster_rows = roster(inputs.learners, scope.end)
    if context.k_threshold > 0:  # 0 only in the non-private benchmark baseline
        roster_rows = k_anonymous_roster(roster_rows, context.k_threshold)
    # Shape: one row per published learner of the roster -> bands + exact period values.
    exact = (
        roster_rows.join(activity, on=list(KEYS), how="left")
        .join(mastery_by_subject(events), on=list(KEYS), how="left")
        .join(iep_progress(events, inputs.iep_goals), on=list(KEYS), how="left")
        .transform(with_exact_values)
        # Progress toward IEP goals exists only for learners with an IEP: withheld with it.
        .withColumn(
            "iep_mean_progress_pct",
            F.when(F.col("has_iep").isNotNull(), F.col("iep_mean_progress_pct")),
        )
    )
    # Shape: one row per tenant of the directory -> learners active in the period, suppression.
    cohorts = aggregate(
        activity,
        context,
        group_cols=["tenant_id"],
        measures=[Measure(name="cohort_learners", kind="distinct_count")],
        public_groups=public_keys(inputs, {"tenant_id": tenant_ids(inputs)}),
        max_partitions=1,
        max_rows_per_partition=1,
    )
    return (
        exact.transform(with_cohort_suppression(cohorts))
        .transform(with_period_columns(scope))
        .withColumn("key_version", F.lit(context.key_version))
        .withColumn("epsilon", F.lit(0.0))
    )
