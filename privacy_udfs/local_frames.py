"""Small driver-held tables (public key lists, dimension rows, key pads) as local relations.

``SparkSession.createDataFrame`` over a Python list builds a Python RDD: every query that
scans it (a join with the tenant list, a collect of the tenant ids, a scalar subquery)
runs a Spark job with Python workers to unpickle the rows again, a few hundred
milliseconds each and dozens of times per run. Through Arrow (pandas in, an explicit
schema) the same rows become a ``LocalRelation``: the driver holds them, the optimizer
folds filters and projections into them, and a collect reads them without any job.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType


def local_frame(
    spark: SparkSession, rows: Sequence[Sequence[object]], schema: StructType
) -> DataFrame:
    """``rows`` (tuples in ``schema``'s column order) as a local relation of ``schema``.

    For small tables only (Spark keeps them in the plan up to
    ``spark.sql.execution.arrow.localRelationThreshold``, 48 MB by default, and falls
    back to an RDD above it). The schema, nullability included, is kept as given (an
    empty table keeps the column names and types; its columns are nullable). The
    local relation needs ``spark.sql.execution.arrow.pyspark.enabled`` (the sessions of
    :mod:`jobs.session` set it); without Arrow the rows are the same, in a Python RDD.

    Raises:
        ValueError: A row's length differs from the schema's.
    """
    names = schema.names
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"a row of {len(row)} values for the {len(names)} columns {names}")
    if not rows:
        # Arrow refuses an empty pandas frame (Spark falls back to an RDD): type one row
        # of nulls and filter it out, which the optimizer turns into an empty relation.
        nulls = spark.range(1).select(*[F.lit(None).cast(f.dataType).alias(f.name) for f in schema])
        return nulls.where(F.lit(False))
    records = pd.DataFrame.from_records([tuple(row) for row in rows], columns=names)
    return spark.createDataFrame(records, schema)
