"""k-anonymity of learner-level rows by full-domain generalisation per partition, then suppression.

Learner-level rows (one per pseudonymous learner) carry quasi-identifiers (QIs) such as
age band, grade band and IEP status: combined with what a reader already knows about a
class or school, a rare combination singles a learner out even under a pseudonym.
:func:`k_anonymize` makes every published QI combination (within its partition, e.g.
the tenant) shared by at least ``k`` published rows.

How. The caller gives a ladder of generalisation levels, from the most detailed (level
0) to the coarsest (typically every QI withheld). Each partition (tenant) gets ONE level
for all its rows, the first level at which the rows in classes smaller than ``k`` are at
most ``max_suppressed_share`` of the partition's rows; those rows are removed (suppressed).
A partition with fewer than ``k`` rows in total publishes nothing. One level per
partition (full-domain, global recoding) rather than per row: with per-row
generalisation a row published coarser than its neighbours tells the reader that its
detailed class was small, which can give the withheld value away (the "minimality"
attack); here the level depends on the partition, never on the row.

Spark only: window functions over the partition and the classes (no collect).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from privacy_udfs.errors import PrivacyConfigurationError, require_columns

GeneralizationLevel = Mapping[str, Column]


def k_anonymize(
    df: DataFrame,
    k: int,
    *,
    partition_col: str,
    levels: Sequence[GeneralizationLevel],
    max_suppressed_share: float = 0.05,
    level_col: str | None = None,
) -> DataFrame:
    """Generalise then suppress ``df`` so every published QI combination has >= ``k`` rows.

    Guarantee (what the tests check): in the result, every combination of
    (``partition_col``, QI columns) occurs in at least ``k`` rows; every row of a partition
    is generalised to the same level; the rows removed from a partition of at least ``k``
    rows are at most ``max_suppressed_share`` of it (the last level, if it maps every QI to
    a constant, always qualifies); a partition of fewer than ``k`` rows is removed whole.

    Args:
        df: One row per individual (e.g. learner), with ``partition_col`` and the QIs.
        k: Minimum class size (>= 1).
        partition_col: Column never generalised; levels are chosen per value of it.
        levels: From the most detailed to the coarsest: each maps every QI column name to
            its generalised value (a Column over ``df``'s columns; null to withhold it).
            Every level must name the same QI columns.
        max_suppressed_share: Share of a partition's rows that may be removed to keep a
            finer level, in [0, 1).
        level_col: If given, an int column of that name holds the level used.

    Returns:
        The rows kept, with the QI columns replaced by their generalised values (same
        columns and types as ``df``, plus ``level_col``).

    Raises:
        PrivacyConfigurationError: ``k < 1``, no level, levels naming different QIs, or a
            share outside [0, 1).
        MissingColumnsError: ``partition_col`` or a QI column is absent.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise PrivacyConfigurationError(f"k must be an integer >= 1, got {k!r}")
    if not levels:
        raise PrivacyConfigurationError("k_anonymize needs at least one generalisation level")
    qis = sorted(levels[0])
    if any(sorted(level) != qis for level in levels):
        raise PrivacyConfigurationError("every generalisation level must name the same QIs")
    if not 0.0 <= max_suppressed_share < 1.0:
        raise PrivacyConfigurationError(
            f"max_suppressed_share must be in [0, 1), got {max_suppressed_share!r}"
        )
    require_columns("k_anonymize", df.columns, [partition_col, *qis])
    types = dict(df.dtypes)
    partition = Window.partitionBy(partition_col)
    rows = F.count(F.lit(1)).over(partition)
    with_sizes = df.withColumn("__rows", rows)
    for i, level in enumerate(levels):
        values = {qi: level[qi].cast(types[qi]) for qi in qis}
        with_sizes = with_sizes.withColumns({f"__l{i}_{qi}": v for qi, v in values.items()})
        members = Window.partitionBy(partition_col, *[f"__l{i}_{qi}" for qi in qis])
        size = F.count(F.lit(1)).over(members)
        with_sizes = with_sizes.withColumn(f"__size{i}", size)
        small = F.sum(F.when(F.col(f"__size{i}") < F.lit(k), 1).otherwise(0)).over(partition)
        allowed = F.floor(F.col("__rows") * F.lit(max_suppressed_share))
        with_sizes = with_sizes.withColumn(
            f"__ok{i}", (F.col("__rows") >= F.lit(k)) & (small <= allowed)
        )
    chosen = F.coalesce(
        *[F.when(F.col(f"__ok{i}"), F.lit(i)) for i in range(len(levels))]
    )  # null: nothing publishable in this partition
    with_level = with_sizes.withColumn("__level", chosen)

    def at_level(prefix: str) -> Column:
        branches = F.when(F.col("__level") == F.lit(0), F.col(f"__l0_{prefix}"))
        for i in range(1, len(levels)):
            branches = branches.when(F.col("__level") == F.lit(i), F.col(f"__l{i}_{prefix}"))
        return branches

    size_at_level = F.when(F.col("__level") == F.lit(0), F.col("__size0"))
    for i in range(1, len(levels)):
        size_at_level = size_at_level.when(F.col("__level") == F.lit(i), F.col(f"__size{i}"))
    kept = with_level.where(F.col("__level").isNotNull() & (size_at_level >= F.lit(k)))
    out = kept.withColumns({qi: at_level(qi).cast(types[qi]) for qi in qis})
    if level_col is not None:
        out = out.withColumn(level_col, F.col("__level").cast("int"))
    return out.select(*df.columns, *([level_col] if level_col else []))
