"""Shared fixtures: one session-scoped SparkSession with Delta Lake, test-speed settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from jobs.session import build_spark_session
from tests.pipeline import CuratedPipeline, build_pipeline


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The one SparkSession of the test run: local[2], UI off, 2 shuffle partitions."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = build_spark_session(
        "privacy-analytics-tests",
        master="local[2]",
        shuffle_partitions=2,
        ui_enabled=False,
        extra_conf={
            "spark.sql.warehouse.dir": str(warehouse),
            "spark.default.parallelism": "2",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": "2g",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def curated_pipeline(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CuratedPipeline]:
    """A generated dataset released by run_all at anonymized and dp_medium (built once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS", "1")
        yield build_pipeline(spark, tmp_path_factory.mktemp("pipeline"))
