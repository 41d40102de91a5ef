"""The discrete Gaussian sampler and its grid mechanism for sums, as pure NumPy on random bytes.

Counts under zCDP get discrete Gaussian noise ``N_Z(0, σ²)``: ``P(x) ∝
exp(−x²/(2σ²))`` on the integers, integer in and integer out (CKS20: Canonne,
Kamath, Steinke, "The Discrete Gaussian for Differential Privacy", NeurIPS 2020).
Sums are rounded to a power-of-two grid and get discrete Gaussian noise in grid
units, as :func:`privacy_udfs.mechanisms.grid_noise` does for Laplace.

Sampling is CKS20 Algorithm 3, the algorithm OpenDP (``sample_discrete_gaussian``),
Tumult Core and Steinke's reference ``discretegauss.py`` implement: draw ``Y`` from
the discrete Laplace of scale ``t = ⌊σ⌋ + 1`` and accept it with probability
``exp(−(|Y| − σ²/t)²/(2σ²))``. The accepted ``Y`` has exactly the discrete
Gaussian pmf (the product of the two factors is ``∝ exp(−Y²/(2σ²))``); on
average at most 2.25 candidates per output. Here it is vectorized: a batch of
candidates and one uniform per candidate, repeated for the rejected share.

Where float64 enters (the price of vectorizing; OpenDP and Tumult use exact
rational arithmetic, one value at a time, about two orders of magnitude slower —
see ``docs/BENCHMARKS.md``):

* the candidates come from :func:`privacy_udfs.mechanisms.sample_discrete_laplace`,
  exact up to float64 rounding of ``ln`` (relative 2⁻⁵²) and truncated at about
  ``36.7·t`` (probability below 2⁻⁵²);
* the acceptance test compares a uniform on the grid ``k·2⁻⁵³`` with the float64
  value of ``p = exp(−bias)``, so each acceptance probability is off by about
  2⁻⁵³ in absolute terms (relative ``2⁻⁵³/p``): below 10⁻⁶ relative for every
  ``|x| ≤ 6.7σ``; in the tails beyond, whose total probability is below 10⁻¹⁰,
  probabilities are right only to that absolute 2⁻⁵³ per candidate.

Outputs are integers, so no float low bits are published (Mironov, CCS 2012).
Randomness comes only from the :class:`~privacy_udfs.randomness.ByteStream` passed
in (the OS CSPRNG in production). Timing depends on the number of rejections,
which depends only on σ and the random bytes, never on the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from privacy_udfs import mechanisms, zcdp
from privacy_udfs.errors import PrivacyConfigurationError
from privacy_udfs.randomness import ByteStream

FloatArray = mechanisms.FloatArray
IntArray = mechanisms.IntArray

# Above this the Laplace proposal's scale t would need more resolution than 53-bit
# uniforms give; no useful release has noise this large.
MAX_SIGMA = 2.0**40


def sample_discrete_gaussian(stream: ByteStream, size: int, sigma: float) -> IntArray:
    """``size`` independent draws of ``N_Z(0, σ²)`` (CKS20 Algorithm 3, vectorized).

    Args:
        stream: Source of random bytes (the OS CSPRNG in production).
        size: Number of draws (≥ 0).
        sigma: Scale σ > 0 (at most 2⁴⁰).

    Returns:
        An ``int64`` array of length ``size``.
    """
    require_sigma(sigma)
    if size < 0:
        raise PrivacyConfigurationError(f"size must be >= 0, got {size}")
    t = float(math.floor(sigma) + 1)
    sigma2 = sigma * sigma
    center = sigma2 / t
    rate = acceptance_rate(sigma)
    out = np.empty(size, dtype=np.int64)
    filled = 0
    while filled < size:
        needed = size - filled
        batch = math.ceil(needed / rate * 1.02) + 16  # one round nearly always suffices
        candidates = mechanisms.sample_discrete_laplace(stream, batch, t)
        bias = (np.abs(candidates) - center) ** 2 / (2.0 * sigma2)
        accepted = candidates[mechanisms.uniform_open_closed(stream, batch) <= np.exp(-bias)]
        take = min(needed, accepted.size)
        out[filled : filled + take] = accepted[:take]
        filled += take
    return out


def acceptance_rate(sigma: float) -> float:
    """Probability that one candidate of Algorithm 3 is accepted, for batch sizing.

    ``Σ_y L_t(y)·exp(−(|y| − σ²/t)²/(2σ²)) = Z_σ·e^(−σ²/(2t²))·tanh(1/(2t))``
    with ``Z_σ = Σ_y exp(−y²/(2σ²))``; between about 0.445 and 0.76.
    """
    require_sigma(sigma)
    t = math.floor(sigma) + 1
    if sigma < 8.0:
        normalizer = math.fsum(math.exp(-(y * y) / (2.0 * sigma * sigma)) for y in range(-200, 201))
    else:  # Poisson summation: Z_σ = σ√(2π)·(1 + 2e^(−2π²σ²) + …), the rest is below 1e-300
        normalizer = sigma * math.sqrt(2.0 * math.pi)
    return normalizer * math.exp(-(sigma * sigma) / (2.0 * t * t)) * math.tanh(1.0 / (2.0 * t))


@dataclass(frozen=True)
class GaussianGridNoise:
    """Calibration of the discrete Gaussian grid mechanism for sums.

    Attributes:
        granularity: Grid step ``g`` (a power of two); outputs are multiples of it.
        units_l2_sensitivity: L2 sensitivity in grid units after rounding,
            ``Δ2/g + √L``.
        units_sigma: Discrete Gaussian σ in grid units.
        sigma: The same σ in value units (for error bars).
        rho: ρ of the mechanism (``units_l2_sensitivity²/(2·units_sigma²)`` ≤ the ρ asked for).
    """

    granularity: float
    units_l2_sensitivity: float
    units_sigma: float
    sigma: float
    rho: float


def gaussian_grid_noise(
    rho: float, l2_sensitivity: float, max_partitions: int
) -> GaussianGridNoise:
    """Calibrate the grid mechanism for sums with L2 sensitivity ``l2_sensitivity`` at ``rho``.

    The grid step is a power of two about 2⁻²⁰ of the noise σ
    (:data:`privacy_udfs.mechanisms.GRID_BITS`). Rounding each sum to the grid
    moves each of the at most ``max_partitions`` sums one learner changes by less
    than one more step, so in grid units the L2 sensitivity is at most
    ``Δ2/g + √L`` (triangle inequality), and σ is calibrated to that.

    Args:
        rho: ρ spent by this column.
        l2_sensitivity: L2 sensitivity of the vector of sums (value units).
        max_partitions: L, the most sums (groups) one learner can change.
    """
    if (
        isinstance(max_partitions, bool)
        or not isinstance(max_partitions, int)
        or max_partitions < 1
    ):
        raise PrivacyConfigurationError(
            f"max_partitions must be an integer >= 1, got {max_partitions!r}"
        )
    nominal = zcdp.sigma_for_rho(l2_sensitivity, rho)
    _, exponent = math.frexp(nominal)  # nominal < 2^exponent
    granularity = math.ldexp(1.0, exponent - mechanisms.GRID_BITS)
    units_sensitivity = l2_sensitivity / granularity + math.sqrt(max_partitions)
    units_sigma = zcdp.sigma_for_rho(units_sensitivity, rho)
    require_sigma(units_sigma)
    return GaussianGridNoise(
        granularity=granularity,
        units_l2_sensitivity=units_sensitivity,
        units_sigma=units_sigma,
        sigma=units_sigma * granularity,
        rho=zcdp.rho_of_gaussian(units_sensitivity, units_sigma),
    )


def add_gaussian_grid_noise(
    values: FloatArray, calibration: GaussianGridNoise, stream: ByteStream
) -> FloatArray:
    """Snap ``values`` to the grid and add discrete Gaussian noise on it."""
    units = mechanisms.snap_to_grid(values, calibration.granularity)
    noise = sample_discrete_gaussian(stream, units.size, calibration.units_sigma)
    return (units + noise).astype(np.float64) * calibration.granularity


def require_sigma(sigma: float) -> None:
    """Raise :class:`PrivacyConfigurationError` unless ``0 < sigma ≤ 2⁴⁰`` (finite)."""
    if isinstance(sigma, bool) or not isinstance(sigma, int | float):
        raise PrivacyConfigurationError(f"sigma must be a number, got {sigma!r}")
    if not (math.isfinite(sigma) and 0.0 < sigma <= MAX_SIGMA):
        raise PrivacyConfigurationError(
            f"sigma must be a positive finite number at most 2^40, got {sigma}"
        )
