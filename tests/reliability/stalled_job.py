"""Child process for the crash test: ``python -m jobs.session_daily`` that stalls mid-write.

The curated write is wrapped so that each Spark task streams its rows into the Parquet
writer, touches ``$STALL_MARKER`` and then hangs before the task can finish: data files
are being written into the table directory but no Delta commit has happened. The test
then SIGKILLs the whole process group (the Python driver and its JVM).

    python -m tests.reliability.stalled_job --start ... --end ... --data-root ...
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator

import pyarrow as pa
from jobs.session_daily import main
from pyspark.sql import DataFrame

import jobs.runner
from jobs import delta_io

_real_overwrite_slice = delta_io.overwrite_slice


def _stall_after_rows(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield from batches
    with open(os.environ["STALL_MARKER"], "a") as marker:
        marker.write(f"{os.getpid()}\n")
    time.sleep(3600)


def _stalled_overwrite_slice(df: DataFrame, path: str, predicate: str) -> None:
    _real_overwrite_slice(df.mapInArrow(_stall_after_rows, df.schema), path, predicate)


setattr(jobs.runner, "overwrite_slice", _stalled_overwrite_slice)  # noqa: B010

if __name__ == "__main__":
    raise SystemExit(main())
