"""course_metrics: course effectiveness per tenant, course and period.

Seed 003 ``analytics_course_metrics``.

Grain: one row per (tenant, course) of the tenant's course catalogue (``raw/courses``,
a public list), for ``[scope.start, scope.end]``; courses without activity included.

Mechanism. Events are first folded into one row per (learner, tenant, course)
holding that learner's activity in the course (completed or not, study hours,
lessons, assessments, retries, sum of scores), so a learner contributes exactly
one row to a course (``C = 1``) and at most ``L = max_partitions`` courses
(``conf/bounds.toml``; rows beyond are dropped at random by the engine).
Each per-learner value is clamped to a domain range (below) and the release is
one :func:`privacy_udfs.private_aggregate` call. Its ε (the job's) is split
evenly by sequential composition over its seven measures (each 1/7; a mean spends
half of its share on the centred sum and half on the count):

=========================  =============================================
metric                     how
=========================  =============================================
enrolled_learners          distinct learners (discrete Laplace, Δ = L)
completion_rate            mean of the completed flag in [0, 1]
avg_study_hours            mean of per-learner hours in [0, ``upper``]
avg_lessons_per_learner    mean of per-learner lessons in [0, 40]
mean_mastery               noisy score sum / noisy assessment count
retry_rate                 noisy retry count / noisy assessment count
=========================  =============================================

``mean_mastery`` and ``retry_rate`` are ratios of noised sums (post-processing);
``noise_scales`` carries the scales of their numerators and denominator
(``score_total``, ``assessments``, ``retries``) so readers can derive error bars.

Courses are public keys: every course of the tenant's catalogue is released at every
level, with or without activity, so which courses appear reveals nothing and no ε goes
to partition selection; those with fewer than k learners (noisy count under DP) have
null metrics. Activity in a course missing from its tenant's catalogue is not released.
Course name, subject and difficulty come from the catalogue.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from contracts.raw import SCORE_RANGE
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.activity import bounded_ratio, mean_score, with_learner_activity
from jobs.transforms.common import aggregate, with_period_columns
from privacy_udfs import Measure

MAX_LESSONS_PER_COURSE = 40.0  # courses have 40 lessons; more completions in a period are repeats
MAX_ASSESSMENTS_PER_COURSE = 30.0  # per learner, course and period; more is scripted clicking
GROUP_COLS = ("tenant_id", "course_id")


def course_measures(max_study_hours: float) -> list[Measure]:
    """The measures over the per-learner-course rows, each with its domain clamp."""
    max_score = SCORE_RANGE[1] * MAX_ASSESSMENTS_PER_COURSE
    return [
        Measure(name="enrolled_learners", kind="distinct_count"),
        Measure(name="completion_rate", kind="mean", value_col="completed", lower=0.0, upper=1.0),
        Measure(
            name="avg_study_hours",
            kind="mean",
            value_col="study_hours",
            lower=0.0,
            upper=max_study_hours,
        ),
        Measure(
            name="avg_lessons_per_learner",
            kind="mean",
            value_col="lessons",
            lower=0.0,
            upper=MAX_LESSONS_PER_COURSE,
        ),
        Measure(
            name="score_total", kind="sum", value_col="score_total", lower=0.0, upper=max_score
        ),
        Measure(
            name="assessments",
            kind="sum",
            value_col="assessments",
            lower=0.0,
            upper=MAX_ASSESSMENTS_PER_COURSE,
        ),
        Measure(
            name="retries",
            kind="sum",
            value_col="retries",
            lower=0.0,
            upper=MAX_ASSESSMENTS_PER_COURSE,
        ),
    ]


def with_course_ratios(df: DataFrame) -> DataFrame:
    """mean_mastery and retry_rate from the noised sums (post-processing)."""
    return (
        df.withColumn("mean_mastery", mean_score("score_total", "assessments"))
        .withColumn("retry_rate", bounded_ratio("retries", "assessments", 1.0))
        .drop("score_total", "assessments", "retries")
    )


def course_catalogue(courses: DataFrame) -> DataFrame:
    """One row per (tenant, course): course_name, subject, difficulty.

    Shape: courses dim -> (tenant_id, course_id, course_name, subject, difficulty), unique keys.
    """
    return courses.select(
        "tenant_id", "course_id", F.col("name").alias("course_name"), "subject", "difficulty"
    ).dropDuplicates(["tenant_id", "course_id"])


def course_metrics(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute course_metrics for the run's scope (pure).

    Args:
        inputs: Prepared, pseudonymous inputs of the run.
        context: The release (level, bounds, ε, k, scope).

    Returns:
        One row per (tenant, course) of the catalogue: keys, metrics and privacy columns.
    """
    scope = context.scope
    # Shape: one row per (learner, tenant, course) with activity -> per-learner values.
    activity = (
        inputs.events.where(F.col("course_id").isNotNull())
        .transform(with_learner_activity(GROUP_COLS))
        .withColumn("study_hours", F.col("minutes") / F.lit(60.0))
    )
    catalogue = course_catalogue(inputs.courses)
    # Shape: one row per (tenant, course) of the catalogue -> noisy measures + privacy columns.
    aggregated = aggregate(
        activity,
        context,
        group_cols=GROUP_COLS,
        measures=course_measures(context.job_bounds.upper),
        max_rows_per_partition=1,
        public_groups=catalogue.select(*GROUP_COLS),
    )
    return (
        aggregated.transform(with_course_ratios)
        .join(catalogue, on=list(GROUP_COLS), how="left")
        .transform(with_period_columns(scope))
    )
