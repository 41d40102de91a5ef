"""ρ-zCDP accounting: conversions against an independent solver and OpenDP, bounds, intervals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize

from privacy_udfs import zcdp
from privacy_udfs.errors import PrivacyConfigurationError
from tests.privacy_udfs.stats import discrete_gaussian_pmf, discrete_laplace_pmf

RHOS = [1e-4, 0.003, 0.02, 0.1, 0.5, 2.0, 10.0]
DELTAS = [1e-10, 1e-6, 1e-3, 0.1]


def _cks_delta(rho: float, epsilon: float) -> float:
    """CKS20 Corollary 13 written out again, minimized by SciPy (not the module's bisection)."""

    def log_delta(alpha: float) -> float:
        return (
            (alpha - 1) * (alpha * rho - epsilon)
            + alpha * math.log1p(-1 / alpha)
            - math.log(alpha - 1)
        )

    best = optimize.minimize_scalar(
        log_delta, bounds=(1 + 1e-9, 1e6), method="bounded", options={"xatol": 1e-12}
    )
    return min(1.0, math.exp(best.fun))


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("delta", DELTAS)
def test_tight_epsilon_agrees_with_an_independent_solver_and_beats_the_simple_bound(
    rho: float, delta: float
) -> None:
    epsilon = zcdp.epsilon_of_rho(rho, delta)
    # The ε found is the one at which the independently minimized δ(ε) equals δ.
    if _cks_delta(rho, 0.0) <= delta:  # tiny ρ, large δ: (0, δ)-DP already holds
        reference = 0.0
    else:
        reference = optimize.brentq(
            lambda e: _cks_delta(rho, e) - delta, 0.0, 10 * rho + 100, xtol=1e-13
        )
    assert epsilon == pytest.approx(reference, rel=1e-6, abs=1e-9)
    assert _cks_delta(rho, epsilon) <= delta * (1 + 1e-6)
    assert epsilon <= zcdp.epsilon_of_rho_simple(rho, delta)
    assert zcdp.epsilon_of_rho_simple(rho, delta) == rho + 2 * math.sqrt(rho * math.log(1 / delta))


def test_known_value_from_opendp() -> None:
    # OpenDP 0.16: make_fix_delta(make_zCDP_to_approxDP(make_gaussian(scale=5)), 1e-6).map(1)
    assert zcdp.epsilon_of_rho(0.02, 1e-6) == pytest.approx(0.899935267660642, rel=1e-12)
    assert zcdp.rho_of_gaussian(1, 5.0) == 0.02


def test_agrees_with_opendp_where_installed() -> None:
    dp = pytest.importorskip("opendp.prelude")
    dp.enable_features("contrib")
    for sigma in (0.7, 2.0, 9.0, 40.0):
        for delta in (1e-9, 1e-5):
            gaussian = dp.m.make_gaussian(
                dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=sigma
            )
            measured = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gaussian), delta)
            opendp_epsilon, _ = measured.map(1)
            ours = zcdp.epsilon_of_rho(zcdp.rho_of_gaussian(1, sigma), delta)
            # OpenDP rounds outward; the two agree to float precision.
            assert ours == pytest.approx(opendp_epsilon, rel=1e-9)
            assert ours <= opendp_epsilon


def test_epsilon_grows_with_rho_and_shrinks_with_delta() -> None:
    for delta in DELTAS:
        epsilons = [zcdp.epsilon_of_rho(rho, delta) for rho in RHOS]
        # strictly increasing once positive (tiny ρ at δ = 0.1 is already (0, δ)-DP)
        assert all(a < b or a == b == 0 for a, b in itertools.pairwise(epsilons))
        assert epsilons[-1] > 0
    for rho in RHOS:
        epsilons = [zcdp.epsilon_of_rho(rho, delta) for delta in DELTAS]  # δ ascending
        assert all(a > b or a == b == 0 for a, b in itertools.pairwise(epsilons))


@pytest.mark.parametrize("epsilon", [0.01, 0.1, 0.5, 1.0, 2.0, 8.0])
@pytest.mark.parametrize("delta", [1e-9, 1e-6, 1e-3])
def test_rho_for_epsilon_inverts_epsilon_of_rho_from_the_safe_side(
    epsilon: float, delta: float
) -> None:
    rho = zcdp.rho_for_epsilon(epsilon, delta)
    assert zcdp.epsilon_of_rho(rho, delta) <= epsilon
    assert zcdp.epsilon_of_rho(rho, delta) == pytest.approx(epsilon, rel=1e-9)
    assert zcdp.epsilon_of_rho(rho * (1 + 1e-6), delta) > epsilon  # and it is the largest
    assert zcdp.rho_for_epsilon(zcdp.epsilon_of_rho(0.05, delta), delta) == pytest.approx(
        0.05, rel=1e-9
    )


def test_gaussian_calibration_round_trips_and_never_overspends() -> None:
    for sensitivity in (1.0, math.sqrt(3), 24.0, 720.0):
        for rho in (1e-5, 0.013, 0.5):
            sigma = zcdp.sigma_for_rho(sensitivity, rho)
            assert sigma == pytest.approx(sensitivity / math.sqrt(2 * rho), rel=1e-15)
            assert zcdp.rho_of_gaussian(sensitivity, sigma) <= rho
    assert zcdp.rho_of_gaussian(2.0, 1.0) == 2.0
    assert zcdp.rho_of_pure(0.5) == 0.125


def test_composition_adds_rho_and_splits_never_overspend() -> None:
    assert zcdp.compose_rho([0.01, 0.02, 0.03]) == pytest.approx(0.06, rel=1e-15)
    parts = zcdp.split_rho(0.1, [1, 1, 1])
    assert math.fsum(parts) <= 0.1 and parts[0] == pytest.approx(0.1 / 3)
    assert zcdp.split_rho(1.0, [3, 1]) == pytest.approx([0.75, 0.25])
    # m measurements at ρ/m each compose back to ρ, i.e. to the same (ε, δ).
    total = zcdp.compose_rho(zcdp.split_rho(0.024, [1] * 7))
    assert zcdp.epsilon_of_rho(total, 1e-6) <= zcdp.epsilon_of_rho(0.024, 1e-6)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5, 17.3, 400.0])
def test_gaussian_half_width_is_the_smallest_covering_95_percent(sigma: float) -> None:
    h = zcdp.gaussian_interval_half_width(sigma)
    support = np.arange(-h, h + 1)
    assert discrete_gaussian_pmf(support, sigma).sum() >= 0.95
    assert discrete_gaussian_pmf(support[1:-1], sigma).sum() < 0.95


def test_gaussian_half_width_beyond_the_exact_range_is_still_the_smallest() -> None:
    for sigma in (10_000.5, 12_345.6, 31_000.0):
        h = zcdp.gaussian_interval_half_width(sigma)
        support = np.arange(-h, h + 1)
        assert discrete_gaussian_pmf(support, sigma).sum() >= 0.95
        assert discrete_gaussian_pmf(support[1:-1], sigma).sum() < 0.95
    assert zcdp.gaussian_interval_half_width(2.0**20) == pytest.approx(1.959964 * 2**20, rel=1e-6)


@pytest.mark.parametrize("scale", [0.2, 1.0, 3.0, 50.0])
def test_laplace_half_width_is_the_smallest_covering_95_percent(scale: float) -> None:
    h = zcdp.laplace_interval_half_width(scale)
    support = np.arange(-h, h + 1)
    assert discrete_laplace_pmf(support, scale).sum() >= 0.95
    assert discrete_laplace_pmf(support[1:-1], scale).sum() < 0.95
    assert zcdp.laplace_interval_half_width(1e-4) == 0


def test_variances_match_the_pmfs() -> None:
    for sigma in (0.4, 1.0, 6.0):
        support = np.arange(-200, 201)
        expected = float((support**2 * discrete_gaussian_pmf(support, sigma)).sum())
        assert zcdp.discrete_gaussian_variance(sigma) == pytest.approx(expected, rel=1e-12)
    assert zcdp.discrete_gaussian_variance(0.4) < 0.4**2  # below σ² (CKS20)
    assert zcdp.discrete_gaussian_variance(3.0) == pytest.approx(9.0, rel=1e-12)
    support = np.arange(-2000, 2001)
    expected = float((support**2 * discrete_laplace_pmf(support, 5.0)).sum())
    assert zcdp.discrete_laplace_variance(5.0) == pytest.approx(expected, rel=1e-12)


def test_compare_mechanisms_uses_the_documented_formulas() -> None:
    epsilon, delta = 1.0, 1e-6
    rho = zcdp.rho_for_epsilon(epsilon, delta)
    one = zcdp.compare_mechanisms(epsilon, delta, 1, 1.0, 1.0)
    assert one.laplace_scale == 1.0 and one.rho == rho
    assert one.gaussian_sigma == pytest.approx(math.sqrt(1 / (2 * rho)))
    assert one.better == "laplace"  # one count: Laplace's std 1.36 vs Gaussian's 4.5
    many = zcdp.compare_mechanisms(epsilon, delta, 100, 2.0, math.sqrt(2.0))
    assert many.laplace_scale == 200.0
    assert many.gaussian_sigma == pytest.approx(math.sqrt(2.0) * math.sqrt(100 / (2 * rho)))
    assert many.laplace_std == pytest.approx(math.sqrt(zcdp.discrete_laplace_variance(200.0)))
    assert many.better == "gaussian"
    # The crossover moves with m: Laplace's std grows like m, Gaussian's like √m.
    winners = [zcdp.compare_mechanisms(epsilon, delta, m, 1.0, 1.0).better for m in range(1, 40)]
    crossover = winners.index("gaussian")
    assert 2 < crossover < 39 and set(winners[crossover:]) == {"gaussian"}


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: zcdp.epsilon_of_rho(-0.1, 1e-6), "rho"),
        (lambda: zcdp.epsilon_of_rho(0.1, 0.0), "delta"),
        (lambda: zcdp.epsilon_of_rho(0.1, 1.5), "delta"),
        (lambda: zcdp.rho_for_epsilon(float("nan"), 1e-6), "epsilon"),
        (lambda: zcdp.sigma_for_rho(0.0, 0.1), "l2_sensitivity"),
        (lambda: zcdp.rho_of_gaussian(1.0, float("inf")), "sigma"),
        (lambda: zcdp.compose_rho([0.1, -1.0]), r"rhos\[1\]"),
        (lambda: zcdp.split_rho(0.1, [1.0, 0.0]), r"shares\[1\]"),
        (lambda: zcdp.compare_mechanisms(1.0, 1e-6, 0, 1.0, 1.0), "measurements"),
        (lambda: zcdp.gaussian_interval_half_width(1.0, 1.0), "confidence"),
        (lambda: zcdp.laplace_interval_half_width("3"), "scale"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_refused_by_name(call, name: str) -> None:
    with pytest.raises(PrivacyConfigurationError, match=name):
        call()
