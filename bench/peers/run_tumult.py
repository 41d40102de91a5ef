"""The benchmark query with Tumult Analytics (run in bench/.venvs/tumult: pyspark 3.5).

Usage (from bench/bench_toolkit.py)::

    bench/.venvs/tumult/bin/python bench/peers/run_tumult.py --data DIR --repeats 3

Per (tenant, day), public keys: distinct learners (``count_distinct``) and mean
minutes (``average``, low 0, high 240), ε = 1 as two queries of ε/2 each
(pure DP: δ = 0 ≤ 1e-6), protected change ``AddRowsWithID("learner_id")``, at
most 3 partitions (``MaxGroupsPerID``) and 5 rows per partition
(``MaxRowsPerGroupPerID``) per learner. Tumult bounds groups per id on one
column, so the (tenant, day) key is one column ``tenant_day = tenant·100 + day``.
Prints one JSON object: seconds and released cells of every run (time from
reading the Parquet to the collected result).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from tmlt.analytics import (
    AddRowsWithID,
    KeySet,
    MaxGroupsPerID,
    MaxRowsPerGroupPerID,
    PureDPBudget,
    QueryBuilder,
    Session,
)
from tmlt.analytics import __version__ as tumult_version


def run_once(spark: SparkSession, data: str, keys: list[int]) -> list[list[float]]:
    events = spark.read.parquet(data).select(
        "learner_id", (F.col("tenant_id") * 100 + F.col("day")).alias("tenant_day"), "minutes"
    )
    session = Session.from_dataframe(
        privacy_budget=PureDPBudget(1.0),
        source_id="sessions",
        dataframe=events,
        protected_change=AddRowsWithID("learner_id"),
    )
    key_set = KeySet.from_dict({"tenant_day": keys})
    learners = (
        QueryBuilder("sessions")
        .enforce(MaxGroupsPerID("tenant_day", 3))
        .groupby(key_set)
        .count_distinct(["learner_id"], name="learners")
    )
    means = (
        QueryBuilder("sessions")
        .enforce(MaxGroupsPerID("tenant_day", 3))
        .enforce(MaxRowsPerGroupPerID("tenant_day", 5))
        .groupby(key_set)
        .average("minutes", low=0.0, high=240.0, name="avg_minutes")
    )
    counts = {
        r["tenant_day"]: r["learners"]
        for r in session.evaluate(learners, PureDPBudget(0.5)).collect()
    }
    averages = {
        r["tenant_day"]: r["avg_minutes"]
        for r in session.evaluate(means, PureDPBudget(0.5)).collect()
    }
    return [[k // 100, k % 100, float(counts[k]), float(averages[k])] for k in keys]


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
        .appName("bench-tumult")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    keys = [t * 100 + d for t in range(args.tenants) for d in range(args.days)]
    runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        cells = run_once(spark, args.data, keys)
        runs.append({"seconds": time.perf_counter() - start, "cells": cells})
    spark.stop()
    print(json.dumps({"library": f"Tumult Analytics {tumult_version}", "runs": runs}))


if __name__ == "__main__":
    main()
