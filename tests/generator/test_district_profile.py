"""The district profile: realistic district sizes and activity (issue 14's reference shape)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.generate import GeneratorConfig, Profile, district_events, generate_raw_tables
from jobs.generator.profiles import district_sizes

SIZES = (2_000, 200)
DAYS = 28
DISTRICT = GeneratorConfig(
    events=district_events(sum(SIZES), DAYS),
    seed=3,
    days=DAYS,
    profile=Profile.DISTRICT,
    tenant_learners=SIZES,
    malformed_rate=0.01,
)


@pytest.fixture(scope="module")
def district(spark: SparkSession) -> dict[str, DataFrame]:
    tables = {name: df.cache() for name, df in generate_raw_tables(spark, DISTRICT).items()}
    for df in tables.values():
        df.count()
    return tables


def _valid_events(raw: dict[str, DataFrame]) -> DataFrame:
    """Events a run would use (the malformed ones filtered out as the validation does)."""
    minutes = (F.unix_timestamp("session_ended_at") - F.unix_timestamp("session_started_at")) / 60
    return raw["events"].where(
        F.col("learner_id").isNotNull()
        & (F.year("occurred_at") < 2090)
        & ((F.col("event_type") != "session") | minutes.between(0, 1440))
        & F.col("event_type").isin(
            "session",
            "lesson_completed",
            "assessment_completed",
            "iep_goal_measurement",
            "course_enrolled",
            "course_completed",
        )
    )


def _big_tenant(raw: dict[str, DataFrame]) -> str:
    sizes = raw["learners"].groupBy("tenant_id").count().orderBy(F.desc("count")).first()
    assert sizes is not None
    return str(sizes["tenant_id"])


def test_default_sizes_span_200_to_20000_learners() -> None:
    assert district_sizes(3) == (20_000, 2_000, 200)
    assert district_sizes(2) == (20_000, 200)
    assert DISTRICT.tenant_count == 2 and DISTRICT.learner_count == 2_200


def test_district_sizes_courses_and_iep_share(district: dict[str, DataFrame]) -> None:
    per_tenant = (
        district["learners"]
        .groupBy("tenant_id")
        .agg(F.count("*").alias("learners"), F.avg(F.col("has_iep").cast("double")).alias("iep"))
    )
    rows = per_tenant.collect()
    assert sorted(r["learners"] for r in rows) == sorted(SIZES)
    registry = district["tenants"].select("tenant_id")
    assert registry.count() == 2
    assert per_tenant.join(registry, "tenant_id", "left_anti").count() == 0
    big = next(r for r in rows if r["learners"] == 2_000)
    assert 0.055 <= big["iep"] <= 0.095  # 7.5 % of 2,000 = 150 IEP learners
    courses = district["courses"].groupBy("tenant_id").count().collect()
    assert sorted(r["count"] for r in courses) == [3, 30]  # 30 courses per 2,000 learners


def test_weekly_and_monthly_active_shares_and_partial_weeks(
    district: dict[str, DataFrame],
) -> None:
    events = _valid_events(district).where(F.col("tenant_id") == _big_tenant(district))
    week = F.floor(F.datediff("occurred_at", F.lit(DISTRICT.start)) / 7)
    weekly = [
        r["active"] / 2_000
        for r in events.groupBy(week.alias("week"))
        .agg(F.countDistinct("learner_id").alias("active"))
        .collect()
    ]
    assert len(weekly) == DAYS // 7
    assert all(0.35 <= share <= 0.55 for share in weekly), weekly  # ~900 of 2,000
    monthly = events.select("learner_id").distinct().count() / 2_000  # the 28-day window
    assert 0.6 <= monthly <= 0.8, monthly  # ~1,400 of 2,000
    # Active on some school days only: most active learner-weeks have fewer than 5 days.
    days = events.groupBy("learner_id", week.alias("week")).agg(
        F.countDistinct(F.to_date("occurred_at")).alias("days")
    )
    stats = days.agg(F.avg("days").alias("mean"), F.max("days").alias("most")).first()
    assert stats is not None
    assert 1.3 <= stats["mean"] <= 3.5 and stats["most"] <= 5
    # The window starts on a Monday: school days are Monday to Friday, except sessions
    # running past midnight and the first or last day of learners who join or leave.
    weekend = events.where(F.dayofweek("occurred_at").isin(1, 7)).count()
    assert DISTRICT.start.weekday() == 0 and weekend <= 0.03 * events.count()


def test_course_sizes_span_a_few_to_a_few_hundred_learners(
    district: dict[str, DataFrame],
) -> None:
    events = _valid_events(district).where(
        (F.col("tenant_id") == _big_tenant(district)) & F.col("course_id").isNotNull()
    )
    sizes = sorted(
        r["n"]
        for r in events.groupBy("course_id").agg(F.countDistinct("learner_id").alias("n")).collect()
    )
    assert len(sizes) == 30
    assert sizes[0] <= 20 and 150 <= sizes[-1] <= 450, sizes  # ~6 to ~320


def test_district_output_is_deterministic_per_seed(spark: SparkSession) -> None:
    small = GeneratorConfig(
        events=3_000, seed=9, days=14, profile=Profile.DISTRICT, tenant_learners=(200, 300)
    )
    first = generate_raw_tables(spark, small)["events"]
    again = generate_raw_tables(spark, replace(small, partitions=5))["events"]
    other_seed = generate_raw_tables(spark, replace(small, seed=10))["events"]
    assert first.count() == again.count() == 3_000
    assert first.exceptAll(again).count() == 0
    assert first.join(other_seed, "event_id").count() == 0
