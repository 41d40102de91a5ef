"""Zero-concentrated DP (ρ-zCDP) accounting: pure Python, no Spark, no NumPy.

Why zCDP: a release of many measurements composes by adding ρ, and ρ turns into
(ε, δ) with a √ — so m measurements cost about √m in noise under the Gaussian
mechanism instead of m under pure-ε Laplace. For one or a few measurements
Laplace (δ = 0) is better; :func:`compare_mechanisms` says which, per table.

What this module follows:

* Discrete Gaussian mechanism: adding ``N_Z(0, σ²)`` noise (P(x) ∝ exp(−x²/2σ²)
  on the integers) to an integer-valued query whose neighbours differ by at most
  ``Δ`` in L2 norm is ``Δ²/(2σ²)``-zCDP — Canonne, Kamath, Steinke, "The Discrete
  Gaussian for Differential Privacy", NeurIPS 2020 (CKS20), Theorems 14-15. OpenDP
  (``make_gaussian`` on integers) and Tumult Core (``AddDiscreteGaussianNoise``,
  ``RhoZCDP``) calibrate the same way.
* Composition: ρ adds up (Bun, Steinke, TCC 2016, Lemma 2.3); ε-DP implies
  ``ε²/2``-zCDP (ibid., Proposition 3.3).
* ρ → (ε, δ): the tight conversion of CKS20, Corollary 13,
  ``δ = min_{α>1} exp((α−1)(αρ−ε))/(α−1) · (1−1/α)^α``, solved for ε at a fixed
  α as ``ε(α) = αρ + (ln(1/δ) + (α−1)·ln(1−1/α) − ln α)/(α−1)`` and minimized
  over α (``dε/dα`` has the sign of ``ρ(α−1)² + ln(αδ)``, increasing in α, so
  bisection finds the minimum). Any α gives a valid bound, so an imprecise
  minimum only makes ε larger. This is OpenDP's ``cdp_epsilon``
  (``make_zCDP_to_approxDP``) and Steinke's ``cdp2adp.py`` reference code.
  The classic bound ``ε = ρ + 2√(ρ ln(1/δ))`` (Bun-Steinke 2016,
  Proposition 1.3) is :func:`epsilon_of_rho_simple`; the tight one is never larger.

All floats here are float64; conversions that calibrate noise
(:func:`sigma_for_rho`, :func:`rho_for_epsilon`) round in the safe direction.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from privacy_udfs.errors import PrivacyConfigurationError

# Above this σ the discrete Gaussian's interval and variance are taken from the
# continuous normal (they differ by far less than one unit there; see the tests).
_EXACT_SIGMA_LIMIT = 10_000.0
# Terms of the discrete Gaussian beyond 14σ weigh below e^-98: nothing in float64.
_TAIL_SIGMAS = 14.0
# rho_for_epsilon shaves this relative margin so float rounding in ε(ρ) cannot overstate ρ.
_RHO_SAFETY = 1e-12


def rho_of_gaussian(l2_sensitivity: float, sigma: float) -> float:
    """ρ of the discrete Gaussian mechanism: ``Δ²/(2σ²)`` (CKS20, Theorems 14-15).

    Args:
        l2_sensitivity: Largest L2 distance between the (integer) query answers of
            two neighbouring datasets; need not be an integer itself (e.g. ``√L``).
        sigma: Scale σ of the discrete Gaussian ``P(x) ∝ exp(−x²/(2σ²))``.
    """
    _require_positive("l2_sensitivity", l2_sensitivity)
    _require_positive("sigma", sigma)
    return l2_sensitivity**2 / (2.0 * sigma**2)


def sigma_for_rho(l2_sensitivity: float, rho: float) -> float:
    """Smallest float σ with ``rho_of_gaussian(l2_sensitivity, σ) ≤ rho``: ``Δ/√(2ρ)``."""
    _require_positive("l2_sensitivity", l2_sensitivity)
    _require_positive("rho", rho)
    sigma = l2_sensitivity / math.sqrt(2.0 * rho)
    while rho_of_gaussian(l2_sensitivity, sigma) > rho:  # float rounding: step up, never down
        sigma = math.nextafter(sigma, math.inf)
    return sigma


def rho_of_pure(epsilon: float) -> float:
    """ρ implied by ε-DP (e.g. a Laplace measurement): ``ε²/2`` (Bun-Steinke 2016, Prop. 3.3)."""
    _require_positive("epsilon", epsilon)
    return epsilon**2 / 2.0


def compose_rho(rhos: Iterable[float]) -> float:
    """ρ of running every mechanism of ``rhos`` on the same data: their sum."""
    values = list(rhos)
    if not values:
        raise PrivacyConfigurationError("rhos must name at least one mechanism, got none")
    for index, rho in enumerate(values):
        _require_positive(f"rhos[{index}]", rho)
    return math.fsum(values)


def split_rho(rho: float, shares: Sequence[float]) -> list[float]:
    """Split a total ``rho`` in proportion to positive ``shares``; the parts sum to at most ρ."""
    _require_positive("rho", rho)
    if not shares:
        raise PrivacyConfigurationError("shares must have at least one entry, got none")
    for index, share in enumerate(shares):
        _require_positive(f"shares[{index}]", share)
    total = math.fsum(shares)
    parts = [rho * share / total for share in shares]
    while math.fsum(parts) > rho:  # float rounding must not overspend
        parts = [math.nextafter(part, 0.0) for part in parts]
    return parts


def epsilon_of_rho_simple(rho: float, delta: float) -> float:
    """The classic conversion ``ε = ρ + 2√(ρ ln(1/δ))`` (Bun-Steinke 2016, Prop. 1.3)."""
    _require_positive("rho", rho)
    _require_delta(delta)
    return rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta))


@functools.lru_cache(maxsize=4096)  # pure; a run's budget step asks for the same few values
def epsilon_of_rho(rho: float, delta: float) -> float:
    """Smallest ε such that ρ-zCDP implies (ε, δ)-DP by CKS20 Corollary 13.

    Args:
        rho: The mechanism's ρ (> 0).
        delta: Target δ in (0, 1).

    Returns:
        ε ≥ 0; never larger than :func:`epsilon_of_rho_simple`.
    """
    _require_positive("rho", rho)
    _require_delta(delta)
    log_inv_delta = math.log(1.0 / delta)

    def increasing(alpha: float) -> bool:  # sign of dε/dα: ρ(α−1)² + ln(αδ) > 0
        return rho * (alpha - 1.0) ** 2 + math.log(alpha) - log_inv_delta > 0.0

    low, high = 1.0, 2.0
    while not increasing(high):
        high *= 2.0
    while True:
        middle = low + (high - low) / 2.0
        if middle in (low, high):
            break
        if increasing(middle):
            high = middle
        else:
            low = middle
    candidates = [alpha for alpha in (low, high) if alpha > 1.0]
    return max(0.0, min(_epsilon_at_order(rho, log_inv_delta, alpha) for alpha in candidates))


@functools.lru_cache(maxsize=4096)  # pure; a bisection of epsilon_of_rho, asked once per charge
def rho_for_epsilon(epsilon: float, delta: float) -> float:
    """Largest ρ whose :func:`epsilon_of_rho` at ``delta`` is at most ``epsilon`` (bisection).

    The result is shaved by a relative 10⁻¹² so float rounding in the bound cannot
    overstate it; ``epsilon_of_rho(rho_for_epsilon(ε, δ), δ) ≤ ε`` always holds.
    """
    _require_positive("epsilon", epsilon)
    _require_delta(delta)
    low, high = 0.0, max(epsilon, 1.0)
    while epsilon_of_rho(high, delta) <= epsilon:
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = low + (high - low) / 2.0
        if middle in (low, high):
            break
        if epsilon_of_rho(middle, delta) <= epsilon:
            low = middle
        else:
            high = middle
    if low <= 0.0:
        raise PrivacyConfigurationError(
            f"epsilon={epsilon} with delta={delta} leaves no positive rho; raise epsilon or delta"
        )
    return low * (1.0 - _RHO_SAFETY)


def discrete_gaussian_variance(sigma: float) -> float:
    """Variance of ``N_Z(0, σ²)``, summed exactly over the pmf for σ up to 10⁴.

    CKS20 (Section 2) bound it between ``σ²·(1 − 4π²σ²/(e^(4π²σ²) − 1))`` and σ²:
    for σ ≥ 1 the gap is below float64 resolution, so above 10⁴ this returns σ².
    """
    _require_positive("sigma", sigma)
    if sigma > _EXACT_SIGMA_LIMIT:
        return sigma**2
    weights = _half_weights(sigma)
    normalizer = weights[0] + 2.0 * math.fsum(weights[1:])
    return 2.0 * math.fsum(x * x * w for x, w in enumerate(weights)) / normalizer


def discrete_laplace_variance(scale: float) -> float:
    """Variance of the discrete Laplace ``P(x) ∝ exp(−|x|/b)``: ``2α/(1−α)²``, ``α = e^(−1/b)``."""
    _require_positive("scale", scale)
    alpha = math.exp(-1.0 / scale)
    return 2.0 * alpha / (1.0 - alpha) ** 2


def gaussian_interval_half_width(sigma: float, confidence: float = 0.95) -> int:
    """Smallest integer h with ``P(|X| ≤ h) ≥ confidence`` for ``X ~ N_Z(0, σ²)``.

    Exact (sums of the normalized pmf) for σ up to 10⁴; above, from the normal
    quantile with a continuity correction, ``⌈z·σ − ½⌉``, which the tests check
    against the exact sum. For noise on a grid of step g, pass σ in grid units
    and multiply the result by g.
    """
    _require_positive("sigma", sigma)
    _require_confidence(confidence)
    if sigma > _EXACT_SIGMA_LIMIT:
        return _gaussian_half_width_normal(sigma, confidence)
    return _gaussian_half_width_exact(sigma, confidence)


def laplace_interval_half_width(scale: float, confidence: float = 0.95) -> int:
    """Smallest integer h with ``P(|X| ≤ h) ≥ confidence`` for the discrete Laplace of ``scale``.

    ``P(|X| > h) = 2α^(h+1)/(1+α)`` with ``α = e^(−1/b)``, solved for h (about
    ``b·ln(1/(1−confidence))``: ±3b at 95 %).
    """
    _require_positive("scale", scale)
    _require_confidence(confidence)
    alpha = math.exp(-1.0 / scale)
    if alpha == 0.0:  # scale so small that the noise is 0 with probability 1 - 2^-1074
        return 0
    tail = 1.0 - confidence
    # smallest h with 2α^(h+1)/(1+α) ≤ tail; floats may put h one off, so check around it
    h = max(0, math.ceil(math.log(tail * (1.0 + alpha) / 2.0) / math.log(alpha)) - 1)
    while h > 0 and 2.0 * alpha**h / (1.0 + alpha) <= tail:
        h -= 1
    while 2.0 * alpha ** (h + 1) / (1.0 + alpha) > tail:
        h += 1
    return h


@dataclass(frozen=True)
class MechanismComparison:
    """Noise of m measurements at a total (ε, δ) under pure-ε Laplace and zCDP Gaussian.

    Attributes:
        measurements: m, the number of measurements sharing the budget equally.
        laplace_scale: Discrete Laplace scale per measurement, ``b = m·Δ1/ε``.
        laplace_std: Its standard deviation.
        rho: Total ρ equivalent to (ε, δ) (:func:`rho_for_epsilon`).
        gaussian_sigma: Discrete Gaussian σ per measurement, ``Δ2·√(m/(2ρ))``.
        gaussian_std: Its standard deviation.
        better: The mechanism with the smaller standard deviation (ties: Laplace,
            whose guarantee has δ = 0).
    """

    measurements: int
    laplace_scale: float
    laplace_std: float
    rho: float
    gaussian_sigma: float
    gaussian_std: float
    better: Literal["laplace", "gaussian"]


def compare_mechanisms(
    epsilon: float,
    delta: float,
    measurements: int,
    l1_sensitivity: float,
    l2_sensitivity: float,
) -> MechanismComparison:
    """Compare noise for ``measurements`` measurements at a total budget of (ε, δ).

    Each measurement has L1 sensitivity ``Δ1`` and L2 sensitivity ``Δ2`` and gets an
    equal share: ε/m each under Laplace (``b = m·Δ1/ε``, pure ε-DP in total), ρ/m each
    under the discrete Gaussian (``σ = Δ2·√(m/(2ρ))`` with ``ρ = rho_for_epsilon(ε,
    δ)``, (ε, δ)-DP in total). Standard deviations are of the discrete noise.
    """
    _require_positive("epsilon", epsilon)
    _require_delta(delta)
    if isinstance(measurements, bool) or not isinstance(measurements, int) or measurements < 1:
        raise PrivacyConfigurationError(
            f"measurements must be an integer >= 1, got {measurements!r}"
        )
    _require_positive("l1_sensitivity", l1_sensitivity)
    _require_positive("l2_sensitivity", l2_sensitivity)
    laplace_scale = measurements * l1_sensitivity / epsilon
    rho = rho_for_epsilon(epsilon, delta)
    sigma = sigma_for_rho(l2_sensitivity, rho / measurements)
    laplace_std = math.sqrt(discrete_laplace_variance(laplace_scale))
    gaussian_std = math.sqrt(discrete_gaussian_variance(sigma))
    return MechanismComparison(
        measurements=measurements,
        laplace_scale=laplace_scale,
        laplace_std=laplace_std,
        rho=rho,
        gaussian_sigma=sigma,
        gaussian_std=gaussian_std,
        better="gaussian" if gaussian_std < laplace_std else "laplace",
    )


def _epsilon_at_order(rho: float, log_inv_delta: float, alpha: float) -> float:
    """CKS20 Corollary 13 solved for ε at Rényi order α (any α > 1 gives a valid ε)."""
    return alpha * rho + (
        log_inv_delta + (alpha - 1.0) * math.log1p(-1.0 / alpha) - math.log(alpha)
    ) / (alpha - 1.0)


def _half_weights(sigma: float) -> list[float]:
    """Unnormalized pmf ``exp(−x²/(2σ²))`` for x = 0, 1, …, ⌈14σ⌉ + 1."""
    last = math.ceil(_TAIL_SIGMAS * sigma) + 1
    two_sigma2 = 2.0 * sigma * sigma
    return [math.exp(-(x * x) / two_sigma2) for x in range(last + 1)]


def _gaussian_half_width_exact(sigma: float, confidence: float) -> int:
    weights = _half_weights(sigma)
    normalizer = weights[0] + 2.0 * math.fsum(weights[1:])
    target = confidence * normalizer
    inside = weights[0]
    for h in range(1, len(weights)):
        if inside >= target:
            return h - 1
        inside += 2.0 * weights[h]
    return len(weights) - 1


def _gaussian_half_width_normal(sigma: float, confidence: float) -> int:
    z = NormalDist().inv_cdf((1.0 + confidence) / 2.0)
    return max(0, math.ceil(z * sigma - 0.5))


def _require_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PrivacyConfigurationError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise PrivacyConfigurationError(f"{name} must be a positive finite number, got {value}")


def _require_delta(delta: float) -> None:
    if isinstance(delta, bool) or not isinstance(delta, int | float):
        raise PrivacyConfigurationError(f"delta must be a number, got {delta!r}")
    if not 0.0 < delta < 1.0:
        raise PrivacyConfigurationError(f"delta must be in (0, 1), got {delta}")


def _require_confidence(confidence: float) -> None:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise PrivacyConfigurationError(f"confidence must be a number, got {confidence!r}")
    if not 0.0 < confidence < 1.0:
        raise PrivacyConfigurationError(f"confidence must be in (0, 1), got {confidence}")
