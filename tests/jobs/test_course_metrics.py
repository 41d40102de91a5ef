"""course_metrics: exact values at anonymized (course of 5 kept, of 4 suppressed); every course of
the tenant's catalogue is released at every level, with or without activity."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import DataFrame, SparkSession

from contracts.curated import COURSE_METRICS
from jobs.release import ReleaseContext, with_release_metadata
from jobs.transforms.course_metrics import course_metrics
from privacy_udfs import PrivacyLevel, seeded_random_source_for_tests
from tests.jobs.inputs import TENANT_A, event, learner, make_context, make_inputs

START, END = dt.date(2025, 1, 6), dt.date(2025, 1, 12)
AT = dt.datetime(2025, 1, 7, 10, 0)
C1 = "00000000-0000-4000-8000-0000000000c1"
C2 = "00000000-0000-4000-8000-0000000000c2"
BIG = "00000000-0000-4000-8000-0000000000c3"
COURSES = [
    (C1, TENANT_A, "Algebra I", "math", "introductory"),
    (C2, TENANT_A, "Poetry", "writing", "advanced"),
    (BIG, TENANT_A, "Biology", "science", "intermediate"),
]
METRICS = [
    "enrolled_learners",
    "completion_rate",
    "mean_mastery",
    "avg_study_hours",
    "retry_rate",
    "avg_lessons_per_learner",
]


def c1_events() -> list[tuple[object, ...]]:
    """Course C1: learners 1-5. Hours 2,1,1,1,1; learners 1-2 complete; 3 lessons; 4 assessments."""
    course: dict[str, Any] = {"course_id": C1, "subject": "math"}
    return [
        *[
            event(i, i, "session", AT, duration_minutes=120.0 if i == 1 else 60.0, **course)
            for i in range(1, 6)
        ],
        event(11, 1, "course_completed", AT, **course),
        event(12, 2, "course_completed", AT, **course),
        event(13, 1, "lesson_completed", AT, lesson_id="l1", **course),
        event(14, 1, "lesson_completed", AT, lesson_id="l2", **course),
        event(15, 2, "lesson_completed", AT, lesson_id="l1", **course),
        event(16, 1, "assessment_completed", AT, score=80.0, attempt=1, **course),
        event(17, 1, "assessment_completed", AT, score=90.0, attempt=2, **course),
        event(18, 3, "assessment_completed", AT, score=70.0, attempt=1, **course),
        event(19, 4, "assessment_completed", AT, score=60.0, attempt=1, **course),
    ]


def c2_events() -> list[tuple[object, ...]]:
    """Course C2: learners 6-9 (a cohort of 4), one 30-minute session each."""
    return [
        event(20 + i, i, "session", AT, course_id=C2, subject="writing", duration_minutes=30.0)
        for i in range(6, 10)
    ]


def learners(n: int) -> list[tuple[object, ...]]:
    return [(learner(i), TENANT_A, "13_17", "9-12", False, None) for i in range(1, n + 1)]


def released(df: DataFrame, context: ReleaseContext) -> DataFrame:
    cols = [*COURSE_METRICS.key_names, *METRICS, "insufficient_data"]
    return df.transform(with_release_metadata(COURSE_METRICS, context)).select(cols)


def test_anonymized_exact_values_course_of_5_kept_of_4_suppressed(spark: SparkSession) -> None:
    inputs = make_inputs(
        spark, events=c1_events() + c2_events(), learners=learners(9), courses=COURSES
    )
    context = make_context("course_metrics", START, END)
    actual = released(course_metrics(inputs, context), context)
    expected = spark.createDataFrame(
        [
            # 5 learners: 2 completed of 5; scores 80, 90, 70, 60; one retry of 4 assessments;
            # hours (2+1+1+1+1)/5; lessons 3/5.
            (
                TENANT_A,
                C1,
                "Algebra I",
                "math",
                "introductory",
                START,
                END,
                5,
                0.4,
                75.0,
                1.2,
                0.25,
                0.6,
                False,
            ),
            # 4 learners: the course and its descriptors stay, every metric is null.
            (
                TENANT_A,
                C2,
                "Poetry",
                "writing",
                "advanced",
                START,
                END,
                None,
                None,
                None,
                None,
                None,
                None,
                True,
            ),
            # In the catalogue, no activity: released too (which courses appear reveals nothing).
            (
                TENANT_A,
                BIG,
                "Biology",
                "science",
                "intermediate",
                START,
                END,
                None,
                None,
                None,
                None,
                None,
                None,
                True,
            ),
        ],
        actual.schema,
    )
    assert_approx_df_equality(actual, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


def test_activity_in_a_course_outside_the_catalogue_is_not_released(spark: SparkSession) -> None:
    stray = "00000000-0000-4000-8000-0000000000ff"
    events = [
        event(50 + i, i, "session", AT, course_id=stray, subject="math", duration_minutes=10.0)
        for i in range(1, 7)
    ]
    inputs = make_inputs(spark, events=events, learners=learners(9), courses=COURSES)
    rows = course_metrics(inputs, make_context("course_metrics", START, END)).collect()
    assert sorted(r.course_id for r in rows) == sorted([C1, C2, BIG])


def test_dp_releases_every_catalogue_course_and_noise_stays_within_scale(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS", "1")
    # 300 learners in BIG, each one 60-minute session, every third completes.
    big = [
        event(
            1000 + i,
            100 + i,
            "session",
            AT,
            course_id=BIG,
            subject="science",
            duration_minutes=60.0,
        )
        for i in range(300)
    ]
    big += [
        event(2000 + i, 100 + i, "course_completed", AT, course_id=BIG) for i in range(0, 300, 3)
    ]
    inputs = make_inputs(
        spark, events=c1_events() + c2_events() + big, learners=learners(9), courses=COURSES
    )
    context = make_context(
        "course_metrics",
        START,
        END,
        level=PrivacyLevel.DP_LOW,
        random_source=seeded_random_source_for_tests(7),
    )
    # The whole level's ε and L = 1, so the noise is small next to a 300-learner course.
    context = dataclasses.replace(
        context,
        job_bounds=dataclasses.replace(
            context.job_bounds, epsilon_share=1.0, max_partitions=1, dp_cadence="run"
        ),
    )
    rows = {r.course_id: r for r in course_metrics(inputs, context).collect()}
    # Public keys: every catalogue course is listed, no ε or δ goes to partition selection.
    assert sorted(rows) == sorted([C1, C2, BIG])
    row = rows[BIG]
    assert row.epsilon == pytest.approx(2.0)
    # δ is the release plan's (zCDP's conversion, or 0 when pure): none for selection.
    assert row.delta == pytest.approx(context.delta)
    assert "partition_selection" not in row.noise_mechanism
    assert row.insufficient_data is False and row.course_name == "Biology"
    scales = row.noise_scales
    assert abs(row.enrolled_learners - 300) <= 20 * scales["enrolled_learners"]
    assert abs(row.completion_rate - 1 / 3) <= 20 * scales["completion_rate"] + 1e-9
    assert abs(row.avg_study_hours - 1.0) <= 20 * scales["avg_study_hours"] + 1e-9
    assert 0.0 <= row.completion_rate <= 1.0
    # The shipped release plan does not measure the lesson and assessment sums at DP
    # (conf/bounds.toml, dp_withheld): their columns are null and carry no noise scale.
    withheld = ("mean_mastery", "retry_rate", "avg_lessons_per_learner")
    assert all(getattr(row, column) is None for column in withheld), row
    assert not set(withheld) & set(scales), scales
