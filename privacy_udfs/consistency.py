"""Consistency post-processing: noisy parts that add up to their noisy total.

A total (say, a week's active learners) and partitions of it (its age bands, its grade
bands, its new and returning learners) are measured with independent noise, so the
published parts do not add up to the published total. :func:`consistent_partitions`
makes them agree, by least squares, the best linear unbiased estimate:

1. the total is estimated from every measurement at once: the noisy total and each
   partition's sum, weighted by the inverse of their noise variances (a partition's
   sum has the variance of its parts added up), so it is at least as accurate as the
   noisy total alone;
2. each partition's parts move by the gap between that total and their sum, each part
   by its share of the partition's variance (exactly the constrained least-squares
   solution for independent partitions of one total);
3. the total is rounded to a non-negative integer, and each partition to non-negative
   integers adding up to it (negative parts to 0, the rest rescaled, the largest
   remainders rounded up).

Only noisy values and their noise scales go in: this is post-processing of a DP release,
free of privacy cost, and it never reads the data. The published error bars may stay the
noisy measurements' own: the estimates are at least as accurate, so they are
conservative. :func:`with_consistent_parts` applies it to a DataFrame in one vectorized
pandas UDF.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.functions import pandas_udf
from pyspark.sql.types import LongType, StructField, StructType

from privacy_udfs.errors import PrivacyConfigurationError, require_columns

Array = np.ndarray


@dataclass(frozen=True)
class Partition:
    """Parts of one total measured together: value columns and their noise scales.

    Args:
        parts: Columns holding the noisy parts (each unit of the total is in exactly one).
        scales: The noise scale of each part (a column or a number): the standard
            deviation for Gaussian noise, the Laplace scale otherwise. Only their ratios
            matter, so every scale of one release must be of the same mechanism.
    """

    parts: tuple[str, ...]
    scales: tuple[Column | float, ...]

    def __post_init__(self) -> None:
        if len(self.parts) < 2:
            raise PrivacyConfigurationError(
                f"a partition needs at least two parts, got {list(self.parts)}"
            )
        if len(self.scales) != len(self.parts):
            raise PrivacyConfigurationError(
                f"a partition needs one scale per part: {len(self.parts)} parts "
                f"{list(self.parts)}, {len(self.scales)} scales"
            )


def consistent_partitions(
    total: Array,
    total_scale: Array,
    partitions: Sequence[tuple[Array, Array]],
) -> tuple[Array, list[Array]]:
    """Least-squares total and parts, rounded to non-negative integers that add up.

    Args:
        total: Noisy totals, shape (n,).
        total_scale: Their noise scales, shape (n,), positive.
        partitions: For each partition, (noisy parts, their noise scales), shape (n, k).

    Returns:
        The totals (int64, shape (n,)) and each partition's parts (int64, shape (n, k)),
        every row of parts adding up to its total.
    """
    total = np.asarray(total, dtype=float)
    variance = _variance(total_scale, "total")
    if np.isnan(total).any():
        raise ValueError("consistent_partitions needs every total (a NaN total was given)")
    weighted, weights = total / variance, 1.0 / variance
    prepared = []
    for index, (parts, scales) in enumerate(partitions):
        parts = np.asarray(parts, dtype=float)
        if parts.ndim != 2 or parts.shape[0] != total.shape[0] or np.isnan(parts).any():
            raise ValueError(
                f"partition {index}: parts must be a complete (n, k) array with n = "
                f"{total.shape[0]}, got shape {parts.shape}"
            )
        part_variance = _variance(scales, f"partition {index}").reshape(parts.shape)
        group_variance = part_variance.sum(axis=1)
        weighted = weighted + parts.sum(axis=1) / group_variance
        weights = weights + 1.0 / group_variance
        prepared.append((parts, part_variance, group_variance))
    estimate = weighted / weights
    rounded = np.maximum(np.rint(estimate), 0.0)
    consistent = []
    for parts, part_variance, group_variance in prepared:
        gap = estimate - parts.sum(axis=1)
        moved = parts + gap[:, None] * part_variance / group_variance[:, None]
        consistent.append(_integer_parts(moved, rounded))
    return rounded.astype(np.int64), consistent


def _variance(scales: Array, what: str) -> Array:
    scales = np.asarray(scales, dtype=float)
    if not np.isfinite(scales).all() or (scales <= 0).any():
        raise ValueError(f"{what}: noise scales must be positive and finite, got {scales}")
    return np.asarray(np.square(scales))


def _integer_parts(parts: Array, totals: Array) -> Array:
    """Non-negative integers close to ``parts`` adding up to ``totals`` row by row."""
    n, k = parts.shape
    positive = np.clip(parts, 0.0, None)
    sums = positive.sum(axis=1)
    # Nothing positive left: spread the total evenly (every part is as likely).
    shares = np.where(sums[:, None] > 0, positive / np.where(sums > 0, sums, 1.0)[:, None], 1.0 / k)
    ideal = shares * totals[:, None]
    floors = np.floor(ideal)
    missing = (totals - floors.sum(axis=1)).astype(np.int64)
    order = np.argsort(-(ideal - floors), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(k), (n, k)), axis=1)
    return np.asarray((floors + (ranks < missing[:, None])).astype(np.int64))


def with_consistent_parts(
    df: DataFrame,
    total: str,
    total_scale: Column | float,
    partitions: Mapping[str, Partition],
) -> DataFrame:
    """``df`` with ``total`` and every partition's parts made consistent (long columns).

    Rows with a null total or part are left as they are. Apply it to noisy values only,
    before suppression decides what to null (the decision may then use the consistent
    counts: post-processing).
    """
    columns = [total, *(p for partition in partitions.values() for p in partition.parts)]
    require_columns("with_consistent_parts", df.columns, columns)
    names = list(partitions)
    sizes = [len(partitions[name].parts) for name in names]
    out = "__consistent"
    fields = [StructField(total, LongType())] + [
        StructField(part, LongType()) for name in names for part in partitions[name].parts
    ]

    def consistent_batches(*series: pd.Series) -> pd.DataFrame:
        values = np.column_stack([s.to_numpy(dtype=float, na_value=np.nan) for s in series])
        width = 1 + sum(sizes)
        data, scales = values[:, :width], values[:, width:]
        complete = ~np.isnan(values).any(axis=1)
        result = pd.DataFrame(  # rows with a null stay as they are
            {f.name: pd.Series(data[:, i]).round().astype("Int64") for i, f in enumerate(fields)}
        )
        if complete.any():
            start, groups = 1, []
            for size in sizes:
                groups.append(
                    (data[complete, start : start + size], scales[complete, start : start + size])
                )
                start += size
            totals, parts = consistent_partitions(data[complete, 0], scales[complete, 0], groups)
            rows = np.flatnonzero(complete)
            result.loc[rows, total] = totals
            column = 1
            for group in parts:
                for j in range(group.shape[1]):
                    result.loc[rows, fields[column].name] = group[:, j]
                    column += 1
        return result

    scale_columns = [_scale_column(total_scale)] + [
        _scale_column(s) for name in names for s in partitions[name].scales
    ]
    udf = pandas_udf(consistent_batches, returnType=StructType(fields))  # type: ignore[call-overload]
    with_struct = df.withColumn(out, udf(*[F.col(c) for c in columns], *scale_columns))
    return with_struct.withColumns({f.name: F.col(f"{out}.{f.name}") for f in fields}).drop(out)


def _scale_column(scale: Column | float) -> Column:
    return (scale if isinstance(scale, Column) else F.lit(float(scale))).cast("double")
