"""public_metrics: one row per metric key; exact at anonymized (6 kept, 4 suppressed); DP."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import SparkSession

from contracts.curated import PUBLIC_METRICS
from jobs.release import with_release_metadata
from jobs.transforms.public_metrics import public_metrics
from privacy_udfs import PrivacyLevel, seeded_random_source_for_tests
from tests.jobs.inputs import TENANT_A, TENANT_B, event, learner, make_context, make_inputs
from tests.jobs.test_platform_daily import DAY1, day_events, learners

MECHANISMS = {"pure": "discrete_laplace", "zcdp": "discrete_gaussian"}

END = DAY1 + dt.timedelta(days=6)
AT = dt.datetime(2025, 1, 8, 9, 0)
LABELS = [
    ("total_learners_active", "Active learners", 1),
    ("active_tenants", "Active schools and districts", 2),
    ("total_learning_hours", "Hours of learning", 3),
    ("total_sessions", "Learning sessions", 4),
    ("lessons_completed", "Lessons completed", 5),
    ("assessments_completed", "Assessments completed", 6),
    ("average_mastery_score", "Average mastery score (0-100)", 7),
]


def released(spark: SparkSession, events, learner_rows, context):
    cols = [
        "metric_key",
        "period_start",
        "period_end",
        "metric_value",
        "display_label",
        "display_order",
        "insufficient_data",
    ]
    inputs = make_inputs(spark, events=events, learners=learner_rows)
    return (
        public_metrics(inputs, context)
        .transform(with_release_metadata(PUBLIC_METRICS, context))
        .select(cols)
    )


def test_anonymized_exact_values_and_k5_suppression(spark: SparkSession) -> None:
    context = make_context("public_metrics", DAY1, END)
    actual = released(spark, day_events(), learners(), context)
    # 6 learners of 2 tenants; 11 sessions (7 on day 1, 4 on day 2) of 7 hours; scores 80, 60:
    # the mean score of 2 assessed learners is a cohort under k, suppressed on its own.
    values = [6.0, 2.0, 7.0, 11.0, 2.0, 2.0, None]
    expected = spark.createDataFrame(
        [
            (key, DAY1, END, value, label, order, value is None)
            for (key, label, order), value in zip(LABELS, values, strict=True)
        ],
        actual.schema,
    )
    assert_approx_df_equality(actual, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)

    # Five assessed learners: the mean of each learner's own mean score (learner 1: 90 and
    # 50 -> 70; learners 2-5: 80, 60, 100, 40), not the mean of the six scores (70).
    scores = [(1, 90.0), (1, 50.0), (2, 80.0), (3, 60.0), (4, 100.0), (5, 40.0)]
    assessed = [
        event(40 + n, who, "assessment_completed", AT, score=score, attempt=1)
        for n, (who, score) in enumerate(scores)
    ]
    mastery = {
        r.metric_key: r
        for r in released(spark, [*day_events(), *assessed], learners(), context).collect()
    }["average_mastery_score"]
    assert not mastery.insufficient_data
    assert mastery.metric_value == pytest.approx((70.0 + 80.0 + 60.0 + 100.0 + 40.0) / 5)

    four = [event(i, i, "session", AT, duration_minutes=10.0, tenant=TENANT_B) for i in range(1, 5)]
    small = released(
        spark,
        four,
        [(learner(i), TENANT_B, "13_17", "9-12", False, None) for i in range(1, 5)],
        context,
    )
    expected_small = spark.createDataFrame(
        [(key, DAY1, END, None, label, order, True) for key, label, order in LABELS], small.schema
    )
    assert_approx_df_equality(
        small, expected_small, 1e-9, ignore_row_order=True, ignore_nullable=True
    )


def test_dp_metadata_and_errors_within_scale(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS", "1")
    context = make_context(
        "public_metrics",
        DAY1,
        END,
        level=PrivacyLevel.DP_HIGH,
        random_source=seeded_random_source_for_tests(5),
    )
    many = [
        event(100 + i, 100 + i, "session", AT, duration_minutes=60.0, tenant=TENANT_A)
        for i in range(400)
    ]
    many_learners = [(learner(100 + i), TENANT_A, "13_17", "9-12", False, None) for i in range(400)]
    inputs = make_inputs(spark, events=many, learners=many_learners)
    rows = {r.metric_key: r for r in public_metrics(inputs, context).collect()}
    assert sorted(rows) == sorted(key for key, _, _ in LABELS)
    for r in rows.values():
        assert r.epsilon == pytest.approx(context.epsilon)
        assert r.delta == context.delta
        assert MECHANISMS[context.job_bounds.accounting] in r.noise_mechanism
        # a single decision on the noisy learner count suppresses all totals or none; the
        # mean score has its own (no learner of this platform took an assessment)
        if r.metric_key == "average_mastery_score":
            assert r.insufficient_data and r.metric_value is None
        else:
            assert r.insufficient_data is rows["total_learners_active"].insufficient_data
    learners_row = rows["total_learners_active"]
    if not learners_row.insufficient_data:
        assert learners_row.metric_value >= 5
        assert (
            abs(learners_row.metric_value - 400) <= 20 * learners_row.noise_scales["metric_value"]
        )
        hours = rows["total_learning_hours"]
        assert abs(hours.metric_value - 400) <= 20 * hours.noise_scales["metric_value"]
