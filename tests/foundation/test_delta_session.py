"""Delta Lake really works in the shared session: write, read back, history, time travel."""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from jobs.delta_jars import DeltaJarsMissingError, delta_jar_paths, fetch_delta_jars
from jobs.session import delta_session_builder


def test_delta_write_read_and_history(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    first = spark.createDataFrame([(1, "a"), (2, "b")], "id long, v string")
    second = spark.createDataFrame([(3, "c")], "id long, v string")
    first.write.format("delta").save(path)
    second.write.format("delta").mode("append").save(path)

    actual_df = spark.read.format("delta").load(path)
    assert_df_equality(actual_df, first.union(second), ignore_row_order=True)

    history = DeltaTable.forPath(spark, path).history().select("version", "operation")
    assert sorted(tuple(r) for r in history.collect()) == [(0, "WRITE"), (1, "WRITE")]
    as_of_v0 = spark.read.format("delta").option("versionAsOf", 0).load(path)
    assert_df_equality(as_of_v0, first, ignore_row_order=True)


def test_missing_jars_error_names_what_to_provide(tmp_path: Path) -> None:
    with pytest.raises(DeltaJarsMissingError, match=r"delta-spark_2\.13-4\.0\.1\.jar"):
        delta_jar_paths(tmp_path)


def test_from_dir_copies_and_verifies(tmp_path: Path) -> None:
    cached = delta_jar_paths()
    copied = fetch_delta_jars(tmp_path / "copy", from_dir=cached[0].parent)
    assert [p.name for p in copied] == [p.name for p in cached]


def test_from_dir_rejects_tampered_jar(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for jar in delta_jar_paths():
        (source / jar.name).write_bytes(b"not a jar")
    with pytest.raises(DeltaJarsMissingError, match="SHA-1"):
        fetch_delta_jars(tmp_path / "dest", from_dir=source)


def test_builder_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="shuffle_partitions"):
        delta_session_builder("x", shuffle_partitions=0)
    with pytest.raises(ValueError, match="app_name"):
        delta_session_builder("  ")
