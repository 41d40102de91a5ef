"""Contribution bounding and clamping: caps hold, choices are random, sensitivities follow."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from scipy import stats

from privacy_udfs import (
    ContributionBounds,
    MissingColumnsError,
    PairColumns,
    PrivacyConfigurationError,
    Sensitivities,
    bound_contributions,
    bounded_pairs,
    clamp,
)


def test_clamp_keeps_nulls_and_maps_nan_to_null(spark: SparkSession) -> None:
    source = spark.createDataFrame(
        [(-5.0,), (3.0,), (500.0,), (None,), (float("nan"),)], "x double"
    )
    actual = source.select(clamp("x", 0.0, 240.0).alias("x"))
    expected = spark.createDataFrame([(0.0,), (3.0,), (240.0,), (None,), (None,)], "x double")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_clamp_rejects_an_empty_range() -> None:
    with pytest.raises(PrivacyConfigurationError, match=r"\[2.0, 1.0\]"):
        clamp("x", 2.0, 1.0)


def test_bounds_validate_and_imply_sensitivities() -> None:
    with pytest.raises(PrivacyConfigurationError) as caught:
        ContributionBounds(max_partitions=0, max_rows_per_partition=2, lower=3.0, upper=1.0)
    assert "max_partitions" in str(caught.value) and "lower must be <= upper" in str(caught.value)
    bounds = ContributionBounds(
        max_partitions=3, max_rows_per_partition=4, lower=-10.0, upper=240.0
    )
    with pytest.raises(PrivacyConfigurationError, match="both lower and upper"):
        ContributionBounds(max_partitions=1, max_rows_per_partition=1, lower=0.0)
    assert Sensitivities.of(bounds, -10.0, 240.0) == Sensitivities(
        distinct_count=3.0, count=12.0, sum=12 * 240.0, centered_sum=12 * 125.0
    )


events = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 5), st.floats(-50, 500)), min_size=1, max_size=120
)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=events, max_partitions=st.integers(1, 3), max_rows=st.integers(1, 3))
def test_bounding_caps_hold_and_keep_as_much_as_allowed(
    spark: SparkSession, rows: list[tuple[int, int, float]], max_partitions: int, max_rows: int
) -> None:
    df = spark.createDataFrame(rows, "learner int, day int, minutes double")
    bounds = ContributionBounds(max_partitions, max_rows, lower=0.0, upper=240.0)
    bounded = bound_contributions(df, "learner", ["day"], bounds, value_col="minutes")
    kept = [(r.learner, r.day, r.minutes) for r in bounded.df.collect()]

    per_cell: dict[tuple[int, int], int] = {}
    for learner, day, minutes in kept:
        per_cell[(learner, day)] = per_cell.get((learner, day), 0) + 1
        assert 0.0 <= minutes <= 240.0
    original: dict[tuple[int, int], int] = {}
    for learner, day, _ in rows:
        original[(learner, day)] = original.get((learner, day), 0) + 1
    for learner in {r[0] for r in rows}:
        days = [d for (lrn, d) in original if lrn == learner]
        kept_days = [d for (lrn, d) in per_cell if lrn == learner]
        assert len(kept_days) == min(max_partitions, len(days))
        for day in kept_days:
            assert per_cell[(learner, day)] == min(max_rows, original[(learner, day)])
    assert bounded.sensitivities.count == max_partitions * max_rows


def test_kept_partitions_and_rows_are_uniformly_random(spark: SparkSession) -> None:
    learners = 400
    # Every learner: 4 days with one row each, and 5 rows on day 9 numbered 0..4.
    rows = [(f"l{i}", day, 0) for i in range(learners) for day in range(4)]
    rows += [(f"l{i}", 9, n) for i in range(learners) for n in range(5)]
    df = spark.createDataFrame(rows, "learner string, day int, n int")
    one_day = (
        bound_contributions(df.where("day < 4"), "learner", ["day"], ContributionBounds(1, 1))
        .df.groupBy("day")
        .count()
    )
    one_row = (
        bound_contributions(df.where("day = 9"), "learner", ["day"], ContributionBounds(1, 1))
        .df.groupBy("n")
        .count()
    )
    day_counts = [r["count"] for r in one_day.collect()]
    row_counts = [r["count"] for r in one_row.collect()]
    assert sum(day_counts) == learners and sum(row_counts) == learners
    # First-come (or the same choice for everyone) would put all learners in one cell.
    assert len(day_counts) == 4 and stats.chisquare(day_counts).pvalue > 1e-4
    assert len(row_counts) == 5 and stats.chisquare(row_counts).pvalue > 1e-4


def test_bounding_names_missing_columns_and_bad_partitions(spark: SparkSession) -> None:
    df = spark.createDataFrame([("a", 1)], "learner string, day int")
    with pytest.raises(MissingColumnsError, match=r"\['week'\]"):
        bound_contributions(df, "learner", ["week"], ContributionBounds(1, 1))
    with pytest.raises(PrivacyConfigurationError, match="partition column"):
        bound_contributions(df, "learner", ["learner"], ContributionBounds(1, 1))


def test_rows_without_learner_are_dropped(spark: SparkSession) -> None:
    df = spark.createDataFrame([("a", 1), (None, 1)], "learner string, day int")
    bounded = bound_contributions(df, "learner", ["day"], ContributionBounds(1, 1)).df
    assert_df_equality(bounded, df.where(F.col("learner").isNotNull()), ignore_nullable=True)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=events, max_partitions=st.integers(1, 3), max_rows=st.integers(1, 3))
def test_bounded_pairs_scale_each_learners_group_to_c_rows(
    spark: SparkSession, rows: list[tuple[int, int, float]], max_partitions: int, max_rows: int
) -> None:
    df = spark.createDataFrame(rows, "learner int, day int, minutes double")
    bounds = ContributionBounds(max_partitions, max_rows, lower=0.0, upper=240.0)
    pairs = bounded_pairs(
        df.withColumn("minutes", clamp("minutes", 0.0, 240.0)),
        "learner",
        ["day"],
        bounds,
        [F.sum("minutes").alias("total")],
        columns=PairColumns(rows="kept", scale="scale"),
    ).collect()

    original: dict[tuple[int, int], list[float]] = {}
    for learner, day, minutes in rows:
        original.setdefault((learner, day), []).append(min(max(minutes, 0.0), 240.0))
    for learner in {r[0] for r in rows}:
        days = [d for (lrn, d) in original if lrn == learner]
        kept = [p for p in pairs if p.learner == learner]
        assert len(kept) == min(max_partitions, len(days))  # at most L, as many as allowed
        for pair in kept:
            values = original[(learner, pair.day)]
            assert pair.kept == min(max_rows, len(values))
            assert pair.scale == pytest.approx(min(max_rows, len(values)) / len(values))
            # The scaled sum is the learner's own mean times C: never more than C rows' worth.
            scaled = pair.total * pair.scale
            assert scaled == pytest.approx(pair.kept * sum(values) / len(values))
            assert 0.0 <= scaled <= max_rows * 240.0 + 1e-9


def test_bounded_pairs_choose_groups_at_random_and_check_arguments(spark: SparkSession) -> None:
    learners = 400
    rows = [(f"l{i}", day) for i in range(learners) for day in range(4)] + [(None, 1)]
    df = spark.createDataFrame(rows, "learner string, day int")
    chosen = bounded_pairs(df, "learner", ["day"], ContributionBounds(1, 1), [])
    day_counts = [r["count"] for r in chosen.groupBy("day").count().collect()]
    assert sum(day_counts) == learners  # one group per learner; the null learner is dropped
    assert len(day_counts) == 4 and stats.chisquare(day_counts).pvalue > 1e-4
    with pytest.raises(MissingColumnsError, match=r"\['week'\]"):
        bounded_pairs(df, "learner", ["week"], ContributionBounds(1, 1), [])
    with pytest.raises(PrivacyConfigurationError, match="partition column"):
        bounded_pairs(df, "learner", ["learner"], ContributionBounds(1, 1), [])
