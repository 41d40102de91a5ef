from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.raw import IEP_CATEGORIES, RAW_TABLES, SUBJECTS, EventType
from contracts.spark_types import spark_schema
from jobs.generate import RARE_CATEGORY, RARE_SUBJECT, generate_raw_tables
from tests.generator.conftest import SCALE

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def test_schemas_equal_the_contract_in_spark_and_in_delta(
    spark: SparkSession, raw: dict[str, DataFrame]
) -> None:
    generated = generate_raw_tables(spark, SCALE)
    assert set(generated) == set(RAW_TABLES) == set(raw)
    for name, columns in RAW_TABLES.items():
        assert generated[name].schema == spark_schema(columns), name
        assert raw[name].schema == spark_schema(columns), name


def test_exact_row_counts(raw: dict[str, DataFrame]) -> None:
    assert raw["events"].count() == SCALE.events
    assert raw["learners"].count() == SCALE.learner_count
    learners_per_goal = raw["iep_goals"].groupBy("learner_id").count()
    assert learners_per_goal.where("count < 1 OR count > 3").count() == 0
    iep_learners = raw["learners"].where("has_iep").count()
    assert learners_per_goal.count() == iep_learners
    assert 0.08 <= iep_learners / SCALE.learner_count <= 0.16


def test_ids_are_uuid_shaped_and_unique(raw: dict[str, DataFrame]) -> None:
    learners, courses, goals = raw["learners"], raw["courses"], raw["iep_goals"]
    for df, column in [
        (learners, "learner_id"),
        (learners, "tenant_id"),
        (courses, "course_id"),
        (goals, "goal_id"),
        (raw["events"], "event_id"),
    ]:
        assert df.where(~F.col(column).rlike(UUID_PATTERN)).count() == 0, column
    assert learners.select("learner_id").distinct().count() == learners.count()
    assert courses.select("course_id").distinct().count() == courses.count()


def test_events_reference_real_learners_courses_and_goals(raw: dict[str, DataFrame]) -> None:
    events = raw["events"].where(F.col("learner_id").isNotNull())
    learners = raw["learners"].select("learner_id", "tenant_id")
    assert events.join(learners, ["learner_id", "tenant_id"], "left_anti").count() == 0
    with_course = events.where(F.col("course_id").isNotNull())
    courses = raw["courses"].select("course_id", "tenant_id", "subject")
    assert (
        with_course.join(courses, ["course_id", "tenant_id", "subject"], "left_anti").count() == 0
    )
    measured = events.where(F.col("event_type") == EventType.IEP_GOAL_MEASUREMENT.value)
    goals = raw["iep_goals"].select("goal_id", "learner_id")
    assert measured.count() > 0
    assert measured.join(goals, ["goal_id", "learner_id"], "left_anti").count() == 0
    iep_learners = raw["learners"].where("has_iep").select("learner_id")
    assert measured.join(iep_learners, "learner_id", "left_anti").count() == 0


def _small_groups(df: DataFrame, key: str) -> set[str]:
    counts = df.groupBy(key).agg(F.countDistinct("learner_id").alias("n")).where("n < 5")
    return {row[key] for row in counts.collect()}


def test_small_cohorts_exist(raw: dict[str, DataFrame]) -> None:
    learners, events = raw["learners"], raw["events"].where(F.col("learner_id").isNotNull())
    assert _small_groups(learners, "tenant_id")
    assert len(_small_groups(events.where(F.col("course_id").isNotNull()), "course_id")) >= 1
    assert RARE_SUBJECT in _small_groups(events, "subject")
    assert RARE_CATEGORY in _small_groups(raw["iep_goals"], "category")
    assert RARE_SUBJECT in SUBJECTS and RARE_CATEGORY in IEP_CATEGORIES
    tenant_sizes = sorted(r["count"] for r in learners.groupBy("tenant_id").count().collect())
    assert tenant_sizes[-1] >= 3 * tenant_sizes[len(tenant_sizes) // 2]  # Zipf-skewed
    subjects = {r["subject"] for r in events.select("subject").distinct().collect()} - {None}
    assert subjects <= set(SUBJECTS) and len(subjects) >= 4  # Zipf-skewed: rare ones may lack
    categories = raw["iep_goals"].select("category").distinct().collect()
    assert {r["category"] for r in categories} == set(IEP_CATEGORIES)


def test_optional_values_are_sometimes_missing_and_ages_span_bands(
    raw: dict[str, DataFrame],
) -> None:
    learners = raw["learners"]
    for column in ("grade_level", "state_province", "date_of_birth"):
        assert learners.where(F.col(column).isNull()).count() > 0, column
    age = F.floor(F.months_between(F.lit(SCALE.start), "date_of_birth") / 12)
    bands = learners.where(F.col("date_of_birth").isNotNull()).select(
        F.when(age < 13, "under_13").when(age < 18, "13_17").otherwise("18_plus").alias("b")
    )
    assert {r["b"] for r in bands.distinct().collect()} == {"under_13", "13_17", "18_plus"}
    grades = learners.agg(F.min("grade_level"), F.max("grade_level")).first()
    assert grades is not None and tuple(grades) == (0, 12)


def test_session_lengths_are_heavy_tailed(raw: dict[str, DataFrame]) -> None:
    minutes = (F.unix_timestamp("session_ended_at") - F.unix_timestamp("session_started_at")) / 60
    sessions = raw["events"].where(F.col("event_type") == "session").select(minutes.alias("m"))
    valid = sessions.where("m > 0 AND m <= 1440")
    median, p99 = valid.approxQuantile("m", [0.5, 0.99], 0.001)
    assert 15 <= median <= 25
    assert p99 > 120
    assert valid.where("m > 120").count() / valid.count() > 0.01


def test_learners_are_new_returning_and_churned_across_weeks(raw: dict[str, DataFrame]) -> None:
    events = raw["events"].where(F.col("learner_id").isNotNull() & (F.year("occurred_at") < 2090))
    per_learner = events.groupBy("learner_id").agg(
        F.min("occurred_at").alias("first"),
        F.max("occurred_at").alias("last"),
        F.countDistinct(F.to_date("occurred_at")).alias("active_days"),
    )
    window_days = SCALE.days
    first_week = F.floor(F.datediff("first", F.lit(SCALE.start)) / 7)
    last_week = F.floor(F.datediff("last", F.lit(SCALE.start)) / 7)
    stats = per_learner.agg(
        F.countDistinct(first_week).alias("first_weeks"),
        F.sum((last_week < window_days // 7 - 1).cast("int")).alias("churned"),
        F.sum((F.col("active_days") < F.datediff("last", "first") + 1).cast("int")).alias("gaps"),
        F.count("*").alias("n"),
    ).first()
    assert stats is not None
    assert stats["first_weeks"] == window_days // 7  # new learners appear every week
    assert stats["churned"] > 0.05 * stats["n"]
    assert stats["gaps"] > 0.5 * stats["n"]  # active on some days, not others
    assert isinstance(SCALE.start, dt.date)


def test_tenant_registry_lists_every_tenant_once_joined_before_its_learners(
    raw: dict[str, DataFrame],
) -> None:
    tenants = raw["tenants"]
    assert tenants.count() == SCALE.tenant_count
    assert tenants.select("tenant_id").distinct().count() == SCALE.tenant_count
    assert tenants.where(~F.col("tenant_id").rlike(UUID_PATTERN)).count() == 0
    assert tenants.where(F.col("name").isNull() | (F.length("name") < 5)).count() == 0
    registry = tenants.select("tenant_id", "joined_on")
    for name in ("learners", "events", "iep_goals", "courses"):
        referenced = raw[name].select("tenant_id").distinct()
        assert referenced.join(registry, "tenant_id", "left_anti").count() == 0, name
    first_enrolment = raw["learners"].groupBy("tenant_id").agg(F.min("enrolled_at").alias("first"))
    joined_later = first_enrolment.join(registry, "tenant_id").where(
        F.col("joined_on") > F.to_date("first")
    )
    assert joined_later.count() == 0
    assert tenants.agg(F.max("joined_on")).first()[0] < SCALE.start  # type: ignore[index]
