"""The pure-NumPy mechanism core: distributions, calibration and thresholds, at scale.

Heavy statistics live here (no Spark); each test has a negative control so a
broken sampler fails it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from privacy_udfs import mechanisms
from privacy_udfs.randomness import SecureRandomSource, SeededRandomSourceForTests
from tests.privacy_udfs.stats import discrete_laplace_chi2_pvalue, laplace_ks_pvalue

pytestmark = pytest.mark.usefixtures("seeded_randomness")
DRAWS = 400_000


def _stream(seed: int = 7):
    return SeededRandomSourceForTests(seed).stream("mechanisms-test", 0)


def test_uniforms_are_in_open_closed_unit_interval_and_uniform() -> None:
    u = mechanisms.uniform_open_closed(_stream(), DRAWS)
    assert u.min() > 0.0 and u.max() <= 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert stats.kstest(u**1.05, "uniform").pvalue < 1e-6  # the test can tell a distortion


@pytest.mark.parametrize("scale", [0.5, 2.0, 10.0])
def test_discrete_laplace_matches_its_pmf_and_rejects_wrong_scales(scale: float) -> None:
    samples = mechanisms.sample_discrete_laplace(_stream(), DRAWS, scale)
    assert samples.dtype == np.int64
    assert discrete_laplace_chi2_pvalue(samples, scale) > 1e-3
    assert discrete_laplace_chi2_pvalue(samples, 0.7 * scale) < 1e-9
    assert discrete_laplace_chi2_pvalue(samples, 1.3 * scale) < 1e-9


def test_secure_source_samples_the_same_distribution() -> None:
    stream = SecureRandomSource().stream("any", 0)
    samples = mechanisms.sample_discrete_laplace(stream, DRAWS, 3.0)
    # Fresh OS randomness: not reproducible, so a loose bound that a wrong scale still fails.
    assert discrete_laplace_chi2_pvalue(samples, 3.0) > 1e-6
    assert discrete_laplace_chi2_pvalue(samples, 2.1) < 1e-9


def test_discrete_laplace_scale_is_sensitivity_over_epsilon() -> None:
    assert mechanisms.discrete_laplace_scale(0.5, 3.0) == 6.0
    with pytest.raises(ValueError, match="epsilon"):
        mechanisms.discrete_laplace_scale(0.0, 1.0)
    with pytest.raises(ValueError, match="sensitivity"):
        mechanisms.discrete_laplace_scale(1.0, -1.0)


def test_grid_calibration_is_power_of_two_and_covers_rounding() -> None:
    calibration = mechanisms.grid_noise(epsilon=0.5, sensitivity=720.0)
    mantissa, _ = math.frexp(calibration.granularity)
    assert mantissa == 0.5  # an exact power of two
    assert calibration.granularity <= 1440.0 / 2**mechanisms.GRID_BITS * 2
    units_sensitivity = math.floor(720.0 / calibration.granularity) + 1
    assert calibration.units_scale == units_sensitivity / 0.5
    assert calibration.laplace_scale == pytest.approx(1440.0, rel=1e-5)
    assert calibration.laplace_scale >= 1440.0


def test_grid_noise_is_on_the_grid_and_laplace_distributed() -> None:
    calibration = mechanisms.grid_noise(epsilon=1.0, sensitivity=240.0)
    values = np.full(DRAWS, 1234.567)
    noisy = mechanisms.add_grid_noise(values, calibration, _stream())
    units = noisy / calibration.granularity
    assert np.array_equal(units, np.round(units))  # every output is a multiple of g
    snapped = np.rint(1234.567 / calibration.granularity) * calibration.granularity
    noise = noisy - snapped
    b = calibration.laplace_scale
    assert laplace_ks_pvalue(noise, b) > 1e-3
    assert laplace_ks_pvalue(noise, 0.7 * b) < 1e-9
    assert laplace_ks_pvalue(noise, 1.3 * b) < 1e-9


def test_grid_refuses_sums_too_large_for_it() -> None:
    with pytest.raises(OverflowError, match="too large"):
        mechanisms.snap_to_grid(np.array([1e300]), 2.0**-20)


def test_exponential_mechanism_matches_softmax_of_utilities() -> None:
    histogram = np.array([[0, 3, 10, 4, 1, 0, 2, 0]], dtype=np.int64)
    utilities = mechanisms.quantile_bin_utilities(histogram, 0.5)
    assert utilities[0, 2] == 0.0  # the bin holding the median scores best
    rows = np.repeat(utilities, 100_000, axis=0)
    chosen = mechanisms.exponential_mechanism(rows, epsilon=1.0, sensitivity=1.0, stream=_stream())
    weights = np.exp(utilities[0] / 2.0)
    expected = 100_000 * weights / weights.sum()
    observed = np.bincount(chosen, minlength=8)
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    hotter = np.exp(utilities[0] / 2.0 / 0.7)
    assert stats.chisquare(observed, 100_000 * hotter / hotter.sum()).pvalue < 1e-9


def test_quantile_utilities_change_by_at_most_rows_added() -> None:
    histogram = np.array([[5, 0, 7, 2, 9]], dtype=np.int64)
    for bin_index in range(5):
        neighbour = histogram.copy()
        neighbour[0, bin_index] += 3
        for q in (0.1, 0.5, 0.9):
            change = np.abs(
                mechanisms.quantile_bin_utilities(neighbour, q)
                - mechanisms.quantile_bin_utilities(histogram, q)
            )
            assert change.max() <= 3.0 + 1e-12


@pytest.mark.parametrize(("epsilon", "delta", "partitions"), [(1.0, 1e-6, 1), (0.5, 1e-5, 3)])
def test_partition_selection_threshold_bounds_single_learner_release(
    epsilon: float, delta: float, partitions: int
) -> None:
    tau = mechanisms.partition_selection_threshold(epsilon, delta, partitions)
    alpha = math.exp(-epsilon / partitions)

    def keep_probability(threshold: int) -> float:  # P(1 + Z >= threshold), Z discrete Laplace
        return alpha ** (threshold - 1) / (1 + alpha)

    assert keep_probability(tau) <= delta / partitions
    assert keep_probability(tau - 1) > delta / partitions  # and the threshold is the smallest


def test_partition_selection_threshold_rejects_bad_delta() -> None:
    with pytest.raises(ValueError, match="delta"):
        mechanisms.partition_selection_threshold(1.0, 0.0, 1)
