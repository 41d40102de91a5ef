"""iep_progress: progress toward IEP goals per tenant, IEP category and period.

The smallest cohorts of the product live here. IEP categories and support levels are
public lists: every tenant gets a row for every category and every support level is a
key of its distribution, empty ones included, at every level. Which categories a tenant
has therefore reveals nothing (a tenant with one IEP learner no longer publishes that
learner's category as its only row), and no ε goes to partition selection.

Small cells at ``anonymized``: the support level distribution of a (tenant, category)
is a split of ``learners_with_goals`` (each learner has one strongest support level per
category), so a level under k could be recovered by subtraction. Levels get
complementary suppression (disjoint parts, see
:func:`privacy_udfs.suppression.with_complementary_suppression`): the suppressed levels
of a category always add up to 0 or at least k learners. Under DP, levels under k (on
the noisy counts) are null.

The latest measurement of a goal is taken per (goal, learner, tenant): goal ids are not
unique across learners or tenants.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from contracts.bands import NOT_PROVIDED
from contracts.curated import ALL_CATEGORIES
from contracts.raw import IEP_CATEGORIES, SUPPORT_LEVELS, EventType
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.common import (
    aggregate,
    public_keys,
    tenant_ids,
    unmeasured_rows,
    with_period_columns,
)
from privacy_udfs import Measure
from privacy_udfs.suppression import suppress_small_groups, with_complementary_suppression

SUPPORT_LEVEL_KEYS = (*SUPPORT_LEVELS, NOT_PROVIDED)  # not_provided: a goal without one
GOAL_YEAR_DAYS = 365.0  # an IEP goal is written for one year
# dp_withheld entry of the release plan that keeps per-category rows out of DP releases.
CATEGORY_ROWS = "category_rows"
SUPPORT_LEVELS_COLUMN = "support_level_distribution"
IEP_METRICS = ["learners_with_goals", "mean_progress_pct", "share_on_track"]
UNMEASURED = "none (not measured at this level: see the tenant's pooled 'all' row)"


def goal_progress(events: DataFrame, goals: DataFrame, as_of: dt.date) -> DataFrame:
    """Per goal with a measurement in the period: progress toward target and on-track flag.

    progress_pct = (latest measurement - baseline) / (target - baseline) * 100;
    a goal is on track when progress_pct >= the share of its goal year elapsed.
    Shape: one row per measured goal -> (learner_id_hash, tenant_id, category,
    support_level, progress_pct, on_track).
    """
    # A goal id is only unique within one learner's plan (and tenant): two learners' goals
    # may share an id, so the latest measurement is per (goal, learner, tenant).
    goal_keys = ["goal_id", "learner_id_hash", "tenant_id"]
    latest = (
        events.where(F.col("event_type") == EventType.IEP_GOAL_MEASUREMENT.value)
        .groupBy(*goal_keys)
        .agg(F.max_by("measurement", F.struct("occurred_at", "event_id")).alias("latest"))
    )
    span = F.col("target") - F.col("baseline")
    progress = F.when(span != 0, (F.col("latest") - F.col("baseline")) / span * 100.0)
    elapsed = (
        F.least(F.lit(1.0), F.datediff(F.lit(as_of), F.col("set_at")) / GOAL_YEAR_DAYS) * 100.0
    )
    return (
        goals.join(latest, goal_keys)
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


def support_level_distribution(
    per_learner: DataFrame,
    inputs: PreparedInputs,
    context: ReleaseContext,
    keys: dict[str, list[str]],
    epsilon_fraction: float,
    max_partitions: int,
) -> DataFrame:
    """Learners per support level of every (tenant, category) key, as a map with every level.

    Shape: one row per learner and category -> one row per (tenant_id, iep_category) with
    support_level_distribution (null values: suppressed).
    """
    exact = not context.level.is_dp and context.k_threshold > 0
    levels = aggregate(
        per_learner.fillna({"support_level": NOT_PROVIDED}),
        dataclasses.replace(context, k_threshold=0) if exact else context,
        group_cols=["tenant_id", "iep_category", "support_level"],
        measures=[Measure(name="learners", kind="distinct_count")],
        epsilon_fraction=epsilon_fraction,
        public_groups=public_keys(inputs, {**keys, "support_level": list(SUPPORT_LEVEL_KEYS)}),
        max_partitions=max_partitions,
    )
    if exact:
        levels = with_complementary_suppression(
            levels,
            context.k_threshold,
            group_cols=["tenant_id", "iep_category"],
            part_col="support_level",
            count_col="learners",
            metric_cols=["learners"],
        )
    small = F.col("learners").isNull() | (F.col("learners") < context.k_threshold)
    return levels.groupBy("tenant_id", "iep_category").agg(
        F.map_from_entries(
            F.collect_list(
                F.struct(F.col("support_level"), F.when(~small, F.col("learners")).cast("long"))
            )
        ).alias("support_level_distribution"),
    )


def iep_cells(
    per_learner: DataFrame,
    inputs: PreparedInputs,
    context: ReleaseContext,
    keys: dict[str, list[str]],
    epsilon_fraction: float,
    max_partitions: int,
) -> DataFrame:
    """One row per (tenant, category) key: learners, mean progress, on track, support levels.

    ε split: 70 % learners / mean progress / share on track, 30 % support levels; all of
    it to the first three when the release plan withholds support levels at DP levels
    (``dp_withheld``: their column is then null). Progress is clamped to the job's
    ``[lower, upper]`` (conf/bounds.toml). At ``anonymized`` the core metrics are exact
    and unsuppressed (the caller suppresses them, categories against the pooled row);
    support levels are suppressed here.
    """
    exact = not context.level.is_dp and context.k_threshold > 0
    bounds = context.job_bounds
    measure_levels = not context.level.is_dp or bounds.releases_at_dp(SUPPORT_LEVELS_COLUMN)
    core_fraction = 0.7 if measure_levels else 1.0
    core = aggregate(
        per_learner,
        dataclasses.replace(context, k_threshold=0) if exact else context,
        group_cols=["tenant_id", "iep_category"],
        measures=[
            Measure(name="learners_with_goals", kind="distinct_count"),
            Measure(
                name="mean_progress_pct",
                kind="mean",
                value_col="progress_pct",
                lower=bounds.lower,
                upper=bounds.upper,
            ),
            Measure(name="share_on_track", kind="mean", value_col="on_track", lower=0.0, upper=1.0),
        ],
        epsilon_fraction=core_fraction * epsilon_fraction,
        public_groups=public_keys(inputs, keys),
        max_partitions=max_partitions,
    )
    if not measure_levels:
        return core.withColumn(SUPPORT_LEVELS_COLUMN, F.lit(None).cast("map<string,bigint>"))
    distribution = support_level_distribution(
        per_learner, inputs, context, keys, 0.3 * epsilon_fraction, max_partitions
    )
    return core.join(distribution, ["tenant_id", "iep_category"], "left")


def iep_progress(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute iep_progress for the release's period (pure).

    Rows: every (tenant, IEP category) of the public lists and each tenant's pooled row
    (category ``all``: every learner with a measured goal, once). At DP levels the
    release plan (``dp_withheld = ["category_rows"]``) measures the pooled row only,
    with the table's whole share: a tenant's categories hold tens of learners, which no
    share of ε resolves, while its IEP learners together can be measured. Category rows
    are then released as suppressed rows (no ε spent). At ``anonymized`` both are exact,
    and categories get complementary suppression against the pooled row.
    """
    scope, level = context.scope, context.level
    per_goal = goal_progress(inputs.events, inputs.iep_goals, scope.end)
    tenants = tenant_ids(inputs)
    pooled_keys = {"tenant_id": tenants, "iep_category": [ALL_CATEGORIES]}
    category_keys = {"tenant_id": tenants, "iep_category": list(IEP_CATEGORIES)}
    measure_categories = not level.is_dp or context.job_bounds.releases_at_dp(CATEGORY_ROWS)
    pooled = iep_cells(
        learner_category_progress(per_goal.withColumn("category", F.lit(ALL_CATEGORIES))),
        inputs,
        context,
        pooled_keys,
        epsilon_fraction=0.5 if measure_categories else 1.0,
        max_partitions=1,  # one pooled row per learner
    )
    if measure_categories:
        categories = iep_cells(
            learner_category_progress(per_goal),
            inputs,
            context,
            category_keys,
            epsilon_fraction=0.5,
            max_partitions=context.job_bounds.max_partitions,
        )
    else:
        categories = unmeasured_rows(
            public_keys(inputs, category_keys), pooled, context, mechanism=UNMEASURED
        )
    if not level.is_dp and context.k_threshold > 0:
        # A learner may have goals in several categories: overlapping parts of the pooled row.
        k = context.k_threshold
        pooled = suppress_small_groups(pooled, k, "learners_with_goals", IEP_METRICS)
        categories = with_complementary_suppression(
            categories,
            k,
            group_cols=["tenant_id"],
            part_col="iep_category",
            count_col="learners_with_goals",
            metric_cols=IEP_METRICS,
            overlapping=True,
        )
    cells = pooled.unionByName(categories, allowMissingColumns=True)
    # Shape: one row per (tenant, IEP category of the public list or 'all').
    return cells.withColumn(
        "support_level_distribution",
        F.when(~F.col("insufficient_data"), F.col("support_level_distribution")),
    ).transform(with_period_columns(scope))
