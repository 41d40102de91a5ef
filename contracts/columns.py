"""A small, Spark-free column vocabulary that renders to Arrow and Markdown.

The Spark rendering is ``contracts.spark_types`` (imported by the jobs and the privacy
engine only, so the API never reaches pyspark through the contracts).
"""

from __future__ import annotations

from collections.abc import Mapping
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


class RowShapeError(ValueError):
    """A row built for a contract names a column it lacks, or leaves out a required one."""


def row_of(columns: tuple[Column, ...], values: Mapping[str, object]) -> tuple[object, ...]:
    """``values`` as a tuple in the contract's column order (missing nullable columns: None).

    Rows are written by name, so a contract that gains or reorders a column cannot
    silently shift values into the wrong column.

    Raises:
        RowShapeError: ``values`` names unknown columns or omits non-nullable ones.
    """
    names = {c.name for c in columns}
    unknown = sorted(set(values) - names)
    missing = sorted(c.name for c in columns if not c.nullable and values.get(c.name) is None)
    if unknown or missing:
        raise RowShapeError(
            f"row does not fit its contract: unknown columns {unknown}, "
            f"required columns without a value {missing}"
        )
    return tuple(values.get(c.name) for c in columns)
