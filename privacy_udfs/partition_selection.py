"""DP partition selection: release a group key only if enough learners noisily support it.

Used for groups whose *existence* depends on the data (a rare IEP category, a
tiny course). Groups with a public key list are instead released for every
key (see ``public_groups`` of :func:`privacy_udfs.private_aggregate`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from privacy_udfs.bounding import ContributionBounds, bound_contributions
from privacy_udfs.errors import PrivacyConfigurationError
from privacy_udfs.mechanisms import partition_selection_threshold
from privacy_udfs.noise import laplace_count
from privacy_udfs.randomness import RandomSource


def noisy_selection_count(
    learners: Column,
    *,
    epsilon: float,
    max_partitions: int,
    pre_threshold: int,
    random_source: RandomSource | None,
    purpose: str = "partition_selection",
) -> Column:
    """Noisy shifted learner count; keep a partition when it is ``>= threshold``.

    The count is shifted by the pre-threshold: ``max(n − (k − 1), 0)``, so a
    partition with fewer than ``k`` learners has shifted count 0 and is never
    kept. Use :func:`is_selected` on the result (after materializing it).
    """
    shifted = F.greatest(learners - F.lit(pre_threshold - 1), F.lit(0)).cast("long")
    noisy = laplace_count(
        shifted, epsilon, float(max_partitions), random_source=random_source, purpose=purpose
    )
    # A partition below the pre-threshold is dropped whatever the noise says.
    return F.when(shifted > 0, noisy).otherwise(F.lit(None).cast("long"))


def is_selected(
    noisy_count: Column, *, epsilon: float, delta: float, max_partitions: int
) -> Column:
    """Whether a noisy selection count passes the (ε, δ) threshold."""
    threshold = partition_selection_threshold(epsilon, delta, max_partitions)
    return F.coalesce(noisy_count >= F.lit(threshold), F.lit(False))


def select_partitions(
    df: DataFrame,
    *,
    privacy_id: str,
    partition_cols: Sequence[str],
    epsilon: float,
    delta: float,
    max_partitions: int,
    pre_threshold: int = 1,
    random_source: RandomSource | None = None,
) -> DataFrame:
    """The partition keys of ``df`` that pass (ε, δ)-DP partition selection.

    Each learner is first bounded to ``max_partitions`` random partitions; a
    partition is kept when its distinct-learner count, shifted by
    ``pre_threshold − 1``, plus discrete Laplace noise of scale
    ``max_partitions/ε`` reaches the threshold of
    :func:`privacy_udfs.mechanisms.partition_selection_threshold`.

    The result is materialized (``localCheckpoint``) so every later use sees
    the same selection.

    Args:
        df: Rows with ``privacy_id`` and ``partition_cols``.
        privacy_id: Learner column.
        partition_cols: Key columns of the partitions.
        epsilon: ε spent by the selection.
        delta: δ of the selection, in (0, 1).
        max_partitions: ``L``, partitions a learner may contribute to.
        pre_threshold: Partitions with fewer learners are never released (``k``).
        random_source: Defaults to the OS CSPRNG.

    Returns:
        One row per selected partition, columns ``partition_cols``.

    Raises:
        PrivacyConfigurationError: A parameter is out of range.
        MissingColumnsError: A named column is absent.
    """
    if isinstance(pre_threshold, bool) or not isinstance(pre_threshold, int) or pre_threshold < 1:
        raise PrivacyConfigurationError(
            f"pre_threshold must be an integer >= 1, got {pre_threshold}"
        )
    try:
        partition_selection_threshold(epsilon, delta, max_partitions)
    except ValueError as error:
        raise PrivacyConfigurationError(f"select_partitions: {error}") from None
    keys = list(partition_cols)
    bounded = bound_contributions(
        df.select(privacy_id, *keys).distinct(),
        privacy_id,
        keys,
        ContributionBounds(max_partitions=max_partitions, max_rows_per_partition=1),
        random_source=random_source,
    ).df  # shape: one row per (learner, partition), <= L partitions per learner
    noisy = (
        bounded.groupBy(*keys)
        .agg(F.count(F.lit(1)).alias("__learners"))
        .select(
            *keys,
            noisy_selection_count(
                F.col("__learners"),
                epsilon=epsilon,
                max_partitions=max_partitions,
                pre_threshold=pre_threshold,
                random_source=random_source,
            ).alias("__noisy"),
        )
        .localCheckpoint(eager=True)
    )  # shape: one row per partition present in df
    selected = is_selected(
        F.col("__noisy"), epsilon=epsilon, delta=delta, max_partitions=max_partitions
    )
    return noisy.where(selected).select(*keys)
