"""private_aggregate: exact at anonymized, noised and documented under DP, keys handled safely."""

from __future__ import annotations

import math

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from privacy_udfs import (
    RELEASE_COLUMNS,
    ContributionBounds,
    Measure,
    PrivacyConfigurationError,
    PrivacyLevel,
    private_aggregate,
    secure_random_source,
    seeded_random_source_for_tests,
)
from privacy_udfs.mechanisms import grid_noise

BOUNDS = ContributionBounds(max_partitions=2, max_rows_per_partition=3, lower=0.0, upper=100.0)
MEASURES = [
    Measure("learners", "distinct_count"),
    Measure("events", "count"),
    Measure("total", "sum", "score"),
    Measure("avg", "mean", "score"),
    Measure("median", "percentile", "score", quantile=0.5, bins=10),
    Measure("best", "max", "score"),
]


@pytest.fixture(scope="module")
def events(spark: SparkSession) -> DataFrame:
    # Tenant a: 3 learners; tenant b: 1 learner (suppressed at k=2); tenant c: public, no data;
    # tenant z: data but not in the public list (never released).
    rows = [
        ("l1", "a", 10.0),
        ("l1", "a", 30.0),
        ("l2", "a", 50.0),
        ("l3", "a", 130.0),
        ("l4", "b", 20.0),
        ("l5", "z", 1.0),
    ]
    return spark.createDataFrame(rows, "learner string, tenant string, score double")


@pytest.fixture(scope="module")
def tenants(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame([("a",), ("b",), ("c",)], "tenant string")


def test_anonymized_is_exact_clamped_and_suppressed_on_true_counts(
    spark: SparkSession, events: DataFrame, tenants: DataFrame
) -> None:
    actual = private_aggregate(
        events,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=MEASURES,
        level=PrivacyLevel.ANONYMIZED,
        bounds=BOUNDS,
        public_groups=tenants,
        k_threshold=2,
    )
    expected = spark.createDataFrame(
        [
            # 130 is clamped to 100: sum 190, mean 47.5, median 40, max 100.
            ("a", 3, 4, 190.0, 47.5, 40.0, 100.0, {}, {}, 0.0, 0.0, "none", False),
            ("b", None, None, None, None, None, None, {}, {}, 0.0, 0.0, "none", True),
            ("c", None, None, None, None, None, None, {}, {}, 0.0, 0.0, "none", True),
        ],
        "tenant string, learners long, events long, total double, avg double, median double, "
        "best double, noise_scales map<string,double>, ci95 map<string,double>, "
        "epsilon double, delta double, "
        "noise_mechanism string, insufficient_data boolean",
    )
    assert_df_equality(actual.orderBy("tenant"), expected, ignore_nullable=True)


@pytest.mark.usefixtures("seeded_randomness")
def test_dp_release_is_noised_documented_and_suppressed_on_noisy_counts(
    spark: SparkSession, events: DataFrame, tenants: DataFrame
) -> None:
    released = private_aggregate(
        events,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=MEASURES,
        level=PrivacyLevel.DP_LOW,
        bounds=BOUNDS,
        public_groups=tenants,
        k_threshold=2,
        random_source=seeded_random_source_for_tests(21),
    )
    assert released.columns == ["tenant", *[m.name for m in MEASURES], *RELEASE_COLUMNS]
    types = dict(released.dtypes)
    assert (types["learners"], types["events"], types["total"], types["median"]) == (
        "bigint",
        "bigint",
        "double",
        "double",
    )
    rows = {row.tenant: row for row in released.collect()}
    assert sorted(rows) == ["a", "b", "c"]  # public keys only, the empty one included
    each = 2.0 / 5  # five measures spend ε (max does not)
    for row in rows.values():
        assert row.epsilon == pytest.approx(2.0) and row.delta == 0.0
        assert row.best is None  # max is never released under DP
        assert f"learners: discrete_laplace ε={each:.6g}" in row.noise_mechanism
        assert "median: exponential_mechanism(bins=10)" in row.noise_mechanism
        assert row.noise_scales["learners"] == pytest.approx(2 / each)
        assert row.noise_scales["events"] == pytest.approx(6 / each)
        assert row.noise_scales["total"] == pytest.approx(grid_noise(each, 600.0, 2).laplace_scale)
        assert row.ci95["learners"] == pytest.approx(row.noise_scales["learners"] * math.log(20))
        if row.insufficient_data:
            assert (row.learners, row.events, row.total, row.avg, row.median) == (None,) * 5
        else:
            # Published only past k plus the learner count's 95 % error bar.
            assert row.learners >= 2 + math.ceil(row.ci95["learners"])
            g = grid_noise(each, 600.0, 2).granularity
            assert row.total / g == round(row.total / g)
            assert 0.0 <= row.avg <= 100.0 and 0.0 <= row.median <= 100.0


def test_dp_noise_is_drawn_once_whatever_reads_it(
    spark: SparkSession, events: DataFrame, tenants: DataFrame
) -> None:
    released = private_aggregate(
        events,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=[Measure("learners", "distinct_count"), Measure("total", "sum", "score")],
        level=PrivacyLevel.DP_HIGH,
        bounds=BOUNDS,
        public_groups=tenants,
        k_threshold=0,
        random_source=secure_random_source(),
    )
    first = sorted(released.collect())
    assert sorted(released.collect()) == first  # a second action re-reads the same draw
    assert released.where(F.col("total").isNotNull()).count() == 3


def test_dp_needs_public_or_selected_keys(events: DataFrame) -> None:
    with pytest.raises(
        PrivacyConfigurationError, match=r"public_groups .* partition_selection_delta"
    ):
        private_aggregate(
            events,
            privacy_id="learner",
            group_cols=["tenant"],
            measures=MEASURES[:1],
            level=PrivacyLevel.DP_MEDIUM,
            bounds=BOUNDS,
        )


@pytest.mark.usefixtures("seeded_randomness")
def test_partition_selection_keeps_big_groups_and_never_small_ones(spark: SparkSession) -> None:
    rows = [(f"big{i}", "popular") for i in range(400)] + [(f"s{i}", "rare") for i in range(4)]
    df = spark.createDataFrame(rows, "learner string, category string")
    released = private_aggregate(
        df,
        privacy_id="learner",
        group_cols=["category"],
        measures=[Measure("learners", "distinct_count")],
        level=PrivacyLevel.DP_MEDIUM,
        bounds=ContributionBounds(1, 1),
        partition_selection_delta=1e-6,
        k_threshold=5,
        random_source=seeded_random_source_for_tests(4),
    )
    rows_out = released.collect()
    assert [r.category for r in rows_out] == ["popular"]  # 4 < k learners: never released
    assert rows_out[0].delta == 1e-6 and rows_out[0].epsilon == pytest.approx(1.0)
    assert "partition_selection: laplace_threshold ε=0.5" in rows_out[0].noise_mechanism


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ({"learners": 1.0}, r"missing \['_learners'\]|missing \['total'\]"),
        ({"learners": 0.5, "total": 0.5, "oops": 0.0}, "not part of this release"),
        ({"learners": 0.9, "total": 0.9}, "sum to 1.8"),
    ],
)
def test_epsilon_split_is_checked(
    events: DataFrame, tenants: DataFrame, split: dict[str, float], message: str
) -> None:
    with pytest.raises(PrivacyConfigurationError, match=message):
        private_aggregate(
            events,
            privacy_id="learner",
            group_cols=["tenant"],
            measures=[Measure("learners", "distinct_count"), Measure("total", "sum", "score")],
            level=PrivacyLevel.DP_MEDIUM,
            bounds=BOUNDS,
            public_groups=tenants,
            epsilon_split=split,
        )


@pytest.mark.usefixtures("seeded_randomness")
def test_custom_split_and_internal_learner_count_are_recorded(
    events: DataFrame, tenants: DataFrame
) -> None:
    released = private_aggregate(
        events,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=[Measure("avg", "mean", "score")],
        level=PrivacyLevel.DP_MEDIUM,
        bounds=BOUNDS,
        public_groups=tenants,
        epsilon_split={"avg": 0.8, "_learners": 0.2},
        random_source=seeded_random_source_for_tests(2),
    )
    row = released.orderBy("tenant").head(1)[0]
    assert row.epsilon == pytest.approx(1.0)
    assert (
        "avg: noisy centered sum / its noisy count "
        "(sum discrete_laplace ε=0.4 + count discrete_laplace ε=0.4)"
    ) in row.noise_mechanism
    assert "suppression count: discrete_laplace ε=0.2" in row.noise_mechanism


def test_arguments_are_checked_up_front(events: DataFrame) -> None:
    with pytest.raises(PrivacyConfigurationError, match="unique"):
        private_aggregate(
            events,
            privacy_id="learner",
            group_cols=["tenant"],
            measures=[Measure("n", "count"), Measure("n", "distinct_count")],
            level=PrivacyLevel.ANONYMIZED,
            bounds=BOUNDS,
        )
    with pytest.raises(PrivacyConfigurationError, match="value_col"):
        Measure("avg", "mean")
    with pytest.raises(PrivacyConfigurationError, match="needs a clamp range"):
        private_aggregate(
            events,
            privacy_id="learner",
            group_cols=["tenant"],
            measures=[Measure("total", "sum", "score")],
            level=PrivacyLevel.ANONYMIZED,
            bounds=ContributionBounds(1, 1),
        )
    with pytest.raises(PrivacyConfigurationError, match="quantile"):
        Measure("p", "percentile", "score", quantile=1.5)
    with pytest.raises(Exception, match=r"\['minutes'\]"):
        private_aggregate(
            events,
            privacy_id="learner",
            group_cols=["tenant"],
            measures=[Measure("m", "sum", "minutes")],
            level=PrivacyLevel.ANONYMIZED,
            bounds=BOUNDS,
        )


@pytest.mark.usefixtures("seeded_randomness")
def test_zcdp_release_uses_the_discrete_gaussian_on_l2_sensitivities(
    spark: SparkSession, events: DataFrame, tenants: DataFrame
) -> None:
    from privacy_udfs.zcdp import epsilon_of_rho, rho_for_epsilon

    released = private_aggregate(
        events,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=[Measure("learners", "distinct_count"), Measure("events", "count")],
        level=PrivacyLevel.DP_MEDIUM,
        bounds=BOUNDS,
        public_groups=tenants,
        k_threshold=0,
        accounting="zcdp",
        delta=1e-6,
        random_source=seeded_random_source_for_tests(5),
    )
    rho_each = rho_for_epsilon(1.0, 1e-6) / 2
    row = released.where(F.col("tenant") == "a").first()
    assert row is not None
    assert row.epsilon == pytest.approx(1.0) and row.delta == 1e-6
    assert (
        "learners: discrete_gaussian ρ=" in row.noise_mechanism and "zCDP ρ=" in row.noise_mechanism
    )
    # L = 2 disjoint partitions: L2 sensitivity √2 for learners, √2·C for rows.
    assert row.noise_scales["learners"] == pytest.approx(math.sqrt(2) / math.sqrt(2 * rho_each))
    assert row.noise_scales["events"] == pytest.approx(3 * math.sqrt(2) / math.sqrt(2 * rho_each))
    assert row.ci95["events"] == pytest.approx(1.959964 * row.noise_scales["events"], rel=1e-6)
    # A share of a larger zCDP release: its own ρ, and the ε that ρ converts to.
    share = private_aggregate(
        events,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=[Measure("learners", "distinct_count")],
        level=PrivacyLevel.DP_MEDIUM,
        bounds=BOUNDS,
        public_groups=tenants,
        accounting="zcdp",
        rho=0.001,
    ).first()
    assert share is not None and share.epsilon == pytest.approx(epsilon_of_rho(0.001, 1e-6))


def test_bounding_spends_no_slot_on_keys_that_are_not_released(spark: SparkSession) -> None:
    # Each learner has many events under a key that is not public and one under "a".
    rows = [(f"l{i}", "hidden", 1.0) for i in range(40) for _ in range(5)]
    rows += [(f"l{i}", "a", 1.0) for i in range(40)]
    df = spark.createDataFrame(rows, "learner string, tenant string, score double")
    released = private_aggregate(
        df,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=[Measure("learners", "distinct_count")],
        level=PrivacyLevel.DP_LOW,
        epsilon=1e6,  # noise negligible: what is left is bounding
        bounds=ContributionBounds(max_partitions=1, max_rows_per_partition=1),
        public_groups=spark.createDataFrame([("a",)], "tenant string"),
        k_threshold=0,
    ).first()
    assert released is not None and released.learners == 40


@pytest.mark.parametrize("level", [PrivacyLevel.ANONYMIZED, PrivacyLevel.DP_LOW])
def test_each_public_key_is_released_once_in_the_datas_types(
    spark: SparkSession, level: PrivacyLevel
) -> None:
    # The key list repeats day 2 and types days as bigint; the events' day is an int.
    df = spark.createDataFrame(
        [("l1", 1, 10.0), ("l2", 1, 20.0), ("l1", 2, 30.0), ("l3", 9, 5.0)],
        "learner string, day int, score double",
    )
    keys = spark.createDataFrame([(1,), (2,), (2,), (3,)], "day bigint")
    released = private_aggregate(
        df,
        privacy_id="learner",
        group_cols=["day"],
        measures=[Measure("learners", "distinct_count"), Measure("total", "sum", "score")],
        level=level,
        epsilon=1e6 if level.is_dp else None,  # noise negligible: the values are the data's
        bounds=ContributionBounds(
            max_partitions=2, max_rows_per_partition=1, lower=0.0, upper=100.0
        ),
        public_groups=keys,
        k_threshold=0,
    )
    assert released.schema["day"].dataType.simpleString() == "int"
    rows = sorted((r.day, r.learners, round(r.total or 0)) for r in released.collect())
    # Day 3 is public and empty (zeros); day 9 has data but is not public (not released).
    assert rows == [(1, 2, 30), (2, 1, 30), (3, 0, 0)]


@pytest.mark.usefixtures("seeded_randomness")
def test_count_like_sums_are_whole_and_never_negative(spark: SparkSession) -> None:
    df = spark.createDataFrame([("l1", "a", 1.0)], "learner string, tenant string, sessions double")
    released = private_aggregate(
        df,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=[Measure("sessions", "sum", "sessions", 0.0, 6.0, integer_valued=True)],
        level=PrivacyLevel.DP_HIGH,
        epsilon=0.01,  # noise far larger than the value: negative draws are common
        bounds=ContributionBounds(max_partitions=1, max_rows_per_partition=1),
        public_groups=spark.createDataFrame([(t,) for t in "abcdefghij"], "tenant string"),
        k_threshold=0,
        random_source=seeded_random_source_for_tests(3),
    )
    values = [r.sessions for r in released.collect()]
    assert all(v >= 0 and v == round(v) for v in values)
    assert any(v > 0 for v in values)  # not all clamped: the noise is there


def test_a_mean_over_one_row_per_learner_divides_by_the_learner_count(
    spark: SparkSession, events: DataFrame, tenants: DataFrame
) -> None:
    released = private_aggregate(
        events,
        privacy_id="learner",
        group_cols=["tenant"],
        measures=[Measure("learners", "distinct_count"), Measure("avg", "mean", "score")],
        level=PrivacyLevel.DP_LOW,
        bounds=ContributionBounds(1, 1, 0.0, 100.0),
        public_groups=tenants,
        k_threshold=0,
    ).first()
    assert released is not None
    assert "avg: noisy centered sum / the learner count" in released.noise_mechanism
    # The mean's whole share goes to its sum: ε_sum = 2.0 / 2 components.
    assert "discrete_laplace ε=1 on the sum" in released.noise_mechanism


def test_conflicting_key_arguments_are_refused(events: DataFrame, tenants: DataFrame) -> None:
    with pytest.raises(PrivacyConfigurationError, match="partition_selection_delta applies only"):
        private_aggregate(
            events,
            privacy_id="learner",
            group_cols=["tenant"],
            measures=MEASURES[:1],
            level=PrivacyLevel.DP_MEDIUM,
            bounds=BOUNDS,
            public_groups=tenants,
            partition_selection_delta=1e-6,
        )
    with pytest.raises(PrivacyConfigurationError, match="zCDP releases need public_groups"):
        private_aggregate(
            events,
            privacy_id="learner",
            group_cols=["tenant"],
            measures=MEASURES[:1],
            level=PrivacyLevel.DP_MEDIUM,
            bounds=BOUNDS,
            partition_selection_delta=1e-6,
            accounting="zcdp",
        )
