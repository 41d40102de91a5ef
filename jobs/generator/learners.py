"""Learner-level attributes as pure functions of the learner index.

The events generator recomputes a learner's tenant, courses, IEP goals and
activity window from the learner index with the same expressions the
``learners`` and ``iep_goals`` tables use, so every event is consistent with
a real learner without any join.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.raw import IEP_CATEGORIES, SUPPORT_LEVELS
from jobs.generator.config import GeneratorConfig
from jobs.generator.layout import Layout
from jobs.generator.pii import pii_columns
from jobs.generator.profiles import (
    COURSE_POPULARITY_RATIO,
    SCHOOL_DAYS,
    SCHOOL_DAYS_PER_WEEK,
    SCHOOL_DAYS_WEIGHTS,
    WEEKLY_ACTIVITY,
    WEEKLY_ACTIVITY_WEIGHTS,
    PopulationShape,
    shape_of,
)
from jobs.generator.randomness import (
    Salt,
    index_below,
    pick,
    uniform,
    uuid_from,
    weighted_choice,
    zipf_weights,
)

MAX_GOALS = 3
RARE_CATEGORY = "orientation_mobility"
ACTIVE_STRIDES = (1, 2, 3, 7)  # daily, every other day, every third day, weekly
ACTIVE_STRIDE_WEIGHTS = (0.25, 0.3, 0.25, 0.2)
COURSES_PER_LEARNER = 3
STATES = ("CA", "TX", "NY", "FL", "IL", "WA", "OH", "GA", "ON", "BC")
DOB_MISSING_SHARE = 0.06
GRADE_MISSING_SHARE = 0.07


@dataclass(frozen=True)
class LearnerModel:
    """Column expressions describing learner ``learner_index`` under one config."""

    config: GeneratorConfig
    layout: Layout

    @property
    def seed(self) -> int:
        """The config's seed."""
        return self.config.seed

    @property
    def shape(self) -> PopulationShape:
        """The config's population shape (shares and skews of its profile)."""
        return shape_of(self.config.profile)

    def draw(self, salt: Salt, *keys: Column) -> Column:
        """A uniform in (0, 1) for this config's seed."""
        return uniform(self.seed, salt, *keys)

    def learner_id(self, learner: Column) -> Column:
        """Raw learner id (UUID-shaped)."""
        return uuid_from(self.seed, Salt.LEARNER_ID, learner)

    def tenant_index(self, learner: Column) -> Column:
        """The learner's tenant index."""
        return self.layout.tenant_of_learner(learner)

    def tenant_id(self, tenant_index: Column) -> Column:
        """Tenant id (UUID-shaped) of a tenant index."""
        return uuid_from(self.seed, Salt.TENANT_ID, tenant_index)

    def has_iep(self, learner: Column) -> Column:
        """About 12% of learners (7.5% in districts); the rare-category learner always."""
        return (learner == F.lit(self.layout.rare_category_learner)) | (
            self.draw(Salt.HAS_IEP, learner) < F.lit(self.shape.iep_share)
        )

    def goal_count(self, learner: Column) -> Column:
        """Number of IEP goals (1-3) an IEP learner has."""
        return index_below(self.draw(Salt.GOAL_COUNT, learner), MAX_GOALS) + 1

    def goal_id(self, learner: Column, goal_number: Column) -> Column:
        """Id of the learner's goal ``goal_number`` (1-based)."""
        return uuid_from(self.seed, Salt.GOAL_ID, learner, goal_number)

    def goal_baseline(self, learner: Column, goal_number: Column) -> Column:
        """Score (10-60) when the goal was set."""
        return F.round(F.lit(10.0) + 50.0 * self.draw(Salt.BASELINE, learner, goal_number), 1)

    def goal_target(self, learner: Column, goal_number: Column) -> Column:
        """Score the goal aims at: 10-40 above the baseline, at most 100."""
        gain = F.lit(10.0) + 30.0 * self.draw(Salt.TARGET, learner, goal_number)
        return F.round(F.least(self.goal_baseline(learner, goal_number) + gain, F.lit(100.0)), 1)

    def goal_category(self, learner: Column, goal_number: Column) -> Column:
        """Skewed over the common categories; the rare one for exactly one goal."""
        common = tuple(c for c in IEP_CATEGORIES if c != RARE_CATEGORY)
        skewed = weighted_choice(
            self.draw(Salt.CATEGORY, learner, goal_number), common, zipf_weights(len(common), 0.8)
        )
        is_rare = (learner == F.lit(self.layout.rare_category_learner)) & (goal_number == F.lit(1))
        return F.when(is_rare, F.lit(RARE_CATEGORY)).otherwise(skewed)

    def first_day(self, learner: Column) -> Column:
        """First active day (0-based): half from day 0, the rest spread over the window."""
        later = index_below(self.draw(Salt.FIRST_DAY, learner), self.config.days)
        existing = self.draw(Salt.FIRST_DAY_EXISTING, learner) < F.lit(
            self.shape.existing_learner_share
        )
        return F.when(existing, F.lit(0).cast("long")).otherwise(later)

    def last_day(self, learner: Column) -> Column:
        """Last active day: the window's end, or earlier for churned learners."""
        first = self.first_day(learner)
        churned = first + index_below(
            self.draw(Salt.LAST_DAY, learner), F.lit(self.config.days) - first
        )
        churns = self.draw(Salt.CHURNS, learner) < F.lit(self.shape.churn_share)
        return F.when(churns, churned).otherwise(F.lit(self.config.days - 1).cast("long"))

    def active_stride(self, learner: Column) -> Column:
        """Days between the learner's active days (so they skip days in between)."""
        return weighted_choice(
            self.draw(Salt.ACTIVE_STRIDE, learner), ACTIVE_STRIDES, ACTIVE_STRIDE_WEIGHTS
        ).cast("long")

    def course_count(self, learner: Column, tenant_courses: Column) -> Column:
        """How many of the tenant's courses the learner takes (1-3)."""
        most = F.least(tenant_courses, F.lit(COURSES_PER_LEARNER))
        return index_below(self.draw(Salt.COURSE_COUNT, learner), most) + 1

    def course_index(
        self, learner: Column, tenant: Column, tenant_courses: Column, slot: Column
    ) -> Column:
        """Global index of the learner's course in ``slot`` (0-based).

        Course popularity is skewed (``u ** 2.5``); each tenant's first learner
        starts at the tenant's first course so the rare-subject course is used. In
        districts each slot is an independent draw with geometric popularity (see
        :meth:`district_course`).
        """
        if self.config.is_district:
            return self.layout.first_course_of(tenant) + self.district_course(
                learner, tenant_courses, slot
            )
        skewed = index_below(F.pow(self.draw(Salt.COURSE_BASE, learner), 2.5), tenant_courses)
        is_first = learner == self.layout.first_learner_of(tenant)
        base = F.when(is_first, F.lit(0).cast("long")).otherwise(skewed)
        return self.layout.first_course_of(tenant) + F.pmod(base + slot, tenant_courses)

    def district_course(self, learner: Column, tenant_courses: Column, slot: Column) -> Column:
        """District profile: the rank (0-based) in its tenant of the learner's ``slot`` course.

        Ranks follow a truncated geometric law, ``P(rank) ~ exp(-rate * rank)`` with
        ``rate`` such that the first rank is ``COURSE_POPULARITY_RATIO`` times as likely
        as the last, sampled by inverting its distribution function. Two slots may draw
        the same course: the learner then takes fewer courses.
        """
        courses = tenant_courses.cast("double")
        rate = F.lit(math.log(COURSE_POPULARITY_RATIO)) / F.greatest(courses - 1, F.lit(1.0))
        tail = F.lit(1.0) - F.exp(-rate * courses)
        u = self.draw(Salt.COURSE_BASE, learner, slot)
        rank = F.floor(-F.log1p(-u * tail) / rate).cast("long")
        return F.least(rank, tenant_courses - 1)

    def weekly_activity(self, learner: Column) -> Column:
        """District profile: probability that the learner is active in a given week."""
        return weighted_choice(
            self.draw(Salt.WEEKLY_ACTIVITY, learner), WEEKLY_ACTIVITY, WEEKLY_ACTIVITY_WEIGHTS
        ).cast("double")

    def is_active_week(self, learner: Column, week: Column) -> Column:
        """District profile: whether the learner is active in 7-day week ``week`` (0-based).

        Only weeks overlapping the learner's [first day, last day] can be active.
        """
        overlaps = (week * 7 <= self.last_day(learner)) & (week * 7 + 6 >= self.first_day(learner))
        return overlaps & (
            self.draw(Salt.ACTIVE_WEEK, learner, week) < self.weekly_activity(learner)
        )

    def school_day(self, learner: Column, week: Column, u: Column) -> Column:
        """District profile: one of the learner's active days of ``week`` (window day, 0-based).

        The learner is active on 1, 2, 3 or 5 distinct school days of the week (the
        first five days of each 7-day week); ``u`` picks one of them.
        """
        days = weighted_choice(
            self.draw(Salt.SCHOOL_DAYS, learner), SCHOOL_DAYS_PER_WEEK, SCHOOL_DAYS_WEIGHTS
        ).cast("long")
        first = index_below(self.draw(Salt.FIRST_SCHOOL_DAY, learner, week), SCHOOL_DAYS)
        step = F.when(days <= 2, F.lit(2)).otherwise(F.lit(1))  # 2 steps stay distinct mod 5
        weekday = F.pmod(first + index_below(u, days) * step, F.lit(SCHOOL_DAYS))
        day = week * 7 + weekday
        return F.least(F.greatest(day, self.first_day(learner)), self.last_day(learner))


def learners_table(spark: SparkSession, model: LearnerModel) -> DataFrame:
    """The raw ``learners`` table (columns in contract order, types not yet cast)."""
    config = model.config
    learner = F.col("id")
    age_days = index_below(model.draw(Salt.AGE, learner), 17 * 365) + 5 * 365  # ages 5-21
    age_years = F.floor(age_days / F.lit(365.25))
    dob = F.date_sub(F.lit(config.start), age_days.cast("int"))
    grade = F.least(F.greatest(age_years - 5, F.lit(0)), F.lit(12)).cast("int")
    grade_missing = (model.draw(Salt.GRADE_MISSING, learner) < F.lit(GRADE_MISSING_SHARE)) | (
        age_years >= 19
    )
    state = pick(model.draw(Salt.STATE, learner), STATES)
    first_day = model.first_day(learner)
    lookback_days = F.when(
        first_day == 0, index_below(model.draw(Salt.ENROLL_LOOKBACK, learner), 700) + 1
    ).otherwise(index_below(model.draw(Salt.ENROLL_LOOKBACK, learner), 3))
    enrolled_seconds = (
        F.lit(config.window_start_seconds)
        + (first_day - lookback_days) * 86_400
        + index_below(model.draw(Salt.ENROLL_SECOND, learner), 86_400)
    )
    pii = pii_columns(config.seed, learner, config.canaries)
    tenant = model.tenant_index(learner)
    return spark.range(0, model.layout.learner_count, 1).select(
        model.learner_id(learner).alias("learner_id"),
        model.tenant_id(tenant).alias("tenant_id"),
        pii["full_name"].alias("full_name"),
        pii["email"].alias("email"),
        F.when(model.draw(Salt.DOB_MISSING, learner) >= F.lit(DOB_MISSING_SHARE), dob).alias(
            "date_of_birth"
        ),
        pii["street_address"].alias("street_address"),
        pii["city"].alias("city"),
        pii["postal_code"].alias("postal_code"),
        F.when(~grade_missing, grade).alias("grade_level"),
        F.when(model.draw(Salt.STATE, learner, F.lit(1)) >= F.lit(0.1), state).alias(
            "state_province"
        ),
        model.has_iep(learner).alias("has_iep"),
        F.timestamp_seconds(enrolled_seconds).alias("enrolled_at"),
    )


def iep_goals_table(spark: SparkSession, model: LearnerModel) -> DataFrame:
    """The raw ``iep_goals`` table: 1-3 goals per IEP learner."""
    config = model.config
    learner = F.col("id")
    goal = F.col("goal_number")
    set_days_before = index_below(model.draw(Salt.SET_AT, learner, goal), 300) + 14
    return (
        spark.range(0, model.layout.learner_count, 1)
        .where(model.has_iep(learner))
        .withColumn(
            "goal_number", F.explode(F.sequence(F.lit(1).cast("long"), model.goal_count(learner)))
        )
        .select(
            model.goal_id(learner, goal).alias("goal_id"),
            model.tenant_id(model.tenant_index(learner)).alias("tenant_id"),
            model.learner_id(learner).alias("learner_id"),
            model.goal_category(learner, goal).alias("category"),
            model.goal_baseline(learner, goal).alias("baseline"),
            model.goal_target(learner, goal).alias("target"),
            F.date_sub(F.lit(config.start), set_days_before.cast("int")).alias("set_at"),
            weighted_choice(
                model.draw(Salt.SUPPORT, learner, goal), SUPPORT_LEVELS, (0.45, 0.4, 0.15)
            ).alias("support_level"),
        )
    )
