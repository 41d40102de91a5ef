"""Readers outside Spark agree with Spark: delta-rs (pyarrow) vs Spark, row for row.

Every curated table of the pipeline fixture is read at its latest version and at an
earlier one (Delta time travel) by both engines; values are normalized (maps to sorted
items, timestamps to naive UTC, NaN to a marker) and compared as sorted row lists.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.sql import SparkSession

from contracts.columns import arrow_schema
from contracts.curated import CURATED_TABLES
from tests.pipeline import CuratedPipeline

Row = tuple[Any, ...]


def normalize(value: Any) -> Any:
    """One comparable representation for both engines' Python values."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, Mapping):
        return tuple(sorted((k, normalize(v)) for k, v in value.items()))
    if isinstance(value, list):  # pyarrow renders a map as a list of (key, value) pairs
        return tuple(sorted((k, normalize(v)) for k, v in value))
    return value


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=repr)


def spark_rows(spark: SparkSession, path: str, version: int, columns: list[str]) -> list[Row]:
    frame = spark.read.format("delta").option("versionAsOf", version).load(path)
    return sort_rows(
        tuple(normalize(row[c]) for c in columns) for row in frame.select(*columns).collect()
    )


def deltalake_rows(path: str, version: int, columns: list[str]) -> list[Row]:
    table = DeltaTable(path, version=version).to_pyarrow_table(columns=columns)
    data = table.to_pydict()
    return sort_rows(tuple(normalize(data[c][i]) for c in columns) for i in range(table.num_rows))


def assert_same_rows(name: str, version: int, left: list[Row], right: list[Row]) -> None:
    assert len(left) == len(right), (
        f"{name}@v{version}: Spark {len(left)} rows, delta-rs {len(right)}"
    )
    for index, (a, b) in enumerate(zip(left, right, strict=True)):
        assert a == b, f"{name}@v{version} row {index}:\n spark    {a}\n deltalake {b}"


@pytest.mark.parametrize("name", sorted(CURATED_TABLES))
def test_deltalake_reads_what_spark_reads(
    spark: SparkSession, curated_pipeline: CuratedPipeline, name: str
) -> None:
    path = curated_pipeline.settings.path("curated", name)
    table = DeltaTable(path)
    contract = CURATED_TABLES[name]
    columns = [c.name for c in contract.columns]
    latest = table.version()
    assert latest >= 1, f"{name}: expected a create and at least one release, got v{latest}"

    # Same columns, same types as the contract says delta-rs returns.
    arrow = table.to_pyarrow_table(columns=columns).schema
    expected = arrow_schema(contract.columns)
    assert arrow.names == expected.names, name
    for field in expected:
        actual = arrow.field(field.name).type
        assert _same_arrow_type(actual, field.type), (
            f"{name}.{field.name}: {actual} != {field.type}"
        )

    spark_latest = spark_rows(spark, path, latest, columns)
    assert spark_latest, f"{name} is empty"
    assert_same_rows(name, latest, spark_latest, deltalake_rows(path, latest, columns))

    # Time travel: the first version holding data (the anonymized release) agrees too.
    earlier = next(
        v for v in range(latest + 1) if DeltaTable(path, version=v).to_pyarrow_table().num_rows
    )
    if earlier != latest:
        spark_earlier = spark_rows(spark, path, earlier, columns)
        assert spark_earlier != spark_latest, f"{name}: v{earlier} should differ from v{latest}"
        assert_same_rows(name, earlier, spark_earlier, deltalake_rows(path, earlier, columns))


def _same_arrow_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Equal up to string/large_string/string_view spellings delta-rs may choose."""
    strings = {pa.string(), pa.large_string(), pa.string_view()}
    if actual in strings and expected in strings:
        return True
    if pa.types.is_map(actual) and pa.types.is_map(expected):
        return _same_arrow_type(actual.key_type, expected.key_type) and _same_arrow_type(
            actual.item_type, expected.item_type
        )
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        return actual.unit == expected.unit and (actual.tz or "").upper() in ("UTC", "+00:00")
    return bool(actual.equals(expected))
