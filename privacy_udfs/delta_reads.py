"""Small Delta tables read with delta-rs's own engine (no Spark job, no JVM).

Ledgers (``ops/privacy_budget``, ``ops/job_runs``, ``ops/run_requests``) hold a few
thousand rows; reading them through Spark costs a job's latency each time, through
delta-rs tens of milliseconds. The read goes through delta-rs's query engine rather
than ``to_pyarrow_table()``/``to_pyarrow_dataset()``: pyarrow's scan threads can
still be running when the interpreter exits, which aborts the process ("terminate
called without an active exception") and turns a finished run into a failed one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder
from deltalake.exceptions import TableNotFoundError


def read_whole(table: DeltaTable, columns: Sequence[str] | None = None) -> pa.Table:
    """All rows (``columns`` only, if given) of a small Delta table."""
    selected = ", ".join(f'"{name}"' for name in columns) if columns else "*"
    reader = QueryBuilder().register("t", table).execute(f"SELECT {selected} FROM t")
    return pa.table(reader.read_all())


def open_table(path: str, version: int | None = None) -> DeltaTable | None:
    """The Delta table at ``path`` (as of ``version``), or None when there is none yet."""
    try:
        return DeltaTable(path, version=version)
    except TableNotFoundError:
        return None
