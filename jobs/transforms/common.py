"""Column and DataFrame helpers shared by the curated transforms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.contracts.curated import ALL_SUBJECTS
from jobs.contracts.raw import SUBJECTS
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from privacy_udfs import Measure, private_aggregate


def tenants_frame(inputs: PreparedInputs) -> DataFrame:
    """The tenant directory (a public list) as a one-column DataFrame."""
    return inputs.learners.select("tenant_id").distinct()


def days_frame(
    inputs: PreparedInputs, start: dt.date, end: dt.date, name: str = "activity_date"
) -> DataFrame:
    """One row per day of [start, end]."""
    spark = inputs.learners.sparkSession
    return spark.range(1).select(F.explode(F.sequence(F.lit(start), F.lit(end))).alias(name))


def values_frame(inputs: PreparedInputs, name: str, values: Sequence[str]) -> DataFrame:
    """One row per value of a public list (subjects, bands...)."""
    spark = inputs.learners.sparkSession
    return spark.createDataFrame([(v,) for v in values], f"{name} string")


def subject_keys(include_all: bool = True) -> list[str]:
    """The public list of subjects, plus the tenant-total key."""
    return [*SUBJECTS, ALL_SUBJECTS] if include_all else list(SUBJECTS)


def rename_noise_scale(old: str, new: str, factor: float = 1.0) -> Column:
    """``noise_scales`` with the entry ``old`` renamed ``new`` and scaled by ``factor``.

    Used when a published metric is a rescaled aggregate (minutes summed, hours published):
    the Laplace scale is rescaled by the same factor.
    """
    scales = F.col("noise_scales")
    kept = F.map_filter(scales, lambda k, _v: k != F.lit(old))
    moved = F.create_map(F.lit(new), scales.getItem(old) * F.lit(factor))
    return F.when(scales.getItem(old).isNull(), kept).otherwise(F.map_concat(kept, moved))


def aggregate(
    df: DataFrame,
    context: ReleaseContext,
    *,
    group_cols: Sequence[str],
    measures: Sequence[Measure],
    epsilon_fraction: float = 1.0,
    public_groups: DataFrame | None = None,
    partition_selection_delta: float | None = None,
    max_partitions: int | None = None,
    max_rows_per_partition: int | None = None,
    lower: float | None = None,
    upper: float | None = None,
) -> DataFrame:
    """Call :func:`privacy_udfs.private_aggregate` with the job's level, bounds and share of ε."""
    epsilon = None if context.epsilon is None else context.epsilon * epsilon_fraction
    return private_aggregate(
        df,
        privacy_id="learner_id_hash",
        group_cols=list(group_cols),
        measures=list(measures),
        level=context.level,
        bounds=context.bounds(
            lower=lower,
            upper=upper,
            max_partitions=max_partitions,
            max_rows_per_partition=max_rows_per_partition,
        ),
        epsilon=epsilon,
        public_groups=public_groups,
        partition_selection_delta=partition_selection_delta,
        k_threshold=context.k_threshold,
        random_source=context.random_source,
    )
