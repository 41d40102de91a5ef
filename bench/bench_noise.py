"""Noise throughput: own discrete Laplace / grid sampler vs OpenDP's, in NumPy and as Spark UDFs.

Run: ``.venv/bin/python bench/bench_noise.py --values 10000000``

Reports values per second of (1) the samplers alone on the driver and (2)
the pandas UDFs adding noise to ``--values`` rows on local[2] (forced with
``max()``), each the median of ``--repeats`` runs. OpenDP is slower per value,
so its Spark run uses ``--opendp-values`` rows; values/s are comparable.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import numpy as np
import opendp.prelude as dp
import pandas as pd
from _privacy_bench import bench_session, machine_load, median_seconds
from pyspark.sql import functions as F

from privacy_udfs import laplace_count, laplace_sum, secure_random_source
from privacy_udfs.mechanisms import grid_noise, sample_discrete_laplace

SCALE = 4.0


def opendp_integer_laplace() -> dp.Measurement:
    """OpenDP's exact discrete Laplace on a vector of integers, scale ``SCALE``."""
    dp.enable_features("contrib")
    return dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=SCALE
    )


def driver_rates(values: int) -> dict[str, float]:
    stream = secure_random_source().stream("bench", 0)
    start = time.perf_counter()
    sample_discrete_laplace(stream, values, SCALE)
    own = values / (time.perf_counter() - start)
    measurement = opendp_integer_laplace()
    few = max(values // 10, 1)
    zeros = [0] * few
    start = time.perf_counter()
    measurement(zeros)
    opendp = few / (time.perf_counter() - start)
    return {"own sampler (NumPy, os.urandom)": own, "OpenDP make_laplace (int vector)": opendp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--values", type=int, default=10_000_000)
    parser.add_argument("--opendp-values", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"load1={machine_load()}")
    print("| sampler on the driver | values/s |")
    print("|---|---:|")
    for name, rate in driver_rates(min(args.values, 2_000_000)).items():
        print(f"| {name} | {rate:,.0f} |")

    spark = bench_session("bench-noise")

    @F.pandas_udf("long")  # type: ignore[call-overload]
    def opendp_count(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        measurement = opendp_integer_laplace()
        for batch in batches:
            yield pd.Series(np.asarray(measurement(batch.astype(int).tolist()), dtype=np.int64))

    opendp_noise = opendp_count.asNondeterministic()

    def rate(rows: int, column_of: object) -> float:
        frame = spark.range(rows, numPartitions=2).select(
            F.lit(100).cast("long").alias("n"), F.lit(1234.5).alias("s")
        )
        noised = frame.select(column_of(frame).alias("x"))  # type: ignore[operator]
        seconds = median_seconds(lambda: noised.agg(F.max("x")).head(), args.repeats)
        return rows / seconds

    rows = [
        (
            "laplace_count (own, discrete Laplace)",
            rate(args.values, lambda f: laplace_count(f["n"], 1.0, SCALE)),
        ),
        (
            "laplace_sum (own, grid discrete Laplace)",
            rate(args.values, lambda f: laplace_sum(f["s"], 1.0, SCALE)),
        ),
        (
            "OpenDP make_laplace in a pandas UDF",
            rate(args.opendp_values, lambda f: opendp_noise(f["n"])),
        ),
        ("no noise: max(n) alone (baseline)", rate(args.values, lambda f: f["n"])),
    ]
    print(
        f"\nvalues={args.values} opendp_values={args.opendp_values} repeats={args.repeats} "
        f"grid g={grid_noise(1.0, SCALE).granularity}"
    )
    print("| Spark UDF on local[2] | values/s |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value:,.0f} |")
    spark.stop()


if __name__ == "__main__":
    main()
