"""session_daily: exact values at anonymized (cohort of 5 kept, of 4 suppressed); DP metadata."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.transforms.session_daily import session_daily
from privacy_udfs import PrivacyLevel, seeded_random_source_for_tests
from tests.jobs.inputs import TENANT_A, TENANT_B, event, learner, make_context, make_inputs

DAY = dt.date(2025, 1, 6)
AT = dt.datetime(2025, 1, 6, 10, 0)


def five_and_four(spark: SparkSession):
    events = (
        [
            event(i, i, "session", AT, subject="math", duration_minutes=10.0 * i, tenant=TENANT_A)
            for i in range(1, 6)
        ]
        + [
            event(
                10 + i,
                10 + i,
                "session",
                AT,
                subject="math",
                duration_minutes=30.0,
                tenant=TENANT_B,
            )
            for i in range(1, 5)
        ]
        + [event(99, 1, "session", AT, subject="reading", duration_minutes=500.0, tenant=TENANT_A)]
    )
    learners = [(learner(i), TENANT_A, "13_17", "9-12", False, None) for i in range(1, 6)] + [
        (learner(10 + i), TENANT_B, "under_13", "3-5", False, None) for i in range(1, 5)
    ]
    return make_inputs(spark, events=events, learners=learners)


def test_anonymized_exact_values_and_k5_suppression(spark: SparkSession) -> None:
    inputs = five_and_four(spark)
    actual_df = (
        session_daily(inputs, make_context("session_daily", DAY, DAY))
        .where(F.col("subject").isin("math", "all"))
        .select(
            "tenant_id",
            "subject",
            "sessions",
            "active_learners",
            "avg_duration_minutes",
            "median_duration_minutes",
            "max_duration_minutes",
            "total_hours",
            "insufficient_data",
        )
    )
    expected_df = spark.createDataFrame(
        [
            # 5 learners in math: kept; the 'all' row adds learner 1's 500-minute reading
            # session, clamped to 240.
            (TENANT_A, "math", 5, 5, 30.0, 30.0, 50.0, 150 / 60, False),
            (TENANT_A, "all", 6, 5, 390 / 6, 35.0, 240.0, 390 / 60, False),
            # 4 learners: identifiers and the flag stay, every metric is null.
            (TENANT_B, "math", None, None, None, None, None, None, True),
            (TENANT_B, "all", None, None, None, None, None, None, True),
        ],
        "tenant_id string, subject string, sessions long, active_learners long, "
        "avg_duration_minutes double, median_duration_minutes double, max_duration_minutes double, "
        "total_hours double, insufficient_data boolean",
    )
    assert_df_equality(
        actual_df,
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
        allow_nan_equality=True,
        ignore_column_order=False,
    )


def test_every_public_key_is_released(spark: SparkSession) -> None:
    released = session_daily(
        five_and_four(spark), make_context("session_daily", DAY, DAY + dt.timedelta(days=1))
    )
    # 2 tenants x 2 days x (8 subjects + 'all')
    assert released.count() == 2 * 2 * 9


def test_dp_level_noises_and_suppresses_on_the_noisy_count(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS", "1")
    context = make_context(
        "session_daily",
        DAY,
        DAY,
        level=PrivacyLevel.DP_LOW,
        random_source=seeded_random_source_for_tests(3),
    )
    released = session_daily(five_and_four(spark), context).localCheckpoint()
    rows = released.collect()
    assert {r.noise_mechanism for r in rows} and all(r.noise_mechanism != "none" for r in rows)
    for r in rows:
        if r.insufficient_data:
            assert r.sessions is None and r.avg_duration_minutes is None and r.total_hours is None
        else:
            assert r.sessions is not None and r.noise_scales["sessions"] > 0
            assert "total_hours" in r.noise_scales and "total_minutes" not in r.noise_scales
