"""A small, Spark-free column vocabulary that renders to Arrow and Markdown.

The Spark rendering is ``contracts.spark_types`` (imported by the jobs and the privacy
engine only, so the API never reaches pyspark through the contracts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa

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


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """Render columns as a pyarrow schema."""
    import pyarrow as pa

    return pa.schema([pa.field(c.name, c.arrow_type(), c.nullable) for c in columns])
