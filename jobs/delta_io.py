"""Delta Lake reads and writes for the jobs.

Raw reads are checked against the contract, curated tables are created with
their documentation, and curated writes replace exactly one slice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import deltalake
from delta.tables import DeltaTable
from deltalake.exceptions import TableNotFoundError
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contracts.columns import Column
from contracts.curated import CuratedTable
from contracts.spark_types import spark_schema, spark_type
from jobs.errors import JobError
from privacy_udfs.delta_commits import with_conflict_retries
from privacy_udfs.delta_reads import open_table

ResultT = TypeVar("ResultT")

# Delta's optimistic-concurrency conflicts, by exception name or error class.
# Types a raw column may arrive as and still be read losslessly as the contract type.
_WIDENINGS: dict[type[T.DataType], tuple[type[T.DataType], ...]] = {
    T.LongType: (T.IntegerType, T.ShortType, T.ByteType),
    T.IntegerType: (T.ShortType, T.ByteType),
    T.DoubleType: (T.FloatType, T.IntegerType, T.LongType, T.DecimalType),
    # Timestamps written without a zone are read as UTC (the session zone).
    T.TimestampType: (T.TimestampNTZType,),
}


class RawTableMissingError(JobError, FileNotFoundError):
    """A raw table the job needs does not exist at its path."""


class SchemaContractError(JobError, ValueError):
    """Raw columns are missing or of the wrong type; the message lists every one."""


def is_delta_table(spark: SparkSession, path: str) -> bool:
    """Tell whether ``path`` holds a Delta table."""
    return bool(DeltaTable.isDeltaTable(spark, path))


def validate_columns(df: DataFrame, table: str, columns: tuple[Column, ...]) -> None:
    """Check that ``df`` has every contract column with a compatible type.

    Raises:
        SchemaContractError: Listing each missing column and each column whose
            type cannot be read as the contract type, so one run names them all.
    """
    actual = {field.name: field.dataType for field in df.schema.fields}
    missing = [c.name for c in columns if c.name not in actual]
    wrong = []
    for column in columns:
        found = actual.get(column.name)
        expected = spark_type(column)
        if found is None or found == expected:
            continue
        if isinstance(found, _WIDENINGS.get(type(expected), ())):
            continue
        wrong.append(f"{column.name} is {found.simpleString()}, expected {expected.simpleString()}")
    if missing or wrong:
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if wrong:
            problems.append(f"wrong type(s): {'; '.join(wrong)}")
        raise SchemaContractError(f"raw table '{table}': " + "; ".join(problems))


def read_raw_table(
    spark: SparkSession, path: str, table: str, columns: tuple[Column, ...]
) -> DataFrame:
    """Read a raw Delta table, check it against the contract and select contract columns.

    Extra columns (schema drift) are ignored; compatible narrower types are cast.

    Raises:
        RawTableMissingError: No Delta table at ``path``.
        SchemaContractError: A contract column is missing or of the wrong type.
    """
    if not is_delta_table(spark, path):
        raise RawTableMissingError(f"raw table '{table}' not found: no Delta table at {path}")
    df = spark.read.format("delta").load(path)
    validate_columns(df, table, columns)
    return df.select([F.col(c.name).cast(spark_type(c)).alias(c.name) for c in columns])


def table_properties(table: CuratedTable, k_threshold: int) -> dict[str, str]:
    """Delta table properties that tell any reader what the table holds and how it is protected."""
    return {
        "comment": table.description,
        "privacy.pii": "none: no raw id, name, email, address or birth date",
        "privacy.pseudonyms": "learner_id_hash = HMAC-SHA256(secret key, learner_id), hex",
        "privacy.aggregation_level": table.aggregation_level,
        "privacy.k_threshold": str(k_threshold),
        "privacy.suppression_rule": table.suppression_rule,
        "privacy.noise": (
            "none at anonymized; discrete Laplace or discrete Gaussian at DP levels (the "
            "release plan, conf/bounds.toml); see columns epsilon, delta, noise_mechanism, "
            "noise_scales, ci95"
        ),
        "privacy.grain": ", ".join(table.key_names),
    }


def ensure_curated_table(
    spark: SparkSession, path: str, table: CuratedTable, k_threshold: int
) -> None:
    """Create the curated table if absent; bring its properties up to date on every write.

    The properties tell readers how the rows were protected (``privacy.k_threshold`` is the
    ``MIN_COHORT_SIZE`` of this run), so a table created under other settings is updated,
    not left describing them.
    """
    wanted = {k: v for k, v in table_properties(table, k_threshold).items() if k != "comment"}
    if _is_current(path, table, wanted):
        return  # the usual case: checked from the log with delta-rs, no Spark job
    builder = (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .addColumns(spark_schema(table.columns))
        .comment(table.description)
    )
    if table.partition_by:
        builder = builder.partitionedBy(*table.partition_by)
    for key, value in wanted.items():
        builder = builder.property(key, value)
    created = with_retries(builder.execute)
    current = created.detail().select("properties").first()
    present = dict(current["properties"] or {}) if current is not None else {}
    stale = {key: value for key, value in wanted.items() if present.get(key) != value}
    if stale:
        assignments = ", ".join(
            f"'{key}' = '{value.replace(chr(39), '')}'" for key, value in stale.items()
        )
        location = path.replace("`", "")
        with_retries(
            lambda: spark.sql(f"ALTER TABLE delta.`{location}` SET TBLPROPERTIES ({assignments})")
        )


def _is_current(path: str, table: CuratedTable, wanted: dict[str, str]) -> bool:
    """Whether the table at ``path`` exists with the contract's columns and ``wanted`` properties."""
    try:
        existing = deltalake.DeltaTable(path)
    except TableNotFoundError:
        return False
    names = [field.name for field in existing.schema().fields]
    properties = existing.metadata().configuration
    return names == [c.name for c in table.columns] and all(
        properties.get(key) == value for key, value in wanted.items()
    )


def ensure_ledger_table(
    spark: SparkSession, path: str, columns: tuple[Column, ...], comment: str
) -> None:
    """Create an operational ledger table (job_runs, privacy_budget, quarantine) if absent.

    A table created by an older version gets the contract's new (nullable) columns added,
    so upgrading never needs a manual migration.
    """
    existing = open_table(path)
    if existing is not None and {c.name for c in columns} <= set(
        existing.schema().to_arrow().names
    ):
        return  # the usual case: checked from the log with delta-rs, no Spark job
    builder = (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .addColumns(spark_schema(columns))
        .comment(comment)
    )
    table = with_retries(builder.execute)
    present = set(table.toDF().columns)
    missing = [c for c in columns if c.name not in present]
    if missing:
        added = ", ".join(
            f"{c.name} {c.type} COMMENT '{c.comment.replace(chr(39), '')}'" for c in missing
        )
        location = path.replace("`", "")
        with_retries(lambda: spark.sql(f"ALTER TABLE delta.`{location}` ADD COLUMNS ({added})"))


def with_retries(
    action: Callable[[], ResultT], *, attempts: int = 5, base_delay: float = 0.5
) -> ResultT:
    """Run a Delta write, retrying Delta's optimistic-concurrency conflicts with backoff.

    Disjoint writers (other tenants, other periods) can still conflict on file-level
    checks; a retry re-reads the log and almost always succeeds. Conflicts are recognised
    by type (:mod:`privacy_udfs.delta_commits`).
    """
    return with_conflict_retries(action, attempts=attempts, base_delay=base_delay)


def overwrite_slice(df: DataFrame, path: str, predicate: str) -> None:
    """Atomically replace the rows matching ``predicate`` with ``df`` (Delta ``replaceWhere``).

    ``predicate`` must be built only from validated values (dates, UUIDs, level names).
    Delta checks that every written row satisfies it, so a slice can never leak into
    another tenant's or period's rows.
    """
    with_retries(
        lambda: (
            df.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(path)
        )
    )


def read_delta(spark: SparkSession, path: str) -> DataFrame:
    """Read a Delta table, raising a clear error when absent."""
    try:
        return spark.read.format("delta").load(path)
    except AnalysisException as error:
        raise RawTableMissingError(f"no Delta table at {path}") from error
