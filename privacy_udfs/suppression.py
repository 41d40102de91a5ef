"""Small-cohort suppression: identifiers stay, metrics go null.

:func:`suppress_small_groups` nulls the metrics of groups under k;
:func:`with_complementary_suppression` does the same for the parts of a published total
and suppresses further parts so that no suppressed cell can be recovered by subtraction.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
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
    ``metric_cols`` (anonymized releases keep the cohort size; DP releases list it).
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


def with_complementary_suppression(
    parts: DataFrame,
    k: int,
    *,
    group_cols: Sequence[str],
    part_col: str,
    count_col: str,
    metric_cols: Sequence[str],
    overlapping: bool = False,
    hidden_col: str | None = None,
) -> DataFrame:
    """k-suppression of the parts of published totals, with complementary suppression.

    ``parts`` holds one row per (group, part): the cells that add up to a total which is
    published elsewhere (subjects of a tenant-day against its ``all`` row, age bands
    against active learners...). ``count_col`` is each part's *true* number of distinct
    learners (exact releases only: complementary suppression is for ``anonymized``; under
    DP, differencing noisy values yields noisy values). A part is suppressed
    (``insufficient_data`` true, ``metric_cols`` null) when

    1. primary: its count is under ``k`` or null, it was already flagged, or it is hidden
       (``hidden_col`` true: a remainder that is never published, such as sessions without
       a subject, which the total includes);
    2. complementary: within its group, when the primary parts are not safe by themselves,
       the next-smallest parts are suppressed too (ties broken by ``part_col``).

    Guarantee (what the tests check). Write ``S`` for a group's suppressed parts (hidden
    ones included) and ``P`` for its published parts; the total that the caller publishes
    (only when it has at least ``k`` learners) minus the sum of ``P`` reveals ``S`` as a
    whole and nothing finer.

    - Disjoint parts (``overlapping=False``: each learner in exactly one part of the group,
      so counts add up to the total): for every group whose counts sum to at least ``k``,
      ``sum(S)`` is 0 or at least ``k``. Nothing can be subtracted down to fewer than k
      learners; a derived 0 only says the suppressed cells are all empty.
    - Overlapping parts (``overlapping=True``: a learner may be in several parts, e.g.
      subjects, so counts do not add up): in every group where ``S`` holds a non-empty part,
      ``S`` also holds a part of at least ``k`` learners, or ``P`` is empty (then the
      difference is the total itself). Either way the difference spans at least ``k``
      learners whenever the total is published.

    Only window functions over each group are used (no collect): the cost is one shuffle by
    ``group_cols``.

    Args:
        parts: One row per (group, part).
        k: Minimum number of learners (>= 1).
        group_cols: The columns of the group a total is published for.
        part_col: The part's key within its group (orders ties deterministically).
        count_col: True distinct learners of the part.
        metric_cols: Columns nulled in suppressed parts (list ``count_col`` to null it too).
        overlapping: Whether a learner can be in several parts of one group.
        hidden_col: Boolean column marking never-published remainder parts (optional).

    Returns:
        ``parts`` with the same rows and columns, plus ``insufficient_data`` if absent.

    Raises:
        MissingColumnsError: A named column is absent.
        PrivacyConfigurationError: ``k < 1``.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise PrivacyConfigurationError(f"k must be an integer >= 1, got {k!r}")
    groups, metrics = list(group_cols), list(metric_cols)
    required = [*groups, part_col, count_col, *metrics] + ([hidden_col] if hidden_col else [])
    require_columns("with_complementary_suppression", parts.columns, required)
    count = F.coalesce(F.col(count_col).cast("long"), F.lit(0).cast("long"))
    primary = F.col(count_col).isNull() | (F.col(count_col) < F.lit(k))
    if hidden_col is not None:
        primary = primary | F.coalesce(F.col(hidden_col), F.lit(False))
    if INSUFFICIENT_DATA in parts.columns:
        primary = primary | F.coalesce(F.col(INSUFFICIENT_DATA), F.lit(False))
    group = Window.partitionBy(*groups)
    # Primary parts first, then the others from the smallest up: the complementary parts
    # are a prefix of what follows the primary ones.
    ordered = group.orderBy(
        F.col("__primary").desc(), F.col("__count").asc(), F.col(part_col).asc_nulls_first()
    )
    before = ordered.rowsBetween(Window.unboundedPreceding, -1)
    primary_sum = F.sum(F.when(F.col("__primary"), F.col("__count"))).over(group)
    primary_max = F.max(F.when(F.col("__primary"), F.col("__count"))).over(group)
    primary_parts = F.count(F.when(F.col("__primary"), F.lit(1))).over(group)
    exposed = F.coalesce(primary_sum, F.lit(0)) > 0
    if overlapping:
        # One non-empty primary part and none of k learners: add the smallest other part.
        complementary = (
            exposed
            & (F.coalesce(primary_max, F.lit(0)) < F.lit(k))
            & (F.row_number().over(ordered) == primary_parts + 1)
        )
    else:
        # Add the smallest other parts while the suppressed sum is still under k.
        suppressed_before = F.coalesce(F.sum("__count").over(before), F.lit(0))
        complementary = exposed & (suppressed_before < F.lit(k))
    marked = (
        parts.withColumn("__count", count)
        .withColumn("__primary", primary)
        .withColumn(INSUFFICIENT_DATA, F.col("__primary") | complementary)
        .drop("__count", "__primary")
    )
    types = dict(marked.dtypes)
    return marked.withColumns(
        {
            name: F.when(F.col(INSUFFICIENT_DATA), F.lit(None).cast(types[name])).otherwise(
                F.col(name)
            )
            for name in metrics
        }
    )  # shape: one row per (group, part), as parts
