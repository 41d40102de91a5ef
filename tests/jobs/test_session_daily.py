"""session_daily: exact values at anonymized (cohort of 5 kept, of 4 suppressed), complementary
suppression of subjects against the tenant total; DP metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contracts.curated import ALL_SUBJECTS
from jobs.transforms.session_daily import UNMEASURED, session_daily
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
            # 5 learners in math, but learner 1's lone reading session (1 learner) is
            # suppressed and 'all' minus math would give it back (1 session, 240 minutes):
            # math, the smallest subject of >= k learners, is suppressed too.
            (TENANT_A, "math", None, None, None, None, None, None, True),
            # the 'all' row adds learner 1's 500-minute reading session, clamped to 240.
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


def test_anonymized_no_suppressed_subject_is_recoverable_from_the_total(
    spark: SparkSession,
) -> None:
    math = [event(i, i, "session", AT, subject="math", duration_minutes=20.0) for i in range(1, 7)]
    science = [
        event(10 + i, i, "session", AT, subject="science", duration_minutes=30.0)
        for i in range(1, 9)
    ]
    one_art = [event(30, 9, "session", AT, subject="art", duration_minutes=33.1)]
    no_subject = [event(40, 10, "session", AT, subject=None, duration_minutes=12.0)]
    learners = [(learner(i), TENANT_A, "13_17", "9-12", False, None) for i in range(1, 11)]

    def released(events: list) -> dict[str, tuple]:
        rows = session_daily(
            make_inputs(spark, events=events, learners=learners),
            make_context("session_daily", DAY, DAY),
        ).collect()
        return {
            r.subject: (r.insufficient_data, r.sessions, r.total_hours)
            for r in rows
            if r.tenant_id == TENANT_A  # the registry also lists tenant B, with no sessions
        }

    # Math (6) and science (8) alone: nothing is small, both are published.
    plain = released(math + science)
    assert plain["math"] == (False, 6, 2.0) and plain["science"] == (False, 8, 4.0)
    assert plain["all"] == (False, 14, 6.0)
    # One art session of 33.1 minutes by one learner: art is suppressed, and so is math (the
    # smallest subject of >= k learners), so 'all' minus the published subjects spans 7
    # learners, not 1.
    with_art = released(math + science + one_art)
    assert with_art["art"][0] and with_art["math"] == (True, None, None)
    assert with_art["science"] == (False, 8, 4.0) and with_art["all"][0] is False
    # A session without a subject is in 'all' only: it is never published alone either.
    with_unknown = released(math + science + no_subject)
    assert with_unknown["math"] == (True, None, None) and with_unknown["science"][0] is False
    assert "__no_subject" not in with_unknown
    # The residual always includes a whole suppressed subject of >= k learners (math: 6).
    assert with_art["all"][1] - with_art["science"][1] == 6 + 1
    assert with_unknown["all"][1] - with_unknown["science"][1] == 6 + 1


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


def test_dp_measures_the_day_totals_only_unless_the_plan_measures_subjects(
    spark: SparkSession,
) -> None:
    context = make_context("session_daily", DAY, DAY, level=PrivacyLevel.DP_MEDIUM)
    assert "subject_rows" in context.job_bounds.dp_withheld  # the shipped release plan
    rows = session_daily(five_and_four(spark), context).collect()
    assert len(rows) == 2 * 9  # every public key is still released
    subjects = [r for r in rows if r.subject != ALL_SUBJECTS]
    for row in subjects:  # suppressed rows, no noise drawn, no ε spent on them
        assert row.insufficient_data and row.sessions is None and row.active_learners is None
        assert row.noise_scales == {} and row.noise_mechanism == UNMEASURED
    totals_only = next(r for r in rows if r.subject == ALL_SUBJECTS).noise_scales

    plan = dataclasses.replace(
        context.job_bounds,
        dp_withheld=tuple(m for m in context.job_bounds.dp_withheld if m != "subject_rows"),
    )
    both = session_daily(five_and_four(spark), dataclasses.replace(context, job_bounds=plan))
    measured = {r.subject: r for r in both.collect() if r.tenant_id == TENANT_A}
    assert all(r.noise_scales for r in measured.values())
    # The totals' share is halved when subjects are measured too: Gaussian σ ∝ 1/√ρ (a
    # real-valued sum's σ sits on its sampler's grid, which moves it in the fourth digit).
    halved = measured[ALL_SUBJECTS].noise_scales
    for name in ("sessions", "active_learners", "total_hours"):
        assert halved[name] == pytest.approx(totals_only[name] * 2**0.5, rel=1e-3), name
