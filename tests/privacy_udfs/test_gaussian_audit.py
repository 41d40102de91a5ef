"""Empirical audit of the discrete Gaussian count at the (ε, δ) its ρ claims.

For each DP level's ε and δ = 10⁻⁶, ρ = rho_for_epsilon(ε, δ) and the count gets
``N_Z(0, σ²)`` with ``σ = sigma_for_rho(1, ρ)`` (one learner changes the count by 1).
N replicates of M(D) (count n + 1) and M(D') (count n) are drawn with the engine's
sampler directly (no Spark: the UDF adds exactly these draws, see
``test_gaussian_spark.py``) and audited with the events ``{y ≥ c}`` / ``{y ≤ c}``,
where the Gaussian's privacy loss is monotone. The claim must pass; two negative
controls must be rejected: the same outputs claimed at ε/4, and an under-noised
sampler (σ/3, i.e. 9ρ) claimed at (ε, δ). Run with ``-s`` to see δ̂ and z.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from contracts.levels import PrivacyLevel
from privacy_udfs import gaussian, zcdp
from privacy_udfs.randomness import SeededRandomSourceForTests
from tests.privacy_udfs.audit import audit

pytestmark = pytest.mark.usefixtures("seeded_randomness")
LEVELS = [PrivacyLevel.DP_LOW, PrivacyLevel.DP_MEDIUM, PrivacyLevel.DP_HIGH]
DELTA = 1e-6
REPLICATES = 400_000
TRUE_COUNT = 40


def _outputs(sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    source = SeededRandomSourceForTests(seed)
    d = TRUE_COUNT + 1 + gaussian.sample_discrete_gaussian(source.stream("D", 0), REPLICATES, sigma)
    d_prime = TRUE_COUNT + gaussian.sample_discrete_gaussian(
        source.stream("D'", 0), REPLICATES, sigma
    )
    return d.astype(float), d_prime.astype(float)


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.value)
def test_gaussian_count_passes_at_its_epsilon_delta_and_negative_controls_are_rejected(
    level: PrivacyLevel,
) -> None:
    epsilon = float(level.epsilon or 0)
    rho = zcdp.rho_for_epsilon(epsilon, DELTA)
    sigma = zcdp.sigma_for_rho(1.0, rho)
    # Events within ±3.5σ: each holds ≥ ~90 expected draws, so the z-test's normal
    # approximation holds. Further out, N = 400k draws could not show a violation of
    # δ = 10⁻⁶ anyway (an event of probability 10⁻⁵ holds 4 draws), and Wald z-scores of
    # a handful of draws are not normal.
    reach = math.ceil(3.5 * sigma)
    thresholds = np.arange(TRUE_COUNT - reach, TRUE_COUNT + reach + 2)

    d, d_prime = _outputs(sigma, seed=41)
    honest = audit(d, d_prime, epsilon, thresholds, delta=DELTA)
    understated = audit(d, d_prime, epsilon / 4, thresholds, delta=DELTA)
    weak_d, weak_d_prime = _outputs(sigma / 3, seed=42)
    under_noised = audit(weak_d, weak_d_prime, epsilon, thresholds, delta=DELTA)
    print(
        f"gaussian count {level} ρ={rho:.5f} σ={sigma:.3f}: "
        f"δ̂(ε)={honest.delta_hat:.4f} z={honest.max_z:.2f}; "
        f"δ̂(ε/4)={understated.delta_hat:.4f} z={understated.max_z:.2f}; "
        f"σ/3 at ε: δ̂={under_noised.delta_hat:.4f} z={under_noised.max_z:.2f}"
    )
    assert not honest.rejects
    assert understated.rejects
    assert under_noised.rejects
