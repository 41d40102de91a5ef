"""The benchmark query with PipelineDP's Spark RDD backend (run in bench/.venvs/pipelinedp).

Usage (from bench/bench_toolkit.py)::

    bench/.venvs/pipelinedp/bin/python bench/peers/run_pipelinedp.py --data DIR --repeats 3

Per (tenant, day), public keys: distinct learners (PRIVACY_ID_COUNT) and mean
minutes (MEAN), ε = 1 split as the toolkit splits it (learners ε/2; the mean's
count and normalized sum ε/4 each, through budget weights 2 and 1 + 1),
δ = 1e-6 given to the accountant (Laplace spends none), at most 3 partitions
and 5 rows per learner, minutes in [0, 240]. Prints one JSON object: seconds
and released cells of every run (time from reading the Parquet to the
collected result).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import pipeline_dp
from pyspark.sql import SparkSession


def run_once(spark: SparkSession, data: str, keys: list[tuple[int, int]]) -> list[list[float]]:
    rdd = spark.read.parquet(data).rdd.map(
        lambda r: (r.learner_id, (r.tenant_id, r.day), r.minutes)
    )
    accountant = pipeline_dp.NaiveBudgetAccountant(total_epsilon=1.0, total_delta=1e-6)
    engine = pipeline_dp.DPEngine(accountant, pipeline_dp.SparkRDDBackend(spark.sparkContext))
    extractors = pipeline_dp.DataExtractors(
        privacy_id_extractor=lambda r: r[0],
        partition_extractor=lambda r: r[1],
        value_extractor=lambda r: r[2],
    )
    common = {
        "noise_kind": pipeline_dp.NoiseKind.LAPLACE,
        "max_partitions_contributed": 3,
        "max_contributions_per_partition": 5,
    }
    learners = engine.aggregate(
        rdd,
        pipeline_dp.AggregateParams(
            metrics=[pipeline_dp.Metrics.PRIVACY_ID_COUNT], budget_weight=2, **common
        ),
        extractors,
        public_partitions=keys,
    )
    means = engine.aggregate(
        rdd,
        pipeline_dp.AggregateParams(
            metrics=[pipeline_dp.Metrics.MEAN],
            min_value=0.0,
            max_value=240.0,
            budget_weight=1,
            **common,
        ),
        extractors,
        public_partitions=keys,
    )
    accountant.compute_budgets()
    counts = dict(learners.collect())
    averages = dict(means.collect())
    return [[k[0], k[1], float(counts[k].privacy_id_count), float(averages[k].mean)] for k in keys]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--days", type=int, default=31)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench-pipelinedp")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    keys = [(t, d) for t in range(args.tenants) for d in range(args.days)]
    runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        cells = run_once(spark, args.data, keys)
        runs.append({"seconds": time.perf_counter() - start, "cells": cells})
    spark.stop()
    version = getattr(pipeline_dp, "__version__", "0.3.1")
    print(json.dumps({"library": f"PipelineDP {version}", "runs": runs}))


if __name__ == "__main__":
    main()
