"""Toolkit vs peers (issue 19): plain PySpark, ``private_aggregate`` fixed and tuned, PipelineDP, Tumult.

Usage::

    bash bench/peers/setup_peers.sh                       # once: peer virtualenvs
    .venv/bin/python bench/bench_toolkit.py --rows 200000 [--rows 1000000 ...] [--no-peers]

The query, per (tenant, day) over public keys (20 tenants × 31 days): distinct
learners and mean session minutes at ε = 1 (learners ε/2, mean ε/2), δ = 1e-6,
at most 3 partitions and 5 rows per learner, minutes clamped to [0, 240], no
suppression (k = 0, as the peers). The data (``bench/toolkit_data.py``) is
written to Parquet once per size; every contender reads that Parquet.

Contenders, each timed from reading the Parquet to the collected 620 cells,
median of ``--repeats`` runs:

* plain PySpark (exact ``count_distinct`` and ``avg``): also the truth;
* ``private_aggregate`` with the fixed bounds (ε = 1);
* ``tune_bounds`` (ε = ``--tuning-epsilon``) then ``private_aggregate`` at the rest of ε = 1
  with the tuned bounds (the tuning is inside the timing and the ε);
* PipelineDP and Tumult Analytics with the fixed bounds, as subprocesses in their
  own virtualenvs (``bench/peers/run_*.py``).

Error: per run, the median over cells of |released − exact| / exact for the
learner count and the mean; the table gives the median over runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _privacy_bench import REPO, bench_session, machine_load
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from toolkit_data import DAYS, TENANTS, generate_sessions, public_keys

from privacy_udfs import ContributionBounds, Measure, PrivacyLevel, private_aggregate, tune_bounds

EPSILON = 1.0
FIXED = ContributionBounds(max_partitions=3, max_rows_per_partition=5, lower=0.0, upper=240.0)
GROUPS = ["tenant_id", "day"]
MEASURES = [Measure("learners", "distinct_count"), Measure("avg_minutes", "mean", "minutes")]
PEERS = {
    "PipelineDP": ("pipelinedp", "run_pipelinedp.py"),
    "Tumult Analytics": ("tumult", "run_tumult.py"),
}
Cells = dict[tuple[int, int], tuple[float, float]]


def _cells(rows: Sequence[Sequence[Any]]) -> Cells:
    return {(int(r[0]), int(r[1])): (float(r[2]), float(r[3])) for r in rows}


def plain(spark: SparkSession, data: str) -> Cells:
    exact = (
        spark.read.parquet(data)
        .groupBy(*GROUPS)
        .agg(F.count_distinct("learner_id").alias("n"), F.avg("minutes").alias("m"))
        .collect()
    )
    return _cells([(r["tenant_id"], r["day"], r["n"], r["m"]) for r in exact])


def _released(release: DataFrame) -> Cells:
    rows = release.select(*GROUPS, "learners", "avg_minutes").collect()
    return _cells([(r[0], r[1], r[2], r[3]) for r in rows])


def fixed(spark: SparkSession, data: str) -> Cells:
    release = private_aggregate(
        spark.read.parquet(data),
        privacy_id="learner_id",
        group_cols=GROUPS,
        measures=MEASURES,
        level=PrivacyLevel.DP_MEDIUM,
        bounds=FIXED,
        epsilon=EPSILON,
        public_groups=public_keys(spark),
        k_threshold=0,
    )
    return _released(release)


def tuned(spark: SparkSession, data: str, tuning_epsilon: float, log: list[str]) -> Cells:
    events = spark.read.parquet(data)
    keys = public_keys(spark)
    tuning = tune_bounds(
        events,
        privacy_id="learner_id",
        group_cols=GROUPS,
        public_groups=keys,
        measures=MEASURES,
        epsilon=tuning_epsilon,
        release_epsilon=EPSILON - tuning_epsilon,
        value_col="minutes",
        value_domain=(0.0, 240.0),
        candidate_partitions=(1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 31),
        k_threshold=0,
    )
    log.append(tuning.report())
    release = private_aggregate(
        events,
        privacy_id="learner_id",
        group_cols=GROUPS,
        measures=MEASURES,
        level=PrivacyLevel.DP_MEDIUM,
        bounds=tuning.bounds,
        epsilon=tuning.release_epsilon,
        public_groups=keys,
        k_threshold=0,
    )
    return _released(release)


def relative_errors(released: Cells, truth: Cells) -> tuple[float, float]:
    """Median over cells of the relative error of the learner count and of the mean."""
    count_errors, mean_errors = [], []
    for key, (n, m) in truth.items():
        got_n, got_m = released.get(key, (0.0, float("nan")))
        if n > 0:
            count_errors.append(abs(got_n - n) / n)
        if m and got_m == got_m:  # released means are null only without data
            mean_errors.append(abs(got_m - m) / m)
    return statistics.median(count_errors), statistics.median(mean_errors)


def timed(action: Callable[[], Cells], repeats: int) -> tuple[list[float], list[Cells]]:
    seconds, outputs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs.append(action())
        seconds.append(time.perf_counter() - start)
    return seconds, outputs


def run_peer(name: str, data: str, repeats: int) -> tuple[list[float], list[Cells]] | str:
    venv, script = PEERS[name]
    python = Path(REPO, "bench", ".venvs", venv, "bin", "python")
    if not python.exists():
        return f"not installed (run bash bench/peers/setup_peers.sh): {python}"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYSPARK_PYTHON")}
    done = subprocess.run(
        [
            *(str(python), str(Path(REPO, "bench", "peers", script)), "--data", data),
            *("--repeats", str(repeats), "--tenants", str(TENANTS), "--days", str(DAYS)),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        return f"failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return [r["seconds"] for r in result["runs"]], [_cells(r["cells"]) for r in result["runs"]]


def bench_size(
    spark: SparkSession, rows: int, args: argparse.Namespace
) -> dict[str, tuple[list[float], list[Cells]] | str]:
    """Every contender on ``rows`` sessions; prints the table and the tuning report."""
    data = str(Path(args.data_dir, f"sessions_{rows}.parquet"))
    if not Path(data).exists():
        generate_sessions(spark, rows).write.mode("overwrite").parquet(data)
    truth = plain(spark, data)
    log: list[str] = []
    contenders: dict[str, Callable[[], Cells]] = {
        "plain PySpark": lambda: plain(spark, data),
        "private_aggregate (fixed bounds)": lambda: fixed(spark, data),
        "private_aggregate (tuned bounds)": lambda: tuned(spark, data, args.tuning_epsilon, log),
    }
    results: dict[str, tuple[list[float], list[Cells]] | str] = {
        name: timed(action, args.repeats) for name, action in contenders.items()
    }
    if not args.no_peers:
        for name in PEERS:
            results[name] = run_peer(name, data, args.peer_repeats or args.repeats)
    plain_seconds = statistics.median(timed_seconds(results["plain PySpark"]))
    print(f"\nrows={rows:,} load1={machine_load()}")
    print("| contender | seconds (median) | × plain | count error | mean error |")
    print("|---|---:|---:|---:|---:|")
    for name, result in results.items():
        if isinstance(result, str):
            print(f"| {name} | {result} | | | |")
            continue
        seconds, outputs = result
        errors = [relative_errors(o, truth) for o in outputs]
        median_seconds = statistics.median(seconds)
        print(
            f"| {name} | {median_seconds:.1f} | {median_seconds / plain_seconds:.2f} "
            f"| {statistics.median(e[0] for e in errors):.4f} "
            f"| {statistics.median(e[1] for e in errors):.4f} |",
            flush=True,
        )
    print("\n" + log[-1], flush=True)
    return results


def timed_seconds(result: tuple[list[float], list[Cells]] | str) -> list[float]:
    if isinstance(result, str):
        raise RuntimeError(result)
    return result[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="repeatable; default 200000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-repeats", type=int, help="runs of each peer (default --repeats)")
    parser.add_argument("--tuning-epsilon", type=float, default=0.1)
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--data-dir", default=str(Path(REPO, "bench", "results", "toolkit")))
    args = parser.parse_args()
    spark = bench_session("bench-toolkit")
    print(f"load1={machine_load()} tuning ε={args.tuning_epsilon} repeats={args.repeats}")
    for rows in args.rows or [200_000]:
        bench_size(spark, rows, args)
    spark.stop()


if __name__ == "__main__":
    main()
