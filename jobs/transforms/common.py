"""Column and DataFrame helpers shared by the curated transforms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from conf.bounds import BoundsConfigError
from jobs.contracts.curated import ALL_SUBJECTS
from jobs.contracts.raw import SUBJECTS
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from privacy_udfs import Measure, private_aggregate
from privacy_udfs.measures import COUNT_KINDS


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
    """Call :func:`privacy_udfs.private_aggregate` with the job's level, bounds and share of ε.

    At DP levels the release plan (``conf/bounds.toml``) decides which measures are
    computed and with which accounting; the others come back as null columns, so the
    output has the same columns at every level.
    """
    plan = context.job_bounds
    epsilon = None if context.level.epsilon is None else context.level.epsilon
    epsilon = None if epsilon is None else epsilon * plan.epsilon_share * epsilon_fraction
    rho = None if context.rho is None else context.rho * epsilon_fraction
    computed = [m for m in measures if not context.level.is_dp or plan.releases_at_dp(m.name)]
    if not computed:
        raise BoundsConfigError(
            f"the release plan withholds every measure of {[m.name for m in measures]}: "
            "keep at least one in conf/bounds.toml (dp_withheld)"
        )
    # Partition selection is accounted in pure ε; releases over public keys follow the plan.
    accounting = "pure" if partition_selection_delta is not None else plan.accounting
    released = private_aggregate(
        df,
        privacy_id="learner_id_hash",
        group_cols=list(group_cols),
        measures=computed,
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
        accounting="zcdp" if accounting == "zcdp" and rho is not None else "pure",
        rho=rho,
        delta=plan.delta,
    )
    withheld = {
        m.name: F.lit(None).cast("long" if m.kind in COUNT_KINDS else "double")
        for m in measures
        if m not in computed
    }
    return released.withColumns(withheld) if withheld else released
