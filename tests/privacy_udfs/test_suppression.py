"""k-suppression (seed 003 Phase 3): identifiers stay, metrics go null under k."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from privacy_udfs import MissingColumnsError, PrivacyConfigurationError, suppress_small_groups


def test_seed_003_mixed_cohorts(spark: SparkSession) -> None:
    source = spark.createDataFrame(
        [
            ("Large", 50, 82.0),
            ("Small", 2, 95.0),
            ("Medium", 8, 77.5),
            ("Edge", 5, 60.0),
            ("Empty", 0, None),
        ],
        "name string, total long, avg double",
    )
    actual = suppress_small_groups(source, 5, "total", ["avg"])
    expected = spark.createDataFrame(
        [
            ("Large", 50, 82.0, False),
            ("Small", 2, None, True),
            ("Medium", 8, 77.5, False),
            ("Edge", 5, 60.0, False),
            ("Empty", 0, None, True),
        ],
        "name string, total long, avg double, insufficient_data boolean",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_existing_flag_is_kept_and_count_can_be_suppressed(spark: SparkSession) -> None:
    source = spark.createDataFrame(
        [("a", 9, 1.0, True), ("b", 9, 2.0, False), ("c", None, 3.0, False)],
        "name string, n long, v double, insufficient_data boolean",
    )
    actual = suppress_small_groups(source, 5, "n", ["n", "v"])
    expected = spark.createDataFrame(
        [("a", None, None, True), ("b", 9, 2.0, False), ("c", None, None, True)],
        "name string, n long, v double, insufficient_data boolean",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    counts=st.lists(st.one_of(st.none(), st.integers(-3, 12)), min_size=1, max_size=60),
    k=st.integers(1, 10),
)
def test_no_metric_is_ever_emitted_under_k(
    spark: SparkSession, counts: list[int | None], k: int
) -> None:
    source = spark.createDataFrame(
        [(i, c, 1.5, 7) for i, c in enumerate(counts)], "g int, n long, mean double, total int"
    )
    for row in suppress_small_groups(source, k, "n", ["mean", "total"]).collect():
        small = row.n is None or row.n < k
        assert row.insufficient_data is small
        assert (
            (row.mean is None and row.total is None) if small else (row.mean, row.total) == (1.5, 7)
        )


def test_arguments_are_checked(spark: SparkSession) -> None:
    source = spark.createDataFrame([(1, 2.0)], "n long, v double")
    with pytest.raises(MissingColumnsError, match=r"\['avg'\]"):
        suppress_small_groups(source, 5, "n", ["avg"])
    with pytest.raises(PrivacyConfigurationError, match="k must be"):
        suppress_small_groups(source, 0, "n", ["v"])
