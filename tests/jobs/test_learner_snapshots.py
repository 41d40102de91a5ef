"""learner_snapshots: exact at anonymized (tenant of 5 kept, of 4 suppressed); DP per learner."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.contracts.curated import LEARNER_SNAPSHOTS
from jobs.release import ReleaseContext, with_release_metadata
from jobs.transforms.learner_snapshots import WITHHELD_UNDER_DP, learner_snapshots
from privacy_udfs import PrivacyLevel, seeded_random_source_for_tests
from tests.jobs.inputs import TENANT_A, TENANT_B, event, learner, make_context, make_inputs

START, END = dt.date(2025, 1, 6), dt.date(2025, 1, 12)


def at(hour: int) -> dt.datetime:
    return dt.datetime(2025, 1, 7, hour, 0)


def inputs_for(spark: SparkSession):
    """Tenant A: learners 1-5 active, 6 enrolled but idle, 7 enrolled after the period.

    Tenant B: learners 11-14 active (a cohort of 4).
    """
    course: dict[str, Any] = {"course_id": "00000000-0000-4000-8000-0000000000c1"}
    events = [
        event(1, 1, "session", at(9), duration_minutes=60.0, subject="math", **course),
        event(2, 1, "session", at(10), duration_minutes=30.0, subject="math", **course),
        event(3, 1, "lesson_completed", at(10), lesson_id="l1", subject="math", **course),
        event(4, 1, "assessment_completed", at(9), score=70.0, attempt=1, subject="math", **course),
        event(
            5, 1, "assessment_completed", at(11), score=90.0, attempt=2, subject="math", **course
        ),
        event(
            6, 1, "assessment_completed", at(11), score=50.0, attempt=1, subject="reading", **course
        ),
        event(7, 1, "iep_goal_measurement", at(8), goal_id="g1", measurement=15.0),
        event(8, 1, "iep_goal_measurement", at(12), goal_id="g1", measurement=20.0),
        event(9, 2, "session", at(9), duration_minutes=20.0, subject="math", **course),
        event(10, 2, "lesson_completed", at(9), lesson_id=None, subject="math", **course),
        *[
            event(10 + i, i, "session", at(9), duration_minutes=10.0, subject="art", **course)
            for i in (3, 4, 5)
        ],
        *[
            event(
                20 + i,
                i,
                "session",
                at(9),
                duration_minutes=5.0,
                subject="art",
                tenant=TENANT_B,
                **course,
            )
            for i in (11, 12, 13, 14)
        ],
    ]
    enrolled = dt.datetime(2024, 9, 1)
    learners = [
        (learner(1), TENANT_A, "13_17", "9-12", True, enrolled),
        *[(learner(i), TENANT_A, "under_13", "3-5", False, enrolled) for i in (2, 3, 4, 5, 6)],
        (learner(7), TENANT_A, "under_13", "3-5", False, dt.datetime(2025, 2, 1)),
        *[(learner(i), TENANT_B, "18_plus", "not_provided", False, None) for i in (11, 12, 13, 14)],
    ]
    goals = [("g1", TENANT_A, learner(1), "reading_fluency", 10.0, 30.0, START, "moderate")]
    return make_inputs(spark, events=events, learners=learners, iep_goals=goals)


def released(df: DataFrame, context: ReleaseContext) -> DataFrame:
    cols = [*LEARNER_SNAPSHOTS.key_names, *LEARNER_SNAPSHOTS.metric_names, "insufficient_data"]
    return (
        df.transform(with_release_metadata(LEARNER_SNAPSHOTS, context))
        .select(cols)
        .orderBy("learner_id_hash")
    )


def test_anonymized_exact_values_and_tenant_k5_suppression(spark: SparkSession) -> None:
    context = make_context("learner_snapshots", START, END)
    actual = released(learner_snapshots(inputs_for(spark), context), context)
    a = (START, END, "v1")
    nulls = (None,) * 10
    expected = spark.createDataFrame(
        [
            # 2 sessions, 90 min, 1 lesson, 3 assessments, latest math 90 and reading 50,
            # IEP goal 10 -> 30 measured 20 last: 50 %; every event complete.
            (
                learner(1),
                TENANT_A,
                *a,
                "13_17",
                "9-12",
                True,
                2,
                90.0,
                1,
                3,
                {"math": 90.0, "reading": 50.0},
                50.0,
                1.0,
                False,
            ),
            # the lesson without a lesson id is valid but incomplete: 1 of 2 events complete
            (
                learner(2),
                TENANT_A,
                *a,
                "under_13",
                "3-5",
                False,
                1,
                20.0,
                1,
                0,
                {},
                None,
                0.5,
                False,
            ),
            *[
                (
                    learner(i),
                    TENANT_A,
                    *a,
                    "under_13",
                    "3-5",
                    False,
                    1,
                    10.0,
                    0,
                    0,
                    {},
                    None,
                    1.0,
                    False,
                )
                for i in (3, 4, 5)
            ],
            # on the roster but idle: a row of zeros (row existence does not reveal activity)
            (
                learner(6),
                TENANT_A,
                *a,
                "under_13",
                "3-5",
                False,
                0,
                0.0,
                0,
                0,
                {},
                None,
                None,
                False,
            ),
            # tenant B has 4 active learners: keys stay, every metric is null
            *[(learner(i), TENANT_B, *a, *nulls, True) for i in (11, 12, 13, 14)],
        ],
        actual.schema,
    ).orderBy("learner_id_hash")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_dp_per_learner_noise_withheld_attributes_and_noisy_cohort_count(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS", "1")
    context = make_context(
        "learner_snapshots",
        START,
        END,
        level=PrivacyLevel.DP_LOW,
        random_source=seeded_random_source_for_tests(2),
    )
    rows = learner_snapshots(inputs_for(spark), context).collect()
    true_sessions = {learner(1): 2, learner(2): 1, learner(6): 0}
    assert len(rows) == 10
    flags: dict[str, set[bool]] = {}
    for r in rows:
        assert r.epsilon == pytest.approx(2.0 * context.job_bounds.epsilon_share)
        assert r.key_version == "v1" and "per-learner discrete_laplace" in r.noise_mechanism
        assert all(getattr(r, name) is None for name in WITHHELD_UNDER_DP)
        flags.setdefault(r.tenant_id, set()).add(r.insufficient_data)
        if r.insufficient_data:
            assert r.sessions is None and r.learning_minutes is None
        else:
            assert r.sessions >= 0 and r.learning_minutes >= 0.0
            error = abs(r.sessions - true_sessions.get(r.learner_id_hash, 1))
            assert error <= 20 * r.noise_scales["sessions"]
            assert set(r.noise_scales) == {
                "sessions",
                "learning_minutes",
                "lessons_completed",
                "assessments_completed",
            }
    # one suppression decision per tenant (on its noisy learner count)
    assert all(len(v) == 1 for v in flags.values())


def test_no_raw_identifier_or_pii_column(spark: SparkSession) -> None:
    context = make_context("learner_snapshots", START, END)
    df = learner_snapshots(inputs_for(spark), context)
    assert not {"learner_id", "full_name", "email", "date_of_birth"} & set(df.columns)
    assert df.where(F.length("learner_id_hash") != 64).count() == 0
