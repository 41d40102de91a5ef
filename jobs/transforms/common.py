"""Column and DataFrame helpers shared by the curated transforms."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable, Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from conf.bounds import BoundsConfigError
from jobs.prepare import PreparedInputs, Scope
from jobs.release import ReleaseContext
from privacy_udfs import Measure, private_aggregate
from privacy_udfs.local_frames import local_frame
from privacy_udfs.measures import COUNT_KINDS


def tenant_ids(inputs: PreparedInputs) -> list[str]:
    """The run's tenant ids, sorted: the tenant registry is a public key list (no PII).

    Collected: one row per tenant. The runner holds the registry as a local relation
    (:func:`jobs.prepare.with_public_dimensions_in_memory`), so this reads it on the
    driver, without a Spark job.
    """
    return sorted(row.tenant_id for row in inputs.tenants.select("tenant_id").collect())


def platform_inputs(inputs: PreparedInputs, start: dt.date) -> PreparedInputs:
    """The inputs of platform-wide rows: tenants on the platform by the period's start.

    A tenant that joins during a period enters platform-wide tables at the next period,
    so a platform slice, once published, never needs redrawing because a tenant joined.
    """
    tenants = inputs.tenants.where(F.col("joined_on") <= F.lit(start))
    # A literal list: no broadcast join (and no Spark job) per use of the inputs.
    on_platform = F.col("tenant_id").isin(tenant_ids(dataclasses.replace(inputs, tenants=tenants)))
    return dataclasses.replace(
        inputs,
        tenants=tenants,
        events=inputs.events.where(on_platform),
        history=inputs.history.where(on_platform),
        learners=inputs.learners.where(on_platform),
    )


def with_period_columns(scope: Scope) -> Callable[[DataFrame], DataFrame]:
    """Add ``period_start`` and ``period_end``: the release's period, on every row.

    Shape: any rows -> the same rows with the two date columns.
    """

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumns({"period_start": F.lit(scope.start), "period_end": F.lit(scope.end)})

    return transform


def read_by_several_releases(df: DataFrame) -> DataFrame:
    """``df`` computed once although several releases of a table aggregate it.

    Each release materializes its own noised aggregate, so without this every release
    recomputes the per-learner rows it reads from the cached events. The first release
    that reads them saves them in executor storage (a lazy local checkpoint, released
    with the DataFrame); the others read the saved rows.
    """
    return df.localCheckpoint(eager=False)


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day of [start, end], in order."""
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


KeyValue = str | dt.date


# Key columns holding dates (the curated contracts' period columns): typed even when empty.
DATE_KEYS = frozenset({"activity_date", "week_start", "period_start"})


def _key_type(name: str, values: Sequence[KeyValue]) -> T.DataType:
    # An empty list (no tenant yet, a period without a Monday) still needs its column type.
    is_date = isinstance(values[0], dt.date) if values else name in DATE_KEYS
    return T.DateType() if is_date else T.StringType()


def public_keys(inputs: PreparedInputs, domains: Mapping[str, Sequence[KeyValue]]) -> DataFrame:
    """Every combination of public key lists (tenants, days, subjects...) as one DataFrame.

    The product is built on the driver from public lists, so the releases over it join
    one small local relation instead of re-planning and re-running cross joins of
    dimension tables (each a Spark job) for every aggregate.

    Shape: one row per element of the product, one column per domain, in the given order.
    """
    schema = T.StructType(
        [T.StructField(name, _key_type(name, values)) for name, values in domains.items()]
    )
    rows = list(itertools.product(*domains.values()))
    return local_frame(inputs.learners.sparkSession, rows, schema)


def unmeasured_rows(
    keys: DataFrame, measured: DataFrame, context: ReleaseContext, *, mechanism: str
) -> DataFrame:
    """Public keys a DP release does not measure, as suppressed rows shaped like ``measured``.

    The release plan withholds them (``dp_withheld``): no ε is spent and no value is
    drawn; every metric is null, ``insufficient_data`` is true and ``noise_mechanism``
    says where to look instead. Shape: one row per key -> ``measured``'s columns.
    """
    fixed = {
        "noise_scales": F.create_map(),
        "ci95": F.create_map(),
        "epsilon": F.lit(context.epsilon or 0.0),
        "delta": F.lit(context.delta),
        "noise_mechanism": F.lit(mechanism),
        "insufficient_data": F.lit(True),
    }
    return keys.select(
        *[
            (F.col(f.name) if f.name in keys.columns else fixed.get(f.name, F.lit(None)))
            .cast(f.dataType)
            .alias(f.name)
            for f in measured.schema.fields
        ]
    )


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
    if epsilon is not None:  # pure ε: the job's share (a quarterly job's three monthly ones)
        epsilon *= plan.epsilon_share * plan.dp_budget_multiple * epsilon_fraction
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
