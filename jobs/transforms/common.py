"""Column and DataFrame helpers shared by the curated transforms."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from conf.bounds import BoundsConfigError
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from privacy_udfs import Measure, private_aggregate
from privacy_udfs.measures import COUNT_KINDS


def tenants_frame(inputs: PreparedInputs) -> DataFrame:
    """The tenant registry of the run (a public list) as a one-column DataFrame."""
    return inputs.tenants.select("tenant_id")


def platform_inputs(inputs: PreparedInputs, start: dt.date) -> PreparedInputs:
    """The inputs of platform-wide rows: tenants on the platform by the period's start.

    A tenant that joins during a period enters platform-wide tables at the next period,
    so a platform slice, once published, never needs redrawing because a tenant joined.
    """
    tenants = inputs.tenants.where(F.col("joined_on") <= F.lit(start))
    ids = F.broadcast(tenants.select("tenant_id"))
    return dataclasses.replace(
        inputs,
        tenants=tenants,
        events=inputs.events.join(ids, "tenant_id", "left_semi"),
        history=inputs.history.join(ids, "tenant_id", "left_semi"),
        learners=inputs.learners.join(ids, "tenant_id", "left_semi"),
    )


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
    zcdp = plan.accounting == "zcdp" and rho is not None
    if zcdp and partition_selection_delta is not None:
        # The job's charge is its ρ; a pure-ε selection inside it would not be accounted.
        raise BoundsConfigError(
            'partition selection is accounted in pure ε: set accounting = "pure" for this '
            "job in conf/bounds.toml, or release over public keys"
        )
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
        accounting="zcdp" if zcdp else "pure",
        rho=rho if zcdp else None,
        delta=plan.delta,
    )
    withheld = {
        m.name: F.lit(None).cast("long" if m.kind in COUNT_KINDS else "double")
        for m in measures
        if m not in computed
    }
    return released.withColumns(withheld) if withheld else released
