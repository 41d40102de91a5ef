"""Empirical audit of a zCDP release (discrete Gaussian) at the (ε, δ) it publishes.

``private_aggregate(..., accounting="zcdp", delta=δ)`` releases a distinct-learner count
over public keys; one extra learner is in L = 3 partitions of the release, so the
Gaussian is calibrated to the L2 sensitivity √3. With the replicate trick N releases of
D and N of D' come from one Spark job. For three shifted Gaussians the privacy loss is
increasing in the sum of the three noisy counts, so the events are ``{T ≥ c}`` /
``{T ≤ c}`` with ``T`` that sum (as published, counts floored at 0: post-processing).
The release must pass at its published (ε, δ) and be rejected at (ε/4, δ): the tight
zCDP → (ε, δ) conversion leaves the Gaussian's loss well below ε at δ = 10⁻³, so ε/4 is
about what N = 10-20k replicates can resolve (as in ``test_gaussian_audit.py``). Run with ``-s``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.sql import SparkSession

from privacy_udfs import ContributionBounds, Measure, PrivacyLevel, zcdp
from tests.privacy_udfs.audit import audit
from tests.privacy_udfs.replicates import learner_rows, per_replicate, public_keys, release

pytestmark = pytest.mark.usefixtures("seeded_randomness")
DELTA = 1e-3  # large enough that N = 10-20k replicates can see the (ε, δ) curve
PARTS = (0, 1, 2)
BASE_LEARNERS = 2  # per partition, one row each
# Expected z at ε/4 ≈ 8 (ε = 1, N = 10k) and 6-8 (ε = 0.5, N = 20k); dp_low (ε = 2) has
# more power still (z ≈ 13 at N = 10k) and is left out to keep the suite's runtime.
REPLICATES = {
    PrivacyLevel.DP_MEDIUM: 10_000,
    PrivacyLevel.DP_HIGH: 20_000,
}


@pytest.mark.parametrize("level", list(REPLICATES), ids=lambda level: level.value)
def test_zcdp_count_over_three_partitions_passes_at_its_epsilon_delta_and_not_at_quarter_epsilon(
    spark: SparkSession, level: PrivacyLevel
) -> None:
    replicates = REPLICATES[level]
    base = learner_rows(
        spark,
        range(2 * replicates),
        parts=PARTS,
        learners=BASE_LEARNERS,
        rows=1,
        value=1.0,
        tag="base",
        one_learner_across_parts=False,
    )
    extra = learner_rows(
        spark,
        range(replicates),
        parts=PARTS,
        learners=1,
        rows=1,
        value=1.0,
        tag="extra",
        one_learner_across_parts=True,
    )
    output = release(
        base.unionByName(extra),
        measures=[Measure("learners", "distinct_count")],
        bounds=ContributionBounds(max_partitions=len(PARTS), max_rows_per_partition=1),
        seed=81,
        level=level,
        public_groups=public_keys(spark, replicates, PARTS),
        k_threshold=0,
        accounting="zcdp",
        delta=DELTA,
    )
    # The claim under audit is the one the release publishes.
    epsilon = float(output["epsilon"].iloc[0])
    assert (output["epsilon"] == epsilon).all() and math.isclose(epsilon, float(level.epsilon or 0))
    assert (output["delta"] == DELTA).all()
    d, d_prime = (m.sum(axis=1) for m in per_replicate(output, "learners", replicates, PARTS))
    # Events within ±3.5 standard deviations of T (each holds enough draws for the z-test's
    # normal approximation); σ of one count as the claim implies, √3·σ for the sum of three.
    sigma = zcdp.sigma_for_rho(math.sqrt(len(PARTS)), zcdp.rho_for_epsilon(epsilon, DELTA))
    center = len(PARTS) * (BASE_LEARNERS + 0.5)
    reach = math.ceil(3.5 * math.sqrt(len(PARTS)) * sigma)
    thresholds = np.arange(math.floor(center) - reach, math.ceil(center) + reach + 1)
    honest = audit(d, d_prime, epsilon, thresholds, delta=DELTA)
    understated = audit(d, d_prime, epsilon / 4, thresholds, delta=DELTA)
    print(
        f"zcdp count L=3 {level} N={replicates} δ={DELTA:g} σ={sigma:.2f}: "
        f"δ̂(ε)={honest.delta_hat:.4f} z={honest.max_z:.2f}; "
        f"δ̂(ε/4)={understated.delta_hat:.4f} z={understated.max_z:.2f}"
    )
    assert not honest.rejects
    assert understated.rejects
