"""local_frame: small driver-held tables that cost no Spark job to read."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from privacy_udfs.local_frames import local_frame

SCHEMA = T.StructType(
    [
        T.StructField("tenant_id", T.StringType(), nullable=False),
        T.StructField("joined_on", T.DateType()),
        T.StructField("pad", T.BinaryType()),
    ]
)
ROWS = [("t1", dt.date(2025, 1, 1), b"\x36\x00"), ("t2", None, b"\x5c")]


def _jobs_run_by(spark: SparkSession, action: Callable[[], object]) -> list[int]:
    """The Spark jobs ``action`` started (it runs under a job group of its own)."""
    context = spark.sparkContext
    group = f"local-frame-{uuid.uuid4()}"
    context.setJobGroup(group, "counting the jobs of one action")
    try:
        action()
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    return list(context.statusTracker().getJobIdsForGroup(group))


def test_rows_and_schema_are_kept(spark: SparkSession) -> None:
    frame = local_frame(spark, ROWS, SCHEMA)
    assert frame.schema == SCHEMA
    expected = spark.createDataFrame(ROWS, SCHEMA)
    assert_df_equality(frame, expected, ignore_row_order=True)


def test_reading_a_local_frame_starts_no_spark_job(spark: SparkSession) -> None:
    frame: DataFrame = local_frame(spark, ROWS, SCHEMA)
    assert _jobs_run_by(spark, lambda: frame.where("joined_on IS NOT NULL").collect()) == []
    # Negative control: the same rows through createDataFrame are a Python RDD, which
    # every read scans in a Spark job.
    rdd_backed = spark.createDataFrame(ROWS, SCHEMA)
    assert _jobs_run_by(spark, lambda: rdd_backed.where("joined_on IS NOT NULL").collect())


def test_no_rows_is_an_empty_frame_of_the_schema(spark: SparkSession) -> None:
    frame = local_frame(spark, [], SCHEMA)
    assert frame.columns == SCHEMA.names
    assert [f.dataType for f in frame.schema] == [f.dataType for f in SCHEMA]
    assert _jobs_run_by(spark, frame.collect) == []
    assert frame.collect() == []


def test_a_row_of_the_wrong_length_is_refused(spark: SparkSession) -> None:
    with pytest.raises(ValueError, match="a row of 2 values for the 3 columns"):
        local_frame(spark, [("t1", None)], SCHEMA)
