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

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from pyspark.sql import SparkSession

from contracts.columns import arrow_schema, row_of
from contracts.curated import JOB_RUNS
from jobs.delta_io import ensure_ledger_table, with_retries
from jobs.processes import pid_alive
from jobs.run_queue import RunQueue, stale_run_ids
from privacy_udfs.delta_reads import open_table, read_whole

RUN_STATUSES = ("running", "succeeded", "failed", "refused", "abandoned")
_SCHEMA = arrow_schema(JOB_RUNS)


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
        rows = pa.Table.from_pylist([dict(zip(_SCHEMA.names, row, strict=True))], schema=_SCHEMA)
        with_retries(lambda: write_deltalake(self._path, rows, mode="append"))

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
        values: dict[str, object] = {
            "run_id": run_id,
            "status": status,
            "finished_at": _now(),
            "rows_read": counters.rows_read,
            "rows_written": counters.rows_written,
            "rows_quarantined": counters.rows_quarantined,
            "groups_suppressed": counters.groups_suppressed,
            "epsilon_charged": float(counters.epsilon_charged),
            "error_message": error_message[:2000] if error_message else None,
            "table_outcomes": table_outcomes,
        }
        if counters.tenants:
            values["tenant_ids"] = sorted(counters.tenants)
        self._update([values])

    def _update(self, changes: list[dict[str, object]]) -> None:
        """Set the given columns of the rows named by each change's ``run_id`` (one commit).

        A merge from a typed Arrow source: values are never spliced into SQL text.
        """
        names = list(changes[0])
        source = pa.Table.from_pylist(changes, schema=pa.schema([_SCHEMA.field(n) for n in names]))
        updates = {name: f"s.{name}" for name in names if name != "run_id"}

        def merge() -> None:
            (
                DeltaTable(self._path)
                .merge(source, "t.run_id = s.run_id", source_alias="s", target_alias="t")
                .when_matched_update(updates)
                .execute()
            )

        with_retries(merge)

    def _rows(self) -> list[dict[str, object]]:
        """Every row of the ledger (one per run: small), read with delta-rs."""
        table = open_table(self._path)
        return [] if table is None else read_whole(table).to_pylist()

    def mark_abandoned_runs(self) -> int:
        """Mark ``running`` rows whose driver is gone as ``abandoned``; return how many.

        Queued runs: on any host, when their worker's lease lapsed or a later attempt
        replaced them. Command-line runs: on this host, when their pid is gone.
        """
        host = socket.gethostname()
        stale = stale_run_ids(RunQueue(self._run_requests_path).requests(), dt.datetime.now(dt.UTC))
        running = [
            r
            for r in self._rows()
            if r["status"] == "running" and (r["host"] == host or r["run_id"] in stale)
        ]
        dead = [
            str(r["run_id"])
            for r in running
            if r["run_id"] in stale
            or (
                r["host"] == host
                and isinstance(r["pid"], int)
                and r["pid"] != os.getpid()
                and not pid_alive(r["pid"])
            )
        ]
        if dead:
            moment = _now()
            self._update(
                [
                    {
                        "run_id": run_id,
                        "status": "abandoned",
                        "finished_at": moment,
                        "error_message": (
                            "driver ended without finishing the run (process gone or lease lapsed)"
                        ),
                    }
                    for run_id in dead
                ]
            )
        return len(dead)

    def is_running(self, tenant_id: str | None) -> bool:
        """Tell whether a live run already covers ``tenant_id`` (or all tenants)."""
        return any(
            r["status"] == "running"
            and (r["tenant_id"] is None or tenant_id is None or r["tenant_id"] == tenant_id)
            for r in self._rows()
        )
