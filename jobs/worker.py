"""python -m jobs.worker: claim ETL runs from ``ops/run_requests`` and run them, one at a time.

The API only appends requests (it has no JVM); a worker claims the oldest one,
runs it as ``python -m jobs.run_all`` (or ``<ETL_SUBMIT_SCRIPT> run_all`` for a
cluster) with the request's id as ``--run-id``, renews its lease while the run is
alive, and records the outcome the run wrote to ``ops/job_runs``. A run that
could not start at all is recorded as ``failed`` with its last output lines, so
``GET /api/v1/etl/jobs`` shows why.

    python -m jobs.worker                 # poll for ever (a Deployment, or `make worker`)
    python -m jobs.worker --once          # claim and run at most one request (a CronJob)

The run gets only the variables a job needs (the analytics settings, Spark, Java,
Hadoop and object-store credentials); API secrets such as ``JWT_SECRET`` and
``EXPORT_KEY`` never reach it. It is killed with the worker (``PR_SET_PDEATHSIG``),
so a request whose worker died is never still running when another worker takes it.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conf.settings import AnalyticsSettings, ConfigurationError, load_settings
from jobs.run_queue import RunQueue, RunRequest, new_worker_id
from privacy_udfs.delta_reads import read_whole

LOG = logging.getLogger("jobs.worker")
EXIT_STATUS = {0: "succeeded", 3: "refused"}  # jobs.cli exit codes; anything else failed
_ENV_NAMES = frozenset(
    {"PATH", "HOME", "USER", "LANG", "TZ", "TMPDIR", "VIRTUAL_ENV"}
    | {
        str(info.validation_alias)
        for info in AnalyticsSettings.model_fields.values()
        if isinstance(info.validation_alias, str)
    }
)
_ENV_PREFIXES = (
    "LC_", "SPARK_", "PYSPARK_", "JAVA_", "HADOOP_", "PYTHON", "DELTA_", "ANALYTICS_",
    "AWS_", "AZURE_", "GOOGLE_", "KUBERNETES_",
)  # fmt: skip
_PR_SET_PDEATHSIG = 1


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables a run may see: job settings and runtime paths, no API secrets."""
    return {
        name: value
        for name, value in environ.items()
        if name in _ENV_NAMES or name.startswith(_ENV_PREFIXES)
    }


def run_command(request: RunRequest, submit_script: Path | None) -> list[str]:
    """The argv of one attempt (the same flags as ``python -m jobs.run_all``)."""
    launcher = [str(submit_script)] if submit_script else [sys.executable, "-m", "jobs.run_all"]
    if submit_script:
        launcher.append("run_all")
    return [
        *launcher,
        "--tenant", request.tenant_id,
        "--privacy-level", request.privacy_level,
        "--start", request.period_start.isoformat(),
        "--end", request.period_end.isoformat(),
        "--run-id", request.run_id,
    ]  # fmt: skip


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker claims and runs requests."""

    lease: dt.timedelta = dt.timedelta(seconds=60)
    poll_seconds: float = 5.0
    max_attempts: int = 3
    submit_script: Path | None = None

    @property
    def heartbeat_seconds(self) -> float:
        """Renew well before the lease ends: three heartbeats may be lost before it lapses."""
        return max(self.lease.total_seconds() / 4, 0.05)


class Worker:
    """Claims requests from one queue and runs them one at a time."""

    def __init__(
        self,
        queue: RunQueue,
        settings: AnalyticsSettings,
        options: WorkerOptions,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """Prepare a worker.

        Args:
            queue: The run queue (``<DATA_ROOT>/ops/run_requests``).
            settings: Analytics settings; their data root is passed to every run.
            options: Lease, poll interval, attempts and launcher.
            environ: The environment the runs inherit (filtered); default ``os.environ``.
        """
        self.queue = queue
        self.settings = settings
        self.options = options
        self.worker_id = new_worker_id()
        self._environ = dict(os.environ if environ is None else environ)
        self._stop = threading.Event()
        self._child: subprocess.Popen[str] | None = None

    def stop(self) -> None:
        """Stop after the current run (or now, when idle); the current run is ended."""
        self._stop.set()
        child = self._child
        if child is not None:
            _signal_group(child, signal.SIGTERM)

    def serve(self) -> None:
        """Claim and run requests until :meth:`stop` is called."""
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # storage hiccup, conflict storm: log, wait, poll again
                LOG.exception(
                    "worker loop error; polling again in %.0fs", self.options.poll_seconds
                )
                ran = None
            if ran is None:
                self._stop.wait(self.options.poll_seconds)

    def run_once(self) -> RunRequest | None:
        """Claim one request and run it to the end; ``None`` when nothing was claimable."""
        claim = self.queue.claim(
            self.worker_id, self.options.lease, max_attempts=self.options.max_attempts
        )
        if claim is None:
            return None
        LOG.info(
            "claimed request %s (attempt %d, run %s)",
            claim.request_id,
            claim.attempt,
            claim.run_id,
        )
        return self._run(claim)

    def _run(self, claim: RunRequest) -> RunRequest | None:
        environ = child_environment(self._environ)
        environ["DATA_ROOT"] = self.settings.data_root
        command = run_command(claim, self.options.submit_script)
        tail: collections.deque[str] = collections.deque(maxlen=30)
        try:
            child = subprocess.Popen(
                command,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                process_group=0,  # its own group: spark-submit's JVM and Python go with it
            )
        except OSError as error:
            launch_error = f"cannot start {command[0]}: {error.strerror or error}"
            self.queue.finish(claim, "failed", launch_error)
            LOG.error("request %s failed to start: %s", claim.request_id, launch_error)
            return self.queue.get(claim.request_id)
        self._child = child
        holder = _ClaimHolder(claim)
        beat = threading.Thread(
            target=self._heartbeat, args=(holder, child), name="worker-heartbeat", daemon=True
        )
        beat.start()
        assert child.stdout is not None
        for line in child.stdout:  # forwarded to the worker's log, last lines kept for errors
            sys.stderr.write(line)
            tail.append(line.rstrip("\n"))
        exit_code = child.wait()
        holder.done.set()
        beat.join()
        self._child = None
        if holder.lost:
            LOG.warning("request %s: claim lost (lease expired); run stopped", claim.request_id)
            return self.queue.get(claim.request_id)
        if self._stop.is_set() and exit_code < 0:
            self.queue.release(holder.claim)  # stopping: another worker may take it at once
            return self.queue.get(claim.request_id)
        status, message = self._outcome(holder.claim.run_id, exit_code, list(tail))
        self.queue.finish(holder.claim, status, message)
        LOG.info("request %s %s", claim.request_id, status)
        return self.queue.get(claim.request_id)

    def _heartbeat(self, holder: _ClaimHolder, child: subprocess.Popen[str]) -> None:
        while not holder.done.wait(self.options.heartbeat_seconds):
            try:
                renewed = self.queue.heartbeat(holder.claim, self.options.lease)
            except Exception:  # transient: the next beat retries well before the lease ends
                LOG.exception("heartbeat of request %s failed", holder.claim.request_id)
                continue
            if renewed is None:
                holder.lost = True
                _signal_group(child, signal.SIGKILL)
                return
            holder.claim = renewed

    def _outcome(self, run_id: str, exit_code: int, tail: Sequence[str]) -> tuple[str, str | None]:
        """What the run recorded in job_runs, else a failure with its last output lines."""
        recorded = ledger_row(self.settings.path("ops", "job_runs"), run_id)
        if recorded is not None and recorded["status"] in ("succeeded", "refused", "failed"):
            error = recorded["error_message"]
            return str(recorded["status"]), None if error is None else str(error)
        expected = EXIT_STATUS.get(exit_code, "failed")
        if expected != "failed" and recorded is not None:
            return expected, None
        last = "\n".join(line for line in tail if line.strip())[-1500:]
        return "failed", f"run exited with code {exit_code} before recording an outcome: {last}"


def _signal_group(child: subprocess.Popen[str], signum: int) -> None:
    """Signal the run and everything it started (it leads its own process group)."""
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signum)


class _ClaimHolder:
    """The claim as renewed by the heartbeat thread, and whether it was lost."""

    def __init__(self, claim: RunRequest) -> None:
        self.claim = claim
        self.lost = False
        self.done = threading.Event()


def ledger_row(job_runs_path: str, run_id: str) -> dict[str, object] | None:
    """The job_runs row of ``run_id`` read with delta-rs (tiny table), or ``None``."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        table = read_whole(DeltaTable(job_runs_path), ("run_id", "status", "error_message"))
    except TableNotFoundError:
        return None
    rows = [r for r in table.to_pylist() if r["run_id"] == run_id]
    return rows[-1] if rows else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.worker",
        description="Claim ETL runs requested through the API and run them.",
    )
    parser.add_argument("--once", action="store_true", help="run at most one request and exit")
    parser.add_argument("--data-root", help="override DATA_ROOT")
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=float(os.environ.get("WORKER_LEASE_SECONDS", "60")),
        help="a claim without a heartbeat for this long is re-claimable (default 60)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=float(os.environ.get("WORKER_POLL_SECONDS", "5")),
        help="wait between empty polls (default 5)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=int(os.environ.get("WORKER_MAX_ATTEMPTS", "3")),
        help="give a request up after this many attempts whose worker died (default 3)",
    )
    parser.add_argument(
        "--submit-script",
        type=Path,
        default=Path(os.environ["ETL_SUBMIT_SCRIPT"])
        if os.environ.get("ETL_SUBMIT_SCRIPT")
        else None,
        help="run '<script> run_all ...' (e.g. spark-submit.sh) instead of python -m jobs.run_all",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``analytics-worker``)."""
    arguments = _parser().parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if arguments.lease_seconds <= 0 or arguments.poll_seconds <= 0 or arguments.max_attempts < 1:
        print("error: --lease-seconds and --poll-seconds must be > 0, --max-attempts >= 1",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        overrides = {"data_root": arguments.data_root} if arguments.data_root else {}
        settings = load_settings(**overrides)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    worker = Worker(
        RunQueue(settings.path("ops", "run_requests")),
        settings,
        WorkerOptions(
            lease=dt.timedelta(seconds=arguments.lease_seconds),
            poll_seconds=arguments.poll_seconds,
            max_attempts=arguments.max_attempts,
            submit_script=arguments.submit_script,
        ),
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop())
    if arguments.once:
        worker.run_once()
    else:
        worker.serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
