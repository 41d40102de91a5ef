"""tune_bounds: bounds follow the data's activity and values, ε is as declared, bad input named.

The privacy of the tuning is audited like the releases (``test_privacy_audit.py``):
the real Spark histograms of neighbouring datasets differ by one learner in one
bin per histogram, and the noisy histograms pass the approximate-DP test at the
declared ε and fail it at 0.8ε; a histogram that counts a learner once per
partition (the obvious but wrong construction) fails it at ε.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from privacy_udfs import (
    ContributionBounds,
    Measure,
    MissingColumnsError,
    PrivacyConfigurationError,
    TunedBounds,
    seeded_random_source_for_tests,
    tune_bounds,
)
from privacy_udfs.tuning import (
    PARTITIONS,
    ROWS,
    VALUES,
    Histogram,
    TuningPlan,
    add_histogram_noise,
    denoised_counts,
    exact_contribution_histograms,
)
from tests.privacy_udfs.audit import audit
from tests.privacy_udfs.stats import discrete_laplace_chi2_pvalue

pytestmark = pytest.mark.usefixtures("seeded_randomness")
DAYS = 30
LEARNERS = 400
COUNT = [Measure("learners", "distinct_count")]
MEAN = [Measure("avg", "mean", "minutes")]


def _days(spark: SparkSession) -> DataFrame:
    return spark.range(DAYS).select(F.col("id").cast("int").alias("day"))


def _activity(spark: SparkSession, days_per_learner: int, rows: int = 2) -> DataFrame:
    """Each learner on ``days_per_learner`` distinct days (step 11 is coprime to 30)."""
    return (
        spark.range(LEARNERS)
        .select(
            F.col("id").alias("learner"),
            F.explode(F.sequence(F.lit(0), F.lit(days_per_learner - 1))).alias("k"),
        )
        .select(
            "learner",
            ((F.col("learner") * 7 + F.col("k") * 11) % DAYS).cast("int").alias("day"),
            F.explode(F.sequence(F.lit(1), F.lit(rows))).alias("row"),
        )
        .withColumn("minutes", F.lit(20.0))
    )  # shape: LEARNERS · days_per_learner · rows events


def _tune(
    events: DataFrame, measures: list[Measure], seed: int, **overrides: object
) -> TunedBounds:
    arguments: dict[str, object] = {
        "privacy_id": "learner",
        "group_cols": ["day"],
        "public_groups": _days(events.sparkSession),
        "measures": measures,
        "epsilon": 2.0,
        "release_epsilon": 1.0,
        "k_threshold": 0,
        "random_source": seeded_random_source_for_tests(seed),
    }
    arguments.update(overrides)
    return tune_bounds(events, **arguments)  # type: ignore[arg-type]


def test_partitions_bound_grows_with_the_partitions_learners_are_active_on(
    spark: SparkSession,
) -> None:
    few = _tune(_activity(spark, 2), COUNT, seed=1)
    many = _tune(_activity(spark, 20), COUNT, seed=2)
    # 2 days each: L = 2 loses nothing and adds least noise; 20 days each: capping below
    # 20 drops (20 − L)/20 of 267 learners per day, far more than the noise L adds.
    assert few.bounds.max_partitions == 2
    assert many.bounds.max_partitions == 20
    assert few.bounds.lower is None and many.bounds.lower is None  # count-only: no clamp
    learners = next(e for e in many.errors if e.name == "learners")
    assert learners.expected_value == pytest.approx(LEARNERS * 20 / DAYS, rel=0.05)
    assert abs(learners.expected_bias) < 0.05 * learners.expected_value
    assert learners.noise_std == pytest.approx(math.sqrt(2) * 20 / 1.0, rel=0.02)  # L/ε, ε = 1


def test_clamp_range_follows_the_values(spark: SparkSession) -> None:
    base = _activity(spark, 3, rows=3)
    ranges = {}
    for centre in (20.0, 180.0):
        # Values spread ±15 around the centre, in a declared domain of [0, 240].
        events = base.withColumn("minutes", F.lit(centre) + (F.col("learner") % 31) - 15.0)
        tuned = _tune(events, MEAN, seed=3, value_col="minutes", value_domain=(0.0, 240.0))
        ranges[centre] = (tuned.bounds.lower, tuned.bounds.upper)
        lower, upper = ranges[centre]
        assert lower is not None and upper is not None
        # The range sits on the values (it may cut into them: clamping bias buys less noise)
        # and is far narrower than the domain.
        assert lower < centre + 15.0 and upper > centre - 15.0
        assert abs((lower + upper) / 2 - centre) <= 20.0
        assert upper - lower <= 90.0
        mean = next(e for e in tuned.errors if e.name == "avg")
        assert mean.expected_value == pytest.approx(centre, abs=8.0)
    assert ranges[20.0] != ranges[180.0]


def test_epsilon_spent_is_the_declared_epsilon_split_over_the_histograms(
    spark: SparkSession,
) -> None:
    events = _activity(spark, 4)
    tuned = _tune(
        events, [*COUNT, *MEAN], seed=4, epsilon=0.3, value_col="minutes", value_domain=(0.0, 240.0)
    )
    assert tuned.epsilon_spent == pytest.approx(0.3)
    assert tuned.total_epsilon == pytest.approx(1.3)
    assert [h.name for h in tuned.histograms] == [PARTITIONS, ROWS, VALUES]
    assert [h.epsilon for h in tuned.histograms] == pytest.approx([0.1, 0.1, 0.1])
    report = tuned.report()
    assert "ε spent on tuning: 0.3" in report and "release ε: 1 (pure)" in report
    assert "learners (distinct_count" in report and "avg (mean" in report
    # A count-only release needs one histogram, which gets the whole tuning ε.
    count_only = _tune(events, COUNT, seed=5, epsilon=0.3)
    assert [(h.name, h.epsilon) for h in count_only.histograms] == [(PARTITIONS, 0.3)]


def test_histogram_noise_has_the_scale_its_epsilon_share_implies() -> None:
    zeros = Histogram("rows", tuple(float(k) for k in range(1, 60_002)), (0.0,) * 60_000, 0.0)
    for epsilon, histograms in ((0.5, 1), (0.6, 3)):
        noisy = add_histogram_noise(
            [zeros] * histograms, epsilon, seeded_random_source_for_tests(6)
        )
        samples = noisy[0].array().astype(np.int64)
        scale = histograms / epsilon
        assert discrete_laplace_chi2_pvalue(samples, scale) > 1e-3
        assert discrete_laplace_chi2_pvalue(samples, 0.7 * scale) < 1e-9  # negative controls
        assert discrete_laplace_chi2_pvalue(samples, 1.3 * scale) < 1e-9


def test_exact_histograms_count_each_learner_once_and_only_public_keys(spark: SparkSession) -> None:
    events = spark.createDataFrame(
        [
            ("a", 0, 5.0),
            ("a", 0, 7.0),
            ("a", 1, 9.0),  # 2 days, 2 rows on day 0
            ("b", 2, 300.0),  # value beyond the domain: counted in the last bin
            ("c", 99, 1.0),  # a key that is not public: not measured at all
            (None, 0, 1.0),  # no learner id: cannot be bounded, not measured
        ],
        "learner string, day int, minutes double",
    )
    partitions, rows, values = exact_contribution_histograms(
        events,
        privacy_id="learner",
        group_cols=["day"],
        public_groups=_days(spark),
        names=[PARTITIONS, ROWS, VALUES],
        max_partitions_bin=4,
        max_rows_bin=4,
        value_col="minutes",
        value_domain=(0.0, 240.0),
        value_bins=4,
        random_source=seeded_random_source_for_tests(7),
    )
    assert partitions.counts == (1.0, 1.0, 0.0, 0.0)  # b on 1 day, a on 2
    assert sum(rows.counts) == 2 and rows.counts[0] >= 1  # one partition per learner
    assert values.counts[3] == 1.0 and values.counts[0] == 1.0  # b's 300 → last bin; a's ≤ 9
    assert values.edges == (0.0, 60.0, 120.0, 180.0, 240.0)
    keys = spark.createDataFrame([(0,), (1,), (2,)], "day int")
    assert_df_equality(  # the events it measured are the public-key ones
        events.join(keys, "day", "left_semi")
        .where(F.col("learner").isNotNull())
        .select("day")
        .distinct(),
        keys,
        ignore_row_order=True,
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": math.inf}, "epsilon"),
        ({"release_epsilon": -1.0}, "release_epsilon"),
        ({"candidate_partitions": ()}, "candidate_partitions"),
        ({"candidate_rows": (0, 2)}, "candidate_rows"),
        ({"candidate_partitions": (True,)}, "candidate_partitions"),
        ({"group_cols": []}, "group_cols"),
        ({"group_cols": ["learner"]}, "privacy_id"),
        ({"measures": []}, "measures"),
        ({"measures": [Measure("p", "percentile", "minutes", quantile=0.5)]}, "not tunable"),
        ({"measures": MEAN}, "value_domain"),
        ({"measures": MEAN, "value_domain": (5.0, 1.0)}, "value_domain"),
        ({"measures": MEAN, "value_domain": (0.0, 240.0), "value_bins": 1}, "value_bins"),
        (
            {
                "measures": [Measure("avg", "mean", "minutes", lower=0.0, upper=9.0)],
                "value_domain": (0.0, 240.0),
            },
            "lower/upper",
        ),
        ({"measures": [Measure("avg", "mean", "other")]}, "value_col"),
        ({"k_threshold": -1}, "k_threshold"),
        ({"accounting": "gauss"}, "accounting"),
        ({"epsilon_split": {"learners": 0.2}}, "epsilon_split"),
        ({"public_groups": "days"}, "public_groups"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(
    spark: SparkSession, overrides: dict[str, object], named: str
) -> None:
    events = spark.createDataFrame([("a", 0, 5.0)], "learner string, day int, minutes double")
    arguments: dict[str, object] = {"value_col": "minutes", **overrides}
    measures = arguments.pop("measures", COUNT)
    with pytest.raises(PrivacyConfigurationError, match=named.replace("/", ".")):
        _tune(events, measures, seed=8, **arguments)  # type: ignore[arg-type]


def test_missing_columns_are_named(spark: SparkSession) -> None:
    events = spark.createDataFrame([("a", 0)], "learner string, day int")
    with pytest.raises(MissingColumnsError, match="minutes"):
        _tune(events, MEAN, seed=9, value_col="minutes", value_domain=(0.0, 240.0))


def test_tuned_bounds_validate_what_they_hold() -> None:
    histogram = Histogram(PARTITIONS, (1.0, 2.0), (3.0,), 0.1)
    with pytest.raises(PrivacyConfigurationError, match="epsilon_spent"):
        TunedBounds(ContributionBounds(1, 1), 0.2, 1.0, 5, (histogram,), ())
    with pytest.raises(PrivacyConfigurationError, match="len\\(edges\\)"):
        Histogram(PARTITIONS, (1.0,), (3.0,), 0.1)


# ---- empirical privacy audit of the tuning's release (its noisy histograms) --------------

AUDIT_DRAWS = 20_000
AUDIT_EPSILON = 1.0
NAMES = [PARTITIONS, ROWS, VALUES]


def _neighbours(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    """D' = 30 learners on 1-3 days; D adds one worst-case learner (10 days, 20 rows, 240)."""
    base = (
        spark.range(30)
        .select(
            F.col("id").alias("learner"),
            F.explode(F.sequence(F.lit(0), F.col("id") % 3)).alias("day"),
        )
        .select(
            "learner", F.col("day").cast("int"), (F.col("learner") * 7.0 % 200).alias("minutes")
        )
    )
    extra = (
        spark.range(10)
        .select(F.lit(999).cast("long").alias("learner"), F.col("id").cast("int").alias("day"))
        .select("learner", "day", F.explode(F.array_repeat(F.lit(240.0), 20)).alias("minutes"))
    )
    return base.unionByName(extra), base


def _histograms(events: DataFrame) -> tuple[Histogram, ...]:
    return exact_contribution_histograms(
        events,
        privacy_id="learner",
        group_cols=["day"],
        public_groups=_days(events.sparkSession),
        names=NAMES,
        max_partitions_bin=6,
        max_rows_bin=4,
        value_col="minutes",
        value_domain=(0.0, 240.0),
        value_bins=8,
        random_source=seeded_random_source_for_tests(10),
    )


def _losses(
    exact_d: tuple[Histogram, ...], exact_d_prime: tuple[Histogram, ...], seed: int
) -> np.ndarray:
    """Model privacy loss ln p_D(o)/p_D'(o) of ``AUDIT_DRAWS`` noisy releases o of ``exact_d``.

    The draws come from one call of the real noise function on every histogram tiled
    ``AUDIT_DRAWS`` times: bins get independent noise, so each tile is one release.
    """
    scale = len(exact_d) / AUDIT_EPSILON
    tiled = [
        Histogram(h.name, (0.0,) * (AUDIT_DRAWS * len(h.counts) + 1), h.counts * AUDIT_DRAWS, 0.0)
        for h in exact_d
    ]
    noisy = add_histogram_noise(tiled, AUDIT_EPSILON, seeded_random_source_for_tests(seed))
    assert [h.epsilon for h in noisy] == [AUDIT_EPSILON / len(exact_d)] * len(exact_d)
    losses = np.zeros(AUDIT_DRAWS)
    for h, d, d_prime in zip(noisy, exact_d, exact_d_prime, strict=True):
        bins = np.flatnonzero(d.array() != d_prime.array())
        y = h.array().reshape(AUDIT_DRAWS, len(d.counts))[:, bins]
        gap = np.abs(y - d_prime.array()[bins]) - np.abs(y - d.array()[bins])
        losses += gap.sum(axis=1) / scale
    return losses


def test_tuning_histograms_pass_the_audit_at_epsilon_and_a_per_partition_histogram_fails(
    spark: SparkSession,
) -> None:
    d_events, d_prime_events = _neighbours(spark)
    exact_d, exact_d_prime = _histograms(d_events), _histograms(d_prime_events)
    for a, b in zip(exact_d, exact_d_prime, strict=True):  # sensitivity 1 per histogram
        assert np.abs(a.array() - b.array()).sum() == 1.0, a.name
    on_d = _losses(exact_d, exact_d_prime, seed=11)
    on_d_prime = _losses(exact_d_prime, exact_d, seed=12)
    # Scores are the loss of D over D' for both samples: flip the second one's sign.
    thresholds = np.linspace(-1.05 * AUDIT_EPSILON, 1.05 * AUDIT_EPSILON, 43)
    honest = audit(on_d, -on_d_prime, AUDIT_EPSILON, thresholds)
    understated = audit(on_d, -on_d_prime, 0.8 * AUDIT_EPSILON, thresholds)

    # Negative control: counting a learner once per partition (the extra learner: 10 times)
    # with the same noise. Same audit, same ε: must be rejected.
    def per_partition_rows(events: DataFrame) -> tuple[Histogram, ...]:
        counted = (
            events.groupBy("learner", "day")
            .count()
            .select(F.least("count", F.lit(4)).alias("bin"))
            .groupBy("bin")
            .count()
            .collect()
        )
        counts = [0.0] * 4
        for row in counted:
            counts[int(row["bin"]) - 1] = float(row["count"])
        return (Histogram(ROWS, (1.0, 2.0, 3.0, 4.0, 5.0), tuple(counts), 0.0),)

    wrong_d, wrong_d_prime = per_partition_rows(d_events), per_partition_rows(d_prime_events)
    assert np.abs(wrong_d[0].array() - wrong_d_prime[0].array()).sum() == 10.0
    wrong = audit(
        _losses(wrong_d, wrong_d_prime, seed=13),
        -_losses(wrong_d_prime, wrong_d, seed=14),
        AUDIT_EPSILON,
        np.linspace(-12.0, 12.0, 97),
    )
    print(
        f"tuning histograms ε={AUDIT_EPSILON}: δ̂(ε)={honest.delta_hat:.4f} z={honest.max_z:.2f}; "
        f"δ̂(0.8ε)={understated.delta_hat:.4f} z={understated.max_z:.2f}; "
        f"per-partition control δ̂(ε)={wrong.delta_hat:.4f} z={wrong.max_z:.2f}"
    )
    assert not honest.rejects
    assert understated.rejects
    assert wrong.rejects


def _doc_scenario_histograms() -> tuple[Histogram, ...]:
    """docs/privacy_toolkit.md's 600 learners, exactly: 9 of 14 days each, 1-3 rows a day."""
    partitions = [0.0] * 64
    partitions[8] = 600.0  # bin j holds j + 1 partitions
    rows = [0.0] * 32
    rows[0] = rows[1] = rows[2] = 200.0
    values_edges = tuple(7.5 * j for j in range(33))
    minutes = np.exp(3.0 + 0.5 * np.random.default_rng(0).standard_normal(600))
    values, _ = np.histogram(np.clip(minutes, 0.0, 239.9), bins=np.asarray(values_edges))
    return (
        Histogram(PARTITIONS, tuple(float(k) for k in range(1, 66)), tuple(partitions), 0.0),
        Histogram(ROWS, tuple(float(k) for k in range(1, 34)), tuple(rows), 0.0),
        Histogram(VALUES, values_edges, tuple(float(v) for v in values), 0.0),
    )


def test_a_small_tuning_epsilon_still_lands_on_the_data() -> None:
    # ε = 0.2 over three histograms (scale 15 per bin) against 600 learners.
    plan = TuningPlan.validated(
        privacy_id="learner",
        group_cols=["day"],
        measures=[Measure("learners", "distinct_count"), Measure("avg", "mean", "minutes")],
        release_epsilon=0.8,
        value_col="minutes",
        value_domain=(0.0, 240.0),
        k_threshold=0,
    )
    exact = _doc_scenario_histograms()
    truth = float(np.exp(3.0 + 0.5**2 / 2))
    mids = exact[2].representatives()
    draws, right_l, right_mean, raw_right_mean = 60, 0, 0, 0
    for seed in range(draws):
        noisy = add_histogram_noise(exact, 0.2, seeded_random_source_for_tests(seed))
        tuned = plan.choose(noisy, 14)
        right_l += 8 <= tuned.bounds.max_partitions <= 10
        mean = next(e for e in tuned.errors if e.name == "avg")
        right_mean += abs(mean.expected_value / truth - 1) < 0.2
        # Negative control: shares from the noisy counts clipped at 0, no cleaning.
        shares = np.maximum(noisy[2].array(), 0.0)
        raw_right_mean += abs(float(shares @ mids) / shares.sum() / truth - 1) < 0.2
    assert right_l >= 0.9 * draws  # 58 of these 60 seeded draws (96.5 % of 200); uncleaned: 20 %
    assert right_mean >= 0.5 * draws  # 41 of 60 (64 % of 200)
    assert raw_right_mean <= 0.05 * draws  # measured 0 %: 30 empty bins drag it to ~50 min


def test_denoising_drops_noise_only_bins_and_keeps_populated_ones() -> None:
    epsilon, bins = 0.1, 64
    for name, spread in ((PARTITIONS, 10), (VALUES, 1)):
        edges = tuple(float(k) for k in range(1, bins + 2))
        exact = Histogram(name, edges, (0.0,) * bins, 0.0)
        survivors = 0
        for seed in range(500):
            (noisy,) = add_histogram_noise([exact], epsilon, seeded_random_source_for_tests(seed))
            survivors += int(np.count_nonzero(denoised_counts(noisy)))
        # About 1/(2·spread·bins) of empty bins pass ln(spread·bins)/ε: 250/spread in 500.
        assert 0.5 * 250 / spread <= survivors <= 1.5 * 250 / spread + 5, (name, survivors)
        populated = Histogram(name, edges, (300.0,) + (0.0,) * (bins - 1), 0.0)
        for seed in range(100):
            (noisy,) = add_histogram_noise(
                [populated], epsilon, seeded_random_source_for_tests(seed)
            )
            assert denoised_counts(noisy)[0] > 0  # 300 learners against a threshold of ≤ 64
        assert denoised_counts(populated).tolist() == list(populated.counts)  # exact: untouched
