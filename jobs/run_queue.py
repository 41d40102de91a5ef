"""The run queue ``ops/run_requests``: ETL runs the API requests and workers claim.

Spark-free (delta-rs and pyarrow only), so the API process appends requests without a
JVM and a worker claims them before it starts Spark. Every change is a compare-and-swap:
a Delta MERGE whose predicate names the row's ``revision`` as it was read. If another
writer changed the row first, either the revision no longer matches (nothing is
updated) or Delta's optimistic concurrency refuses the second commit (the file it read
was rewritten); both mean "you lost". So two workers never hold the same claim.

A claimed request carries a lease: its worker renews ``lease_expires_at`` with every
heartbeat. When a worker dies the lease runs out and any worker, on any host, may claim
the request again under a new run id; the dead attempt's run id moves to
``previous_run_ids`` and the next run marks its ``job_runs`` row ``abandoned``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from contracts.columns import arrow_schema
from contracts.curated import RUN_REQUESTS
from jobs.errors import JobError
from privacy_udfs.delta_reads import read_whole

QUEUED, RUNNING = "queued", "running"
FINAL_STATUSES = ("succeeded", "failed", "refused", "abandoned")
REQUEST_STATUSES = (QUEUED, RUNNING, *FINAL_STATUSES)
SCHEMA = arrow_schema(RUN_REQUESTS)
ResultT = TypeVar("ResultT")


class QueueConflictError(JobError):
    """The queue kept changing under a write; retried and gave up."""


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC (the queue's timestamps)."""
    return dt.datetime.now(dt.UTC)


def new_worker_id() -> str:
    """Names one worker process: host, pid and a random part (pids repeat across pods)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RunRequest:
    """One row of ``ops/run_requests``."""

    request_id: str
    tenant_id: str
    privacy_level: str
    period_start: dt.date
    period_end: dt.date
    requested_by: str
    requested_at: dt.datetime
    status: str = QUEUED
    run_id: str = ""
    attempt: int = 0
    previous_run_ids: tuple[str, ...] = field(default_factory=tuple)
    revision: int = 0
    worker_id: str | None = None
    claimed_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None
    lease_expires_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    error_message: str | None = None

    def lease_expired(self, now: dt.datetime) -> bool:
        """Whether a ``running`` claim has gone without a heartbeat past its lease."""
        return (
            self.status == RUNNING
            and self.lease_expires_at is not None
            and self.lease_expires_at <= now
        )

    def to_row(self) -> dict[str, Any]:
        """The row as a mapping of column name to value."""
        row = {name: getattr(self, name) for name in SCHEMA.names}
        row["previous_run_ids"] = list(self.previous_run_ids)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRequest:
        """Build from a row read back from the table."""
        values = {name: row[name] for name in SCHEMA.names}
        values["previous_run_ids"] = tuple(row["previous_run_ids"] or ())
        return cls(**values)


def _retry_conflicts(action: Callable[[], ResultT], attempts: int = 8) -> ResultT:
    """Run a queue write again when a concurrent commit made Delta refuse it."""
    for attempt in range(attempts):
        try:
            return action()
        except CommitFailedError:
            if attempt == attempts - 1:
                break
            time.sleep(min(random.uniform(0.005, 0.02) * (2**attempt), 0.5))  # jitter: desync
    raise QueueConflictError("the run queue kept changing under this write; try again")


class RunQueue:
    """Append, claim, renew and finish run requests in one Delta table."""

    def __init__(self, path: str, storage_options: dict[str, str] | None = None) -> None:
        """Point at ``<data_root>/ops/run_requests`` (created on first write).

        Args:
            path: Table location (local path or object-store URI).
            storage_options: delta-rs storage options for object stores.
        """
        self.path = path
        self._storage_options = storage_options

    # ---- reading ----------------------------------------------------------------

    def _table(self) -> DeltaTable | None:
        try:
            return DeltaTable(self.path, storage_options=self._storage_options)
        except TableNotFoundError:
            return None

    def _ensure_table(self) -> DeltaTable:
        table = self._table()
        if table is not None:
            return table
        with contextlib.suppress(CommitFailedError):  # another process created it first
            DeltaTable.create(
                self.path,
                SCHEMA,
                mode="ignore",
                name="run_requests",
                description="ETL runs requested through the API and claimed by workers.",
                storage_options=self._storage_options,
            )
        table = self._table()
        if table is None:
            raise TableNotFoundError(f"cannot create the run queue at {self.path}")
        return table

    def requests(
        self, tenant_id: str | None = None, statuses: Sequence[str] | None = None
    ) -> list[RunRequest]:
        """Requests, oldest first, optionally of one tenant and some statuses.

        The table is tiny (one row per request), so it is read whole and filtered here.
        """
        table = self._table()
        if table is None:
            return []
        rows = [
            r
            for r in read_whole(table).cast(SCHEMA).to_pylist()
            if (tenant_id is None or r["tenant_id"] == tenant_id)
            and (statuses is None or r["status"] in statuses)
        ]
        rows.sort(key=lambda r: (r["requested_at"], r["request_id"]))
        return [RunRequest.from_row(r) for r in rows]

    def get(self, request_id: str) -> RunRequest | None:
        """One request by id, or ``None``."""
        found = [r for r in self.requests() if r.request_id == request_id]
        return found[0] if found else None

    def active(self, tenant_id: str, now: dt.datetime | None = None) -> RunRequest | None:
        """The tenant's queued request, or running one whose worker is alive, if any."""
        moment = now or utc_now()
        for request in self.requests(tenant_id, (QUEUED, RUNNING)):
            if request.status == QUEUED or not request.lease_expired(moment):
                return request
        return None

    # ---- writing ----------------------------------------------------------------

    def enqueue(self, request: RunRequest) -> tuple[RunRequest, bool]:
        """Append ``request`` unless its id is already there (idempotent per request id).

        Returns:
            The stored request and whether this call created it.
        """
        stored = replace(request, status=QUEUED, run_id=request.request_id, revision=0)

        def insert() -> int:
            table = self._ensure_table()
            source = pa.Table.from_pylist([stored.to_row()], schema=SCHEMA)
            metrics = (
                table.merge(
                    source,
                    predicate="t.request_id = s.request_id",
                    source_alias="s",
                    target_alias="t",
                )
                .when_not_matched_insert_all()
                .execute()
            )
            return int(metrics["num_target_rows_inserted"])

        created = _retry_conflicts(insert) == 1
        current = self.get(request.request_id)
        assert current is not None  # just inserted, or inserted before
        return current, created

    def _swap(self, expected: RunRequest, new: RunRequest) -> bool:
        """Replace ``expected`` by ``new`` if nobody changed the row since it was read."""
        row = replace(new, revision=expected.revision + 1).to_row()
        row["expected_revision"] = expected.revision
        source = pa.Table.from_pylist(
            [row], schema=SCHEMA.append(pa.field("expected_revision", pa.int64()))
        )
        updates = {name: f"s.{name}" for name in SCHEMA.names if name != "request_id"}
        for attempt in range(8):
            table = self._table()
            if table is None:
                return False
            try:
                metrics = (
                    table.merge(
                        source,
                        predicate="t.request_id = s.request_id AND t.revision = s.expected_revision",
                        source_alias="s",
                        target_alias="t",
                    )
                    .when_matched_update(updates)
                    .execute()
                )
            except CommitFailedError:
                # Another commit landed first. If it changed this row, it won; if it only
                # touched other requests, this swap is still valid: try again.
                current = self.get(expected.request_id)
                if current is None or current.revision != expected.revision:
                    return False
                time.sleep(min(random.uniform(0.005, 0.02) * (2**attempt), 0.5))
                continue
            return int(metrics["num_target_rows_updated"]) == 1
        raise QueueConflictError("the run queue kept changing under this write; try again")

    def claim(
        self,
        worker_id: str,
        lease: dt.timedelta,
        *,
        max_attempts: int = 3,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> RunRequest | None:
        """Claim the oldest claimable request for ``worker_id``, or return ``None``.

        Claimable: ``queued``, or ``running`` with an expired lease (its worker died).
        Such a request restarts under a new run id; after ``max_attempts`` dead workers
        it is given up as ``abandoned`` instead of being run again.
        """
        for candidate in self.requests(statuses=(QUEUED, RUNNING)):
            moment = now()
            if candidate.status == RUNNING and not candidate.lease_expired(moment):
                continue
            if candidate.status == RUNNING and candidate.attempt >= max_attempts:
                self._swap(candidate, self._given_up(candidate, moment))
                continue
            claimed = self._next_attempt(candidate, worker_id, lease, moment)
            if self._swap(candidate, claimed):
                return replace(claimed, revision=candidate.revision + 1)
        return None

    @staticmethod
    def _next_attempt(
        request: RunRequest, worker_id: str, lease: dt.timedelta, moment: dt.datetime
    ) -> RunRequest:
        first = request.status == QUEUED and request.attempt == 0
        return replace(
            request,
            status=RUNNING,
            run_id=request.request_id if first else str(uuid.uuid4()),
            attempt=request.attempt + 1,
            previous_run_ids=(
                request.previous_run_ids if first else (*request.previous_run_ids, request.run_id)
            ),
            worker_id=worker_id,
            claimed_at=moment,
            heartbeat_at=moment,
            lease_expires_at=moment + lease,
        )

    @staticmethod
    def _given_up(request: RunRequest, moment: dt.datetime) -> RunRequest:
        return replace(
            request,
            status="abandoned",
            previous_run_ids=(*request.previous_run_ids, request.run_id),
            finished_at=moment,
            error_message=f"gave up after {request.attempt} attempt(s) whose worker died",
        )

    def heartbeat(
        self, claim: RunRequest, lease: dt.timedelta, now: dt.datetime | None = None
    ) -> RunRequest | None:
        """Renew the lease of ``claim``; ``None`` means the claim was lost (stop the run)."""
        moment = now or utc_now()
        renewed = replace(claim, heartbeat_at=moment, lease_expires_at=moment + lease)
        if self._swap(claim, renewed):
            return replace(renewed, revision=claim.revision + 1)
        return None

    def release(self, claim: RunRequest) -> bool:
        """Expire the lease now (the worker is stopping), so another may claim at once."""
        return self._swap(claim, replace(claim, lease_expires_at=utc_now()))

    def finish(self, claim: RunRequest, status: str, error_message: str | None = None) -> bool:
        """Record the outcome of ``claim``; ``False`` if the claim had been lost."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, got {status!r}")
        finished = replace(
            claim,
            status=status,
            finished_at=utc_now(),
            error_message=error_message[:2000] if error_message else None,
        )
        return self._swap(claim, finished)


def stale_run_ids(requests: Sequence[RunRequest], now: dt.datetime) -> set[str]:
    """Run ids that can no longer be running, whatever job_runs still says.

    Superseded attempts, attempts whose lease lapsed, and attempts of finished requests
    (their worker saw the run's process end).
    """
    stale: set[str] = set()
    for request in requests:
        stale.update(request.previous_run_ids)
        if request.lease_expired(now) or request.status in FINAL_STATUSES:
            stale.add(request.run_id)
    return stale
