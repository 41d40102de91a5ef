"""The ``courses`` table: course sizes per tenant come from the layout."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.raw import DIFFICULTIES, SUBJECTS
from jobs.generator.layout import Layout
from jobs.generator.learners import LearnerModel
from jobs.generator.randomness import (
    Salt,
    index_below,
    uniform,
    uuid_from,
    weighted_choice,
    zipf_weights,
)

RARE_SUBJECT = "latin"


def course_id(seed: int, course: Column) -> Column:
    """Course id (UUID-shaped) of a course index."""
    return uuid_from(seed, Salt.COURSE_ID, course)


def course_subject(seed: int, layout: Layout, course: Column) -> Column:
    """Skewed over the common subjects; the rare subject for exactly one course."""
    common = tuple(s for s in SUBJECTS if s != RARE_SUBJECT)
    skewed = weighted_choice(uniform(seed, Salt.SUBJECT, course), common, zipf_weights(len(common)))
    return F.when(course == F.lit(layout.rare_subject_course), F.lit(RARE_SUBJECT)).otherwise(
        skewed
    )


def courses_table(spark: SparkSession, model: LearnerModel) -> DataFrame:
    """The raw ``courses`` table: the layout's courses with skewed subjects and levels."""
    seed, layout = model.seed, model.layout
    course = F.col("id")
    subject = course_subject(seed, layout, course)
    difficulty = weighted_choice(
        uniform(seed, Salt.DIFFICULTY, course), DIFFICULTIES, (0.45, 0.35, 0.2)
    )
    level = index_below(uniform(seed, Salt.COURSE_LEVEL, course), 4) + 1
    return spark.range(0, layout.course_count, 1).select(
        course_id(seed, course).alias("course_id"),
        model.tenant_id(layout.tenant_of_course(course)).alias("tenant_id"),
        F.concat_ws(" ", F.initcap(subject), level.cast("string"), F.lit("·"), difficulty).alias(
            "name"
        ),
        subject.alias("subject"),
        difficulty.alias("difficulty"),
    )
