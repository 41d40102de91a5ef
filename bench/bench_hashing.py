"""Pseudonymization throughput: built-in HMAC vs pandas UDF vs Python UDF, relative to sha2.

Run: ``.venv/bin/python bench/bench_hashing.py --rows 10000000``

Every variant hashes the same cached ids (``learner-<n>``) on local[2] and is
forced with ``max()`` over its output; each figure is the median of
``--repeats`` runs and is reported as a ratio to plain ``sha2`` measured in the
same run (target: built-in HMAC ≤ 2.5×). The Python UDF runs on a sample of
``--udf-rows`` rows (it is orders of magnitude slower) and its time is scaled.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import secrets

import pandas as pd
from _privacy_bench import bench_session, machine_load, median_seconds
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from privacy_udfs import hash_id, load_pseudonym_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--udf-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    spark = bench_session("bench-hashing")
    key = load_pseudonym_key(secrets.token_hex(32))
    secret = key.secret

    @F.pandas_udf("string")  # type: ignore[call-overload]
    def hmac_pandas(ids: pd.Series) -> pd.Series:
        return pd.Series([hmac.new(secret, i.encode(), hashlib.sha256).hexdigest() for i in ids])

    @F.udf("string")
    def hmac_python(value: str) -> str:
        return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()

    def cached_ids(rows: int) -> DataFrame:
        ids = spark.range(rows).select(
            F.concat(F.lit("learner-"), F.col("id").cast("string")).alias("id")
        )
        ids = ids.repartition(2).cache()
        ids.count()
        return ids

    ids = cached_ids(args.rows)
    sample = cached_ids(args.udf_rows)

    def timed(df: DataFrame, column: Column) -> float:
        return median_seconds(lambda: df.agg(F.max(column)).head(), args.repeats)

    sha2 = timed(ids, F.sha2(F.col("id").cast("binary"), 256))
    builtin = timed(ids, hash_id("id", key))
    pandas_udf = timed(ids, hmac_pandas("id"))
    python_udf = timed(sample, hmac_python("id")) * args.rows / args.udf_rows
    print(f"rows={args.rows} repeats={args.repeats} load1={machine_load()}")
    print("| variant | seconds | rows/s | × sha2 |")
    print("|---|---:|---:|---:|")
    for name, seconds in (
        ("sha2 (unkeyed, reference)", sha2),
        ("hash_id: HMAC from built-ins", builtin),
        ("pandas UDF (hmac per value)", pandas_udf),
        (f"Python UDF (scaled from {args.udf_rows:,} rows)", python_udf),
    ):
        print(f"| {name} | {seconds:.2f} | {args.rows / seconds:,.0f} | {seconds / sha2:.2f} |")
    spark.stop()


if __name__ == "__main__":
    main()
