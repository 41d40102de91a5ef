"""A small, Spark-free column vocabulary that renders to Spark, Arrow and Markdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql.types import DataType, StructType

ColumnType = Literal[
    "string",
    "long",
    "int",
    "double",
    "boolean",
    "date",
    "timestamp",
    "map<string,long>",
    "map<string,double>",
    "array<string>",
]


@dataclass(frozen=True)
class Column:
    """One column: its name, type, whether it may be null, and what it means."""

    name: str
    type: ColumnType
    comment: str
    nullable: bool = True
    treatment: str = ""

    def spark_type(self) -> DataType:
        """The Spark SQL type of this column."""
        from pyspark.sql import types as T

        scalar: dict[str, DataType] = {
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
        return scalar[self.type]

    def arrow_type(self) -> pa.DataType:
        """The Arrow type delta-rs returns for this column."""
        import pyarrow as pa

        scalar: dict[str, pa.DataType] = {
            "string": pa.string(),
            "long": pa.int64(),
            "int": pa.int32(),
            "double": pa.float64(),
            "boolean": pa.bool_(),
            "date": pa.date32(),
            "timestamp": pa.timestamp("us", tz="UTC"),
            "map<string,long>": pa.map_(pa.string(), pa.int64()),
            "map<string,double>": pa.map_(pa.string(), pa.float64()),
            "array<string>": pa.list_(pa.string()),
        }
        return scalar[self.type]


def spark_schema(columns: tuple[Column, ...]) -> StructType:
    """Render columns as a Spark ``StructType`` with each comment as field metadata."""
    from pyspark.sql import types as T

    return T.StructType(
        [T.StructField(c.name, c.spark_type(), c.nullable, {"comment": c.comment}) for c in columns]
    )


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """Render columns as a pyarrow schema."""
    import pyarrow as pa

    return pa.schema([pa.field(c.name, c.arrow_type(), c.nullable) for c in columns])
