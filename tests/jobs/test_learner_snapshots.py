"""learner_snapshots: exact at anonymized, k-anonymous over the quasi-identifiers; never DP."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.curated import LEARNER_SNAPSHOTS
from jobs.registry import job_named
from jobs.release import DP_REFUSAL, ReleaseContext, release_refusal, with_release_metadata
from jobs.transforms.learner_snapshots import (
    MAX_SUPPRESSED_SHARE,
    k_anonymous_roster,
    learner_snapshots,
)
from privacy_udfs import PrivacyConfigurationError, PrivacyLevel
from privacy_udfs.generalize import AGE_BANDS, GRADE_BANDS
from tests.jobs.inputs import TENANT_A, TENANT_B, event, learner, make_context, make_inputs

JOB = job_named("learner_snapshots")

START, END = dt.date(2025, 1, 6), dt.date(2025, 1, 12)


def at(hour: int) -> dt.datetime:
    return dt.datetime(2025, 1, 7, hour, 0)


def inputs_for(spark: SparkSession):
    """Tenant A: learners 1-5 active, 6 and 8-11 enrolled but idle, 7 enrolled after the period.

    Learner 1 is the only one with an IEP; 8-11 share learner 1's bands. Tenant B: learners
    11-14 active (a cohort of 4).
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
            for i in (21, 22, 23, 24)
        ],
    ]
    enrolled = dt.datetime(2024, 9, 1)
    learners = [
        (learner(1), TENANT_A, "13_17", "9-12", True, enrolled),
        *[(learner(i), TENANT_A, "under_13", "3-5", False, enrolled) for i in (2, 3, 4, 5, 6)],
        (learner(7), TENANT_A, "under_13", "3-5", False, dt.datetime(2025, 2, 1)),
        *[(learner(i), TENANT_A, "13_17", "9-12", False, enrolled) for i in (8, 9, 10, 11)],
        *[(learner(i), TENANT_B, "18_plus", "not_provided", False, None) for i in (21, 22, 23, 24)],
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


def test_anonymized_exact_values_k_anonymous_roster(spark: SparkSession) -> None:
    context = make_context("learner_snapshots", START, END)
    actual = released(learner_snapshots(inputs_for(spark), context), context)
    a = (START, END, "v1")
    idle = (0, 0.0, 0, 0, {}, None, None, False)
    expected = spark.createDataFrame(
        [
            # 2 sessions, 90 min, 1 lesson, 3 assessments, latest math 90 and reading 50;
            # every event complete. Learner 1 is the tenant's only IEP learner: IEP status is
            # withheld for the whole tenant (classes of 5 and 5 remain), and with it the IEP
            # progress (50 %), whose presence would reveal the IEP.
            (
                learner(1),
                TENANT_A,
                *a,
                "13_17",
                "9-12",
                None,
                2,
                90.0,
                1,
                3,
                {"math": 90.0, "reading": 50.0},
                None,
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
                None,
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
                    None,
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
            (learner(6), TENANT_A, *a, "under_13", "3-5", None, *idle),
            *[(learner(i), TENANT_A, *a, "13_17", "9-12", None, *idle) for i in (8, 9, 10, 11)],
            # tenant B has 4 learners on its roster: fewer than k, no row is published
        ],
        actual.schema,
    ).orderBy("learner_id_hash")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_never_released_at_a_dp_level(spark: SparkSession) -> None:
    for level in (PrivacyLevel.DP_LOW, PrivacyLevel.DP_MEDIUM, PrivacyLevel.DP_HIGH):
        context = make_context("learner_snapshots", START, END, level=level)
        with pytest.raises(PrivacyConfigurationError, match="never released at DP levels"):
            learner_snapshots(inputs_for(spark), context)
        # The runner skips the job with the reason before computing anything.
        assert release_refusal(JOB, context) == DP_REFUSAL


def test_no_raw_identifier_or_pii_column(spark: SparkSession) -> None:
    context = make_context("learner_snapshots", START, END)
    df = learner_snapshots(inputs_for(spark), context)
    assert not {"learner_id", "full_name", "email", "date_of_birth"} & set(df.columns)
    assert df.where(F.length("learner_id_hash") != 64).count() == 0


ROSTER_ROW = st.tuples(
    st.sampled_from([TENANT_A, TENANT_B, "00000000-0000-4000-8000-00000000000c"]),
    st.sampled_from(AGE_BANDS),
    st.sampled_from(GRADE_BANDS),
    st.booleans(),
)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(ROSTER_ROW, min_size=1, max_size=80),
    k=st.integers(2, 6),
    skew=st.booleans(),
)
def test_every_published_quasi_identifier_combination_has_k_rows(
    spark: SparkSession, rows: list[tuple[str, str, str, bool]], k: int, skew: bool
) -> None:
    if skew:  # a large common class next to rare ones, as on a real roster
        rows = rows + [(TENANT_A, "13_17", "9-12", False)] * 40
    roster = spark.createDataFrame(
        [(learner(i), *r) for i, r in enumerate(rows)],
        "learner_id_hash string, tenant_id string, age_band string, grade_band string, "
        "has_iep boolean",
    )
    published = k_anonymous_roster(roster, k).collect()
    combinations = Counter((r.tenant_id, r.age_band, r.grade_band, r.has_iep) for r in published)
    assert all(n >= k for n in combinations.values()), combinations
    by_tenant = Counter(r[0] for r in rows)
    kept = Counter(r.tenant_id for r in published)
    source = {learner(i): r for i, r in enumerate(rows)}
    for tenant, n in by_tenant.items():
        if n < k:
            assert kept[tenant] == 0  # too small to hide anyone in: nothing published
        else:
            assert n - kept[tenant] <= int(n * MAX_SUPPRESSED_SHARE)
    for r in published:
        tenant, age, grade, has_iep = source[r.learner_id_hash]
        assert r.tenant_id == tenant
        assert r.has_iep in (None, has_iep) and r.age_band in (None, age, *COARSE_AGES)
        assert r.grade_band in (None, grade, *COARSE_GRADES)
    # One level per tenant: IEP status is shown for all of a tenant's rows or for none.
    for tenant in kept:
        shown = {r.has_iep is not None for r in published if r.tenant_id == tenant}
        assert len(shown) == 1


COARSE_AGES = ("under_18", "18_plus", "not_provided")
COARSE_GRADES = ("K-5", "6-12", "not_provided")
