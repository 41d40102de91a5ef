"""The discrete Gaussian UDFs through Spark: integers, the grid, distributions, fresh draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from scipy import stats

from privacy_udfs import gaussian_count, gaussian_sum, seeded_random_source_for_tests, zcdp
from privacy_udfs.errors import PrivacyConfigurationError
from privacy_udfs.gaussian import gaussian_grid_noise
from privacy_udfs.randomness import SEEDED_RANDOMNESS_ENV, secure_random_source
from tests.privacy_udfs.stats import discrete_gaussian_chi2_pvalue

DRAWS = 100_000


@pytest.mark.usefixtures("seeded_randomness")
def test_count_and_sum_noise_through_spark_have_the_right_distribution(spark: SparkSession) -> None:
    source = seeded_random_source_for_tests(13)
    rho, count_l2, sum_l2, partitions = 0.05, math.sqrt(2), 240.0 * math.sqrt(2), 2
    true_sum = 1000.3
    noisy = (
        spark.range(DRAWS, numPartitions=4)
        .select(F.lit(40).cast("long").alias("n"), F.lit(true_sum).alias("s"))
        .select(
            gaussian_count("n", rho, count_l2, random_source=source).alias("noisy_n"),
            gaussian_sum("s", rho, sum_l2, max_partitions=partitions, random_source=source).alias(
                "noisy_s"
            ),
        )
        .toPandas()
    )
    assert str(noisy["noisy_n"].dtype) == "int64"  # counts stay integers
    count_noise = noisy["noisy_n"].to_numpy() - 40
    sigma = zcdp.sigma_for_rho(count_l2, rho)  # ≈ 4.47
    assert discrete_gaussian_chi2_pvalue(count_noise, sigma) > 1e-3
    assert discrete_gaussian_chi2_pvalue(count_noise, 0.9 * sigma) < 1e-9
    assert discrete_gaussian_chi2_pvalue(count_noise, 1.1 * sigma) < 1e-9
    variance = zcdp.discrete_gaussian_variance(sigma)
    assert abs(count_noise.var() - variance) < 5 * variance * math.sqrt(2 / DRAWS)

    calibration = gaussian_grid_noise(rho, sum_l2, partitions)
    units = noisy["noisy_s"].to_numpy() / calibration.granularity
    assert np.array_equal(units, np.round(units))  # sums lie on the grid
    snapped = np.rint(true_sum / calibration.granularity) * calibration.granularity
    sum_noise = noisy["noisy_s"].to_numpy() - snapped
    assert stats.kstest(sum_noise, "norm", args=(0.0, calibration.sigma)).pvalue > 1e-3
    assert stats.kstest(sum_noise, "norm", args=(0.0, 0.92 * calibration.sigma)).pvalue < 1e-9
    assert stats.kstest(sum_noise, "norm", args=(0.0, 1.08 * calibration.sigma)).pvalue < 1e-9


def test_fresh_draws_per_run_and_partition_nulls_stay_null(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEEDED_RANDOMNESS_ENV, "1")
    frame = (
        spark.range(8 * 200)
        .repartition(8)
        .select(F.spark_partition_id().alias("partition"), F.lit(0).cast("long").alias("zero"))
    )
    secure = frame.select("partition", gaussian_count("zero", 0.5, 1.0).alias("noise"))

    def partition_sequences(released) -> dict[int, tuple[int, ...]]:
        draws = released.toPandas()
        return {p: tuple(g["noise"].to_list()) for p, g in draws.groupby("partition")}

    first, second = partition_sequences(secure), partition_sequences(secure)
    assert len(first) == 8 and len(set(first.values())) == 8  # no two partitions alike
    assert first != second  # each action is a fresh draw from the OS CSPRNG

    df = spark.createDataFrame([(1, 10.0), (None, None), (3, 2.5)], "n long, s double").coalesce(1)

    def seeded(seed: int) -> list[tuple[object, object]]:
        source = seeded_random_source_for_tests(seed)
        out = df.select(
            gaussian_count("n", 0.5, 1.0, random_source=source).alias("n"),
            gaussian_sum("s", 0.5, 1.0, max_partitions=1, random_source=source).alias("s"),
        )
        return [(row.n, row.s) for row in out.collect()]

    draw = seeded(5)
    assert draw[1] == (None, None)
    assert seeded(5) == draw and seeded(6) != draw  # the test switch reproduces, nothing else


def test_bad_arguments_are_refused_on_the_driver() -> None:
    with pytest.raises(PrivacyConfigurationError, match="rho"):
        gaussian_count("n", 0.0, 1.0, random_source=secure_random_source())
    with pytest.raises(PrivacyConfigurationError, match="l2_sensitivity"):
        gaussian_sum("s", 0.1, -1.0, max_partitions=1)
    with pytest.raises(PrivacyConfigurationError, match="max_partitions"):
        gaussian_sum("s", 0.1, 1.0, max_partitions=0)
