"""mastery_progress: assessment mastery per tenant, subject and reporting period."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from contracts.raw import SUBJECTS, EventType
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.common import (
    aggregate,
    public_keys,
    read_by_several_releases,
    tenant_ids,
    with_period_columns,
)
from privacy_udfs import Measure

MASTERY_SCORE = 80.0  # a score at or above this counts as mastery
MAX_ASSESSMENTS_PER_SUBJECT = 30.0  # per learner and period; more are clamped under DP


def learner_subject_mastery(events: DataFrame) -> DataFrame:
    """Per learner and subject: assessments, latest score, change and days to mastery.

    Shape: one row per (learner_id_hash, tenant_id, subject) with n_assessments,
    latest_score, improvement (latest - first score) and days_to_mastery (null
    when never reached).
    """
    assessments = events.where(
        (F.col("event_type") == EventType.ASSESSMENT_COMPLETED.value) & F.col("subject").isNotNull()
    )
    reached = F.when(F.col("score") >= MASTERY_SCORE, F.col("occurred_at"))
    return (
        assessments.groupBy("learner_id_hash", "tenant_id", "subject")
        .agg(
            F.count(F.lit(1)).cast("double").alias("n_assessments"),
            F.max_by("score", "occurred_at").alias("latest_score"),
            F.min_by("score", "occurred_at").alias("first_score"),
            F.min("occurred_at").alias("first_at"),
            F.min(reached).alias("mastered_at"),
        )
        .withColumn("improvement", F.col("latest_score") - F.col("first_score"))
        .withColumn(
            "days_to_mastery",
            (F.unix_micros("mastered_at") - F.unix_micros("first_at")) / F.lit(86_400_000_000.0),
        )
        .drop("first_score", "first_at", "mastered_at")
    )


def mastery_progress(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute mastery_progress for the run's period (pure).

    ε split: 75% over learners assessed, assessments, mean mastery and improvement;
    25% over the median days to mastery (among learners who reached it).
    """
    scope = context.scope
    per_learner = read_by_several_releases(learner_subject_mastery(inputs.events))
    groups = public_keys(inputs, {"tenant_id": tenant_ids(inputs), "subject": list(SUBJECTS)})
    core = aggregate(
        per_learner,
        context,
        group_cols=["tenant_id", "subject"],
        measures=[
            Measure(name="learners_assessed", kind="distinct_count"),
            Measure(
                name="assessments_completed",
                kind="sum",
                value_col="n_assessments",
                lower=0.0,
                upper=MAX_ASSESSMENTS_PER_SUBJECT,
            ),
            Measure(
                name="mean_mastery", kind="mean", value_col="latest_score", lower=0.0, upper=100.0
            ),
            Measure(
                name="improvement_delta",
                kind="mean",
                value_col="improvement",
                lower=-100.0,
                upper=100.0,
            ),
        ],
        epsilon_fraction=0.75,
        public_groups=groups,
        lower=-100.0,
        upper=100.0,
    )
    days = aggregate(
        per_learner.where(F.col("days_to_mastery").isNotNull()),
        context,
        group_cols=["tenant_id", "subject"],
        measures=[
            Measure(
                name="median_days_to_mastery",
                kind="percentile",
                value_col="days_to_mastery",
                lower=0.0,
                upper=float(scope.period_days()),
                quantile=0.5,
            ),
        ],
        epsilon_fraction=0.25,
        public_groups=groups,
        lower=0.0,
        upper=float(scope.period_days()),
    ).select(
        "tenant_id",
        "subject",
        "median_days_to_mastery",
        F.col("noise_scales").alias("days_noise_scales"),
    )
    # Shape: one row per (tenant, subject) of the public subject list.
    return (
        core.join(days, ["tenant_id", "subject"], "left")
        .withColumn(
            "median_days_to_mastery",
            F.when(~F.col("insufficient_data"), F.col("median_days_to_mastery")),
        )
        .withColumn("assessments_completed", F.round("assessments_completed").cast("long"))
        .withColumn(
            "noise_scales",
            F.map_concat(
                "noise_scales",
                F.coalesce("days_noise_scales", F.create_map().cast("map<string,double>")),
            ),
        )
        .drop("days_noise_scales")
        .transform(with_period_columns(scope))
    )
