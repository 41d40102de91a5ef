"""ETL runs requested, not spawned: the API appends to ``ops/run_requests``; a worker runs them.

The API process starts no child process and needs no Java: a request is one
Delta commit through delta-rs (:class:`jobs.run_queue.RunQueue`), and
``python -m jobs.worker`` claims it and runs ``run_all`` under the request's id,
so the id the API returns is the ``run_id`` that ``ops/job_runs`` records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from jobs.run_queue import RunQueue, RunRequest, stale_run_ids, utc_now
from serving.exceptions import ApiError


class RunAlreadyActiveError(ApiError):
    """A run for this tenant is queued or running: 409."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            409, "run_in_progress", "an ETL run for this tenant is already queued or running"
        )
        self.request_id = request_id


class RequestIdReusedError(ApiError):
    """A request id was sent again with different parameters: 409 naming the field."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            409,
            "request_id_reused",
            "this request_id was already used for another tenant, level or period",
            field="request_id",
        )
        self.request_id = request_id


@dataclass(frozen=True)
class LaunchRequest:
    """What to run, and who asked (a role, never an identity)."""

    request_id: str
    tenant_id: str
    privacy_level: str
    start: dt.date
    end: dt.date
    requested_by: str


class EtlLauncher:
    """Appends run requests to the queue, one active request per tenant."""

    def __init__(self, queue: RunQueue) -> None:
        """Use ``queue`` (``<DATA_ROOT>/ops/run_requests``)."""
        self.queue = queue

    def submit(self, launch: LaunchRequest) -> tuple[RunRequest, bool]:
        """Queue ``launch``; a repeated request id returns the stored request unchanged.

        Returns:
            The stored request and whether this call created it.

        Raises:
            RequestIdReusedError: The id exists with other parameters.
            RunAlreadyActiveError: Another request of the tenant is queued or running.
        """
        existing = self.queue.get(launch.request_id)
        if existing is None:
            active = self.queue.active(launch.tenant_id)
            if active is not None:
                raise RunAlreadyActiveError(active.request_id)
            existing, created = self.queue.enqueue(
                RunRequest(
                    request_id=launch.request_id,
                    tenant_id=launch.tenant_id,
                    privacy_level=launch.privacy_level,
                    period_start=launch.start,
                    period_end=launch.end,
                    requested_by=launch.requested_by,
                    requested_at=utc_now(),
                )
            )
        else:
            created = False
        same = (
            existing.tenant_id,
            existing.privacy_level,
            existing.period_start,
            existing.period_end,
        ) == (launch.tenant_id, launch.privacy_level, launch.start, launch.end)
        if not same:
            raise RequestIdReusedError(launch.request_id)
        return existing, created

    def stale_runs(self) -> set[str]:
        """Run ids whose worker is gone although ``job_runs`` may still say ``running``."""
        return stale_run_ids(self.queue.requests(), utc_now())

    def job_rows(
        self, ledger_rows: list[dict[str, Any]], tenant_id: str | None
    ) -> list[dict[str, Any]]:
        """``job_runs`` rows completed by what only the queue knows.

        Adds requests without a ledger row yet (``queued``, claimed but not started, or
        ``failed`` to launch, with the error), and shows a ``running`` row whose worker
        is gone as ``abandoned`` before the next run gets round to marking it.
        """
        requests = self.queue.requests(tenant_id)
        stale = stale_run_ids(requests, utc_now())
        rows = [
            {**row, "status": "abandoned", "error_message": ABANDONED_MESSAGE}
            if row["status"] == "running" and row["run_id"] in stale
            else row
            for row in ledger_rows
        ]
        recorded = {row["run_id"] for row in ledger_rows}
        rows += [_request_row(r) for r in requests if r.run_id not in recorded]
        return rows


ABANDONED_MESSAGE = "the worker running it stopped without finishing (lease lapsed)"


def _request_row(request: RunRequest) -> dict[str, Any]:
    """A request shaped like a job_runs row (no counts: nothing has run yet)."""
    return {
        "run_id": request.run_id,
        "job_name": "run_all",
        "tenant_id": request.tenant_id,
        "period_start": request.period_start,
        "period_end": request.period_end,
        "privacy_level": request.privacy_level,
        "status": request.status,
        "started_at": request.claimed_at or request.requested_at,
        "finished_at": request.finished_at,
        "rows_read": None,
        "rows_written": None,
        "rows_quarantined": None,
        "groups_suppressed": None,
        "epsilon_charged": None,
        "error_message": request.error_message,
    }
