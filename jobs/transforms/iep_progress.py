"""iep_progress: progress toward IEP goals per tenant, IEP category and period.

The smallest cohorts of the product live here. Under DP, which categories appear
at all is itself data-dependent, so categories go through DP partition selection
(with a pre-threshold of k) before any value is released.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.contracts.raw import SUPPORT_LEVELS, EventType
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.common import aggregate
from privacy_udfs import Measure

PARTITION_SELECTION_DELTA = 1e-6
GOAL_YEAR_DAYS = 365.0  # an IEP goal is written for one year
MAX_PROGRESS_PCT = 150.0


def goal_progress(events: DataFrame, goals: DataFrame, as_of: dt.date) -> DataFrame:
    """Per goal with a measurement in the period: progress toward target and on-track flag.

    progress_pct = (latest measurement - baseline) / (target - baseline) * 100;
    a goal is on track when progress_pct >= the share of its goal year elapsed.
    Shape: one row per measured goal -> (learner_id_hash, tenant_id, category,
    support_level, progress_pct, on_track).
    """
    latest = (
        events.where(F.col("event_type") == EventType.IEP_GOAL_MEASUREMENT.value)
        .groupBy("goal_id")
        .agg(F.max_by("measurement", "occurred_at").alias("latest"))
    )
    span = F.col("target") - F.col("baseline")
    progress = F.when(span != 0, (F.col("latest") - F.col("baseline")) / span * 100.0)
    elapsed = (
        F.least(F.lit(1.0), F.datediff(F.lit(as_of), F.col("set_at")) / GOAL_YEAR_DAYS) * 100.0
    )
    return (
        goals.join(latest, "goal_id")
        .withColumn("progress_pct", progress)
        .where(F.col("progress_pct").isNotNull())
        .withColumn(
            "on_track", (F.col("progress_pct") >= F.coalesce(elapsed, F.lit(0.0))).cast("double")
        )
        .select(
            "learner_id_hash", "tenant_id", "category", "support_level", "progress_pct", "on_track"
        )
    )


def learner_category_progress(progress: DataFrame) -> DataFrame:
    """One row per learner and category: mean progress, all-goals-on-track, strongest support.

    Shape: (learner_id_hash, tenant_id, iep_category, progress_pct, on_track, support_level).
    """
    intensity = F.array_position(
        F.array(*[F.lit(s) for s in SUPPORT_LEVELS]), F.col("support_level")
    )
    return progress.groupBy(
        "learner_id_hash", "tenant_id", F.col("category").alias("iep_category")
    ).agg(
        F.avg("progress_pct").alias("progress_pct"),
        F.min("on_track").alias("on_track"),
        F.max_by("support_level", intensity).alias("support_level"),
    )


def iep_progress(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute iep_progress for the run's period (pure).

    ε split: 70% learners / mean progress / share on track, 30% support levels.
    """
    scope = context.scope
    per_learner = learner_category_progress(
        goal_progress(inputs.events, inputs.iep_goals, scope.end)
    )
    selection_delta = PARTITION_SELECTION_DELTA if context.level.is_dp else None
    core = aggregate(
        per_learner,
        context,
        group_cols=["tenant_id", "iep_category"],
        measures=[
            Measure(name="learners_with_goals", kind="distinct_count"),
            Measure(
                name="mean_progress_pct",
                kind="mean",
                value_col="progress_pct",
                lower=0.0,
                upper=MAX_PROGRESS_PCT,
            ),
            Measure(name="share_on_track", kind="mean", value_col="on_track", lower=0.0, upper=1.0),
        ],
        epsilon_fraction=0.7,
        partition_selection_delta=selection_delta,
    )
    levels = aggregate(
        per_learner.fillna({"support_level": "not_provided"}),
        context,
        group_cols=["tenant_id", "iep_category", "support_level"],
        measures=[Measure(name="learners", kind="distinct_count")],
        epsilon_fraction=0.3,
        partition_selection_delta=selection_delta,
    )
    small = F.col("learners").isNull() | (F.col("learners") < context.k_threshold)
    distribution = levels.groupBy("tenant_id", "iep_category").agg(
        F.map_from_entries(
            F.collect_list(
                F.struct(F.col("support_level"), F.when(~small, F.col("learners")).cast("long"))
            )
        ).alias("support_level_distribution"),
    )
    # Shape: one row per released (tenant, IEP category).
    return (
        core.join(distribution, ["tenant_id", "iep_category"], "left")
        .withColumn(
            "support_level_distribution",
            F.when(~F.col("insufficient_data"), F.col("support_level_distribution")),
        )
        .withColumn("period_start", F.lit(scope.start))
        .withColumn("period_end", F.lit(scope.end))
    )
