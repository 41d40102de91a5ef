"""The noise UDFs through Spark: distributions, integers, the grid, per-partition streams."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from privacy_udfs import laplace_count, laplace_sum, seeded_random_source_for_tests
from privacy_udfs.mechanisms import grid_noise
from privacy_udfs.noise import (
    draw_together,
    exponential_quantile_draw,
    laplace_count_draw,
    laplace_sum_draw,
)
from privacy_udfs.randomness import SEEDED_RANDOMNESS_ENV, secure_random_source
from tests.privacy_udfs.stats import discrete_laplace_chi2_pvalue, laplace_ks_pvalue

DRAWS = 120_000


@pytest.mark.usefixtures("seeded_randomness")
def test_count_and_sum_noise_through_spark_have_the_right_distribution(spark: SparkSession) -> None:
    source = seeded_random_source_for_tests(11)
    epsilon, count_l1, sum_l1 = 0.5, 2.0, 240.0
    true_sum = 1000.3
    noisy = (
        spark.range(DRAWS, numPartitions=4)
        .select(F.lit(40).cast("long").alias("n"), F.lit(true_sum).alias("s"))
        .select(
            laplace_count("n", epsilon, count_l1, random_source=source).alias("noisy_n"),
            laplace_sum("s", epsilon, sum_l1, random_source=source).alias("noisy_s"),
        )
        .toPandas()
    )
    assert str(noisy["noisy_n"].dtype) == "int64"  # counts stay integers
    count_noise = noisy["noisy_n"].to_numpy() - 40
    scale = count_l1 / epsilon
    assert discrete_laplace_chi2_pvalue(count_noise, scale) > 1e-3
    assert discrete_laplace_chi2_pvalue(count_noise, 0.7 * scale) < 1e-9
    assert discrete_laplace_chi2_pvalue(count_noise, 1.3 * scale) < 1e-9

    calibration = grid_noise(epsilon, sum_l1)
    units = noisy["noisy_s"].to_numpy() / calibration.granularity
    assert np.array_equal(units, np.round(units))  # sums lie on the grid
    snapped = np.rint(true_sum / calibration.granularity) * calibration.granularity
    sum_noise = noisy["noisy_s"].to_numpy() - snapped
    b = calibration.laplace_scale
    assert laplace_ks_pvalue(sum_noise, b) > 1e-3
    assert laplace_ks_pvalue(sum_noise, 0.7 * b) < 1e-9
    assert laplace_ks_pvalue(sum_noise, 1.3 * b) < 1e-9


@pytest.mark.parametrize("source_name", ["seeded", "secure"])
def test_no_two_partitions_draw_the_same_noise_sequence(
    spark: SparkSession, source_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEEDED_RANDOMNESS_ENV, "1")
    source = (
        seeded_random_source_for_tests(3) if source_name == "seeded" else secure_random_source()
    )
    draws = (
        spark.range(8 * 200)
        .repartition(8)
        .select(
            F.spark_partition_id().alias("partition"),
            laplace_count(F.lit(0).cast("long"), 1.0, 1.0, random_source=source).alias("noise"),
        )
        .toPandas()
    )
    sequences = {
        partition: tuple(group["noise"].to_list())
        for partition, group in draws.groupby("partition")
    }
    assert len(sequences) == 8
    assert len(set(sequences.values())) == 8


def test_nulls_stay_null_and_seeded_draws_repeat(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEEDED_RANDOMNESS_ENV, "1")
    df = spark.createDataFrame([(1, 10.0), (None, None), (3, 2.5)], "n long, s double").coalesce(1)

    def draw(seed: int) -> list[tuple[object, object]]:
        source = seeded_random_source_for_tests(seed)
        out = df.select(
            laplace_count("n", 1.0, 1.0, random_source=source).alias("n"),
            laplace_sum("s", 1.0, 1.0, random_source=source).alias("s"),
        )
        return [(row.n, row.s) for row in out.collect()]

    first = draw(5)
    assert first[1] == (None, None)
    assert draw(5) == first
    assert draw(6) != first


def test_seeded_source_refuses_without_the_testing_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEEDED_RANDOMNESS_ENV, raising=False)
    with pytest.raises(RuntimeError, match=SEEDED_RANDOMNESS_ENV):
        seeded_random_source_for_tests(1)


def test_draws_together_equal_the_same_draws_as_their_own_udfs_in_one_python_pass(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEEDED_RANDOMNESS_ENV, "1")
    rows = [(n, float(n) / 3, [n, 1, 0]) for n in range(40)] + [(None, None, [0, 0, 1])]
    df = spark.createDataFrame(rows, "n long, s double, h array<long>").repartition(3)
    source = seeded_random_source_for_tests(8)
    draws = {
        "count": laplace_count_draw("n", 0.5, 2.0, random_source=source, purpose="count"),
        "sum": laplace_sum_draw("s", 0.5, 1.0, random_source=source, purpose="sum"),
        "quantile": exponential_quantile_draw(
            "h",
            quantile=0.5,
            lower=0.0,
            upper=3.0,
            epsilon=1.0,
            sensitivity=1.0,
            random_source=source,
            purpose="quantile",
        ),
    }
    separate = df.select("n", *[d.column().alias(name) for name, d in draws.items()])
    together = df.select("n", draw_together(draws).alias("drawn")).select("n", "drawn.*")
    assert sorted(separate.collect(), key=str) == sorted(together.collect(), key=str)
    plan = together._jdf.queryExecution().executedPlan().toString()
    assert plan.split("== Initial Plan ==")[0].count("ArrowEvalPython") == 1
    with pytest.raises(ValueError, match="at least one draw"):
        draw_together({})
