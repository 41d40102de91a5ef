"""Job flags are validated up front; raw reads name every contract violation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from contracts.curated import SESSION_DAILY
from contracts.raw import COURSES
from contracts.spark_types import spark_schema
from jobs.arguments import JobArgumentError, JobArguments, job_argument_parser, job_arguments_from
from jobs.delta_io import (
    RawTableMissingError,
    SchemaContractError,
    ensure_curated_table,
    overwrite_slice,
    read_raw_table,
)

RUN = "11111111-1111-4111-8111-111111111111"


def test_end_before_start_names_the_flags() -> None:
    with pytest.raises(JobArgumentError, match="--end 2025-01-01 is before --start 2025-02-01"):
        JobArguments(dt.date(2025, 2, 1), dt.date(2025, 1, 1), None, "anonymized", RUN)


def test_tenant_must_be_a_uuid() -> None:
    with pytest.raises(JobArgumentError, match="--tenant must be a UUID"):
        JobArguments(dt.date(2025, 1, 1), dt.date(2025, 1, 2), "x'; DROP TABLE", "anonymized", RUN)


def test_parser_defaults_level_from_settings() -> None:
    parser = job_argument_parser("prog", "desc")
    args = job_arguments_from(
        parser.parse_args(["--start", "2025-01-01", "--end", "2025-01-31"]), "dp_high"
    )
    assert (args.privacy_level, args.tenant_id, len(args.run_id)) == ("dp_high", None, 36)


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        job_argument_parser("prog", "desc").parse_args(
            ["--start", "2025-13-01", "--end", "2025-01-31"]
        )
    assert "not a date" in capsys.readouterr().err


def test_missing_and_mistyped_columns_are_all_named(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "courses")
    spark.createDataFrame(
        [("c", "t", 3)], "course_id string, tenant_id string, name int"
    ).write.format("delta").save(path)
    with pytest.raises(SchemaContractError) as raised:
        read_raw_table(spark, path, "courses", COURSES)
    message = str(raised.value)
    assert "missing column(s): subject, difficulty" in message
    assert "name is int, expected string" in message


def test_extra_columns_are_ignored_and_missing_table_is_named(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "courses")
    frame = spark.createDataFrame([("c", "t", "n", "math", "advanced")], spark_schema(COURSES))
    frame.withColumn("surprise", frame.name).write.format("delta").save(path)
    assert read_raw_table(spark, path, "courses", COURSES).columns == [c.name for c in COURSES]
    with pytest.raises(RawTableMissingError, match="raw table 'events' not found"):
        read_raw_table(spark, str(tmp_path / "nope"), "events", COURSES)


def test_overwrite_slice_replaces_only_the_slice(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    schema = "tenant_id string, day date, v long"
    spark.createDataFrame(
        [
            ("a", dt.date(2025, 1, 1), 1),
            ("a", dt.date(2025, 1, 2), 2),
            ("b", dt.date(2025, 1, 1), 3),
        ],
        schema,
    ).write.format("delta").save(path)
    replacement = spark.createDataFrame([("a", dt.date(2025, 1, 1), 10)], schema)
    overwrite_slice(replacement, path, "tenant_id = 'a' AND day = DATE'2025-01-01'")
    overwrite_slice(replacement, path, "tenant_id = 'a' AND day = DATE'2025-01-01'")
    rows = sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())
    assert rows == [
        ("a", dt.date(2025, 1, 1), 10),
        ("a", dt.date(2025, 1, 2), 2),
        ("b", dt.date(2025, 1, 1), 3),
    ]


def test_table_properties_follow_the_settings_of_every_write(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "session_daily")

    def k_property() -> str:
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
        assert detail is not None
        return str(detail["properties"]["privacy.k_threshold"])

    ensure_curated_table(spark, path, SESSION_DAILY, 5)
    assert k_property() == "5"
    ensure_curated_table(spark, path, SESSION_DAILY, 11)  # a later run with MIN_COHORT_SIZE=11
    assert k_property() == "11"
