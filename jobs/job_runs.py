"""The ``job_runs`` ledger: one row per run, updated in place.

A run is appended as ``running`` before anything is written and updated to
``succeeded``, ``failed`` or ``refused`` at the end. A driver killed half way
leaves a ``running`` row; the next start marks such rows ``abandoned`` when
their driver is gone: on any host for runs requested through the queue (the
worker's lease in ``ops/run_requests`` lapsed), and by pid on this host for runs
started from the command line.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass, field

from delta.tables import DeltaTable
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from contracts.columns import row_of
from contracts.curated import JOB_RUNS
from contracts.spark_types import spark_schema
from jobs.delta_io import ensure_ledger_table, with_retries
from jobs.processes import pid_alive
from jobs.run_queue import RunQueue, stale_run_ids

RUN_STATUSES = ("running", "succeeded", "failed", "refused", "abandoned")


@dataclass
class RunCounters:
    """Row counts a run reports to the ledger."""

    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    groups_suppressed: int = 0
    epsilon_charged: float = 0.0
    refused_tenants: list[str] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class JobRunLedger:
    """Append and update rows of the ``job_runs`` Delta table."""

    def __init__(
        self, spark: SparkSession, path: str, run_requests_path: str | None = None
    ) -> None:
        """Open (creating if needed) the ledger at ``path``.

        ``run_requests_path`` is the run queue whose leases tell which queued runs died
        (default: ``run_requests`` next to the ledger).
        """
        self._spark = spark
        self._path = path
        self._run_requests_path = run_requests_path or f"{path.rsplit('/', 1)[0]}/run_requests"
        ensure_ledger_table(
            spark, path, JOB_RUNS, "Every ETL run: status, timings, counts, ε charged."
        )

    @property
    def path(self) -> str:
        """Where the ledger lives."""
        return self._path

    def start(
        self,
        run_id: str,
        job_name: str,
        tenant_id: str | None,
        period: tuple[dt.date, dt.date],
        privacy_level: str,
    ) -> None:
        """Record a run as ``running``."""
        row = row_of(
            JOB_RUNS,
            {
                "run_id": run_id,
                "job_name": job_name,
                "tenant_id": tenant_id,
                "tenant_ids": None if tenant_id is None else [tenant_id],
                "period_start": period[0],
                "period_end": period[1],
                "privacy_level": privacy_level,
                "status": "running",
                "started_at": _now(),
                "host": socket.gethostname(),
                "pid": os.getpid(),
            },
        )
        frame = self._spark.createDataFrame([row], spark_schema(JOB_RUNS))
        with_retries(lambda: frame.write.format("delta").mode("append").save(self._path))

    def finish(
        self,
        run_id: str,
        status: str,
        counters: RunCounters,
        error_message: str | None = None,
        table_outcomes: str | None = None,
    ) -> None:
        """Set a run's final status, counts and (JSON) per-table outcomes."""
        if status not in RUN_STATUSES:
            raise ValueError(f"status must be one of {RUN_STATUSES}, got {status!r}")
        values: dict[str, str | Column] = {
            "status": F.lit(status),
            "finished_at": F.lit(_now()).cast("timestamp"),
            "rows_read": F.lit(counters.rows_read).cast("long"),
            "rows_written": F.lit(counters.rows_written).cast("long"),
            "rows_quarantined": F.lit(counters.rows_quarantined).cast("long"),
            "groups_suppressed": F.lit(counters.groups_suppressed).cast("long"),
            "epsilon_charged": F.lit(float(counters.epsilon_charged)).cast("double"),
            "error_message": F.lit(error_message[:2000] if error_message else None).cast("string"),
            "table_outcomes": F.lit(table_outcomes).cast("string"),
        }
        if counters.tenants:
            values["tenant_ids"] = F.array(*[F.lit(t) for t in sorted(counters.tenants)])
        table = DeltaTable.forPath(self._spark, self._path)
        with_retries(lambda: table.update(F.col("run_id") == F.lit(run_id), values))

    def mark_abandoned_runs(self) -> int:
        """Mark ``running`` rows whose driver is gone as ``abandoned``; return how many.

        Queued runs: on any host, when their worker's lease lapsed or a later attempt
        replaced them. Command-line runs: on this host, when their pid is gone.
        """
        host = socket.gethostname()
        stale = stale_run_ids(RunQueue(self._run_requests_path).requests(), dt.datetime.now(dt.UTC))
        running = (
            self._spark.read.format("delta")
            .load(self._path)
            .where(
                (F.col("status") == "running")
                & ((F.col("host") == host) | F.col("run_id").isin(sorted(stale)))
            )
            .select("run_id", "host", "pid")
            .collect()  # the ledger is tiny: a handful of open runs at most
        )
        dead = [
            r.run_id
            for r in running
            if r.run_id in stale
            or (
                r.host == host
                and r.pid is not None
                and r.pid != os.getpid()
                and not pid_alive(r.pid)
            )
        ]
        if dead:
            table = DeltaTable.forPath(self._spark, self._path)
            with_retries(
                lambda: table.update(
                    F.col("run_id").isin(dead),
                    {
                        "status": F.lit("abandoned"),
                        "finished_at": F.lit(_now()).cast("timestamp"),
                        "error_message": F.lit(
                            "driver ended without finishing the run (process gone or lease lapsed)"
                        ),
                    },
                )
            )
        return len(dead)

    def is_running(self, tenant_id: str | None) -> bool:
        """Tell whether a live run already covers ``tenant_id`` (or all tenants)."""
        rows = (
            self._spark.read.format("delta")
            .load(self._path)
            .where(F.col("status") == "running")
            .where(
                F.col("tenant_id").isNull()
                | (F.lit(tenant_id).isNull())
                | (F.col("tenant_id") == F.lit(tenant_id))
            )
            .limit(1)
            .count()
        )
        return rows > 0
