"""Vectorized noise as Spark pandas (Arrow) UDFs: one stream of random bytes per partition.

Each UDF is an iterator pandas UDF marked nondeterministic: Spark calls it once
per partition, it opens a stream from its :class:`RandomSource` for
(purpose, partition id) and reads fresh bytes for every Arrow batch. The
numerical work is in :mod:`privacy_udfs.mechanisms` (Laplace, exponential
mechanism) and :mod:`privacy_udfs.gaussian` (discrete Gaussian, for ρ-zCDP
accounted in :mod:`privacy_udfs.zcdp`); nothing runs per row in Python.

Apply these to *aggregates* (one row per group), never to event rows, and
materialize the result once (see :func:`privacy_udfs.private_aggregate`):
a nondeterministic column recomputed by a second action is a fresh draw.

Each function has a ``*_draw`` form returning a :class:`NoiseDraw` (the column not yet
placed in a plan); :func:`draw_together` evaluates many draws in one UDF, so a release
with several noisy columns makes one Arrow round trip per partition instead of one
per column, with the same values (each draw still reads its own stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.pandas.functions import pandas_udf
from pyspark.sql.types import DataType, DoubleType, LongType, StructField, StructType

from privacy_udfs import gaussian, mechanisms, zcdp
from privacy_udfs.randomness import ByteStream, RandomSource, secure_random_source

BatchNoise = Callable[[pd.Series, ByteStream], pd.Series]


def _as_column(col: Column | str) -> Column:
    return F.col(col) if isinstance(col, str) else col


def _noise_udf(
    return_type: DataType, noise: BatchNoise, source: RandomSource | None, purpose: str
) -> Callable[[Column], Column]:
    """Wrap ``noise`` as a nondeterministic iterator pandas UDF with a per-partition stream."""
    random_source = source if source is not None else secure_random_source()

    def noisy_batches(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        from pyspark import TaskContext

        context = TaskContext.get()
        stream = random_source.stream(purpose, context.partitionId() if context else 0)
        for batch in batches:
            yield noise(batch, stream)

    udf = pandas_udf(noisy_batches, returnType=return_type)  # type: ignore[call-overload]
    return udf.asNondeterministic()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class NoiseDraw:
    """A noisy column before it is placed in a plan: input, type, mechanism and stream.

    ``column()`` is the draw as its own UDF; :func:`draw_together` evaluates several
    draws in one UDF. Either way the draw reads the stream (``purpose``, partition id)
    of its source, so both give the same values.
    """

    input: Column
    return_type: DataType
    noise: BatchNoise
    source: RandomSource | None
    purpose: str

    def column(self) -> Column:
        """The draw as a nondeterministic pandas UDF column of its own."""
        return _noise_udf(self.return_type, self.noise, self.source, self.purpose)(self.input)


def draw_together(draws: Mapping[str, NoiseDraw]) -> Column:
    """Every draw in one nondeterministic pandas UDF: a struct with one field per name.

    Select the fields (``struct.*``) in a later projection and materialize the result
    once, as for a single draw.
    """
    if not draws:
        raise ValueError("draw_together needs at least one draw")
    names = list(draws)
    specs = [draws[name] for name in names]
    return_type = StructType(
        [StructField(n, d.return_type) for n, d in zip(names, specs, strict=True)]
    )
    # The UDF closes over plain Python values only (a Column cannot be pickled to the workers).
    noises = [spec.noise for spec in specs]
    streams_of = [
        (spec.source if spec.source is not None else secure_random_source(), spec.purpose)
        for spec in specs
    ]

    def noisy_batches(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.DataFrame]:
        from pyspark import TaskContext

        context = TaskContext.get()
        partition = context.partitionId() if context else 0
        streams = [source.stream(purpose, partition) for source, purpose in streams_of]
        for batch in batches:
            # One input arrives as a Series, several as a tuple of Series.
            columns = batch if isinstance(batch, tuple) else (batch,)
            yield pd.DataFrame(
                {
                    name: noise(values, stream).reset_index(drop=True)
                    for name, noise, values, stream in zip(
                        names, noises, columns, streams, strict=True
                    )
                }
            )

    udf = pandas_udf(noisy_batches, returnType=return_type)  # type: ignore[call-overload]
    return udf.asNondeterministic()(*[spec.input for spec in specs])  # type: ignore[no-any-return]


def laplace_count_draw(
    col: Column | str,
    epsilon: float,
    sensitivity: float,
    *,
    random_source: RandomSource | None = None,
    purpose: str = "laplace_count",
) -> NoiseDraw:
    """:func:`laplace_count` as a :class:`NoiseDraw` (for :func:`draw_together`)."""
    scale = mechanisms.discrete_laplace_scale(epsilon, sensitivity)

    def noise(batch: pd.Series, stream: ByteStream) -> pd.Series:
        missing = batch.isna().to_numpy()
        values = batch.fillna(0).to_numpy(dtype=np.int64)
        noisy = values + mechanisms.sample_discrete_laplace(stream, len(values), scale)
        return pd.Series(pd.array(noisy, dtype="Int64")).mask(missing)

    return NoiseDraw(_as_column(col), LongType(), noise, random_source, purpose)


def laplace_count(
    col: Column | str,
    epsilon: float,
    sensitivity: float,
    *,
    random_source: RandomSource | None = None,
    purpose: str = "laplace_count",
) -> Column:
    """Add discrete Laplace noise of scale ``sensitivity/epsilon`` to an integer column.

    Args:
        col: Integer aggregate (e.g. a count per group); null stays null.
        epsilon: ε spent by this column.
        sensitivity: L1 sensitivity of the column across all groups.
        random_source: Defaults to the OS CSPRNG.
        purpose: Separates the streams of different columns under a seeded test source.

    Returns:
        A nondeterministic ``long`` column.
    """
    return laplace_count_draw(
        col, epsilon, sensitivity, random_source=random_source, purpose=purpose
    ).column()


def laplace_sum_draw(
    col: Column | str,
    epsilon: float,
    sensitivity: float,
    *,
    max_partitions: int = 1,
    random_source: RandomSource | None = None,
    purpose: str = "laplace_sum",
) -> NoiseDraw:
    """:func:`laplace_sum` as a :class:`NoiseDraw` (for :func:`draw_together`)."""
    calibration = mechanisms.grid_noise(epsilon, sensitivity, max_partitions)

    def noise(batch: pd.Series, stream: ByteStream) -> pd.Series:
        missing = batch.isna().to_numpy()
        values = batch.fillna(0.0).to_numpy(dtype=np.float64)
        noisy = mechanisms.add_grid_noise(values, calibration, stream)
        return pd.Series(noisy).mask(missing)

    return NoiseDraw(_as_column(col), DoubleType(), noise, random_source, purpose)


def laplace_sum(
    col: Column | str,
    epsilon: float,
    sensitivity: float,
    *,
    max_partitions: int = 1,
    random_source: RandomSource | None = None,
    purpose: str = "laplace_sum",
) -> Column:
    """Snap a real-valued column to a power-of-two grid and add discrete Laplace noise on it.

    The Laplace scale in value units is
    ``mechanisms.grid_noise(epsilon, sensitivity, max_partitions).laplace_scale``; every output is
    a multiple of its ``granularity``.

    Args:
        col: Real aggregate (e.g. a clamped sum per group); null stays null.
        epsilon: ε spent by this column.
        sensitivity: L1 sensitivity of the column across all groups.
        max_partitions: L, the most sums one learner changes (grid rounding adds L steps).
        random_source: Defaults to the OS CSPRNG.
        purpose: Separates the streams of different columns under a seeded test source.

    Returns:
        A nondeterministic ``double`` column.
    """
    return laplace_sum_draw(
        col,
        epsilon,
        sensitivity,
        max_partitions=max_partitions,
        random_source=random_source,
        purpose=purpose,
    ).column()


def gaussian_count_draw(
    col: Column | str,
    rho: float,
    l2_sensitivity: float,
    *,
    random_source: RandomSource | None = None,
    purpose: str = "gaussian_count",
) -> NoiseDraw:
    """:func:`gaussian_count` as a :class:`NoiseDraw` (for :func:`draw_together`)."""
    sigma = zcdp.sigma_for_rho(l2_sensitivity, rho)
    gaussian.require_sigma(sigma)  # refuse on the driver, not in a task

    def noise(batch: pd.Series, stream: ByteStream) -> pd.Series:
        missing = batch.isna().to_numpy()
        values = batch.fillna(0).to_numpy(dtype=np.int64)
        noisy = values + gaussian.sample_discrete_gaussian(stream, len(values), sigma)
        return pd.Series(pd.array(noisy, dtype="Int64")).mask(missing)

    return NoiseDraw(_as_column(col), LongType(), noise, random_source, purpose)


def gaussian_count(
    col: Column | str,
    rho: float,
    l2_sensitivity: float,
    *,
    random_source: RandomSource | None = None,
    purpose: str = "gaussian_count",
) -> Column:
    """Add discrete Gaussian noise ``N_Z(0, σ²)`` to an integer column, ``ρ``-zCDP.

    ``σ = zcdp.sigma_for_rho(l2_sensitivity, rho)`` (``Δ2/√(2ρ)``, CKS20); a 95 %
    interval is ``±zcdp.gaussian_interval_half_width(σ)`` (about 1.96σ).

    Args:
        col: Integer aggregate (e.g. a count per group); null stays null.
        rho: ρ spent by this column.
        l2_sensitivity: L2 sensitivity of the column across all groups (e.g. ``√L``
            for a distinct-learner count when a learner is in at most L groups).
        random_source: Defaults to the OS CSPRNG.
        purpose: Separates the streams of different columns under a seeded test source.

    Returns:
        A nondeterministic ``long`` column.
    """
    return gaussian_count_draw(
        col, rho, l2_sensitivity, random_source=random_source, purpose=purpose
    ).column()


def gaussian_sum_draw(
    col: Column | str,
    rho: float,
    l2_sensitivity: float,
    *,
    max_partitions: int,
    random_source: RandomSource | None = None,
    purpose: str = "gaussian_sum",
) -> NoiseDraw:
    """:func:`gaussian_sum` as a :class:`NoiseDraw` (for :func:`draw_together`)."""
    calibration = gaussian.gaussian_grid_noise(rho, l2_sensitivity, max_partitions)

    def noise(batch: pd.Series, stream: ByteStream) -> pd.Series:
        missing = batch.isna().to_numpy()
        values = batch.fillna(0.0).to_numpy(dtype=np.float64)
        noisy = gaussian.add_gaussian_grid_noise(values, calibration, stream)
        return pd.Series(noisy).mask(missing)

    return NoiseDraw(_as_column(col), DoubleType(), noise, random_source, purpose)


def gaussian_sum(
    col: Column | str,
    rho: float,
    l2_sensitivity: float,
    *,
    max_partitions: int,
    random_source: RandomSource | None = None,
    purpose: str = "gaussian_sum",
) -> Column:
    """Snap a real-valued column to a power-of-two grid and add discrete Gaussian noise on it.

    Calibration: ``gaussian.gaussian_grid_noise(rho, l2_sensitivity, max_partitions)``;
    its ``sigma`` is the noise σ in value units (for error bars) and every output is
    a multiple of its ``granularity``.

    Args:
        col: Real aggregate (e.g. a clamped sum per group); null stays null.
        rho: ρ spent by this column.
        l2_sensitivity: L2 sensitivity of the column across all groups (value units).
        max_partitions: L, the most groups one learner contributes to (the grid
            rounding adds up to one step in each of them).
        random_source: Defaults to the OS CSPRNG.
        purpose: Separates the streams of different columns under a seeded test source.

    Returns:
        A nondeterministic ``double`` column.
    """
    return gaussian_sum_draw(
        col,
        rho,
        l2_sensitivity,
        max_partitions=max_partitions,
        random_source=random_source,
        purpose=purpose,
    ).column()


def exponential_quantile_draw(
    histogram: Column | str,
    *,
    quantile: float,
    lower: float,
    upper: float,
    epsilon: float,
    sensitivity: float,
    random_source: RandomSource | None = None,
    purpose: str = "exponential_quantile",
) -> NoiseDraw:
    """:func:`exponential_quantile` as a :class:`NoiseDraw` (for :func:`draw_together`)."""

    def noise(batch: pd.Series, stream: ByteStream) -> pd.Series:
        if batch.empty:
            return pd.Series([], dtype="float64")
        histograms = np.stack([np.asarray(h, dtype=np.float64) for h in batch])
        utilities = mechanisms.quantile_bin_utilities(histograms, quantile)
        chosen = mechanisms.exponential_mechanism(utilities, epsilon, sensitivity, stream)
        width = (upper - lower) / histograms.shape[1]
        return pd.Series(lower + (chosen + 0.5) * width)

    return NoiseDraw(_as_column(histogram), DoubleType(), noise, random_source, purpose)


def exponential_quantile(
    histogram: Column | str,
    *,
    quantile: float,
    lower: float,
    upper: float,
    epsilon: float,
    sensitivity: float,
    random_source: RandomSource | None = None,
    purpose: str = "exponential_quantile",
) -> Column:
    """Pick a DP ``quantile`` from per-group histograms over equal bins of ``[lower, upper]``.

    Exponential mechanism over the bins with the utilities of
    :func:`privacy_udfs.mechanisms.quantile_bin_utilities`; the output is the
    chosen bin's midpoint.

    Args:
        histogram: ``array<long>`` or ``array<double>`` column, one count (or a learner-scaled
            weight) per bin, no nulls.
        quantile: In (0, 1), e.g. 0.5 for the median.
        lower: Lower edge of the first bin.
        upper: Upper edge of the last bin.
        epsilon: ε spent by this column.
        sensitivity: Rows one learner may add across all groups (``L·C``).
        random_source: Defaults to the OS CSPRNG.
        purpose: Separates the streams of different columns under a seeded test source.

    Returns:
        A nondeterministic ``double`` column.
    """
    return exponential_quantile_draw(
        histogram,
        quantile=quantile,
        lower=lower,
        upper=upper,
        epsilon=epsilon,
        sensitivity=sensitivity,
        random_source=random_source,
        purpose=purpose,
    ).column()
