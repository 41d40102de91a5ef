"""Contribution bounding: cap each learner's influence before anything is aggregated.

DP protects a learner only if their effect on the output is bounded: at most
``L`` partitions (groups) per learner, at most ``C`` rows per partition, each
value clamped to ``[lower, upper]``. What is dropped is chosen uniformly at
random (not first-come, which would bias towards early events).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from privacy_udfs.errors import PrivacyConfigurationError, require_columns
from privacy_udfs.randomness import RandomSource, secure_random_source


@dataclass(frozen=True)
class ContributionBounds:
    """Per-learner caps of one release (choose them from domain knowledge, never the data).

    Attributes:
        max_partitions: ``L``, groups one learner may contribute to (≥ 1).
        max_rows_per_partition: ``C``, rows one learner may contribute to a group (≥ 1).
        lower: Smallest value kept when clamping; ``None`` for count-only releases.
        upper: Largest value kept when clamping (``lower <= upper``); ``None`` with ``lower``.
    """

    max_partitions: int
    max_rows_per_partition: int
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        problems = []
        for name in ("max_partitions", "max_rows_per_partition"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.append(f"{name} must be an integer >= 1 (got {value!r})")
        if (self.lower is None) != (self.upper is None):
            problems.append("give both lower and upper, or neither (count-only releases)")
        elif self.lower is None or self.upper is None:
            pass
        elif not (math.isfinite(self.lower) and math.isfinite(self.upper)):
            problems.append(f"lower and upper must be finite (got {self.lower}, {self.upper})")
        elif self.lower > self.upper:
            problems.append(f"lower must be <= upper (got {self.lower} > {self.upper})")
        if problems:
            raise PrivacyConfigurationError("Invalid ContributionBounds: " + "; ".join(problems))


@dataclass(frozen=True)
class Sensitivities:
    """L1 sensitivities implied by a :class:`ContributionBounds` (over all groups).

    Attributes:
        distinct_count: ``L``: a learner adds one to each of at most L groups.
        count: ``L·C`` rows.
        sum: ``L·C·max(|lower|, |upper|)``.
        centered_sum: ``L·C·(upper − lower)/2``, for sums of ``x − midpoint``.
    """

    distinct_count: float
    count: float
    sum: float
    centered_sum: float

    @classmethod
    def of(cls, bounds: ContributionBounds, lower: float, upper: float) -> Sensitivities:
        """Sensitivities of ``bounds``' caps for values clamped to ``[lower, upper]``."""
        rows = bounds.max_partitions * bounds.max_rows_per_partition
        return cls(
            distinct_count=float(bounds.max_partitions),
            count=float(rows),
            sum=rows * max(abs(lower), abs(upper)),
            centered_sum=rows * (upper - lower) / 2.0,
        )


@dataclass(frozen=True)
class BoundedData:
    """Result of :func:`bound_contributions`: the capped rows and what the caps imply."""

    df: DataFrame
    sensitivities: Sensitivities


def clamp(col: Column | str, lo: float, hi: float) -> Column:
    """Clamp ``col`` to ``[lo, hi]``; null and NaN give null (they are not values).

    Raises:
        PrivacyConfigurationError: ``lo > hi`` or a bound is not finite.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise PrivacyConfigurationError(f"clamp needs finite lo <= hi, got [{lo}, {hi}]")
    value = F.col(col) if isinstance(col, str) else col
    clamped = F.least(F.greatest(value.cast("double"), F.lit(float(lo))), F.lit(float(hi)))
    return F.when(value.isNull() | F.isnan(value.cast("double")), F.lit(None)).otherwise(clamped)


def _validated_partitions(
    caller: str,
    df: DataFrame,
    privacy_id: str,
    partition_cols: Sequence[str],
    value_cols: Sequence[str],
) -> list[str]:
    """The partition columns, checked against ``privacy_id`` and ``df``'s columns."""
    partitions = list(partition_cols)
    if not partitions:
        raise PrivacyConfigurationError("partition_cols must name at least one column")
    if privacy_id in partitions:
        raise PrivacyConfigurationError(f"privacy_id {privacy_id!r} cannot be a partition column")
    require_columns(caller, df.columns, [privacy_id, *partitions, *value_cols])
    return partitions


def _partition_hash(source: RandomSource, privacy_id: str, partitions: Sequence[str]) -> Column:
    """A salted hash of (learner, key), fresh salt per call.

    Ranking each learner's partitions by it picks a uniformly random subset of L of them,
    independently per learner (the key itself breaks hash ties).
    """
    salt = int.from_bytes(source.driver_bytes("bounding-salt", 8), "big", signed=True)
    return F.xxhash64(F.lit(salt), F.col(privacy_id), *[F.col(c) for c in partitions])


def bound_contributions(
    df: DataFrame,
    privacy_id: str,
    partition_cols: Sequence[str],
    bounds: ContributionBounds,
    value_col: str | None = None,
    *,
    random_source: RandomSource | None = None,
) -> BoundedData:
    """Keep at most ``L`` random partitions per learner and ``C`` random rows in each.

    Partitions are ranked per learner by a keyed hash of the partition key (a
    fresh random salt per call), rows within a partition by ``rand()``. Both
    windows share one shuffle by ``privacy_id`` and one sort: rows are sorted by
    (learner, hash, key, random), which orders the row ranks and, as its prefix, the
    partition ranks. Rows with a null privacy id cannot be bounded and are dropped.

    Args:
        df: One row per event: ``privacy_id``, ``partition_cols`` and other columns.
        privacy_id: Column identifying the learner (pseudonym).
        partition_cols: Columns defining the groups of the release.
        bounds: The caps; ``lower``/``upper`` clamp ``value_col`` when given (without them
            the value sensitivities are 0).
        value_col: Optional value column clamped in place.
        random_source: Source of the salt and seed; defaults to the OS CSPRNG.

    Returns:
        The bounded rows (same columns as ``df``) and their sensitivities.

    Raises:
        MissingColumnsError: A named column is absent.
        PrivacyConfigurationError: ``partition_cols`` is empty or contains ``privacy_id``.
    """
    partitions = _validated_partitions(
        "bound_contributions", df, privacy_id, partition_cols, [value_col] if value_col else []
    )
    source = random_source if random_source is not None else secure_random_source()
    seed = int.from_bytes(source.driver_bytes("bounding-seed", 8), "big", signed=True)
    partition_key = [F.col(c) for c in partitions]
    hashed = "__partition_hash"
    by_partition = [F.col(hashed), *partition_key]
    by_learner = Window.partitionBy(privacy_id).orderBy(*by_partition)
    # (learner, hash, key) names the same groups as (learner, key); putting the hash first
    # makes this window's sort, (learner, hash, key, random), also satisfy by_learner's.
    by_learner_partition = Window.partitionBy(privacy_id, *by_partition).orderBy(F.rand(seed))
    row_rank, partition_rank = "__row_rank", "__partition_rank"
    bounded = (
        df.where(F.col(privacy_id).isNotNull())
        # One explicit shuffle by learner serves both windows.
        .repartition(privacy_id)
        .withColumn(hashed, _partition_hash(source, privacy_id, partitions))
        .withColumn(row_rank, F.row_number().over(by_learner_partition))
        # The filter between the windows keeps Spark from swapping them (and sorting twice).
        .where(F.col(row_rank) <= bounds.max_rows_per_partition)
        .withColumn(partition_rank, F.dense_rank().over(by_learner))
        .where(F.col(partition_rank) <= bounds.max_partitions)
    )  # shape: <= L·C rows per learner, <= L distinct partitions per learner
    bounded = bounded.drop(hashed, row_rank, partition_rank)
    if bounds.lower is None or bounds.upper is None:
        if value_col is not None:
            raise PrivacyConfigurationError(
                f"bound_contributions: clamping {value_col!r} needs ContributionBounds.lower/upper"
            )
        return BoundedData(bounded, Sensitivities.of(bounds, 0.0, 0.0))
    if value_col is not None:
        bounded = bounded.withColumn(value_col, clamp(value_col, bounds.lower, bounds.upper))
    return BoundedData(bounded, Sensitivities.of(bounds, bounds.lower, bounds.upper))


@dataclass(frozen=True)
class PairColumns:
    """Names of the columns :func:`bounded_pairs` adds to each (learner, partition) row."""

    rows: str = "__pair_rows"
    scale: str = "__pair_scale"


def bounded_pairs(
    df: DataFrame,
    privacy_id: str,
    partition_cols: Sequence[str],
    bounds: ContributionBounds,
    aggregates: Sequence[Column],
    *,
    random_source: RandomSource | None = None,
    columns: PairColumns = PairColumns(),
) -> DataFrame:
    """One row per kept (learner, partition): ``aggregates`` of its rows and its row scale.

    The aggregation-first form of :func:`bound_contributions`, for releases whose
    aggregates are sums: at most ``L`` partitions per learner, chosen at random
    exactly as there (a salted hash rank), and in each partition the learner's
    ``n`` rows count as ``min(n, C)`` rows: ``columns.rows`` is ``min(n, C)`` and
    ``columns.scale`` is ``min(n, C)/n``, by which every sum of the pair is to be
    multiplied. That is the expected value of keeping ``C`` random rows, so a
    learner moves any row count by at most ``L·C`` and any sum of values clamped
    to ``[lower, upper]`` by at most ``L·C·max(|lower|, |upper|)``: the
    sensitivities of :class:`Sensitivities`, without the sampling variance and
    with one hash aggregation instead of a sort of every row.

    Args:
        df: One row per event: ``privacy_id``, ``partition_cols`` and the columns
            ``aggregates`` read.
        privacy_id: Column identifying the learner (pseudonym).
        partition_cols: Columns defining the groups of the release.
        bounds: The caps (``lower``/``upper`` are the caller's to apply to values).
        aggregates: Aliased aggregate columns of one learner's rows in one partition.
        random_source: Source of the partition-ranking salt; defaults to the OS CSPRNG.
        columns: Names of the added row-count and scale columns.

    Returns:
        ``privacy_id``, ``partition_cols``, the aggregates and the two pair columns.

    Raises:
        MissingColumnsError: A named column is absent.
        PrivacyConfigurationError: ``partition_cols`` is empty or contains ``privacy_id``.
    """
    partitions = _validated_partitions("bounded_pairs", df, privacy_id, partition_cols, [])
    source = random_source if random_source is not None else secure_random_source()
    pair_rows = "__pair_n"
    pairs = (
        df.where(F.col(privacy_id).isNotNull())
        # Shuffled once by learner: the pair aggregation and the rank window both reuse it.
        .repartition(privacy_id)
        .groupBy(privacy_id, *partitions)
        .agg(F.count(F.lit(1)).alias(pair_rows), *aggregates)
    )  # shape: one row per (learner, partition)
    by_learner = Window.partitionBy(privacy_id).orderBy(
        _partition_hash(source, privacy_id, partitions), *partitions
    )
    kept_rows = F.least(F.col(pair_rows), F.lit(bounds.max_rows_per_partition))
    rank = "__partition_rank"
    return (
        pairs.withColumn(rank, F.row_number().over(by_learner))
        .where(F.col(rank) <= bounds.max_partitions)
        .withColumns(
            {
                columns.rows: kept_rows.cast("long"),
                columns.scale: kept_rows.cast("double") / F.col(pair_rows).cast("double"),
            }
        )
        .drop(rank, pair_rows)
    )  # shape: <= L rows per learner
