"""One generated-and-written dataset shared by the generator tests (Delta, read back)."""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession

from contracts.raw import RAW_TABLES
from jobs.generate import GeneratorConfig, generate_raw_tables, write_raw_tables

SCALE = GeneratorConfig(events=12_000, seed=11, malformed_rate=0.02)


@pytest.fixture(scope="package")
def raw_root(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("raw"))
    write_raw_tables(generate_raw_tables(spark, SCALE), root)
    return root


@pytest.fixture(scope="package")
def raw(spark: SparkSession, raw_root: str) -> dict[str, DataFrame]:
    # Read back from Delta once and cache: the tests then query memory, not the Delta log.
    tables = {
        name: spark.read.format("delta").load(f"{raw_root}/{name}").cache() for name in RAW_TABLES
    }
    for df in tables.values():
        df.count()
    return tables
