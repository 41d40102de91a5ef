"""The noise mechanisms as pure NumPy on random bytes: no Spark, easy to test.

Everything here turns bytes from a :class:`~privacy_udfs.randomness.ByteStream`
into noise; the Spark UDFs in :mod:`privacy_udfs.noise` only move Arrow
batches in and out.

Why integers: a continuous Laplace sample added to a float leaks the true
value through which doubles are reachable (Mironov, CCS 2012). Counts get
*discrete* Laplace noise (integer in, integer out). Sums are first rounded to
a grid of power-of-two granularity ``g`` and get discrete Laplace noise in
units of ``g`` (the approach of Google's secure noise and OpenDP), so every
output is an integer multiple of ``g``.

Sampling: a geometric variate is ``floor(-t·ln U)`` with ``U`` uniform on
(0, 1] built from 53 random bits, and discrete Laplace is the difference of two
geometrics. The output is an integer, so no float low bits are published; the
pmf matches the ideal one up to float64 rounding of ``ln`` (relative 2^-52) and
is truncated at ``|x| ≈ 36.7·t`` (probability below 2^-52). The grid keeps
``t`` below about 2^21 so 53-bit uniforms resolve every integer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from privacy_udfs.randomness import ByteStream

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Grid granularity is 2^-GRID_BITS of the noise scale (rounded to a power of two):
# far below the noise, yet coarse enough that t stays within what 53-bit uniforms resolve.
GRID_BITS = 20
_MAX_GRID_UNITS = 2.0**62


def uniform_open_closed(stream: ByteStream, size: int) -> FloatArray:
    """``size`` uniform doubles on (0, 1], each from 53 fresh random bits."""
    words = np.frombuffer(stream.read(8 * size), dtype=np.uint64)
    return ((words >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0**-53


def sample_geometric(stream: ByteStream, size: int, scale: float) -> IntArray:
    """Geometric variates on {0, 1, ...} with ``P(G ≥ k) = exp(-k / scale)``."""
    _require_positive("scale", scale)
    return np.floor(-scale * np.log(uniform_open_closed(stream, size))).astype(np.int64)


def sample_discrete_laplace(stream: ByteStream, size: int, scale: float) -> IntArray:
    """Discrete Laplace variates: ``P(X = k) ∝ exp(-|k| / scale)`` on the integers."""
    return sample_geometric(stream, size, scale) - sample_geometric(stream, size, scale)


def discrete_laplace_scale(epsilon: float, sensitivity: float) -> float:
    """Scale ``t = Δ/ε`` giving ε-DP to an integer query with L1 sensitivity ``Δ``."""
    _require_positive("epsilon", epsilon)
    _require_positive("sensitivity", sensitivity)
    return sensitivity / epsilon


@dataclass(frozen=True)
class GridNoise:
    """Calibration of the grid mechanism for sums.

    Attributes:
        granularity: Grid step ``g`` (a power of two); outputs are multiples of it.
        units_scale: Discrete Laplace scale in grid units.
        laplace_scale: The same scale in value units (``b``), for error bars.
    """

    granularity: float
    units_scale: float
    laplace_scale: float


def grid_noise(epsilon: float, sensitivity: float, max_partitions: int = 1) -> GridNoise:
    """Calibrate the grid mechanism for sums with L1 sensitivity ``sensitivity``.

    Rounding a sum to the grid can move neighbouring sums one more step apart, and
    one learner changes up to ``max_partitions`` (L) sums, so the L1 sensitivity in
    grid units is ``floor(Δ/g) + L``.
    """
    _require_positive("epsilon", epsilon)
    _require_positive("sensitivity", sensitivity)
    if (
        isinstance(max_partitions, bool)
        or not isinstance(max_partitions, int)
        or max_partitions < 1
    ):
        raise ValueError(f"max_partitions must be an integer >= 1, got {max_partitions!r}")
    _, exponent = math.frexp(sensitivity / epsilon)  # scale < 2^exponent
    granularity = math.ldexp(1.0, exponent - GRID_BITS)
    units_sensitivity = math.floor(sensitivity / granularity) + max_partitions
    units_scale = units_sensitivity / epsilon
    return GridNoise(granularity, units_scale, units_scale * granularity)


def snap_to_grid(values: FloatArray, granularity: float) -> IntArray:
    """Round ``values`` to the nearest multiple of ``granularity``, in grid units."""
    units = np.rint(values / granularity)
    if units.size and float(np.max(np.abs(units))) >= _MAX_GRID_UNITS:
        raise OverflowError(
            "A sum is too large for the noise grid (|sum| / granularity ≥ 2^62); "
            "reduce the clamp bounds or the contribution caps"
        )
    return units.astype(np.int64)


def add_grid_noise(values: FloatArray, calibration: GridNoise, stream: ByteStream) -> FloatArray:
    """Snap ``values`` to the grid and add discrete Laplace noise on it."""
    units = snap_to_grid(values, calibration.granularity)
    noise = sample_discrete_laplace(stream, units.size, calibration.units_scale)
    return (units + noise).astype(np.float64) * calibration.granularity


def quantile_bin_utilities(histograms: IntArray | FloatArray, quantile: float) -> FloatArray:
    """Exponential-mechanism utilities of each bin for the ``quantile`` of each row.

    Bin ``j`` covers cumulative ranks ``[c_j, c_j + h_j]``; its utility is minus
    the distance from the target rank ``q·n`` to that interval, so bins holding
    the quantile score 0. One row added or removed changes any utility by at
    most 1 (a row of weight w, as in releases that scale a learner's rows in a group
    to C, by at most w), so ``Δu`` is the number (total weight) of rows a learner
    may contribute.
    """
    counts = histograms.astype(np.float64)
    below = np.cumsum(counts, axis=1) - counts
    target = quantile * counts.sum(axis=1, keepdims=True)
    distance = np.maximum(np.maximum(below - target, target - (below + counts)), 0.0)
    utilities: FloatArray = -distance
    return utilities


def exponential_mechanism(
    utilities: FloatArray, epsilon: float, sensitivity: float, stream: ByteStream
) -> IntArray:
    """Pick one index per row with ``P(j) ∝ exp(ε·u_j / (2Δu))`` (Gumbel-max trick)."""
    _require_positive("epsilon", epsilon)
    _require_positive("sensitivity", sensitivity)
    uniforms = uniform_open_closed(stream, utilities.size).reshape(utilities.shape)
    # 1 - U lies in [0, 1); U itself in (0, 1] keeps -ln(-ln U) finite except U = 1.
    gumbel = -np.log(-np.log(np.minimum(uniforms, 1.0 - 2.0**-53)))
    scores = epsilon * utilities / (2.0 * sensitivity) + gumbel
    chosen: IntArray = np.argmax(scores, axis=1).astype(np.int64)
    return chosen


def partition_selection_threshold(epsilon: float, delta: float, max_partitions: int) -> int:
    """Smallest noisy count ``τ`` to keep a partition under discrete-Laplace thresholding.

    Each learner touches at most ``L = max_partitions`` partitions, so each
    partition's (shifted) distinct count gets discrete Laplace noise of scale
    ``L/ε`` and is kept when ``count + noise ≥ τ``. A partition holding a single
    learner is then kept with probability ``α^(τ-1)/(1+α) ≤ δ/L``
    (``α = e^(-ε/L)``), so the selection is (ε, δ)-DP over the L partitions.
    """
    _require_positive("epsilon", epsilon)
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    if max_partitions < 1:
        raise ValueError(f"max_partitions must be >= 1, got {max_partitions}")
    alpha = math.exp(-epsilon / max_partitions)
    per_partition_delta = delta / max_partitions
    steps = math.log(per_partition_delta * (1.0 + alpha)) / math.log(alpha)
    return 1 + max(0, math.ceil(steps))


def _require_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
