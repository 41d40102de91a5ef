"""mastery_progress, weekly_active and iep_progress at anonymized: hand-computed values,
a cohort of 5 kept and a cohort of 4 suppressed, complementary suppression of the parts of
published totals, public key lists for every tenant."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F

from contracts.curated import ALL_CATEGORIES
from contracts.raw import IEP_CATEGORIES
from jobs.prepare import PreparedInputs
from jobs.transforms.common import public_keys
from jobs.transforms.iep_progress import SUPPORT_LEVEL_KEYS, UNMEASURED, iep_progress
from jobs.transforms.mastery_progress import mastery_progress
from jobs.transforms.weekly_active import public_weeks, weekly_active
from privacy_udfs import PrivacyLevel, seeded_random_source_for_tests
from privacy_udfs.randomness import SEEDED_RANDOMNESS_ENV
from tests.jobs.inputs import TENANT_A, TENANT_B, event, learner, make_context, make_inputs

MONDAY = dt.date(2025, 1, 6)
AT = dt.datetime(2025, 1, 6, 10, 0)


def day(n: int) -> dt.datetime:
    return AT + dt.timedelta(days=n)


def learners_of(tenant: str, ids: range, age: str = "13_17") -> list[tuple]:
    return [(learner(i), tenant, age, "9-12", True, None) for i in ids]


def test_mastery_progress(spark: SparkSession) -> None:
    events = []
    for i in range(1, 6):  # tenant A: first 50, then 80+i after i days
        events.append(
            event(100 + i, i, "assessment_completed", day(0), subject="math", score=50.0, attempt=1)
        )
        events.append(
            event(
                200 + i,
                i,
                "assessment_completed",
                day(i),
                subject="math",
                score=80.0 + i,
                attempt=2,
            )
        )
    for i in range(11, 15):  # tenant B: 4 learners
        events.append(
            event(
                300 + i,
                i,
                "assessment_completed",
                day(0),
                subject="math",
                score=90.0,
                tenant=TENANT_B,
            )
        )
    inputs = make_inputs(
        spark,
        events=events,
        learners=learners_of(TENANT_A, range(1, 6)) + learners_of(TENANT_B, range(11, 15)),
    )
    end = MONDAY + dt.timedelta(days=6)
    actual_df = (
        mastery_progress(inputs, make_context("mastery_progress", MONDAY, end))
        .where(F.col("subject") == "math")
        .select(
            "tenant_id",
            "learners_assessed",
            "assessments_completed",
            "mean_mastery",
            "improvement_delta",
            "median_days_to_mastery",
            "insufficient_data",
            "period_start",
            "period_end",
        )
    )
    expected_df = spark.createDataFrame(
        [
            (TENANT_A, 5, 10, 83.0, 33.0, 3.0, False, MONDAY, end),
            (TENANT_B, None, None, None, None, None, True, MONDAY, end),
        ],
        "tenant_id string, learners_assessed long, assessments_completed long, mean_mastery double, "
        "improvement_delta double, median_days_to_mastery double, insufficient_data boolean, "
        "period_start date, period_end date",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_weekly_active(spark: SparkSession) -> None:
    events = [
        event(i, i, "session", day(1), subject="math", duration_minutes=30.0) for i in range(1, 6)
    ]
    events += [
        event(10 + i, i, "session", day(8), subject="math", duration_minutes=30.0)
        for i in (1, 2, 3, 6, 7)
    ]
    events += [
        event(20 + i, i, "session", day(1), subject="math", duration_minutes=30.0, tenant=TENANT_B)
        for i in range(11, 15)
    ]
    learners = learners_of(TENANT_A, range(1, 8)) + learners_of(
        TENANT_B, range(11, 15), age="under_13"
    )
    inputs = make_inputs(spark, events=events, learners=learners)
    released = weekly_active(
        inputs, make_context("weekly_active", MONDAY, MONDAY + dt.timedelta(days=13))
    )
    actual_df = released.select(
        "tenant_id",
        "week_start",
        "iso_week",
        "active_learners",
        "new_learners",
        "returning_learners",
        "avg_sessions_per_learner",
        "avg_minutes_per_learner",
        "engagement_rate",
        "insufficient_data",
    )
    week2 = MONDAY + dt.timedelta(days=7)
    expected_df = spark.createDataFrame(
        [
            (TENANT_A, MONDAY, "2025-W02", 5, 5, 0, 1.0, 30.0, 5 / 7, False),
            (TENANT_A, week2, "2025-W03", 5, 2, 3, 1.0, 30.0, 5 / 7, False),
            (TENANT_B, MONDAY, "2025-W02", None, None, None, None, None, None, True),
            (TENANT_B, week2, "2025-W03", None, None, None, None, None, None, True),
        ],
        "tenant_id string, week_start date, iso_week string, active_learners long, new_learners long, "
        "returning_learners long, avg_sessions_per_learner double, avg_minutes_per_learner double, "
        "engagement_rate double, insufficient_data boolean",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
    first_week = released.where(
        (F.col("tenant_id") == TENANT_A) & (F.col("week_start") == MONDAY)
    ).first()
    assert first_week is not None
    assert first_week.age_band_distribution == {
        "under_13": None,
        "13_17": 5,
        "18_plus": None,
        "not_provided": None,
    }
    assert first_week.churned_learners is None  # nobody was active the week before: 0 < k


def test_weekly_bands_are_not_recoverable_from_active_learners(spark: SparkSession) -> None:
    # 7 active learners: 5 aged 13-17 and 2 under 13. The 2 are suppressed; published next
    # to active_learners = 7, the 5 would give them back, so the 5 is suppressed too.
    events = [
        event(i, i, "session", day(1), subject="math", duration_minutes=30.0) for i in range(1, 8)
    ]
    learners = learners_of(TENANT_A, range(1, 6)) + learners_of(
        TENANT_A, range(6, 8), age="under_13"
    )
    week = (
        weekly_active(
            make_inputs(spark, events=events, learners=learners),
            make_context("weekly_active", MONDAY, MONDAY + dt.timedelta(days=6)),
        )
        .where(F.col("tenant_id") == TENANT_A)
        .first()
    )
    assert week is not None and week.active_learners == 7
    assert week.age_band_distribution == {
        "under_13": None,
        "13_17": None,
        "18_plus": None,
        "not_provided": None,
    }
    # All 7 share one grade band: nothing small is exposed, the 7 is published.
    assert week.grade_band_distribution == {
        "K-2": None,
        "3-5": None,
        "6-8": None,
        "9-12": 7,
        "not_provided": None,
    }


def test_weekly_counts_add_up_under_dp_and_small_bands_stay_hidden(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEEDED_RANDOMNESS_ENV, "1")  # a fixed draw, not luck
    # Week 1: 240 learners; week 2: 150 of them again and 60 new. Ages: 200 aged 13-17,
    # 100 under 13 (a band of tens), none 18+ (an empty band).
    week1, week2 = range(1, 241), [*range(1, 151), *range(241, 301)]
    events = [event(i, i, "session", day(1), subject="math", duration_minutes=30.0) for i in week1]
    events += [
        event(1000 + i, i, "session", day(8), subject="math", duration_minutes=30.0) for i in week2
    ]
    learners = learners_of(TENANT_A, range(1, 201)) + learners_of(
        TENANT_A, range(201, 301), age="under_13"
    )
    inputs = make_inputs(spark, events=events, learners=learners)
    context = make_context(
        "weekly_active",
        MONDAY,
        MONDAY + dt.timedelta(days=13),
        level=PrivacyLevel.DP_LOW,
        random_source=seeded_random_source_for_tests(3),
    )
    rows = [r for r in weekly_active(inputs, context).collect() if r.tenant_id == TENANT_A]
    assert len(rows) == 2 and not any(r.insufficient_data for r in rows)
    for row in rows:
        # Parts and totals agree (least squares on the noisy values, post-processing).
        assert row.new_learners + row.returning_learners == row.active_learners, row
        for bands in (row.age_band_distribution, row.grade_band_distribution):
            published = [v for v in bands.values() if v is not None]
            assert all(v >= 0 for v in published)
            if len(published) == len(bands):
                assert sum(published) == row.active_learners, row
            else:
                assert sum(published) <= row.active_learners, row
        # The empty 18+ band is not shown as noise: under k plus its error bar.
        assert row.age_band_distribution["18_plus"] is None
        assert row.grade_band_distribution["9-12"] is not None  # every learner's grade


def test_weekly_anonymized_releases_complete_weeks_only(spark: SparkSession) -> None:
    events = [
        event(i, i, "session", day(d), subject="math", duration_minutes=30.0)
        for i in range(1, 6)
        for d in (1, 8)
    ]
    inputs = make_inputs(spark, events=events, learners=learners_of(TENANT_A, range(1, 6)))
    # Monday 6 to Wednesday 15 January: the second week is incomplete and not released.
    released = weekly_active(
        inputs, make_context("weekly_active", MONDAY, MONDAY + dt.timedelta(days=9))
    )
    assert [r.week_start for r in released.select("week_start").distinct().collect()] == [MONDAY]


def test_iep_progress(spark: SparkSession) -> None:
    end = MONDAY + dt.timedelta(days=6)
    set_at = end - dt.timedelta(days=182)  # ~49.9% of the goal year elapsed
    goals = [
        (f"g{i}", TENANT_A, learner(i), "reading_fluency", 0.0, 100.0, set_at, "moderate")
        for i in range(1, 6)
    ]
    goals += [
        (f"g{i}", TENANT_B, learner(i), "reading_fluency", 0.0, 100.0, set_at, "intensive")
        for i in range(11, 15)
    ]
    events = [
        event(i, i, "iep_goal_measurement", day(1), goal_id=f"g{i}", measurement=40.0 + 5 * i)
        for i in range(1, 6)
    ]
    events += [
        event(
            i, i, "iep_goal_measurement", day(1), goal_id=f"g{i}", measurement=90.0, tenant=TENANT_B
        )
        for i in range(11, 15)
    ]
    inputs = make_inputs(
        spark,
        events=events,
        iep_goals=goals,
        learners=learners_of(TENANT_A, range(1, 6)) + learners_of(TENANT_B, range(11, 15)),
    )
    released = (
        iep_progress(inputs, make_context("iep_progress", MONDAY, end))
        .where(F.col("iep_category") == "reading_fluency")
        .localCheckpoint()
    )
    actual_df = released.select(
        "tenant_id",
        "iep_category",
        "learners_with_goals",
        "mean_progress_pct",
        "share_on_track",
        "insufficient_data",
    )
    expected_df = spark.createDataFrame(
        [
            (TENANT_A, "reading_fluency", 5, 55.0, 0.8, False),
            (TENANT_B, "reading_fluency", None, None, None, True),
        ],
        "tenant_id string, iep_category string, learners_with_goals long, mean_progress_pct double, "
        "share_on_track double, insufficient_data boolean",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
    distributions = {r.tenant_id: r.support_level_distribution for r in released.collect()}
    # Every support level is a key; the empty ones are suppressed (they add up to 0).
    assert distributions == {
        TENANT_A: {"minimal": None, "moderate": 5, "intensive": None, "not_provided": None},
        TENANT_B: None,
    }


def test_iep_latest_measurement_is_per_goal_learner_and_tenant(spark: SparkSession) -> None:
    # Goal ids are only unique within a learner's plan: all six learners have a goal "g1".
    end = MONDAY + dt.timedelta(days=6)
    goals = [
        ("g1", TENANT_A, learner(i), "reading_fluency", 0.0, 100.0, MONDAY, "moderate")
        for i in range(1, 6)
    ] + [("g1", TENANT_B, learner(21), "reading_fluency", 0.0, 100.0, MONDAY, "moderate")]
    events = [
        event(i, i, "iep_goal_measurement", day(1), goal_id="g1", measurement=10.0 * i)
        for i in range(2, 6)
    ]
    # Learner 1's measurement is later than learners 2-5's; tenant B's "g1" is the latest.
    events += [event(1, 1, "iep_goal_measurement", day(2), goal_id="g1", measurement=90.0)]
    events += [
        event(
            21, 21, "iep_goal_measurement", day(3), goal_id="g1", measurement=0.0, tenant=TENANT_B
        )
    ]
    inputs = make_inputs(
        spark,
        events=events,
        iep_goals=goals,
        learners=learners_of(TENANT_A, range(1, 6)) + learners_of(TENANT_B, range(21, 22)),
    )
    row = (
        iep_progress(inputs, make_context("iep_progress", MONDAY, end))
        .where((F.col("tenant_id") == TENANT_A) & (F.col("iep_category") == "reading_fluency"))
        .first()
    )
    # Each learner's own latest measurement: (90 + 20 + 30 + 40 + 50) / 5. Keyed on the
    # goal id alone, every learner got tenant B's 0.
    assert row is not None and row.learners_with_goals == 5
    assert row.mean_progress_pct == 46.0


def test_iep_tenant_with_3_learners_does_not_reveal_their_category(spark: SparkSession) -> None:
    # Tenant B has 3 IEP learners, one with a goal in reading; tenant A has 5 in reading.
    end = MONDAY + dt.timedelta(days=6)
    goals = [
        (f"g{i}", TENANT_A, learner(i), "reading_fluency", 0.0, 100.0, MONDAY, "moderate")
        for i in range(1, 6)
    ] + [("g21", TENANT_B, learner(21), "reading_fluency", 0.0, 100.0, MONDAY, "intensive")]
    events = [
        event(i, i, "iep_goal_measurement", day(1), goal_id=f"g{i}", measurement=50.0)
        for i in range(1, 6)
    ]
    events.append(
        event(
            21, 21, "iep_goal_measurement", day(1), goal_id="g21", measurement=50.0, tenant=TENANT_B
        )
    )
    inputs = make_inputs(
        spark,
        events=events,
        iep_goals=goals,
        learners=learners_of(TENANT_A, range(1, 6)) + learners_of(TENANT_B, range(21, 24)),
    )
    rows = iep_progress(inputs, make_context("iep_progress", MONDAY, end)).collect()
    tenant_b = [r for r in rows if r.tenant_id == TENANT_B]
    # One row per category of the public list, every one suppressed and alike: which
    # category the learner's goal is in cannot be told from the release.
    assert sorted(r.iep_category for r in tenant_b) == sorted([*IEP_CATEGORIES, ALL_CATEGORIES])
    metrics = {
        (
            r.learners_with_goals,
            r.mean_progress_pct,
            r.share_on_track,
            r.support_level_distribution,
            r.insufficient_data,
        )
        for r in tenant_b
    }
    assert metrics == {(None, None, None, None, True)}
    # Tenant A gets every category too, the empty ones suppressed.
    assert len([r for r in rows if r.tenant_id == TENANT_A]) == len(IEP_CATEGORIES) + 1


def _two_category_tenant(spark: SparkSession) -> PreparedInputs:
    """Tenant A: learners 1-5 in reading (progress 50), 6-7 in math (progress 80)."""
    goals = [
        (f"g{i}", TENANT_A, learner(i), category, 0.0, 100.0, MONDAY, "moderate")
        for i, category in [(i, "reading_fluency") for i in range(1, 6)]
        + [(6, "math_calculation"), (7, "math_calculation")]
    ]
    events = [
        event(
            i, i, "iep_goal_measurement", day(1), goal_id=f"g{i}", measurement=50.0 + 30 * (i > 5)
        )
        for i in range(1, 8)
    ]
    return make_inputs(
        spark, events=events, iep_goals=goals, learners=learners_of(TENANT_A, range(1, 8))
    )


def test_iep_categories_are_suppressed_against_the_tenants_pooled_row(spark: SparkSession) -> None:
    inputs = _two_category_tenant(spark)
    end = MONDAY + dt.timedelta(days=6)
    rows = {
        r.iep_category: r
        for r in iep_progress(inputs, make_context("iep_progress", MONDAY, end)).collect()
        if r.tenant_id == TENANT_A
    }
    pooled = rows.pop(ALL_CATEGORIES)
    # The pooled row: every learner with a goal once, the mean of the learners' progress.
    assert (pooled.learners_with_goals, pooled.insufficient_data) == (7, False)
    assert pooled.mean_progress_pct == pytest.approx((5 * 50 + 2 * 80) / 7)
    assert pooled.support_level_distribution["moderate"] == 7
    # Math (2 learners) is under k; reading alone published would give math as 7 - 5:
    # reading is suppressed with it, so no category can be derived from the pooled row.
    assert {c: r.insufficient_data for c, r in rows.items()} == dict.fromkeys(IEP_CATEGORIES, True)
    assert {r.learners_with_goals for r in rows.values()} == {None}


def test_iep_at_dp_measures_the_pooled_row_only_unless_the_plan_says_otherwise(
    spark: SparkSession,
) -> None:
    inputs = _two_category_tenant(spark)
    end = MONDAY + dt.timedelta(days=6)
    context = make_context("iep_progress", MONDAY, end, level=PrivacyLevel.DP_MEDIUM)
    assert "category_rows" in context.job_bounds.dp_withheld  # the shipped release plan
    rows = [r for r in iep_progress(inputs, context).collect() if r.tenant_id == TENANT_A]
    by_category = {r.iep_category: r for r in rows}
    pooled = by_category.pop(ALL_CATEGORIES)
    assert set(by_category) == set(IEP_CATEGORIES)
    for row in by_category.values():  # released as suppressed rows, no noise drawn
        assert row.insufficient_data and row.learners_with_goals is None
        assert row.noise_scales == {} and row.noise_mechanism == UNMEASURED
    # Support levels are withheld too (null: see the next test), so the pooled row's
    # three metrics take the table's whole share.
    assert "support_level_distribution" in context.job_bounds.dp_withheld
    pooled_only = pooled.noise_scales["learners_with_goals"]
    assert pooled_only > 0

    def released_with(withheld: tuple[str, ...]) -> dict[str, Row]:
        plan = dataclasses.replace(context.job_bounds, dp_withheld=withheld)
        released = iep_progress(inputs, dataclasses.replace(context, job_bounds=plan))
        return {r.iep_category: r for r in released.collect() if r.tenant_id == TENANT_A}

    # Gaussian σ ∝ 1/√ρ. Support levels measured: 30 % of the share goes to them.
    with_levels = released_with(("category_rows",))[ALL_CATEGORIES]
    assert with_levels.noise_scales["learners_with_goals"] == pytest.approx(
        pooled_only / 0.7**0.5, rel=1e-6
    )
    # Categories measured too: the pooled row keeps half of the share, 70 % of it its own.
    measured = released_with(())
    assert all(r.noise_scales for r in measured.values())
    both = measured[ALL_CATEGORIES].noise_scales["learners_with_goals"]
    assert both == pytest.approx(pooled_only / 0.35**0.5, rel=1e-6)


def test_iep_support_levels_are_null_at_dp_unless_the_plan_measures_them(
    spark: SparkSession,
) -> None:
    """200 IEP learners: the pooled row publishes at dp_medium (its error bar is ±~25)."""
    learners = range(1, 201)
    goals = [
        (f"g{i}", TENANT_A, learner(i), "reading_fluency", 0.0, 100.0, MONDAY, "moderate")
        for i in learners
    ]
    events = [
        event(i, i, "iep_goal_measurement", day(1), goal_id=f"g{i}", measurement=60.0)
        for i in learners
    ]
    inputs = make_inputs(
        spark, events=events, iep_goals=goals, learners=learners_of(TENANT_A, learners)
    )
    context = make_context(
        "iep_progress", MONDAY, MONDAY + dt.timedelta(days=6), level=PrivacyLevel.DP_MEDIUM
    )

    def pooled_row(withheld: tuple[str, ...]) -> Row:
        plan = dataclasses.replace(context.job_bounds, dp_withheld=withheld)
        released = iep_progress(inputs, dataclasses.replace(context, job_bounds=plan))
        return next(
            r
            for r in released.collect()
            if r.tenant_id == TENANT_A and r.iep_category == ALL_CATEGORIES
        )

    shipped = pooled_row(context.job_bounds.dp_withheld)
    assert not shipped.insufficient_data
    assert shipped.support_level_distribution is None  # withheld: not measured, null
    measured = pooled_row(("category_rows",))
    assert not measured.insufficient_data
    assert set(measured.support_level_distribution) == set(SUPPORT_LEVEL_KEYS)
    assert measured.support_level_distribution["moderate"] > 100  # 200, noisy


def test_public_weeks_are_the_mondays_of_the_period_and_complete_weeks_when_exact() -> None:
    def weeks(start: dt.date, end: dt.date, level: PrivacyLevel) -> list[dt.date]:
        return public_weeks(make_context("weekly_active", start, end, level=level))

    # Thursday 2 Jan .. Wednesday 22 Jan 2025: Mondays 6, 13, 20; only 6 and 13 end inside.
    start, end = dt.date(2025, 1, 2), dt.date(2025, 1, 22)
    mondays = [dt.date(2025, 1, 6), dt.date(2025, 1, 13), dt.date(2025, 1, 20)]
    assert weeks(start, end, PrivacyLevel.DP_MEDIUM) == mondays
    assert weeks(start, end, PrivacyLevel.ANONYMIZED) == mondays[:2]
    assert weeks(dt.date(2025, 1, 6), dt.date(2025, 1, 6), PrivacyLevel.DP_MEDIUM) == mondays[:1]
    # Tuesday to Sunday: no Monday, no week (and an empty key list, typed as dates).
    assert weeks(dt.date(2025, 1, 7), dt.date(2025, 1, 12), PrivacyLevel.DP_MEDIUM) == []


def test_public_keys_are_the_product_of_the_lists_with_their_types(spark: SparkSession) -> None:
    inputs = make_inputs(spark, events=[])
    keys = public_keys(
        inputs, {"tenant_id": [TENANT_A, TENANT_B], "week_start": [dt.date(2025, 1, 6)]}
    )
    expected = spark.createDataFrame(
        [(TENANT_A, dt.date(2025, 1, 6)), (TENANT_B, dt.date(2025, 1, 6))],
        "tenant_id string, week_start date",
    )
    assert_df_equality(keys, expected, ignore_row_order=True)
    empty = public_keys(inputs, {"tenant_id": [], "week_start": []})
    assert empty.schema.simpleString() == "struct<tenant_id:string,week_start:date>"
    assert empty.count() == 0
