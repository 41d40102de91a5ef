"""The Spark rendering of the column vocabulary (``contracts.columns``).

Kept apart from the vocabulary so that importing the contracts never reaches pyspark:
the API (no JVM) reads the same contracts through their Arrow rendering.
"""

from __future__ import annotations

from pyspark.sql import types as T

from contracts.columns import Column


def spark_type(column: Column) -> T.DataType:
    """The Spark SQL type of ``column``."""
    scalar: dict[str, T.DataType] = {
        "string": T.StringType(),
        "long": T.LongType(),
        "int": T.IntegerType(),
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
        "date": T.DateType(),
        "timestamp": T.TimestampType(),
        "map<string,long>": T.MapType(T.StringType(), T.LongType()),
        "map<string,double>": T.MapType(T.StringType(), T.DoubleType()),
        "array<string>": T.ArrayType(T.StringType()),
    }
    return scalar[column.type]


def spark_schema(columns: tuple[Column, ...]) -> T.StructType:
    """Render columns as a Spark ``StructType`` with each comment as field metadata."""
    return T.StructType(
        [T.StructField(c.name, spark_type(c), c.nullable, {"comment": c.comment}) for c in columns]
    )
