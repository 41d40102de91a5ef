"""Replicated neighbouring datasets for the privacy audits: many releases from one Spark job.

A ``replicate`` id is part of the group key, so one ``private_aggregate`` call releases
every replicate independently (noise is drawn per group). Replicates ``0..N-1`` hold D
(the base rows plus one extra learner), ``N..2N-1`` hold D' (the base rows only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from privacy_udfs import (
    ContributionBounds,
    Measure,
    PrivacyLevel,
    private_aggregate,
    seeded_random_source_for_tests,
)

GROUPS = ["replicate", "part"]


def learner_rows(
    spark: SparkSession,
    replicates: range,
    *,
    parts: Sequence[int],
    learners: int,
    rows: int,
    value: float,
    tag: str,
    one_learner_across_parts: bool,
) -> DataFrame:
    """Event rows of ``replicates``: in each part, ``learners`` learners with ``rows`` rows each.

    With ``one_learner_across_parts`` learner ``j`` of a replicate is the same person in
    every part (id ``<replicate>-<tag>-<j>``); otherwise each part has its own learners
    (id ``<replicate>-<tag>-<part>-<j>``), e.g. one person's rows under a pseudonym per part.
    """
    per_part = F.concat_ws("-", "replicate", F.lit(tag), "part", "j")
    shared = F.concat_ws("-", "replicate", F.lit(tag), "j")
    return (
        spark.range(replicates.start, replicates.stop)
        .select(
            F.col("id").alias("replicate"),
            F.explode(F.array(*[F.lit(p) for p in parts])).alias("part"),
        )
        .withColumn("j", F.explode(F.sequence(F.lit(1), F.lit(learners))))
        .withColumn("row", F.explode(F.sequence(F.lit(1), F.lit(rows))))
        .select(
            "replicate",
            "part",
            (shared if one_learner_across_parts else per_part).alias("learner"),
            F.lit(float(value)).alias("value"),
        )
    )  # shape: one row per event


def public_keys(spark: SparkSession, replicates: int, parts: Sequence[int]) -> DataFrame:
    """Every (replicate, part) of D and D': the public key list of the release."""
    return spark.range(2 * replicates).select(
        F.col("id").alias("replicate"),
        F.explode(F.array(*[F.lit(p) for p in parts])).alias("part"),
    )


def release(
    events: DataFrame,
    *,
    measures: list[Measure],
    bounds: ContributionBounds,
    seed: int,
    level: PrivacyLevel = PrivacyLevel.DP_MEDIUM,
    **options: Any,
) -> pd.DataFrame:
    """Run ``private_aggregate`` over (replicate, part); collect the keys, measures and
    ``epsilon``/``delta`` (the published claim), ordered by key."""
    released = private_aggregate(
        events,
        privacy_id="learner",
        group_cols=GROUPS,
        measures=measures,
        level=level,
        bounds=bounds,
        random_source=seeded_random_source_for_tests(seed),
        **options,
    )
    collected = released.select(*GROUPS, *[m.name for m in measures], "epsilon", "delta")
    return collected.toPandas().sort_values(GROUPS).reset_index(drop=True)


def per_replicate(
    output: pd.DataFrame, column: str, replicates: int, parts: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """``column`` as a (replicate × part) matrix, split into D's rows and D''s rows."""
    matrix = output.pivot(index="replicate", columns="part", values=column)
    matrix = matrix.reindex(index=range(2 * replicates), columns=list(parts))
    values = matrix.to_numpy(dtype=float)
    return values[:replicates], values[replicates:]
