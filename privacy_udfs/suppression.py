"""Small-cohort suppression (seed 003, Phase 3): identifiers stay, metrics go null."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from privacy_udfs.errors import PrivacyConfigurationError, require_columns

INSUFFICIENT_DATA = "insufficient_data"


def suppress_small_groups(
    df: DataFrame, k: int, count_col: str, metric_cols: Sequence[str]
) -> DataFrame:
    """Null ``metric_cols`` and set ``insufficient_data`` where ``count_col < k``.

    A null count counts as insufficient. If ``insufficient_data`` already
    exists it is OR-ed with this decision (a group suppressed earlier stays
    suppressed). ``count_col`` itself is kept unless it is listed in
    ``metric_cols`` (seed 003 keeps the cohort size; DP releases list it).
    Under DP, ``count_col`` must be the *noisy* distinct-learner count:
    deciding on the true count would break DP.

    Args:
        df: One row per group.
        k: Minimum number of learners for metrics to be published (>= 1).
        count_col: Distinct-learner count deciding suppression.
        metric_cols: Columns nulled in suppressed groups.

    Returns:
        ``df`` with the same columns (plus ``insufficient_data`` if it was absent).

    Raises:
        MissingColumnsError: ``count_col`` or a metric column is absent.
        PrivacyConfigurationError: ``k < 1``.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise PrivacyConfigurationError(f"k must be an integer >= 1, got {k!r}")
    metrics = list(metric_cols)
    require_columns("suppress_small_groups", df.columns, [count_col, *metrics])
    too_small = F.col(count_col).isNull() | (F.col(count_col) < F.lit(k))
    if INSUFFICIENT_DATA in df.columns:
        too_small = F.coalesce(F.col(INSUFFICIENT_DATA), F.lit(False)) | too_small
    marked = df.withColumn(INSUFFICIENT_DATA, too_small)
    types = dict(marked.dtypes)
    return marked.withColumns(
        {
            name: F.when(F.col(INSUFFICIENT_DATA), F.lit(None).cast(types[name])).otherwise(
                F.col(name)
            )
            for name in metrics
        }
    )  # shape: one row per group, as df
