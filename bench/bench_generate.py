"""Throughput of the raw-data generator: generate AND write all four tables to Delta.

Usage::

    .venv/bin/python bench/bench_generate.py --events 1000000 [--events 10000000]

Runs on local[2] (the project's reference machine) and prints, per scale, wall
time and events/s, plus the 1-minute load average: the machine is shared, so
a busy neighbour shows up there rather than silently in the figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from jobs.generate import GeneratorConfig, generate_raw_tables, write_raw_tables
from jobs.session import build_spark_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", help="repeatable")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    scales = args.events or [1_000_000]
    spark = build_spark_session(
        "bench-generate", master="local[2]", shuffle_partitions=2, ui_enabled=False
    )
    spark.sparkContext.setLogLevel("ERROR")
    for events in scales:
        root = tempfile.mkdtemp(prefix="bench-generate-")
        try:
            config = GeneratorConfig(events=events, seed=args.seed)
            started = time.perf_counter()
            write_raw_tables(generate_raw_tables(spark, config), root)
            seconds = time.perf_counter() - started
            written = spark.read.format("delta").load(f"{root}/events").count()
            assert written == events, (written, events)
            print(
                f"events={events:,} learners={config.learner_count:,} "
                f"tenants={config.tenant_count} seconds={seconds:.1f} "
                f"events_per_s={events / seconds:,.0f} load1={os.getloadavg()[0]:.1f}",
                flush=True,
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)
    spark.stop()


if __name__ == "__main__":
    main()
