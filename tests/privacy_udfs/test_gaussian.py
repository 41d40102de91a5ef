"""The discrete Gaussian sampler and its grid mechanism: distributions with negative controls."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from privacy_udfs import gaussian, mechanisms, zcdp
from privacy_udfs.errors import PrivacyConfigurationError
from privacy_udfs.randomness import SecureRandomSource, SeededRandomSourceForTests
from tests.privacy_udfs.stats import discrete_gaussian_chi2_pvalue, discrete_gaussian_pmf

pytestmark = pytest.mark.usefixtures("seeded_randomness")
DRAWS = 200_000


def _stream(seed: int = 17):
    return SeededRandomSourceForTests(seed).stream("gaussian-test", 0)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0, 20.0])
def test_discrete_gaussian_matches_its_pmf_and_rejects_wrong_sigmas(sigma: float) -> None:
    samples = gaussian.sample_discrete_gaussian(_stream(), DRAWS, sigma)
    assert samples.dtype == np.int64 and samples.shape == (DRAWS,)
    assert discrete_gaussian_chi2_pvalue(samples, sigma) > 1e-3
    # Negative controls: the same test tells σ from 0.9σ and 1.1σ.
    wrong_low = gaussian.sample_discrete_gaussian(_stream(18), DRAWS, 0.9 * sigma)
    wrong_high = gaussian.sample_discrete_gaussian(_stream(19), DRAWS, 1.1 * sigma)
    assert discrete_gaussian_chi2_pvalue(wrong_low, sigma) < 1e-9
    assert discrete_gaussian_chi2_pvalue(wrong_high, sigma) < 1e-9


@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_a_rounded_continuous_gaussian_is_rejected(sigma: float) -> None:
    # round(N(0, σ²)) is not the discrete Gaussian; at small σ the test must see it.
    rounded = np.rint(np.random.default_rng(5).normal(0.0, sigma, DRAWS)).astype(np.int64)
    assert discrete_gaussian_chi2_pvalue(rounded, sigma) < 1e-9


@pytest.mark.parametrize("sigma", [0.7, 4.0, 55.5])
def test_mean_is_zero_and_variance_is_the_discrete_gaussians(sigma: float) -> None:
    samples = gaussian.sample_discrete_gaussian(_stream(23), DRAWS, sigma).astype(float)
    variance = zcdp.discrete_gaussian_variance(sigma)
    assert abs(samples.mean()) < 5 * math.sqrt(variance / DRAWS)
    # SE of a sample variance ≈ σ²·√(2/n) (≈ Gaussian kurtosis); 5 SE, and a 5 % error fails.
    tolerance = 5 * variance * math.sqrt(2 / DRAWS)
    assert abs(samples.var() - variance) < tolerance
    assert 0.05 * variance > tolerance


def test_secure_source_samples_the_same_distribution() -> None:
    stream = SecureRandomSource().stream("any", 0)
    samples = gaussian.sample_discrete_gaussian(stream, DRAWS, 2.0)
    # Fresh OS randomness: not reproducible, so a loose bound that a wrong σ still fails.
    assert discrete_gaussian_chi2_pvalue(samples, 2.0) > 1e-6
    assert discrete_gaussian_chi2_pvalue(samples, 1.8) < 1e-9


def test_acceptance_rate_formula_matches_algorithm_3() -> None:
    for sigma in (0.3, 1.0, 2.5, 11.0):
        t = math.floor(sigma) + 1
        support = np.arange(-60 * t, 60 * t + 1)
        laplace = stats.dlaplace.pmf(support, 1.0 / t)  # the discrete Laplace of scale t
        accept = np.exp(-((np.abs(support) - sigma**2 / t) ** 2) / (2 * sigma**2))
        assert gaussian.acceptance_rate(sigma) == pytest.approx(float((laplace * accept).sum()))
        # and the accepted values are the discrete Gaussian (the product is ∝ exp(-y²/2σ²))
        accepted = laplace * accept / (laplace * accept).sum()
        np.testing.assert_allclose(accepted, discrete_gaussian_pmf(support, sigma), atol=1e-15)


def test_small_and_empty_batches() -> None:
    assert gaussian.sample_discrete_gaussian(_stream(), 0, 3.0).shape == (0,)
    one = gaussian.sample_discrete_gaussian(_stream(), 1, 3.0)
    assert one.shape == (1,) and one.dtype == np.int64


@pytest.mark.parametrize(
    ("sigma", "message"),
    [(0.0, "sigma"), (-1.0, "sigma"), (math.nan, "sigma"), (2.0**41, "2\\^40")],
)
def test_bad_sigma_is_refused(sigma: float, message: str) -> None:
    with pytest.raises(PrivacyConfigurationError, match=message):
        gaussian.sample_discrete_gaussian(_stream(), 10, sigma)


def test_grid_calibration_is_power_of_two_and_covers_rounding() -> None:
    rho, l2, partitions = 0.01, 240.0 * math.sqrt(3), 3
    calibration = gaussian.gaussian_grid_noise(rho, l2, partitions)
    mantissa, _ = math.frexp(calibration.granularity)
    assert mantissa == 0.5  # an exact power of two
    nominal = zcdp.sigma_for_rho(l2, rho)
    assert nominal / 2**mechanisms.GRID_BITS < calibration.granularity <= nominal / 2**19
    assert calibration.units_l2_sensitivity == l2 / calibration.granularity + math.sqrt(3)
    assert calibration.rho <= rho
    assert calibration.sigma >= nominal
    # Rounding costs √L grid steps of sensitivity: relative √L·g/Δ2 ≤ √L/(√(2ρ)·2^19).
    assert calibration.sigma / nominal - 1 <= math.sqrt(3) / (math.sqrt(2 * rho) * 2**19)
    with pytest.raises(PrivacyConfigurationError, match="max_partitions"):
        gaussian.gaussian_grid_noise(rho, l2, 0)


def test_grid_noise_is_on_the_grid_and_gaussian_with_the_calibrated_sigma() -> None:
    calibration = gaussian.gaussian_grid_noise(rho=0.02, l2_sensitivity=120.0, max_partitions=1)
    values = np.full(DRAWS, 1234.567)
    noisy = gaussian.add_gaussian_grid_noise(values, calibration, _stream())
    units = noisy / calibration.granularity
    assert np.array_equal(units, np.round(units))  # every output is a multiple of g
    snapped = np.rint(1234.567 / calibration.granularity) * calibration.granularity
    noise = noisy - snapped
    sigma = calibration.sigma  # ≈ 2^19-2^20 grid steps: indistinguishable from N(0, σ²)
    assert stats.kstest(noise, "norm", args=(0.0, sigma)).pvalue > 1e-3
    assert stats.kstest(noise, "norm", args=(0.0, 0.93 * sigma)).pvalue < 1e-9
    assert stats.kstest(noise, "norm", args=(0.0, 1.07 * sigma)).pvalue < 1e-9
    # and it is not Laplace noise of the same standard deviation
    assert stats.kstest(noise, "laplace", args=(0.0, sigma / math.sqrt(2))).pvalue < 1e-9
