"""Consistency post-processing: parts add up to totals, non-negative integers, more accurate."""

from __future__ import annotations

import numpy as np
import pytest
from chispa import assert_df_equality
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from privacy_udfs.consistency import Partition, consistent_partitions, with_consistent_parts
from privacy_udfs.errors import MissingColumnsError, PrivacyConfigurationError

noisy_values = st.floats(min_value=-50.0, max_value=5_000.0, allow_nan=False)
noise_scales = st.floats(min_value=0.5, max_value=500.0, allow_nan=False)


@st.composite
def releases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    rows = draw(st.integers(min_value=1, max_value=6))
    total = draw(hnp.arrays(float, rows, elements=noisy_values))
    total_scale = draw(hnp.arrays(float, rows, elements=noise_scales))
    partitions = []
    for size in draw(st.lists(st.integers(min_value=2, max_value=5), min_size=1, max_size=3)):
        parts = draw(hnp.arrays(float, (rows, size), elements=noisy_values))
        scales = draw(hnp.arrays(float, (rows, size), elements=noise_scales))
        partitions.append((parts, scales))
    return total, total_scale, partitions


@given(releases())
def test_parts_are_non_negative_integers_adding_up_to_a_non_negative_integer_total(
    release: tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    total, total_scale, partitions = release
    totals, parts = consistent_partitions(total, total_scale, partitions)
    assert totals.dtype == np.int64 and (totals >= 0).all()
    assert len(parts) == len(partitions)
    for consistent, (noisy, _) in zip(parts, partitions, strict=True):
        assert consistent.dtype == np.int64 and consistent.shape == noisy.shape
        assert (consistent >= 0).all()
        assert (consistent.sum(axis=1) == totals).all()


@given(releases())
def test_values_that_already_agree_are_kept(
    release: tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    _, total_scale, partitions = release
    # Whole non-negative parts whose sum is the total, in every partition alike.
    first = np.rint(np.abs(partitions[0][0]))
    agreeing = [(first, partitions[0][1]), (first[:, ::-1].copy(), partitions[0][1][:, ::-1])]
    totals, parts = consistent_partitions(first.sum(axis=1), total_scale, agreeing)
    assert (totals == first.sum(axis=1)).all()
    assert (parts[0] == first).all() and (parts[1] == first[:, ::-1]).all()


def test_a_gap_goes_to_the_noisier_measurements() -> None:
    # Total 100 (scale 1), parts 30 + 50 = 80 with scales 1 and 7: the total barely moves
    # and the noisy second part takes almost all of the gap.
    totals, (parts,) = consistent_partitions(
        np.array([100.0]), np.array([1.0]), [(np.array([[30.0, 50.0]]), np.array([[1.0, 7.0]]))]
    )
    assert 98 <= totals[0] <= 100
    assert parts[0, 0] in (30, 31) and parts.sum() == totals[0]


def test_the_least_squares_total_is_more_accurate_than_the_noisy_total() -> None:
    # Negative control: the noisy total alone, against the consistent one, on the same
    # draws: three partitions measure the same total, so its error shrinks.
    rng = np.random.default_rng(7)
    n, truth = 20_000, np.array([400.0, 300.0, 200.0, 100.0])
    total = truth.sum() + rng.normal(0, 30.0, n)
    partitions = [
        (truth + rng.normal(0, 30.0, (n, 4)), np.full((n, 4), 30.0)),
        (truth[::-1] + rng.normal(0, 30.0, (n, 4)), np.full((n, 4), 30.0)),
    ]
    totals, parts = consistent_partitions(total, np.full(n, 30.0), partitions)
    noisy_error = np.sqrt(np.mean((total - truth.sum()) ** 2))
    consistent_error = np.sqrt(np.mean((totals - truth.sum()) ** 2))
    # Variances 900 and 2 x 3,600: the estimate's is 1 / (1/900 + 2/3,600) = 600.
    assert consistent_error == pytest.approx(np.sqrt(600.0), rel=0.05)
    assert consistent_error < 0.85 * noisy_error
    part_error = np.sqrt(np.mean((parts[0] - truth) ** 2, axis=0))
    assert (part_error < 30.0).all()


def test_bad_scales_and_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="positive and finite"):
        consistent_partitions(np.array([1.0]), np.array([0.0]), [])
    with pytest.raises(ValueError, match=r"partition 0: parts must be a complete \(n, k\)"):
        consistent_partitions(
            np.array([1.0, 2.0]), np.array([1.0, 1.0]), [(np.ones((1, 2)), np.ones((1, 2)))]
        )
    with pytest.raises(PrivacyConfigurationError, match="at least two parts"):
        Partition(("only",), (1.0,))
    with pytest.raises(PrivacyConfigurationError, match="one scale per part"):
        Partition(("a", "b"), (1.0,))


def test_with_consistent_parts_on_a_dataframe(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [("w1", 10, 7, 5, 2.0), ("w2", 20, 12, 8, 2.0), ("w3", None, 1, 1, 2.0)],
        "week string, active long, new long, returning long, scale double",
    )
    consistent = with_consistent_parts(
        df,
        "active",
        F.col("scale"),
        {"new_or_returning": Partition(("new", "returning"), (F.col("scale"), 2.0))},
    )
    # w1 (equal scales): 10 against 7 + 5 = 12, the total 10.67 -> 11, each part half of
    # the gap -> 6.33 + 4.33, scaled to 11 -> 6.53 + 4.47 -> 7 + 4 (largest remainder).
    # w2 already agrees; w3 has no total and is left as it was.
    expected = spark.createDataFrame(
        [("w1", 11, 7, 4, 2.0), ("w2", 20, 12, 8, 2.0), ("w3", None, 1, 1, 2.0)],
        "week string, active long, new long, returning long, scale double",
    )
    assert_df_equality(consistent, expected, ignore_nullable=True, ignore_row_order=True)
    with pytest.raises(MissingColumnsError, match="churned"):
        with_consistent_parts(df, "active", 1.0, {"p": Partition(("new", "churned"), (1.0, 1.0))})
