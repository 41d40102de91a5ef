"""Empirical privacy audit of the other release shapes, on the actual noisy outputs.

``test_privacy_audit.py`` audits a distinct count and a mean with L = 1. This module
audits, with the same replicate trick (the replicate id is a group column, so one
``private_aggregate`` call yields N independent releases of D and N of D'):

* a learner in **L = 3 partitions** with C = 2 rows each: the release's output vector
  over the three partitions, passing at ε and rejecting 0.8ε, and a release that
  ignores L (the learner under one pseudonym per partition, bounds L = 1) rejected at ε;
* **grid sums** (power-of-two grid, discrete Laplace in grid units): pass at ε, reject 0.8ε;
* **percentiles** (exponential mechanism over 16 bins): pass at ε, reject ε/3
  (sums and percentiles of the three levels come from one release, see below);
* **partition selection δ**: a key only the extra learner has is released at a rate
  consistent with δ; a release whose threshold ignores L is rejected.

Every score is a function of the published values only; the events are fixed before
the outputs are drawn. Run with ``-s`` to see δ̂ and z per case.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from scipy import stats

from privacy_udfs import ContributionBounds, Measure, PrivacyLevel
from privacy_udfs.randomness import SEEDED_RANDOMNESS_ENV
from tests.privacy_udfs.audit import Z_CRITICAL, audit
from tests.privacy_udfs.replicates import learner_rows, per_replicate, public_keys, release

pytestmark = pytest.mark.usefixtures("seeded_randomness")
LEVELS = [PrivacyLevel.DP_LOW, PrivacyLevel.DP_MEDIUM, PrivacyLevel.DP_HIGH]


def _epsilon(level: PrivacyLevel) -> float:
    return float(level.epsilon or 0)


# ---- L > 1: one learner in three partitions of the same release --------------------------

SPREAD_PARTS = (0, 1, 2)
SPREAD_ROWS = 2  # C
SPREAD_BASE = 1  # base learners per partition, one row each
SPREAD_LEVEL = PrivacyLevel.DP_LOW
# ε=2: expected z ≈ 7 at 0.8ε with N=10k (ε=1 would need N≈20k for z ≈ 6.5).
SPREAD_REPLICATES = 10_000
IGNORED_L_REPLICATES = 2_000


def _spread_events(spark: SparkSession, replicates: int, one_person: bool) -> DataFrame:
    base = learner_rows(
        spark,
        range(2 * replicates),
        parts=SPREAD_PARTS,
        learners=SPREAD_BASE,
        rows=1,
        value=1.0,
        tag="base",
        one_learner_across_parts=False,
    )
    extra = learner_rows(
        spark,
        range(replicates),
        parts=SPREAD_PARTS,
        learners=1,
        rows=SPREAD_ROWS,
        value=1.0,
        tag="extra",
        one_learner_across_parts=one_person,
    )
    return base.unionByName(extra)


def _spread_score(counts: np.ndarray) -> np.ndarray:
    """How far each partition's noisy row count clears the base count, capped at C, summed.

    Per partition the discrete Laplace privacy loss is an increasing function of
    ``clip(y − n, 0, C)``, so the events ``{score ≥ c}`` / ``{score ≤ c}`` contain the
    vector's privacy-loss level sets; ``score = L·C`` (every partition in its upper
    tail) is where the full ε shows.
    """
    clipped: np.ndarray = np.clip(counts - SPREAD_BASE, 0, SPREAD_ROWS).sum(axis=1)
    return clipped


def test_release_over_three_partitions_passes_at_epsilon_and_is_rejected_at_080_epsilon(
    spark: SparkSession,
) -> None:
    replicates = SPREAD_REPLICATES
    bounds = ContributionBounds(max_partitions=3, max_rows_per_partition=SPREAD_ROWS)
    output = release(
        _spread_events(spark, replicates, one_person=True),
        measures=[Measure("rows", "count")],
        bounds=bounds,
        seed=71,
        level=SPREAD_LEVEL,
        public_groups=public_keys(spark, replicates, SPREAD_PARTS),
        k_threshold=0,
    )
    assert len(output) == 2 * replicates * len(SPREAD_PARTS)
    d, d_prime = (_spread_score(m) for m in per_replicate(output, "rows", replicates, SPREAD_PARTS))
    thresholds = np.arange(0, len(SPREAD_PARTS) * SPREAD_ROWS + 1)
    epsilon = _epsilon(SPREAD_LEVEL)
    honest = audit(d, d_prime, epsilon, thresholds)
    understated = audit(d, d_prime, 0.8 * epsilon, thresholds)
    print(
        f"count L=3 C=2 N={replicates}: δ̂(ε)={honest.delta_hat:.4f} z={honest.max_z:.2f}; "
        f"δ̂(0.8ε)={understated.delta_hat:.4f} z={understated.max_z:.2f}"
    )
    assert not honest.rejects
    assert understated.rejects


def test_release_that_ignores_the_learner_spread_over_partitions_is_rejected(
    spark: SparkSession,
) -> None:
    # The same person in three partitions under three pseudonyms, with bounds L = 1: the
    # release is calibrated to one partition (scale C/ε instead of L·C/ε) while the person
    # moves three, so the vector leaks 3ε. The audit at the claimed ε must reject it.
    replicates = IGNORED_L_REPLICATES
    output = release(
        _spread_events(spark, replicates, one_person=False),
        measures=[Measure("rows", "count")],
        bounds=ContributionBounds(max_partitions=1, max_rows_per_partition=SPREAD_ROWS),
        seed=72,
        level=SPREAD_LEVEL,
        public_groups=public_keys(spark, replicates, SPREAD_PARTS),
        k_threshold=0,
    )
    d, d_prime = (_spread_score(m) for m in per_replicate(output, "rows", replicates, SPREAD_PARTS))
    epsilon = _epsilon(SPREAD_LEVEL)
    result = audit(d, d_prime, epsilon, np.arange(0, len(SPREAD_PARTS) * SPREAD_ROWS + 1))
    print(f"count ignoring L N={replicates}: δ̂(ε)={result.delta_hat:.4f} z={result.max_z:.2f}")
    assert result.rejects and result.delta_hat > 0.1


# ---- grid sums and percentiles, at the three levels' ε in one release -------------------------

# One release holds a sum and a percentile per DP level, each measure given exactly its
# level's ε by ``epsilon_split`` (the release's total is their sum). Every measure draws from
# its own noise stream, so each published column is distributed exactly as it would be alone
# in a release at that ε, and is audited at that ε: six audits for one Spark job.
VALUE_REPLICATES = 30_000
VALUE_ROWS = 2  # C: the extra learner's rows, at the clamp bounds
VALUE_BOUNDS = ContributionBounds(
    max_partitions=1, max_rows_per_partition=VALUE_ROWS, lower=-100.0, upper=100.0
)
SUM_SENSITIVITY = VALUE_ROWS * 100.0
BASE_LEARNERS = 3  # D': three learners with C rows each
BASE_SUM_VALUE = 12.3  # off the grid: the base sum 73.8 is rounded to it
PERCENTILE_BINS = 16
PERCENTILE_QUANTILE = 0.75
PERCENTILE_RANGE = (0.0, float(PERCENTILE_BINS))  # bins of width 1
BASE_PERCENTILE_VALUE = 4.5  # bin 4
EXTRA_PERCENTILE_VALUE = 16.0  # the upper clamp bound: last bin


def _value_measures() -> list[Measure]:
    lower, upper = PERCENTILE_RANGE
    measures = [Measure(f"sum_{level.value}", "sum", "value") for level in LEVELS]
    measures += [
        Measure(
            f"p75_{level.value}",
            "percentile",
            "rank_value",
            lower=lower,
            upper=upper,
            quantile=PERCENTILE_QUANTILE,
            bins=PERCENTILE_BINS,
        )
        for level in LEVELS
    ]
    return measures


@pytest.fixture(scope="module")
def value_release(spark: SparkSession) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """D and D' outputs of every sum and percentile column (one Spark job for the module)."""
    replicates = VALUE_REPLICATES
    rows = {"base": (range(2 * replicates), BASE_LEARNERS, BASE_SUM_VALUE, BASE_PERCENTILE_VALUE)}
    rows["extra"] = (range(replicates), 1, 100.0, EXTRA_PERCENTILE_VALUE)
    parts = []
    for tag, (span, learners, value, rank_value) in rows.items():
        learners_df = learner_rows(
            spark,
            span,
            parts=(0,),
            learners=learners,
            rows=VALUE_ROWS,
            value=value,
            tag=tag,
            one_learner_across_parts=True,
        )
        parts.append(learners_df.withColumn("rank_value", F.lit(rank_value)))
    measures = _value_measures()
    split = {m.name: _epsilon(PrivacyLevel(m.name.split("_", 1)[1])) for m in measures}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SEEDED_RANDOMNESS_ENV, "1")
        output = release(
            parts[0].unionByName(parts[1]),
            measures=measures,
            bounds=VALUE_BOUNDS,
            seed=73,
            epsilon=sum(split.values()),
            epsilon_split=split,
            public_groups=public_keys(spark, replicates, (0,)),
            k_threshold=0,
        )
    assert output[[m.name for m in measures]].notna().all().all()
    columns = {}
    for m in measures:
        d, d_prime = per_replicate(output, m.name, replicates, (0,))
        columns[m.name] = (d[:, 0], d_prime[:, 0])
    return columns


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.value)
def test_grid_sum_passes_at_epsilon_and_is_rejected_at_080_epsilon(
    value_release: dict[str, tuple[np.ndarray, np.ndarray]], level: PrivacyLevel
) -> None:
    # The extra learner adds C = 2 rows at the clamp bound 100: the sum's sensitivity 200.
    # The grid's discrete Laplace has a privacy loss monotone in the published sum, so the
    # events {sum ≥ c} / {sum ≤ c} are its level sets; c spans the two sums ± 4 scales.
    d, d_prime = value_release[f"sum_{level.value}"]
    epsilon = _epsilon(level)
    scale = SUM_SENSITIVITY / epsilon
    base = BASE_LEARNERS * VALUE_ROWS * BASE_SUM_VALUE
    thresholds = np.concatenate(
        [
            np.linspace(base - 4 * scale, base + SUM_SENSITIVITY + 4 * scale, 121),
            [base, base + SUM_SENSITIVITY],
        ]
    )
    honest = audit(d, d_prime, epsilon, thresholds)
    understated = audit(d, d_prime, 0.8 * epsilon, thresholds)
    print(
        f"grid sum {level} N={VALUE_REPLICATES}: δ̂(ε)={honest.delta_hat:.4f} "
        f"z={honest.max_z:.2f}; δ̂(0.8ε)={understated.delta_hat:.4f} z={understated.max_z:.2f}"
    )
    assert not honest.rejects
    assert understated.rejects


def _quantile_probabilities(histogram: np.ndarray, epsilon: float) -> np.ndarray:
    """P(bin j) of the exponential mechanism for the 0.75-quantile, written out here.

    Bin j holds the ranks ``[below_j, below_j + h_j]``; its utility is minus the distance
    from the target rank ``q·n`` to that interval, and ``P(j) ∝ exp(ε·u_j / (2Δu))`` where
    Δu = L·C rows (one row changes any utility by at most 1).
    """
    below = np.concatenate([[0.0], np.cumsum(histogram)[:-1]])
    target = PERCENTILE_QUANTILE * histogram.sum()
    utility = -np.maximum(0.0, np.maximum(below - target, target - (below + histogram)))
    weights = np.exp(epsilon * (utility - utility.max()) / (2.0 * VALUE_ROWS))
    probabilities: np.ndarray = weights / weights.sum()
    return probabilities


def _percentile_loss(epsilon: float) -> np.ndarray:
    """ln P_D(j) / P_D'(j) per bin for the audited pair: the extra rows move the target
    rank up, making the bins above the base likelier and those below it less likely."""
    d_prime = np.zeros(PERCENTILE_BINS)
    d_prime[int(BASE_PERCENTILE_VALUE)] = BASE_LEARNERS * VALUE_ROWS
    d = d_prime.copy()
    d[PERCENTILE_BINS - 1] += VALUE_ROWS
    loss: np.ndarray = np.log(_quantile_probabilities(d, epsilon)) - np.log(
        _quantile_probabilities(d_prime, epsilon)
    )
    return loss


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.value)
def test_percentile_passes_at_epsilon_and_is_rejected_at_a_third_of_epsilon(
    value_release: dict[str, tuple[np.ndarray, np.ndarray]], level: PrivacyLevel
) -> None:
    # The exponential mechanism on a quantile's utilities never spends its full ε: the extra
    # rows move some utilities up and others down by at most max(q, 1−q)·C, so the loss of
    # any pair is ≤ 0.75ε here (0.60-0.68ε for this pair, near the largest we found over small
    # histograms: few base rows, the extra rows at the far end). N = 30k detects about a
    # third of ε (expected z ≈ 7.1 at ε = 0.5, 12-16 at ε = 1 and 2): the negative control.
    d_value, d_prime_value = value_release[f"p75_{level.value}"]
    epsilon = _epsilon(level)
    loss = _percentile_loss(epsilon)
    # Published values are bin midpoints (width 1 over [0, 16]); the score is the model loss.
    d = loss[np.floor(d_value).astype(int)]
    d_prime = loss[np.floor(d_prime_value).astype(int)]
    thresholds = np.unique(loss)
    honest = audit(d, d_prime, epsilon, thresholds)
    understated = audit(d, d_prime, epsilon / 3, thresholds)
    print(
        f"percentile {level} N={VALUE_REPLICATES} max loss {np.abs(loss).max() / epsilon:.2f}ε: "
        f"δ̂(ε)={honest.delta_hat:.4f} z={honest.max_z:.2f}; "
        f"δ̂(ε/3)={understated.delta_hat:.4f} z={understated.max_z:.2f}"
    )
    assert not honest.rejects
    assert understated.rejects


# ---- partition selection δ ---------------------------------------------------------------------

SELECTION_REPLICATES = 20_000
SELECTION_DELTA = 1e-2
SELECTION_PARTS = (0, 1, 2)
# One-sided binomial p-value below this rejects "rate ≤ δ" (the tail of z = Z_CRITICAL).
SELECTION_P_CRITICAL = float(stats.norm.sf(Z_CRITICAL))


def _selection_release_rate(
    spark: SparkSession, one_person: bool, max_partitions: int, seed: int
) -> tuple[float, float, float]:
    """Share of replicates where a key held only by the extra learner is released.

    Each replicate of D has one learner with one row in each of three keys and nothing
    else; D' (not run) has no rows, so it never releases those keys: (ε, δ)-DP then
    requires ``P_D[some key released] ≤ δ``. Returns (rate, published δ, p-value of
    "rate ≤ published δ").
    """
    replicates = SELECTION_REPLICATES
    events = learner_rows(
        spark,
        range(replicates),
        parts=SELECTION_PARTS,
        learners=1,
        rows=1,
        value=1.0,
        tag="extra",
        one_learner_across_parts=one_person,
    )
    output = release(
        events,
        measures=[Measure("learners", "distinct_count")],
        bounds=ContributionBounds(max_partitions=max_partitions, max_rows_per_partition=1),
        seed=seed,
        partition_selection_delta=SELECTION_DELTA,
        k_threshold=0,
    )
    published_delta = float(output["delta"].max()) if len(output) else SELECTION_DELTA
    released = output["replicate"].nunique()
    p_value = float(stats.binom.sf(released - 1, replicates, published_delta))
    return released / replicates, published_delta, p_value


def test_partition_selection_releases_a_single_learners_keys_at_most_at_rate_delta(
    spark: SparkSession,
) -> None:
    # ε=1 split between the count and the selection (0.5 each), L = 3: the threshold keeps
    # a one-learner key with probability ≤ δ/L, so any of the three keys with ≤ δ
    # (0.0092 expected). A release that ignores L releases any of them w.p. 0.0206.
    rate, published_delta, p_value = _selection_release_rate(
        spark, one_person=True, max_partitions=len(SELECTION_PARTS), seed=75
    )
    # A release that ignores L (one pseudonym per key, bounds L = 1) puts its threshold
    # at δ per key with noise scale 1/ε instead of L/ε: it releases too often.
    bad_rate, _, bad_p_value = _selection_release_rate(
        spark, one_person=False, max_partitions=1, seed=76
    )
    replicates = SELECTION_REPLICATES
    print(
        f"partition selection δ={published_delta:g} N={replicates}: rate={rate:.4f} "
        f"z={(rate - published_delta) / math.sqrt(published_delta / replicates):.2f} "
        f"p={p_value:.3g}; ignoring L: rate={bad_rate:.4f} "
        f"z={(bad_rate - published_delta) / math.sqrt(published_delta / replicates):.2f} "
        f"p={bad_p_value:.3g}"
    )
    assert published_delta == SELECTION_DELTA
    assert rate > 0  # the keys are released at all: the test can see a rate
    assert p_value > SELECTION_P_CRITICAL
    assert bad_p_value < SELECTION_P_CRITICAL
