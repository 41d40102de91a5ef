"""Session data of the toolkit-vs-peers benchmark (issue 19's shape), generated from ``spark.range``.

One row per session: ``learner_id`` (long), ``tenant_id`` (int, 0..19), ``day``
(int, 0..30: one month) and ``minutes`` (double). The shape:

* 200k learners, of very unequal activity: the learner of a session is
  ``floor(learners · U²)``, so low ids are the heavy users (a learner at the
  1st percentile has ~10× the sessions of the median one);
* 20 tenants of geometric sizes (each ``RATIO`` times the previous), a learner's
  tenant fixed by a hash of the id;
* habit days: each learner studies on ``k`` fixed weekdays (1..7, from a hash
  of the id); 90 % of their sessions fall on a habit weekday of a random week,
  10 % on any day of the month;
* lognormal durations: median 18 minutes, σ = 0.9 (about 0.2 % above 240).

Deterministic for a given ``rows`` and ``seed`` (fixed number of range partitions).
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

LEARNERS = 200_000
TENANTS = 20
DAYS = 31
RATIO = 0.8
MEDIAN_MINUTES = 18.0
SIGMA = 0.9


def _uniform(seed: int, *cols: Column | str) -> Column:
    """A uniform double in [0, 1) from a hash: the same inputs give the same value."""
    bits = F.xxhash64(F.lit(seed), *cols).bitwiseAND(F.lit((1 << 53) - 1))
    return bits.cast("double") / F.lit(float(1 << 53))


def generate_sessions(spark: SparkSession, rows: int, seed: int = 19) -> DataFrame:
    """``rows`` sessions of ``LEARNERS`` learners in ``TENANTS`` tenants over ``DAYS`` days."""
    learner = F.floor(F.lit(LEARNERS) * F.pow(_uniform(seed, "id", F.lit(1)), 2)).cast("long")
    # Geometric tenant sizes: inverse CDF of a truncated geometric law on 0..TENANTS-1.
    v = _uniform(seed, "learner_id", F.lit(2))
    tenant = F.floor(
        F.log(F.lit(1.0) - v * F.lit(1.0 - RATIO**TENANTS)) / F.lit(math.log(RATIO))
    ).cast("int")
    habit_days = (F.floor(_uniform(seed, "learner_id", F.lit(3)) * 7) + 1).cast("int")
    first_weekday = F.floor(_uniform(seed, "learner_id", F.lit(4)) * 7).cast("int")
    week = F.floor(_uniform(seed, "id", F.lit(5)) * 5).cast("int")
    habit = F.floor(_uniform(seed, "id", F.lit(6)) * F.col("__k")).cast("int")
    weekday = (F.col("__first") + F.col("__habit")) % 7
    habit_day = F.col("__week") * 7 + weekday
    on_habit = _uniform(seed, "id", F.lit(7)) < F.lit(0.9)
    any_day = F.floor(_uniform(seed, "id", F.lit(8)) * DAYS).cast("int")
    day = F.when(on_habit, F.when(habit_day >= DAYS, habit_day - 7).otherwise(habit_day)).otherwise(
        any_day
    )
    minutes = F.exp(F.lit(math.log(MEDIAN_MINUTES)) + F.lit(SIGMA) * F.randn(seed))
    return (
        spark.range(0, rows, numPartitions=8)
        .withColumn("learner_id", learner)
        .withColumns(
            {
                "tenant_id": tenant,
                "__k": habit_days,
                "__first": first_weekday,
                "__week": week,
            }
        )
        .withColumn("__habit", habit)
        .select("learner_id", "tenant_id", day.cast("int").alias("day"), minutes.alias("minutes"))
    )  # shape: one row per session


def public_keys(spark: SparkSession) -> DataFrame:
    """Every (tenant, day) of the month: the release's public key list."""
    return (
        spark.range(TENANTS)
        .select(F.col("id").cast("int").alias("tenant_id"))
        .crossJoin(spark.range(DAYS).select(F.col("id").cast("int").alias("day")))
    )
